//! proptest strategies for the http-proto property tests (`tests/roundtrip.rs` uses them as
//! a module; built on its own, this file holds no tests).
#![allow(dead_code, unreachable_pub)]

use proptest::collection::vec;
use proptest::prelude::*;

/// `tchar` (RFC 9110 §5.6.2).
pub const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A token of `len` characters.
pub fn token(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(TCHARS), len)
}

/// A request method: usually a registered one, sometimes any token. CONNECT is left out
/// (it takes authority-form, and its 2xx ends HTTP).
pub fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "HEAD"])
            .prop_map(|m| m.as_bytes().to_vec()),
        1 => token(1..10).prop_filter("not CONNECT", |m| m != b"CONNECT"),
    ]
}

/// An origin-form target: `/` segments of RFC 3986 path characters and percent escapes,
/// with an optional query.
pub fn origin_target() -> impl Strategy<Value = Vec<u8>> {
    let pchar = prop_oneof![
        8 => prop::sample::select(
            &b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@"[..]
        )
        .prop_map(|b| vec![b]),
        1 => (0u8..=255).prop_map(|b| format!("%{b:02X}").into_bytes()),
    ];
    let segment = vec(pchar.clone(), 0..8).prop_map(|p| p.concat());
    let query = proptest::option::of(
        vec(
            prop_oneof![pchar, Just(b"/".to_vec()), Just(b"?".to_vec())],
            0..12,
        )
        .prop_map(|p| p.concat()),
    );
    (vec(segment, 1..5), query).prop_map(|(segments, query)| {
        let mut target = Vec::new();
        for s in segments {
            target.push(b'/');
            target.extend_from_slice(&s);
        }
        if let Some(q) = query {
            target.push(b'?');
            target.extend_from_slice(&q);
        }
        target
    })
}

/// Field names the connection owns or that change what the test expects.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "expect",
    "date",
    "trailer",
    "te",
    "keep-alive",
];

/// A field name that is a token and not one the connection writes itself.
pub fn field_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::sample::select(vec!["Accept", "User-Agent", "Cookie", "X-Request-Id", "cache-control", "ETag"])
            .prop_map(|n| n.as_bytes().to_vec()),
        3 => token(1..16),
    ]
    .prop_filter("reserved name", |n| {
        !RESERVED.iter().any(|r| r.as_bytes().eq_ignore_ascii_case(n))
    })
}

/// A field value as it comes out of a parser: VCHAR, obs-text, and inner SP/HTAB, with no
/// whitespace at either end.
pub fn field_value() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => 0x21u8..=0x7e,
        1 => 0x80u8..=0xff,
        1 => Just(b' '),
        1 => Just(b'\t'),
    ];
    vec(byte, 0..40).prop_map(|mut v| {
        while matches!(v.last(), Some(b' ' | b'\t')) {
            v.pop();
        }
        while matches!(v.first(), Some(b' ' | b'\t')) {
            v.remove(0);
        }
        v
    })
}

/// Header fields, in order.
pub fn fields(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    vec((field_name(), field_value()), n)
}

/// A body and the points at which it is handed to `send_data` (each piece one chunk when
/// chunked).
pub fn body() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    prop_oneof![
        1 => Just(Vec::new()),
        4 => vec(any::<u8>(), 1..600),
        1 => vec(any::<u8>(), 600..5000),
    ]
    .prop_flat_map(|body| {
        let len = body.len();
        (Just(body), vec(0..=len, 0..6))
    })
}

/// Cut points for feeding a serialised message in pieces.
pub fn cuts() -> impl Strategy<Value = Vec<usize>> {
    vec(any::<usize>(), 0..8)
}

/// A response status with a body: 2xx to 5xx, not 204 or 304.
pub fn status() -> impl Strategy<Value = u16> {
    (200u16..600).prop_filter("bodiless", |s| *s != 204 && *s != 304)
}

/// Bytes that look a little like HTTP: fragments of valid messages mixed with noise, so
/// arbitrary input reaches past the first line more often than uniform bytes would.
pub fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        2 => vec(any::<u8>(), 0..16),
        1 => prop::sample::select(vec![
            "GET / HTTP/1.1\r\n", "POST /x HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n", "HTTP/1.0 ",
            "Host: a\r\n", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
            "Connection: close\r\n", "Connection: keep-alive\r\n", "Expect: 100-continue\r\n",
            "Connection: upgrade\r\nUpgrade: x\r\n", "CONNECT a:1 HTTP/1.1\r\n", "HEAD / HTTP/1.1\r\n",
            "\r\n", "\n", "\r", " ", ":", ";", "5\r\nhello\r\n", "0\r\n\r\n", "ffffffff\r\n",
            "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Switching\r\n\r\n", "X:\r\n b\r\n",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    vec(piece, 0..24).prop_map(|p| p.concat())
}

/// A chunked body of many chunks, as the decoder's joining of small chunks sees them:
/// mostly small sizes (some above the join bound of 512), size lines with leading zeros,
/// upper-case digits, an occasional extension or bare LF, the last chunk with or without
/// trailers, and sometimes one byte overwritten with noise. Returns the encoded bytes.
pub fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
    let chunk = (
        prop_oneof![8 => 1usize..40, 2 => 40usize..600, 1 => Just(512usize), 1 => Just(513usize)],
        any::<u8>(),
        0u8..16,
    )
        .prop_map(|(size, fill, style)| {
            let mut out = match style {
                0 => format!("{size:04x}").into_bytes(),
                1 => format!("{size:X}").into_bytes(),
                _ => format!("{size:x}").into_bytes(),
            };
            match style {
                2 => out.extend_from_slice(b";ext=\"v\""),
                3 => out.extend_from_slice(b" ;e"),
                _ => {}
            }
            out.extend_from_slice(if style == 4 { b"\n" } else { b"\r\n" });
            out.extend(std::iter::repeat_n(fill, size));
            out.extend_from_slice(if style == 5 { b"\n" } else { b"\r\n" });
            out
        });
    let end = prop::sample::select(vec![
        "0\r\n\r\n",
        "0\r\nT: v\r\n\r\n",
        "000\r\n\r\n",
        "0\n\n",
    ]);
    (
        vec(chunk, 0..24),
        end,
        any::<bool>(),
        any::<usize>(),
        any::<u8>(),
    )
        .prop_map(|(chunks, end, corrupt, at, noise)| {
            let mut body = chunks.concat();
            body.extend_from_slice(end.as_bytes());
            if corrupt {
                let at = at % body.len();
                body[at] = noise;
            }
            body
        })
}
