#!/bin/sh
# A stray debug line instead of a header section.
printf 'debugging: here\r\n\r\nbody\n'
