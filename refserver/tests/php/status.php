<?php
// A status and fields set by PHP itself.
http_response_code(418);
header('X-Brewed-By: php');
header('Content-Type: text/plain');
echo "short and stout\n";
