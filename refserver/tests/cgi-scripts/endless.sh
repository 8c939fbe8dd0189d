#!/bin/sh
# Writes forever; $1 (the ISINDEX query) marks its processes for the test.
printf 'Content-Type: text/plain\r\n\r\n'
yes "$1"
