<?php
// GET with a query, POST forms, PATH_INFO, and what PHP was told about the request.
header('Content-Type: text/plain');
echo "method=", $_SERVER['REQUEST_METHOD'], "\n";
echo "q=", $_GET['q'] ?? '', "\n";
echo "name=", $_POST['name'] ?? '', "\n";
echo "path_info=", $_SERVER['PATH_INFO'] ?? '', "\n";
echo "script_name=", $_SERVER['SCRIPT_NAME'], "\n";
echo "request_uri=", $_SERVER['REQUEST_URI'], "\n";
