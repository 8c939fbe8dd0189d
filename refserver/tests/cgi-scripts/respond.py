#!/usr/bin/env python3
"""One script per RFC 3875 section 6.2 response type, chosen by PATH_INFO (bare LF line ends)."""
import os
import sys

CASES = {
    "/document": "Content-Type: text/plain\nX-Lang: python\n\ndocument from python\n",
    "/not-found": "Status: 404 Not Here\nContent-Type: text/plain\n\nmissing from python\n",
    "/redirect": "Location: http://example.org/\n\n",
    "/redirect-document": (
        "Status: 301 Moved Permanently\nLocation: http://example.org/moved\n"
        "Content-Type: text/html\n\n<a href=\"http://example.org/moved\">moved</a>\n"
    ),
}
path = os.environ.get("PATH_INFO", "")
out = CASES.get(path, "Status: 400 Bad Request\nContent-Type: text/plain\n\nunknown case %s\n" % path)
sys.stdout.buffer.write(out.encode())
