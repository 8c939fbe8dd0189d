<?php
// 10 MiB of a known pattern; the test checks its md5.
header('Content-Type: application/octet-stream');
$block = str_repeat('0123456789abcdef', 4096);
for ($i = 0; $i < 160; $i++) { echo $block; }
