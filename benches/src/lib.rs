//! Shared inputs for the criterion benches in `benches/benches/`.
//!
//! The HTTP corpus is what issue 4 names: a small GET, a browser-like request, a request
//! with a 4 KiB cookie, a pipelined batch, and a chunked body; each input is parsed by
//! http-proto and by httparse in the same benchmark group.

pub mod parsers;

/// A minimal HTTP/1.1 GET request, the smallest realistic input.
pub const SMALL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

/// What a desktop browser sends for a page: 15 fields.
pub const BROWSER: &[u8] = b"GET /articles/2024/http-parsing.html?ref=front&page=2 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/\r\n\
Connection: keep-alive\r\n\
Cookie: theme=dark; lang=en; _ga=GA1.2.123456789.1700000000\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-User: ?1\r\n\
Priority: u=0, i\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

/// A request whose Cookie field is about 4 KiB: the long-value case.
#[must_use]
pub fn big_cookie() -> Vec<u8> {
    let mut req =
        b"GET /account HTTP/1.1\r\nHost: shop.example.com\r\nAccept: */*\r\nCookie: ".to_vec();
    let mut i = 0u8;
    while req.len() < 4200 {
        if i > 0 {
            req.extend_from_slice(b"; ");
        }
        req.extend_from_slice(format!("c{i:03}=").as_bytes());
        req.extend_from_slice(&[b'a' + i % 26; 48]);
        i += 1;
    }
    req.extend_from_slice(b"\r\nUser-Agent: curl/8.5.0\r\n\r\n");
    req
}

/// Ten requests back to back, as a pipelining client sends them.
#[must_use]
pub fn pipelined() -> Vec<u8> {
    let mut batch = Vec::new();
    for i in 0..10 {
        batch.extend_from_slice(
            format!(
                "GET /static/asset-{i}.css HTTP/1.1\r\nHost: cdn.example.com\r\n\
                 Accept: text/css,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n\r\n"
            )
            .as_bytes(),
        );
    }
    batch
}

/// The request heads of the corpus, by name.
#[must_use]
pub fn heads() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("small_get", SMALL_GET.to_vec()),
        ("browser_15_fields", BROWSER.to_vec()),
        ("cookie_4k", big_cookie()),
        ("pipelined_10", pipelined()),
    ]
}

/// A 64 KiB chunked body in 4 KiB chunks, then 32 small chunks (one with an extension), then
/// the last chunk. Returns the encoded body and its decoded length.
#[must_use]
pub fn chunked_body() -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    let mut decoded = 0;
    for i in 0..16u8 {
        body.extend_from_slice(b"1000\r\n");
        body.extend_from_slice(&[b'a' + i; 4096]);
        body.extend_from_slice(b"\r\n");
        decoded += 4096;
    }
    for i in 0..32usize {
        let ext: &[u8] = if i == 0 { b";name=value" } else { b"" };
        body.extend_from_slice(format!("{:x}", 7 + i).as_bytes());
        body.extend_from_slice(ext);
        body.extend_from_slice(b"\r\n");
        body.extend(std::iter::repeat_n(b'z', 7 + i));
        body.extend_from_slice(b"\r\n");
        decoded += 7 + i;
    }
    body.extend_from_slice(b"0\r\n\r\n");
    (body, decoded)
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use http_proto::{BodyDecoder, BodyEvent, Framing, Limits, RequestHead};

    #[test]
    fn small_get_is_a_complete_head() {
        assert!(super::SMALL_GET.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn every_head_input_parses_completely_with_both_parsers() {
        for (name, input) in super::heads() {
            let buf = Bytes::from(input);
            let mut at = 0;
            let mut count = 0;
            while at < buf.len() {
                let (head, len) = RequestHead::parse(&buf.slice(at..), &Limits::default())
                    .unwrap()
                    .unwrap_or_else(|| panic!("{name}: partial"));
                let mut slots = [httparse::EMPTY_HEADER; 32];
                let mut req = httparse::Request::new(&mut slots);
                assert_eq!(
                    req.parse(&buf[at..]).unwrap(),
                    httparse::Status::Complete(len),
                    "{name}"
                );
                assert_eq!(req.headers.len(), head.headers().len(), "{name}");
                at += len;
                count += 1;
            }
            let expected = if name == "pipelined_10" { 10 } else { 1 };
            assert_eq!(count, expected, "{name}");
        }
        assert!(super::big_cookie().len() > 4096);
        assert_eq!(super::heads()[1].1.split(|&b| b == b'\n').count(), 18);
    }

    #[test]
    fn chunked_body_decodes_to_its_length() {
        let (body, decoded) = super::chunked_body();
        let mut buf = BytesMut::from(&body[..]);
        let mut decoder = BodyDecoder::new(Framing::Chunked);
        let mut total = 0;
        loop {
            match decoder.decode(&mut buf, &Limits::default()).unwrap() {
                BodyEvent::Data(d) => total += d.len(),
                BodyEvent::End(_) => break,
                BodyEvent::NeedData => panic!("incomplete"),
            }
        }
        assert_eq!(total, decoded);
        assert!(buf.is_empty());
    }
}

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
