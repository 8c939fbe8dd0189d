//! cgi-env beside its crates.io peers: building a typical CGI environment (20 request
//! fields) and parsing a typical CGI response.
//!
//! Peers: `cgi-request` 0.0.1 (`build_env` from an `http::HeaderMap`, `String` pairs)
//! and `cgi-response` 0.0.1 (`parse_response_headers` of a complete header block into
//! an `http::response::Builder`, CRLF only). They are young, little-used crates, not
//! an established reference; `httparse::parse_headers` is added as a speed floor for
//! splitting a header block (it knows nothing of CGI). The peers do less: no
//! httpoxy/credential filtering, no NUL checks, no response-type classification, no
//! incremental input.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::Path;

use cgi_env::{CgiRequest, Environment, Limits, ResponseEvent, ResponseParser, ScriptResolution};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const HEADERS: [(&str, &str); 20] = [
    ("Host", "www.example.org"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    ("Accept-Language", "en-GB,en;q=0.7,fr;q=0.3"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    (
        "Referer",
        "https://www.example.org/cgi-bin/app.cgi/list?page=2",
    ),
    ("Connection", "keep-alive"),
    ("Cookie", "session=4f9a1c2e7b; theme=dark; consent=yes"),
    ("Upgrade-Insecure-Requests", "1"),
    ("Sec-Fetch-Dest", "document"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-Site", "same-origin"),
    ("Sec-Fetch-User", "?1"),
    ("Priority", "u=0, i"),
    ("Cache-Control", "max-age=0"),
    ("X-Forwarded-For", "198.51.100.23"),
    ("X-Forwarded-Proto", "https"),
    ("X-Request-Id", "0f8e2d4c-1b3a-4e5f-9a7b-6c5d4e3f2a1b"),
    ("DNT", "1"),
    ("If-None-Match", "\"5d8c72a5edda8\""),
];

const TARGET: &str = "/cgi-bin/app.cgi/items/42?view=full&lang=en";

fn environment(c: &mut Criterion) {
    let remote: SocketAddr = "203.0.113.9:40000".parse().expect("addr");
    let server: SocketAddr = "198.51.100.1:443".parse().expect("addr");
    let script = ScriptResolution::new(
        b"/cgi-bin/app.cgi".to_vec(),
        b"/items/42".to_vec(),
        "/usr/lib/cgi-bin/app.cgi".into(),
        "/var/www".into(),
    );
    let request = CgiRequest {
        method: b"GET",
        request_target: TARGET.as_bytes(),
        // What http-proto's RequestHead::query() and authority() give for TARGET.
        query: Some(b"view=full&lang=en"),
        authority: Some(b"www.example.org"),
        protocol: b"HTTP/1.1",
        remote_addr: remote,
        server_addr: server,
        server_name: b"www.example.org",
        server_software: b"refserver/0.1",
        https: true,
        ..CgiRequest::default()
    };
    let pairs: Vec<(&[u8], &[u8])> = HEADERS
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();

    let mut map = http::HeaderMap::new();
    for (n, v) in HEADERS {
        map.append(
            http::header::HeaderName::from_bytes(n.as_bytes()).expect("name"),
            http::header::HeaderValue::from_static(v),
        );
    }
    let block: Vec<String> = Vec::new();
    let extra: Vec<(String, String)> = Vec::new();

    let mut g = c.benchmark_group("cgi_env_20_headers");
    g.throughput(Throughput::Elements(1));
    g.bench_function("cgi-env/Environment::build", |b| {
        b.iter(|| {
            let env = Environment::build(
                black_box(&request),
                black_box(&script),
                black_box(&pairs).iter().copied(),
            )
            .expect("builds");
            black_box(env.len())
        });
    });
    g.bench_function("cgi-request/build_env", |b| {
        b.iter(|| {
            let meta = cgi_request::CgiRequestMeta {
                method: "GET",
                path: "/cgi-bin/app.cgi/items/42",
                query: Some("view=full&lang=en"),
                headers: black_box(&map),
                script_name: "/cgi-bin/app.cgi",
                working_dir: Path::new("/var/www"),
                server_addr: server,
                remote_addr: remote,
                is_tls: true,
                server_software: "refserver/0.1",
                block_headers: &block,
                extra_env: &extra,
            };
            black_box(cgi_request::build_env(black_box(&meta)).len())
        });
    });
    g.finish();
}

fn typical_response() -> Vec<u8> {
    let mut out = b"Status: 200 OK\r\n\
Content-Type: text/html; charset=UTF-8\r\n\
Cache-Control: no-store, no-cache, must-revalidate\r\n\
Expires: Thu, 19 Nov 1981 08:52:00 GMT\r\n\
Pragma: no-cache\r\n\
Set-Cookie: PHPSESSID=5f1b2c3d4e5f6a7b8c9d0e1f2a; path=/; HttpOnly; SameSite=Lax\r\n\
X-Powered-By: PHP/8.2.20\r\n\
Vary: Accept-Encoding\r\n\
X-Frame-Options: SAMEORIGIN\r\n\
Content-Language: en\r\n\r\n"
        .to_vec();
    out.extend(std::iter::repeat_n(b'x', 2048));
    out
}

fn response(c: &mut Criterion) {
    let output = typical_response();
    let head_len = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("blank line")
        + 4;
    let head = &output[..head_len];

    let mut g = c.benchmark_group("cgi_response_10_fields");
    g.throughput(Throughput::Elements(1));
    g.bench_function("cgi-env/ResponseParser (head+2KiB body)", |b| {
        b.iter(|| {
            let mut parser = ResponseParser::new(Limits::default());
            parser.feed(black_box(&output));
            parser.feed_eof();
            let mut n = 0;
            loop {
                match parser.poll_event() {
                    Ok(ResponseEvent::Head(h)) => n += h.headers.len(),
                    Ok(ResponseEvent::Body(body)) => n += body.len(),
                    Ok(_) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            black_box(n)
        });
    });
    g.bench_function("cgi-env/ResponseParser (head only)", |b| {
        b.iter(|| {
            let mut parser = ResponseParser::new(Limits::default());
            parser.feed(black_box(head));
            match parser.poll_event() {
                Ok(ResponseEvent::Head(h)) => black_box(h.status),
                other => panic!("{other:?}"),
            }
        });
    });
    g.bench_function("cgi-response/parse_response_headers (head only)", |b| {
        b.iter(|| {
            let builder = cgi_response::parse_response_headers(black_box(head)).expect("parses");
            black_box(builder.body(()).expect("response").status())
        });
    });
    g.bench_function("httparse/parse_headers (head only, no CGI rules)", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            black_box(httparse::parse_headers(black_box(head), &mut headers).is_ok())
        });
    });
    g.finish();
}

criterion_group!(benches, environment, response);
criterion_main!(benches);
