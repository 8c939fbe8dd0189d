#!/bin/sh
# The demo's CGI script: a shell script run per request, with the request's variables.
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
cat <<HTML
<!doctype html>
<title>hello.cgi</title>
<h1>Hello from a CGI script</h1>
<p>Process $$ ran <code>$SCRIPT_NAME</code> for <code>$REQUEST_METHOD $REQUEST_URI</code>
from $REMOTE_ADDR (PATH_INFO <code>${PATH_INFO:-none}</code>, QUERY_STRING
<code>${QUERY_STRING:-none}</code>).</p>
<p><a href="/cgi-bin/env.cgi">/cgi-bin/env.cgi</a> lists every variable it got.</p>
HTML
