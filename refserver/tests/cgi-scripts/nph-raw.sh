#!/bin/sh
# A non-parsed-header script: its status line and head go to the client as written.
printf 'HTTP/1.1 203 Straight Through\r\nContent-Type: text/plain\r\nX-Nph: 1\r\n\r\nraw body\n'
