#!/bin/sh
# Writes two lines to stderr, then answers.
printf 'first complaint %s\n' "$1" >&2
printf 'second complaint %s\n' "$1" >&2
printf 'Content-Type: text/plain\r\n\r\nok\n'
