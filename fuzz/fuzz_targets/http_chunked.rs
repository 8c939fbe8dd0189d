#![no_main]
//! The chunked decoder: never panics, never loops, never hands out more data than it was
//! given, and any split of the input gives the same data and the same outcome.

use arbitrary::Arbitrary;
use bytes::BytesMut;
use http_proto::{BodyDecoder, BodyEvent, Framing, Limits};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    allow_bare_lf: bool,
    small_limits: bool,
    /// Piece lengths the input is fed in (cycled; 0 is taken as 1).
    pieces: Vec<u8>,
    data: &'a [u8],
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Data out, and the trailers if the body ended.
    Ended(Vec<u8>, Option<Vec<(Vec<u8>, Vec<u8>)>>, usize),
    Incomplete(Vec<u8>),
    Failed(Vec<u8>, http_proto::ErrorKind),
}

/// Feeds `data` in pieces of the given lengths, decoding after each.
fn run(data: &[u8], pieces: &[u8], limits: &Limits) -> Outcome {
    let mut decoder = BodyDecoder::new(Framing::Chunked);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut piece = 0;
    loop {
        // Every call consumes input or asks for more: twice the input plus a margin is a
        // generous bound on the number of calls between two feeds.
        let mut calls = 0;
        loop {
            calls += 1;
            assert!(calls <= 2 * data.len() + 8, "decoder loops");
            let before = buf.len();
            match decoder.decode(&mut buf, limits) {
                Ok(BodyEvent::Data(d)) => {
                    assert!(!d.is_empty(), "empty Data event");
                    assert!(buf.len() < before);
                    out.extend_from_slice(&d);
                    assert!(out.len() <= fed, "more data out than in");
                }
                Ok(BodyEvent::End(trailers)) => {
                    assert!(decoder.is_done());
                    assert!(matches!(
                        decoder.decode(&mut buf, limits),
                        Ok(BodyEvent::End(None))
                    ));
                    let trailers = trailers.map(|t| {
                        t.iter()
                            .map(|(n, v)| (n.to_vec(), v.to_vec()))
                            .collect::<Vec<_>>()
                    });
                    return Outcome::Ended(out, trailers, fed - buf.len());
                }
                // A trailer section waiting for the rest of its line keeps its bytes buffered.
                Ok(BodyEvent::NeedData) => break,
                Err(e) => return Outcome::Failed(out, e.kind()),
            }
        }
        if fed == data.len() {
            return Outcome::Incomplete(out);
        }
        let len = pieces
            .get(piece % pieces.len().max(1))
            .map_or(data.len(), |&n| usize::from(n.max(1)))
            .min(data.len() - fed);
        piece += 1;
        buf.extend_from_slice(&data[fed..fed + len]);
        fed += len;
    }
}

fuzz_target!(|input: Input<'_>| {
    let mut limits = Limits::default();
    limits.allow_bare_lf = input.allow_bare_lf;
    if input.small_limits {
        limits.max_chunk_ext_len = 8;
        limits.max_trailer_len = 64;
        limits.max_body_len = 300;
    }
    let pieced = run(input.data, &input.pieces, &limits);
    let whole = run(input.data, &[], &limits);
    let total = |o: &Outcome| match o {
        Outcome::Ended(d, ..) | Outcome::Incomplete(d) | Outcome::Failed(d, _) => d.len(),
    };
    assert!(total(&pieced) <= input.data.len());
    // Data may be handed out in different pieces, and an error may come after more or less
    // data depending on where the input was split; the rest must match.
    match (&pieced, &whole) {
        (Outcome::Ended(..), _) | (_, Outcome::Ended(..)) => assert_eq!(pieced, whole),
        (Outcome::Failed(_, a), Outcome::Failed(_, b)) => assert_eq!(a, b),
        (Outcome::Incomplete(a), Outcome::Incomplete(b)) => assert_eq!(a, b),
        (a, b) => panic!("pieced {a:?} vs whole {b:?}"),
    }
});
