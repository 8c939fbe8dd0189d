#!/bin/sh
# A local redirect (RFC 3875 §6.2.2): the server answers with what /cgi-bin/env.cgi gives.
printf 'Location: /cgi-bin/env.cgi?from=redirect\r\n\r\n'
