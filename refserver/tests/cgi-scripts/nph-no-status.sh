#!/bin/sh
# Named nph- but writes a CGI header instead of a status line: refused.
printf 'Content-Type: text/plain\r\n\r\nnot raw\n'
