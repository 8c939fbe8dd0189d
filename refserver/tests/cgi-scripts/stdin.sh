#!/bin/sh
# What the script got on stdin: CONTENT_LENGTH, then POSIX cksum of stdin (CRC and length).
printf 'Content-Type: text/plain\r\n\r\n'
printf 'CONTENT_LENGTH=%s\n' "${CONTENT_LENGTH-unset}"
cksum
