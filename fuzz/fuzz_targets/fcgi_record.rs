#![no_main]
//! The record decoder on any bytes, in any chunking: never panics, gives the
//! same records whatever the chunking, holds at most one record of buffer
//! after draining, and every record it gives re-encodes and decodes to itself.

use bytes::BytesMut;
use fcgi_proto::record::{MAX_RECORD_LEN, Record, RecordDecoder, encode_record};
use libfuzzer_sys::fuzz_target;

fn decode(parts: &[&[u8]]) -> (Vec<Record>, Option<fcgi_proto::Error>) {
    let mut dec = RecordDecoder::new();
    let mut out = Vec::new();
    for p in parts {
        dec.feed(p);
        loop {
            match dec.decode() {
                Ok(Some(r)) => out.push(r),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
        assert!(dec.buffered() < MAX_RECORD_LEN);
    }
    (out, None)
}

fuzz_target!(|input: (u16, u16, Vec<u8>)| {
    let (a, b, data) = input;
    let len = data.len();
    let (i, j) = {
        let i = usize::from(a) % (len + 1);
        let j = usize::from(b) % (len + 1);
        (i.min(j), i.max(j))
    };
    let whole = decode(&[&data]);
    let split = decode(&[&data[..i], &data[i..j], &data[j..]]);
    assert_eq!(whole, split);
    for r in &whole.0 {
        let mut wire = BytesMut::new();
        encode_record(&mut wire, r.record_type, r.request_id, &r.content).unwrap();
        assert_eq!(wire.len() % 8, 0);
        let (again, err) = decode(&[&wire]);
        assert_eq!((again.as_slice(), err), (std::slice::from_ref(r), None));
    }
});
