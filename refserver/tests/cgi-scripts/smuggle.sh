#!/bin/sh
# Announces 2 body bytes and, in the same write, a forged second response after them.
printf 'Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'
