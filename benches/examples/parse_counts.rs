//! The http_head bench's inputs, parsed `N` times by one parser, for callgrind.
//!
//! `cargo build --profile bench -p benches --example parse_counts`, then
//! `valgrind --tool=callgrind target/release/examples/parse_counts <input> <parser> <N>` with
//! `N` = 0 and `N` = 1000: the difference of the two totals over 1000 is the instruction
//! count of one parse (or one decoded body), without start-up and set-up. Inputs are the
//! names of `benches::heads()` and `chunked_64k`; parsers `http-proto` and `httparse`.

use bytes::{Buf, Bytes, BytesMut};
use http_proto::{BodyDecoder, BodyEvent, Framing, Limits, RequestHead};
use std::hint::black_box;

#[inline(never)]
fn http_proto_heads(buf: &Bytes, limits: &Limits) -> usize {
    let mut rest = buf.clone();
    let mut fields = 0;
    while !rest.is_empty() {
        // Bound by reference, as in the criterion bench: the head is not moved again.
        let len = match RequestHead::parse(&rest, limits) {
            Ok(Some((ref head, len))) => {
                fields += black_box(head).headers().len();
                len
            }
            _ => unreachable!("the corpus is valid"),
        };
        rest.advance(len);
    }
    fields
}

#[inline(never)]
fn httparse_heads(buf: &[u8]) -> usize {
    let mut fields = 0;
    let mut at = 0;
    while at < buf.len() {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut slots);
        let Ok(httparse::Status::Complete(len)) = req.parse(&buf[at..]) else {
            unreachable!("the corpus is valid");
        };
        fields += black_box(&req).headers.len();
        at += len;
    }
    fields
}

#[inline(never)]
fn http_proto_chunked(buf: &mut BytesMut, limits: &Limits) -> usize {
    let mut decoder = BodyDecoder::new(Framing::Chunked);
    let mut total = 0;
    loop {
        match decoder.decode(buf, limits) {
            Ok(BodyEvent::Data(d)) => total += black_box(d).len(),
            Ok(BodyEvent::End(_)) => return total,
            _ => unreachable!("the corpus is valid"),
        }
    }
}

#[inline(never)]
fn httparse_chunked(buf: &[u8]) -> usize {
    let mut at = 0;
    let mut total = 0;
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(&buf[at..])
        else {
            unreachable!("the corpus is valid");
        };
        at += used;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size == 0 {
            assert_eq!(&buf[at..at + 2], b"\r\n");
            return total;
        }
        total += black_box(&buf[at..at + size]).len();
        at += size;
        assert_eq!(&buf[at..at + 2], b"\r\n");
        at += 2;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, parser, n] = &args[..] else {
        eprintln!("usage: parse_counts <input> <http-proto|httparse> <N>");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    let limits = Limits::default();
    let mut sum = 0;
    if input == "chunked_64k" {
        let (body, _) = benches::chunked_body();
        // Both get a fresh buffer per round, as in the bench, so the copy is in both counts.
        for _ in 0..n {
            let mut buf = BytesMut::from(&body[..]);
            sum += match parser.as_str() {
                "http-proto" => http_proto_chunked(&mut buf, &limits),
                _ => httparse_chunked(&buf),
            };
        }
    } else {
        let (_, raw) = benches::heads()
            .into_iter()
            .find(|(name, _)| name == input)
            .expect("a known input");
        let buf = Bytes::from(raw.clone());
        for _ in 0..n {
            sum += match parser.as_str() {
                "http-proto" => http_proto_heads(black_box(&buf), &limits),
                _ => httparse_heads(black_box(&raw)),
            };
        }
    }
    println!("{sum}");
}
