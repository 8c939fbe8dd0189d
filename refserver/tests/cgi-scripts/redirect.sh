#!/bin/sh
# A local redirect (RFC 3875 §6.2.2) to the environment dump; `loop` redirects to itself.
case "$PATH_INFO" in
  /loop) printf 'Location: /cgi-bin/redirect.sh/loop\r\n\r\n' ;;
  *) printf 'Location: /cgi-bin/env.sh?from=redirect\r\n\r\n' ;;
esac
