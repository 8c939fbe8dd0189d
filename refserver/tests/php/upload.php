<?php
// The request body's length and md5, read as PHP reads uploads.
header('Content-Type: text/plain');
$in = file_get_contents('php://input');
echo strlen($in), " ", md5($in), "\n";
