#!/bin/sh
# Answers after 0.2 s (for max_processes).
sleep 0.2
printf 'Content-Type: text/plain\r\n\r\nslow done\n'
