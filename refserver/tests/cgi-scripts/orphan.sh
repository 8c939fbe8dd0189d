#!/bin/sh
# Exits at once, leaving a background process (marked by $1) that holds stdout open, so
# the response never ends.
sh -c 'sleep 30; :' "$1" &
exit 0
