#!/bin/sh
# Never answers: a grandchild (sleep) in the script's process group.
sleep 30
printf 'Content-Type: text/plain\r\n\r\ntoo late\n'
