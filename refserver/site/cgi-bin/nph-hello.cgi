#!/bin/sh
# A non-parsed-header script (RFC 3875 §5): it writes the status line and head itself,
# and the server passes its output through as it is.
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Nph: yes\r\n\r\nstraight from the script\n'
