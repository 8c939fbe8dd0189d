#![no_main]
//! Request heads: `RequestHead::parse` never panics, and `RequestParser` fed the same bytes
//! in two pieces reaches the same result (RFC 9112 parsing is a left-to-right decision, so
//! where the input is split must not matter).

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use http_proto::{Limits, RequestHead, RequestParser};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    split: u16,
    allow_bare_lf: bool,
    fold_obs_fold: bool,
    small_limits: bool,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let mut limits = Limits::default();
    limits.allow_bare_lf = input.allow_bare_lf;
    limits.fold_obs_fold = input.fold_obs_fold;
    if input.small_limits {
        limits.max_head_len = 256;
        limits.max_target_len = 32;
        limits.max_headers = 4;
    }
    let data = input.data;
    let whole = RequestHead::parse(&Bytes::copy_from_slice(data), &limits);

    if let Ok(Some((head, len))) = &whole {
        assert!(*len <= data.len());
        // The head's bytes, but for obs-folds (line break and the whitespace after it) replaced
        // with spaces when folding is on.
        assert_eq!(head.as_bytes().len(), *len);
        for (&ours, &sent) in head.as_bytes().iter().zip(data) {
            assert!(ours == sent || (ours == b' ' && matches!(sent, b'\r' | b'\n' | b'\t')));
        }
        assert!(!head.method_bytes().is_empty());
        assert!(!head.target().is_empty());
        assert!(!head.target().iter().any(|&b| b <= b' ' || b >= 0x7f));
        for (name, value) in head.headers().iter() {
            assert!(!name.is_empty());
            assert!(!value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)));
            assert!(!value.starts_with(b" ") && !value.ends_with(b" "));
            assert!(!value.starts_with(b"\t") && !value.ends_with(b"\t"));
        }
        assert!(head.headers().len() <= limits.max_headers);
        assert!(*len <= limits.max_head_len);
    }

    // The same bytes in two pieces, through the incremental parser.
    let split = usize::from(input.split) % (data.len() + 1);
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&data[..split]);
    let mut pieced = parser.parse(&mut buf, &limits);
    if let Ok(None) = pieced {
        buf.extend_from_slice(&data[split..]);
        pieced = parser.parse(&mut buf, &limits);
    } else {
        // The head completed within the first piece: what follows it is still to come.
        buf.extend_from_slice(&data[split..]);
    }
    match (&whole, &pieced) {
        (Ok(Some((a, len))), Ok(Some(b))) => {
            assert_eq!(a, &**b);
            assert_eq!(&buf[..], &data[*len..], "the head's bytes are split off");
        }
        (Ok(None), Ok(None)) => {}
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} vs {b}"),
        (a, b) => panic!("whole {a:?} vs split at {split}: {b:?}"),
    }
});
