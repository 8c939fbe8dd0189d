#![no_main]
//! Response heads: `ResponseHead::parse` never panics, and `ResponseParser` fed the same
//! bytes in two pieces reaches the same result.

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use http_proto::{Limits, ResponseHead, ResponseParser};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    split: u16,
    allow_bare_lf: bool,
    fold_obs_fold: bool,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let mut limits = Limits::default();
    limits.allow_bare_lf = input.allow_bare_lf;
    limits.fold_obs_fold = input.fold_obs_fold;
    let data = input.data;
    let whole = ResponseHead::parse(&Bytes::copy_from_slice(data), &limits);

    if let Ok(Some((head, len))) = &whole {
        assert!(*len <= data.len());
        assert_eq!(head.as_bytes().len(), *len);
        for (&ours, &sent) in head.as_bytes().iter().zip(data) {
            assert!(ours == sent || (ours == b' ' && matches!(sent, b'\r' | b'\n' | b'\t')));
        }
        assert!((100..=999).contains(&head.status()));
        assert!(
            !head
                .reason()
                .iter()
                .any(|&b| matches!(b, b'\r' | b'\n' | 0))
        );
        for (name, value) in head.headers().iter() {
            assert!(!name.is_empty());
            assert!(!value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)));
        }
    }

    let split = usize::from(input.split) % (data.len() + 1);
    let mut parser = ResponseParser::new();
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
            assert_eq!(a, b);
            assert_eq!(&buf[..], &data[*len..]);
        }
        (Ok(None), Ok(None)) => {}
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} vs {b}"),
        (a, b) => panic!("whole {a:?} vs split at {split}: {b:?}"),
    }
});
