//! Name-value pairs: round-trips across record boundaries, and limits.

mod common;

use bytes::{Bytes, BytesMut};
use common::split::{assert_split_anywhere, cut};
use common::strategies;
use fcgi_proto::Error;
use fcgi_proto::params::{ParamsDecoder, encode_pair, encoded_pair_len};
use proptest::prelude::*;

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn decode_chunks(parts: &[&[u8]], limit: usize) -> Result<Pairs, Error> {
    let mut dec = ParamsDecoder::new(limit, 1);
    let mut out = Vec::new();
    for p in parts {
        dec.feed(Bytes::copy_from_slice(p), &mut out)?;
    }
    dec.finish()?;
    Ok(out
        .into_iter()
        .map(|p| (p.name.to_vec(), p.value.to_vec()))
        .collect())
}

fn encode(pairs: &Pairs) -> BytesMut {
    let mut wire = BytesMut::new();
    for (n, v) in pairs {
        encode_pair(&mut wire, n, v).unwrap();
    }
    wire
}

#[test]
fn split_anywhere_long_and_short_forms() {
    let pairs: Pairs = vec![
        (b"A".to_vec(), b"".to_vec()),
        (vec![b'N'; 130], vec![b'v'; 3]),
        (b"K".to_vec(), vec![b'w'; 200]),
    ];
    let wire = encode(&pairs);
    let got = assert_split_anywhere(&wire, 0, |parts| decode_chunks(parts, 10_000));
    assert_eq!(got, Ok(pairs));
}

#[test]
fn limit_is_exact() {
    let pairs: Pairs = vec![(b"NAME".to_vec(), b"VALUE".to_vec()); 3];
    let wire = encode(&pairs);
    assert_eq!(wire.len(), 3 * encoded_pair_len(4, 5));
    assert!(decode_chunks(&[&wire], wire.len()).is_ok());
    assert!(matches!(
        decode_chunks(&[&wire], wire.len() - 1),
        Err(Error::ParamsTooLarge { .. })
    ));
}

#[test]
fn hostile_lengths_do_not_buffer() {
    // A pair announcing a 1 GiB name, then a trickle of bytes: refused at the
    // lengths, whatever the chunking.
    let wire = [0xc0, 0, 0, 0, 1, b'a', b'b'];
    let got = assert_split_anywhere(&wire, 8, |parts| decode_chunks(parts, 1 << 20));
    assert!(matches!(got, Err(Error::ParamsTooLarge { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn pairs_round_trip_in_any_chunking(pairs in strategies::params(), cuts in strategies::cuts()) {
        let wire = encode(&pairs);
        let expected_len: usize = pairs.iter().map(|(n, v)| encoded_pair_len(n.len(), v.len())).sum();
        prop_assert_eq!(wire.len(), expected_len);
        prop_assert_eq!(decode_chunks(&cut(&wire, &cuts), usize::MAX), Ok(pairs));
    }

    #[test]
    fn decoder_holds_no_more_than_the_limit(bytes in proptest::collection::vec(any::<u8>(), 0..400), limit in 0usize..300) {
        // Whatever arrives, success means the input fit the limit.
        if decode_chunks(&[&bytes], limit).is_ok() {
            prop_assert!(bytes.len() <= limit);
        }
    }
}
