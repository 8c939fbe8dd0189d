#!/bin/sh
# Lists the CGI environment (RFC 3875 meta-variables and nothing else of the server's).
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
env | LC_ALL=C sort
