//! Static routes as nginx users expect them, against the real binary over raw sockets
//! (and curl): precompressed variants, directory listings, several ranges with their
//! caps, per-route fields and `expires`, and `/file.txt/`.

mod common;

use common::{Resp, Server, body_of, curl, read_response, temp_dir};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A site directory outside the server's own temporary directory (which `Server::start`
/// recreates).
fn site(name: &str) -> PathBuf {
    temp_dir(&format!("{name}-site"))
}

fn config(routes: &[(&str, &str)]) -> String {
    routes
        .iter()
        .map(|(prefix, table)| format!("[[route]]\nprefix = \"{prefix}\"\nstatic = {table}\n\n"))
        .collect()
}

fn get(server: &Server, target: &str, extra: &str) -> Resp {
    let mut s = server.connect();
    send(&mut s, "GET", target, extra);
    read_response(&mut s, false)
}

fn send(s: &mut TcpStream, method: &str, target: &str, extra: &str) {
    let raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{extra}\r\n");
    s.write_all(raw.as_bytes()).unwrap();
}

fn dir_table(dir: &Path, options: &str) -> String {
    format!("{{ dir = \"{}\"{options} }}", dir.display())
}

#[test]
fn precompressed_variants_are_negotiated_with_their_own_validators() {
    let dir = site("pre");
    let plain = b"body { color: red }\n".repeat(50);
    std::fs::write(dir.join("a.css"), &plain).unwrap();
    std::fs::write(dir.join("a.css.br"), b"BROTLI-BYTES-0123456789").unwrap();
    std::fs::write(dir.join("a.css.gz"), b"GZIP-BYTES-abcdefghijklmnop").unwrap();
    std::fs::write(dir.join("b.js"), b"let b = 1;\n").unwrap();
    std::fs::write(dir.join("b.js.gz"), b"GZ-of-b").unwrap();
    std::fs::write(dir.join("plain.txt"), b"no variants").unwrap();
    let table = dir_table(&dir, ", precompressed = [\"br\", \"gzip\"]");
    let server = Server::start(
        "pre",
        Some(&config(&[("/", &table)])),
        &["--access-log", "off"],
    );

    // (Accept-Encoding, body expected, Content-Encoding)
    let cases: &[(&str, &[u8], Option<&str>)] = &[
        ("gzip, deflate, br", b"BROTLI-BYTES-0123456789", Some("br")),
        ("br", b"BROTLI-BYTES-0123456789", Some("br")),
        ("gzip", b"GZIP-BYTES-abcdefghijklmnop", Some("gzip")),
        ("br;q=0, gzip", b"GZIP-BYTES-abcdefghijklmnop", Some("gzip")),
        (
            "gzip;q=0.9, br;q=0.5",
            b"GZIP-BYTES-abcdefghijklmnop",
            Some("gzip"),
        ),
        ("*", b"BROTLI-BYTES-0123456789", Some("br")),
        ("br;q=0, gzip;q=0", &plain, None),
        ("identity", &plain, None),
        ("", &plain, None),
    ];
    let mut etags = Vec::new();
    for &(accept, body, coding) in cases {
        let extra = if accept.is_empty() {
            String::new()
        } else {
            format!("Accept-Encoding: {accept}\r\n")
        };
        let r = get(&server, "/a.css", &extra);
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(r.body, body, "{accept}");
        assert_eq!(r.header("content-encoding").as_deref(), coding, "{accept}");
        assert_eq!(
            r.header("vary").as_deref(),
            Some("Accept-Encoding"),
            "{accept}"
        );
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/css; charset=utf-8")
        );
        etags.push((coding, r.header("etag").unwrap()));
    }
    let etag_of = |c: Option<&str>| etags.iter().find(|(x, _)| *x == c).unwrap().1.clone();
    let (br, gz, id) = (etag_of(Some("br")), etag_of(Some("gzip")), etag_of(None));
    assert!(br != gz && gz != id && br != id, "{br} {gz} {id}");

    // Conditionals on the variant: its own tag answers 304, with Vary.
    let r = get(
        &server,
        "/a.css",
        &format!("Accept-Encoding: br\r\nIf-None-Match: {br}\r\n"),
    );
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(br.clone()));
    assert_eq!(r.header("vary").as_deref(), Some("Accept-Encoding"));
    // The br tag does not validate the gzip answer, nor the plain one.
    let r = get(
        &server,
        "/a.css",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {br}\r\n"),
    );
    assert_eq!(
        (r.status, r.header("content-encoding").as_deref()),
        (200, Some("gzip"))
    );
    assert_eq!(
        get(&server, "/a.css", &format!("If-None-Match: {br}\r\n")).status,
        200
    );

    // A range of the variant is a range of its bytes.
    let r = get(
        &server,
        "/a.css",
        "Accept-Encoding: br\r\nRange: bytes=7-11\r\n",
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"BYTES");
    assert_eq!(r.header("content-range").as_deref(), Some("bytes 7-11/23"));
    assert_eq!(r.header("content-encoding").as_deref(), Some("br"));
    let r = get(
        &server,
        "/a.css",
        &format!("Accept-Encoding: br\r\nRange: bytes=0-3\r\nIf-Range: {br}\r\n"),
    );
    assert_eq!((r.status, &r.body[..]), (206, &b"BROT"[..]));
    let r = get(
        &server,
        "/a.css",
        &format!("Accept-Encoding: br\r\nRange: bytes=0-3\r\nIf-Range: {id}\r\n"),
    );
    assert_eq!((r.status, r.body.len()), (200, 23));

    // A missing variant falls back to the plain file; a file without any has no Vary.
    let r = get(&server, "/b.js", "Accept-Encoding: br\r\n");
    assert_eq!((r.status, &r.body[..]), (200, &b"let b = 1;\n"[..]));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary").as_deref(), Some("Accept-Encoding"));
    let r = get(&server, "/b.js", "Accept-Encoding: br, gzip\r\n");
    assert_eq!(
        (&r.body[..], r.header("content-encoding").as_deref()),
        (&b"GZ-of-b"[..], Some("gzip"))
    );
    let r = get(&server, "/plain.txt", "Accept-Encoding: br, gzip\r\n");
    assert_eq!(
        (r.header("vary"), r.header("content-encoding")),
        (None, None)
    );

    // HEAD describes the variant.
    let mut s = server.connect();
    send(&mut s, "HEAD", "/a.css", "Accept-Encoding: gzip\r\n");
    let r = read_response(&mut s, true);
    assert_eq!(r.header("content-length").as_deref(), Some("27"));

    if let Some(out) = curl(&["-H", "Accept-Encoding: gzip", &server.url("/a.css")]) {
        assert_eq!(out.stdout, b"GZIP-BYTES-abcdefghijklmnop");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn precompression_is_off_by_default() {
    let dir = site("pre-off");
    std::fs::write(dir.join("a.css"), b"plain").unwrap();
    std::fs::write(dir.join("a.css.gz"), b"gz").unwrap();
    let server = Server::start(
        "pre-off",
        Some(&config(&[("/", &dir_table(&dir, ""))])),
        &["--access-log", "off"],
    );
    let r = get(&server, "/a.css", "Accept-Encoding: gzip\r\n");
    assert_eq!((&r.body[..], r.header("vary")), (&b"plain"[..], None));
    let _ = std::fs::remove_dir_all(dir);
}

/// The parts of a `multipart/byteranges` body: (Content-Type, Content-Range, bytes).
fn parts(r: &Resp) -> Vec<(String, String, Vec<u8>)> {
    let ct = r.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {ct}"));
    let delimiter = format!("\r\n--{boundary}");
    let body = r
        .body
        .strip_suffix(format!("{delimiter}--\r\n").as_bytes())
        .expect("close delimiter");
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        rest = rest.strip_prefix(delimiter.as_bytes()).expect("delimiter");
        let end = rest
            .windows(delimiter.len())
            .position(|w| w == delimiter.as_bytes())
            .unwrap_or(rest.len());
        let part = &rest[..end];
        let split = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let fields = String::from_utf8(part[2..split].to_vec()).unwrap();
        let field = |name: &str| {
            fields
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
                .to_owned()
        };
        out.push((
            field("Content-Type: "),
            field("Content-Range: "),
            part[split + 4..].to_vec(),
        ));
        rest = &rest[end..];
    }
    out
}

#[test]
fn several_ranges_are_a_multipart_206_within_the_caps() {
    let dir = site("ranges");
    let whole = body_of(10_000);
    std::fs::write(dir.join("data.bin"), &whole).unwrap();
    std::fs::write(dir.join("small.txt"), body_of(1000)).unwrap();
    let server = Server::start(
        "ranges",
        Some(&config(&[("/", &dir_table(&dir, ""))])),
        &["--access-log", "off"],
    );

    // Two ranges, then the same connection again: the Content-Length was exact.
    let mut s = server.connect();
    send(&mut s, "GET", "/data.bin", "Range: bytes=0-9,20-29\r\n");
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    let got = parts(&r);
    assert_eq!(got.len(), 2);
    for ((ct, cr, bytes), (a, b)) in got.iter().zip([(0, 9), (20, 29)]) {
        assert_eq!(ct, "application/octet-stream");
        assert_eq!(cr, &format!("bytes {a}-{b}/10000"));
        assert_eq!(&bytes[..], &whole[a..=b]);
    }
    send(
        &mut s,
        "GET",
        "/data.bin",
        "Range: bytes=-5000,100-2999\r\n",
    );
    let r = read_response(&mut s, false);
    let got = parts(&r);
    assert_eq!(got[0].1, "bytes 100-2999/10000");
    assert_eq!(got[0].2, &whole[100..3000]);
    assert_eq!(got[1].1, "bytes 5000-9999/10000");
    assert_eq!(got[1].2, &whole[5000..]);

    // Unordered ranges come back sorted; overlapping ones are coalesced into one part.
    let r = get(&server, "/data.bin", "Range: bytes=5000-5099,0-99\r\n");
    let ranges: Vec<String> = parts(&r).into_iter().map(|p| p.1).collect();
    assert_eq!(ranges, ["bytes 0-99/10000", "bytes 5000-5099/10000"]);
    let r = get(&server, "/data.bin", "Range: bytes=0-99,50-149,140-199\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range").as_deref(),
        Some("bytes 0-199/10000")
    );
    assert_eq!(r.body, &whole[..200]);
    // The overlap attack (CVE-2011-3192): every member covers the file; one copy goes out.
    let attack = format!("Range: bytes=0-,{}\r\n", vec!["0-"; 15].join(","));
    let r = get(&server, "/data.bin", &attack);
    assert_eq!((r.status, r.body.len()), (206, 10_000));

    // More than max_ranges (16): the whole file.
    let many: Vec<String> = (0..17).map(|i| format!("{0}-{0}", i * 500)).collect();
    let r = get(
        &server,
        "/data.bin",
        &format!("Range: bytes={}\r\n", many.join(",")),
    );
    assert_eq!((r.status, r.body.len()), (200, 10_000));
    assert_eq!(r.header("content-range"), None);
    // Sixteen tiny ranges of a small file: the part heads outweigh the file; whole file.
    let tiny: Vec<String> = (0..16).map(|i| format!("{0}-{0}", i * 60)).collect();
    let r = get(
        &server,
        "/small.txt",
        &format!("Range: bytes={}\r\n", tiny.join(",")),
    );
    assert_eq!((r.status, r.body.len()), (200, 1000));
    // An unsatisfiable member is dropped; all unsatisfiable is 416.
    let r = get(&server, "/data.bin", "Range: bytes=0-9,20000-\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &whole[..10]));
    let r = get(&server, "/data.bin", "Range: bytes=20000-,30000-\r\n");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range").as_deref(), Some("bytes */10000"));

    // If-Range: a matching tag gets the parts, a stale one the whole file.
    let etag = get(&server, "/data.bin", "").header("etag").unwrap();
    let r = get(
        &server,
        "/data.bin",
        &format!("Range: bytes=0-9,20-29\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!((r.status, parts(&r).len()), (206, 2));
    let r = get(
        &server,
        "/data.bin",
        "Range: bytes=0-9,20-29\r\nIf-Range: \"stale\"\r\n",
    );
    assert_eq!((r.status, r.body.len()), (200, 10_000));

    // A large multipart body streams: two 3 MB parts.
    let big = body_of(8 << 20);
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let r = get(
        &server,
        "/big.bin",
        "Range: bytes=0-2999999,5000000-7999999\r\n",
    );
    let got = parts(&r);
    assert_eq!(got[0].2, &big[..3_000_000]);
    assert_eq!(got[1].2, &big[5_000_000..8_000_000]);

    if let Some(out) = curl(&["-r", "0-9,20-29", "-D", "-", &server.url("/data.bin")]) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("206 Partial Content"), "{text}");
        assert!(text.contains("Content-Range: bytes 20-29/10000"), "{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn max_ranges_one_allows_single_ranges_only() {
    let dir = site("ranges-one");
    std::fs::write(dir.join("data.bin"), body_of(10_000)).unwrap();
    let table = dir_table(&dir, ", max_ranges = 1");
    let server = Server::start(
        "ranges-one",
        Some(&config(&[("/", &table)])),
        &["--access-log", "off"],
    );
    assert_eq!(
        get(&server, "/data.bin", "Range: bytes=0-9,20-29\r\n").status,
        200
    );
    assert_eq!(
        get(&server, "/data.bin", "Range: bytes=0-9\r\n").status,
        206
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn listing_site(name: &str) -> PathBuf {
    let dir = site(name);
    std::fs::write(dir.join("b.txt"), b"bb").unwrap();
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    std::fs::write(dir.join("<b>&\"x\".txt"), b"xyz").unwrap();
    std::fs::write(dir.join("a b?#.txt"), b"").unwrap();
    std::fs::write(dir.join(".hidden"), b"h").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/inner.txt"), b"in").unwrap();
    dir
}

#[test]
fn autoindex_lists_directories_as_html_and_json() {
    let dir = listing_site("list");
    let server = Server::start(
        "list",
        Some(&config(&[
            ("/plain/", &dir_table(&dir, "")),
            (
                "/hidden/",
                &dir_table(&dir, ", autoindex = true, autoindex_hidden = true"),
            ),
            ("/", &dir_table(&dir, ", autoindex = true")),
        ])),
        &["--access-log", "off"],
    );
    let r = get(&server, "/", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let page = r.text();
    // Escaped text, encoded links, directories first, then by name, no dot-files.
    assert!(
        page.contains("<a href=\"%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"a%20b%3F%23.txt\">a b?#.txt</a>"),
        "{page}"
    );
    assert!(!page.contains("<b>&"), "{page}");
    assert!(!page.contains(".hidden"));
    assert!(!page.contains("../"), "the root has no parent link");
    let order: Vec<usize> = ["sub/", "&lt;b&gt;", "a b?#.txt", "a.txt", "b.txt"]
        .iter()
        .map(|n| {
            page.find(&format!(">{n}"))
                .unwrap_or_else(|| panic!("{n} in {page}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{page}");
    assert!(page.contains("<td>3</td>"), "sizes: {page}");
    assert!(page.contains(" GMT</td>"), "dates: {page}");
    // Every link in the listing leads to what it names.
    assert_eq!(get(&server, "/%3Cb%3E%26%22x%22.txt", "").body, b"xyz");
    assert_eq!(get(&server, "/a%20b%3F%23.txt", "").status, 200);

    let sub = get(&server, "/sub/", "").text();
    assert!(sub.contains("<a href=\"../\">../</a>"), "{sub}");
    assert!(sub.contains("<a href=\"inner.txt\">inner.txt</a>"), "{sub}");

    // JSON for scripts, by query or by Accept.
    for (target, extra) in [("/?format=json", ""), ("/", "Accept: application/json\r\n")] {
        let r = get(&server, target, extra);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json")
        );
        let list: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
        let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["sub", "<b>&\"x\".txt", "a b?#.txt", "a.txt", "b.txt"]
        );
        assert_eq!(list[0]["type"], "directory");
        assert!(list[0].get("size").is_none());
        assert_eq!(
            (list[4]["type"].as_str(), list[4]["size"].as_u64()),
            (Some("file"), Some(2))
        );
        assert!(list[4]["mtime"].as_str().unwrap().ends_with(" GMT"));
    }
    // A browser's Accept gets HTML.
    let browser = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n";
    assert!(
        get(&server, "/", browser)
            .text()
            .starts_with("<!DOCTYPE html>")
    );

    let hidden = get(&server, "/hidden/", "").text();
    assert!(hidden.contains(".hidden"), "{hidden}");
    // Without autoindex: 403 as before.
    assert_eq!(get(&server, "/plain/", "").status, 403);
    assert_eq!(get(&server, "/plain/sub/", "").status, 403);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn route_headers_and_expires_go_on_responses() {
    let dir = site("fields");
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    let headers =
        ", headers = { \"Cache-Control\" = \"max-age=3600\", \"X-Frame-Options\" = \"DENY\" }";
    let server = Server::start(
        "fields",
        Some(&config(&[
            ("/h/", &dir_table(&dir, headers)),
            ("/hour/", &dir_table(&dir, ", expires = \"1h\"")),
            ("/max/", &dir_table(&dir, ", expires = \"max\"")),
            ("/epoch/", &dir_table(&dir, ", expires = \"epoch\"")),
            ("/", &dir_table(&dir, "")),
        ])),
        &["--access-log", "off"],
    );
    for target in ["/h/a.txt", "/h/missing"] {
        let r = get(&server, target, "");
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("max-age=3600"),
            "{target}"
        );
        assert_eq!(
            r.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{target}"
        );
    }
    let r = get(&server, "/hour/a.txt", "");
    assert_eq!(r.header("cache-control").as_deref(), Some("max-age=3600"));
    let expires = httpdate::parse_http_date(&r.header("expires").unwrap()).unwrap();
    let ahead = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap()
        .as_secs();
    assert!((3590..=3600).contains(&ahead), "{ahead}");
    let etag = r.header("etag").unwrap();
    let r = get(
        &server,
        "/hour/a.txt",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(
        (r.status, r.header("cache-control").as_deref()),
        (304, Some("max-age=3600"))
    );
    assert_eq!(get(&server, "/hour/missing", "").header("expires"), None);
    let r = get(&server, "/max/a.txt", "");
    assert_eq!(
        r.header("expires").as_deref(),
        Some("Thu, 31 Dec 2037 23:55:55 GMT")
    );
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("max-age=315360000")
    );
    let r = get(&server, "/epoch/a.txt", "");
    assert_eq!(
        r.header("expires").as_deref(),
        Some("Thu, 01 Jan 1970 00:00:01 GMT")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-cache"));
    let r = get(&server, "/a.txt", "");
    assert_eq!(
        (r.header("expires"), r.header("cache-control")),
        (None, None)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_route_fields_are_refused_at_start_up() {
    let dir = site("fields-bad");
    for (options, needle) in [
        (
            ", headers = { \"Content-Length\" = \"5\" }",
            "static.headers `Content-Length`",
        ),
        (
            ", headers = { \"Bad Name\" = \"x\" }",
            "static.headers `Bad Name`",
        ),
        (
            ", headers = { \"X-A\" = \"a\\r\\nSet-Cookie: x\" }",
            "static.headers `X-A`",
        ),
        (", expires = \"soon\"", "static.expires `soon`"),
        (", precompressed = [\"zstd\"]", "zstd"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, config(&[("/", &dir_table(&dir, options))])).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_refserver"))
            .arg("--config")
            .arg(&path)
            .arg("--check")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{options}");
        assert!(err.contains(needle), "{options}: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_file_with_a_trailing_slash_is_not_found() {
    let dir = site("slash");
    std::fs::write(dir.join("file.txt"), b"f").unwrap();
    std::fs::create_dir(dir.join("d")).unwrap();
    std::fs::write(dir.join("d/index.html"), b"i").unwrap();
    let server = Server::start(
        "slash",
        Some(&config(&[("/", &dir_table(&dir, ""))])),
        &["--access-log", "off"],
    );
    assert_eq!(get(&server, "/file.txt/", "").status, 404);
    assert_eq!(get(&server, "/file.txt/.", "").status, 404);
    assert_eq!(get(&server, "/file.txt", "").status, 200);
    assert_eq!(get(&server, "/d", "").status, 301);
    assert_eq!(get(&server, "/d/", "").body, b"i");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn large_files_go_out_whole_and_in_ranges_with_sendfile_on_and_off() {
    let dir = site("sendfile");
    // Past the open-file cache's in-memory size, so the body comes from the file.
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &data).unwrap();
    let on = dir_table(&dir, "");
    let off = dir_table(&dir, ", sendfile = false");
    let server = Server::start(
        "sendfile",
        Some(&config(&[("/off/", &off), ("/", &on)])),
        &["--access-log", "off"],
    );
    for prefix in ["/", "/off/"] {
        // Twice on one connection: the second answer follows the first file's bytes.
        let mut s = server.connect();
        for _ in 0..2 {
            send(&mut s, "GET", &format!("{prefix}big.bin"), "");
            let r = read_response(&mut s, false);
            assert_eq!(r.status, 200, "{prefix}");
            assert!(r.body == data, "{prefix}: the whole file, byte for byte");
        }
        let r = get(
            &server,
            &format!("{prefix}big.bin"),
            "Range: bytes=1000000-1999999\r\n",
        );
        assert_eq!(r.status, 206);
        assert!(
            r.body[..] == data[1_000_000..2_000_000],
            "{prefix}: the range"
        );
        let r = {
            let mut s = server.connect();
            send(&mut s, "HEAD", &format!("{prefix}big.bin"), "");
            read_response(&mut s, true)
        };
        assert_eq!((r.status, r.body.len()), (200, 0));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
