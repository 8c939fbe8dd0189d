//! Record codec: round-trips, split-anywhere decoding, padding and length rules.

mod common;

use bytes::BytesMut;
use common::split::{assert_split_anywhere, cut};
use common::strategies;
use fcgi_proto::record::{
    HEADER_LEN, MAX_CONTENT_LEN, Record, RecordDecoder, encode_record, encode_stream,
    encode_stream_end,
};
use fcgi_proto::{Error, RecordType};
use proptest::prelude::*;

/// Decodes everything fed in `parts`, returning the records and the first error.
fn decode_all(parts: &[&[u8]]) -> (Vec<Record>, Option<Error>, usize) {
    let mut dec = RecordDecoder::new();
    let mut out = Vec::new();
    for p in parts {
        dec.feed(p);
        loop {
            match dec.decode() {
                Ok(Some(r)) => out.push(r),
                Ok(None) => break,
                Err(e) => return (out, Some(e), dec.buffered()),
            }
        }
    }
    (out, None, dec.buffered())
}

#[test]
fn split_anywhere_gives_the_same_records() {
    let mut wire = BytesMut::new();
    encode_record(
        &mut wire,
        RecordType::BeginRequest,
        1,
        &[0, 1, 1, 0, 0, 0, 0, 0],
    )
    .unwrap();
    encode_record(&mut wire, RecordType::Params, 1, b"\x04\x03HOSTabc").unwrap();
    encode_stream_end(&mut wire, RecordType::Params, 1);
    encode_record(&mut wire, RecordType::Stdin, 1, b"x").unwrap();
    encode_stream_end(&mut wire, RecordType::Stdin, 1);
    let (recs, err, rest) = assert_split_anywhere(&wire, 80, decode_all);
    assert_eq!(recs.len(), 5);
    assert_eq!((err, rest), (None, 0));
}

#[test]
fn split_anywhere_with_odd_padding_and_bad_version() {
    // Content 1 byte with 9 bytes of padding, then a version-2 header.
    let mut wire = vec![1, 6, 0, 9, 0, 1, 9, 0, b'z'];
    wire.extend([0xee; 9]);
    wire.extend([2, 6, 0, 9, 0, 0, 0, 0]);
    let (recs, err) = assert_split_anywhere(&wire, 64, |parts| {
        let (r, e, _) = decode_all(parts);
        (r, e)
    });
    assert_eq!(&recs[0].content[..], b"z");
    assert_eq!(err, Some(Error::UnsupportedVersion { version: 2 }));
}

#[test]
fn every_record_type_round_trips() {
    for t in 1..=11u8 {
        let rt = RecordType::from_u8(t);
        let id = if matches!(t, 9..=11) { 0 } else { 7 };
        let mut wire = BytesMut::new();
        encode_record(&mut wire, rt, id, b"abcdefgh").unwrap();
        assert_eq!(wire.len(), HEADER_LEN + 8);
        let (recs, err, _) = decode_all(&[&wire]);
        assert_eq!(err, None);
        assert_eq!((recs[0].record_type, recs[0].request_id), (rt, id));
    }
}

#[test]
fn stream_of_twice_max_is_three_records() {
    let data = vec![1u8; 2 * MAX_CONTENT_LEN + 10];
    let mut wire = BytesMut::new();
    encode_stream(&mut wire, RecordType::Stdout, 1, &data);
    let (recs, _, _) = decode_all(&[&wire]);
    let lens: Vec<usize> = recs.iter().map(|r| r.content.len()).collect();
    assert_eq!(lens, vec![MAX_CONTENT_LEN, MAX_CONTENT_LEN, 10]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn records_round_trip_in_any_chunking(
        recs in proptest::collection::vec((strategies::record_type(), any::<u16>(), strategies::content()), 0..6),
        cuts in strategies::cuts(),
    ) {
        let mut wire = BytesMut::new();
        for (t, id, c) in &recs {
            encode_record(&mut wire, *t, *id, c).unwrap();
        }
        prop_assert_eq!(wire.len() % 8, 0);
        let (got, err, rest) = decode_all(&cut(&wire, &cuts));
        prop_assert_eq!(err, None);
        prop_assert_eq!(rest, 0);
        prop_assert_eq!(got.len(), recs.len());
        for (g, (t, id, c)) in got.iter().zip(&recs) {
            prop_assert_eq!(g.record_type, *t);
            prop_assert_eq!(g.request_id, *id);
            prop_assert_eq!(&g.content[..], &c[..]);
        }
    }

    #[test]
    fn streams_reassemble(data in proptest::collection::vec(any::<u8>(), 0..200_000)) {
        let mut wire = BytesMut::new();
        encode_stream(&mut wire, RecordType::Stdin, 3, &data);
        encode_stream_end(&mut wire, RecordType::Stdin, 3);
        let (got, _, _) = decode_all(&[&wire]);
        let (end, body) = got.split_last().unwrap();
        prop_assert!(end.content.is_empty());
        prop_assert!(body.iter().all(|r| !r.content.is_empty() && r.content.len() <= MAX_CONTENT_LEN));
        let joined: Vec<u8> = body.iter().flat_map(|r| r.content.iter().copied()).collect();
        prop_assert_eq!(joined, data);
    }

    #[test]
    fn decoder_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_all(&[&bytes]);
    }
}
