#!/bin/sh
# One script per RFC 3875 §6.2 response type, chosen by PATH_INFO.
case "$PATH_INFO" in
/document)
    printf 'Content-Type: text/plain\r\nX-Lang: sh\r\n\r\ndocument from sh\n' ;;
/not-found)
    printf 'Status: 404 Not Here\r\nContent-Type: text/plain\r\n\r\nmissing from sh\n' ;;
/redirect)
    printf 'Location: http://example.org/\r\n\r\n' ;;
/redirect-document)
    printf 'Status: 301 Moved Permanently\r\nLocation: http://example.org/moved\r\nContent-Type: text/html\r\n\r\n<a href="http://example.org/moved">moved</a>\n' ;;
*)
    printf 'Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nunknown case %s\n' "$PATH_INFO" ;;
esac
