//! The http_head bench's inputs, parsed `N` times by one parser, for callgrind.
//!
//! `cargo build --profile bench -p benches --example parse_counts`, then
//! `valgrind --tool=callgrind target/release/examples/parse_counts <input> <parser> <N>` with
//! `N` = 0 and `N` = 1000: the difference of the two totals over 1000 is the instruction
//! count of one parse (or one decoded body), without start-up and set-up. Inputs are the
//! names of `benches::heads()` and `chunked_64k`; parsers `http-proto` and `httparse`.

use benches::parsers::{http_proto_chunked, http_proto_heads, httparse_chunked, httparse_heads};
use bytes::{Bytes, BytesMut};
use http_proto::Limits;
use std::hint::black_box;

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
