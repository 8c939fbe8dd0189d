#!/bin/sh
# Burns CPU before any output (for limits.cpu_secs).
while :; do :; done
