<?php
// PHP's own sessions: a counter kept across requests by the PHPSESSID cookie.
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
header('Content-Type: text/plain');
echo "visits=", $_SESSION['n'], "\n";
echo "cookie=", $_COOKIE['flavour'] ?? '', "\n";
