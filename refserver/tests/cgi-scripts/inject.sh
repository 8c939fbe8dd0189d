#!/bin/sh
# Header sections that try to smuggle a field in, chosen by PATH_INFO. Each must be refused.
case "$PATH_INFO" in
/bare-cr)
    printf 'Content-Type: text/plain\r\nX: a\rSet-Cookie: injected=1\r\n\r\nbody\n' ;;
/nul)
    printf 'Content-Type: text/plain\r\nX: a\000Set-Cookie: injected=1\r\n\r\nbody\n' ;;
/obs-fold)
    printf 'Content-Type: text/plain\r\nX: a\r\n Set-Cookie: injected=1\r\n\r\nbody\n' ;;
/space-in-name)
    printf 'Content-Type: text/plain\r\nSet-Cookie injected: 1\r\n\r\nbody\n' ;;
/cr-in-status)
    printf 'Status: 200 OK\rSet-Cookie: injected=1\r\nContent-Type: text/plain\r\n\r\nbody\n' ;;
/two-content-types)
    printf 'Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nbody\n' ;;
*)
    printf 'Content-Type: text/plain\r\n\r\nunknown case\n' ;;
esac
