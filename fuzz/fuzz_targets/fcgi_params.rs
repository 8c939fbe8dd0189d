#![no_main]
//! The name-value decoder on any bytes, in any chunking: never panics, never
//! accepts more than its limit, gives the same pairs whatever the chunking,
//! and the pairs it gives re-encode to the bytes it read.

use bytes::{Bytes, BytesMut};
use fcgi_proto::params::{ParamsDecoder, encode_pair};
use libfuzzer_sys::fuzz_target;

fn decode(parts: &[&[u8]], limit: usize) -> Result<Vec<(Bytes, Bytes)>, fcgi_proto::Error> {
    let mut dec = ParamsDecoder::new(limit, 1);
    let mut out = Vec::new();
    for p in parts {
        dec.feed(Bytes::copy_from_slice(p), &mut out)?;
    }
    dec.finish()?;
    Ok(out.into_iter().map(|p| (p.name, p.value)).collect())
}

fuzz_target!(|input: (u16, u16, u16, Vec<u8>)| {
    let (limit, a, b, data) = input;
    let limit = usize::from(limit);
    let len = data.len();
    let i = usize::from(a) % (len + 1);
    let j = usize::from(b) % (len + 1);
    let (i, j) = (i.min(j), i.max(j));
    let whole = decode(&[&data], limit);
    let split = decode(&[&data[..i], &data[i..j], &data[j..]], limit);
    assert_eq!(whole.is_ok(), split.is_ok());
    if let (Ok(w), Ok(s)) = (&whole, &split) {
        assert_eq!(w, s);
        assert!(len <= limit);
        let mut wire = BytesMut::new();
        for (n, v) in w {
            encode_pair(&mut wire, n, v).unwrap();
        }
        // Lengths have one canonical encoding except a 4-byte form below 128,
        // which decodes fine but re-encodes shorter.
        assert!(wire.len() <= len);
        assert_eq!(decode(&[&wire], usize::MAX).unwrap(), *w);
    }
});
