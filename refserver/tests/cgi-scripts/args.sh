#!/bin/sh
# argv: the count, then one argument per line.
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$#"
for arg in "$@"; do
    printf '%s\n' "$arg"
done
