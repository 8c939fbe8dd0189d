//! proptest strategies for the cgi-env property tests (`tests/properties.rs` uses them
//! as a module; built on its own, this file holds no tests).
#![allow(dead_code, unreachable_pub)]

use proptest::collection::vec;
use proptest::prelude::*;

/// Segments that exercise the resolver: dot segments in every encoding, the fixture
/// tree's names (including its symbolic links), escapes good and bad, and noise.
pub fn path_segment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "..", ".", "", "%2e%2e", "%2E.", ".%2e", "%2e", "%252e%252e", "%2f", "%2F", "%00",
            "%", "%g1", "hello.cgi", "plain.txt", "docs", "index.html", "cgi-bin", "env.cgi",
            "sub", "deep.cgi", "we%20ird%25.cgi", "link-in", "link-hello.cgi", "link-out",
            "link-out.cgi", "loop", "outside", "evil.cgi", "root", "..%2f..", "%5c..",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..6),
    ]
}

/// URL paths built from [`path_segment`], nearly always starting with `/`.
pub fn url_path() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), vec(path_segment(), 0..8)).prop_map(|(lead, segments)| {
        let mut out = Vec::new();
        if lead > 8 {
            out.push(b'/');
        }
        for (i, segment) in segments.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(segment);
        }
        out
    })
}

/// One CGI response header line (without its line ending), mostly valid, sometimes
/// hostile.
pub fn header_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "Content-Type: text/html",
            "Content-type:text/plain; charset=utf-8",
            "Status: 200 OK",
            "Status: 404 Not Found",
            "Status: 302",
            "Status: 304 Not Modified",
            "Status: 99",
            "Location: /local?x=1",
            "Location: http://example.com/",
            "Location: //evil.example/",
            "Location:",
            "X-Powered-By: test",
            "Set-Cookie: a=b; Path=/",
            "Cache-Control: no-cache",
            " folded",
            "Bad Name: x",
            "X: a\rInjected: 1",
            "X: \0",
            "HTTP/1.1 200 OK",
            "HTTP/1.0 500",
            "",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..12),
    ]
}

/// A whole script output: header lines with CRLF or LF endings, maybe a blank line,
/// maybe a body.
pub fn cgi_output() -> impl Strategy<Value = Vec<u8>> {
    (
        vec((header_line(), any::<bool>()), 0..6),
        any::<bool>(),
        vec(any::<u8>(), 0..24),
    )
        .prop_map(|(lines, terminate, body)| {
            let mut out = Vec::new();
            for (line, crlf) in lines {
                out.extend_from_slice(&line);
                out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
            if terminate {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&body);
            }
            out
        })
}

/// Request header fields, with names chosen to hit every mapping rule.
pub fn request_headers() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    let name = prop_oneof![
        3 => prop::sample::select(vec![
            "Host", "host", "User-Agent", "Accept", "accept", "Cookie", "Proxy", "PROXY",
            "Authorization", "Proxy-Authorization", "Content-Type", "Content-Length",
            "X-Forwarded-For", "X_Forwarded_For", "X-Real-IP", "", "a-b-c", "Proxy-Connection",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..8),
    ];
    let value = prop_oneof![
        3 => "[ -~]{0,12}".prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..8),
    ];
    vec((name, value), 0..12)
}

/// ISINDEX search words: non-empty, no NUL, not starting with `-`.
pub fn search_words() -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(
        vec(1u8..=255, 1..8).prop_filter("not an option", |w| w.first() != Some(&b'-')),
        1..6,
    )
}
