//! Properties of the HTTP semantics rules (`http_proto::semantics`): they never panic on
//! any bytes, a parsed range always lies within the representation, a normalized path
//! never climbs above the root or keeps a dot-segment, and the comparisons agree with the
//! values they were built from.

mod strategies;

use http_proto::ErrorKind;
use http_proto::Method;
use http_proto::semantics::{
    EncodedSlash, EntityTag, Precondition, Preconditions, RangeOutcome, Validators,
    host_without_port, if_match_matches, if_none_match_matches, if_range_allows, normalize_path,
    normalize_path_with, parse_range, split_host_port,
};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::origin_target;

/// Range-ish bytes: mostly the alphabet of a Range value, so the parser's branches are hit.
fn range_value() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => (0u64..40).prop_map(|n| n.to_string().into_bytes()),
        1 => any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        1 => Just(b"99999999999999999999999".to_vec()),
        3 => prop::sample::select(vec!["-", ",", " ", "=", "bytes", "x"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..3),
    ];
    (any::<bool>(), vec(piece, 0..10)).prop_map(|(prefix, p)| {
        let mut v = if prefix {
            b"bytes=".to_vec()
        } else {
            Vec::new()
        };
        v.extend(p.concat());
        v
    })
}

/// Paths heavy in slashes, dots and escapes of them.
fn dotty_path() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        "/", "/", ".", "..", "a", "b", "%2e", "%2E", "%2f", "%2F", "%00", "%25", "%", "x%2",
    ]);
    vec(piece, 0..12).prop_map(|p| {
        let mut v = b"/".to_vec();
        v.extend(p.concat().into_bytes());
        v
    })
}

/// The normal-form invariants of a normalized path.
fn assert_normal(out: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(out.starts_with(b"/"));
    prop_assert!(!out.contains(&0));
    for bad in [&b"//"[..], b"/./", b"/../"] {
        prop_assert!(!out.windows(bad.len()).any(|w| w == bad));
    }
    prop_assert!(!out.ends_with(b"/.") && !out.ends_with(b"/.."));
    Ok(())
}

proptest! {
    #[test]
    fn a_parsed_range_lies_within_the_length(value in range_value(), len in prop_oneof![0u64..50, any::<u64>()]) {
        match parse_range(&value, len) {
            RangeOutcome::Partial { start, end } => {
                prop_assert!(start <= end && end < len);
                let n = parse_range(&value, len).partial_len();
                prop_assert_eq!(n, Some(end - start + 1));
            }
            RangeOutcome::Unsatisfiable => {
                let want = format!("bytes */{len}");
                prop_assert_eq!(parse_range(&value, len).content_range(len), Some(want));
            }
            _ => {}
        }
    }

    #[test]
    fn an_int_range_means_what_it_says(a in 0u64..100, extra in 0u64..100, len in 0u64..100, open in any::<bool>()) {
        let b = a + extra;
        let value = if open { format!("bytes={a}-") } else { format!("bytes={a}-{b}") };
        let end = if open { len.saturating_sub(1) } else { b.min(len.saturating_sub(1)) };
        let want = if a < len {
            RangeOutcome::Partial { start: a, end }
        } else {
            RangeOutcome::Unsatisfiable
        };
        prop_assert_eq!(parse_range(value.as_bytes(), len), want);
    }

    #[test]
    fn a_suffix_range_is_the_last_bytes(n in 0u64..100, len in 0u64..100) {
        let want = if n == 0 || len == 0 {
            RangeOutcome::Unsatisfiable
        } else {
            RangeOutcome::Partial { start: len.saturating_sub(n), end: len - 1 }
        };
        prop_assert_eq!(parse_range(format!("bytes=-{n}").as_bytes(), len), want);
    }

    #[test]
    fn normalized_paths_never_climb_or_keep_dot_segments(
        path in prop_oneof![dotty_path(), origin_target(), vec(any::<u8>(), 0..40)],
    ) {
        if let Ok(out) = normalize_path(&path)
            && path.starts_with(b"/")
        {
            assert_normal(&out)?;
            // Normal form is a fixed point when nothing is left to decode.
            if !out.contains(&b'%') {
                prop_assert_eq!(&normalize_path(&out).unwrap()[..], &out[..]);
            }
        }
    }

    #[test]
    fn refusing_encoded_slashes_changes_nothing_else(
        path in prop_oneof![dotty_path(), origin_target(), vec(any::<u8>(), 0..40)],
    ) {
        let decoded = normalize_path_with(&path, EncodedSlash::Decode);
        prop_assert_eq!(&decoded, &normalize_path(&path));
        let has_encoded_slash = path.windows(3).any(|w| w.eq_ignore_ascii_case(b"%2f"));
        match normalize_path_with(&path, EncodedSlash::Refuse) {
            Err(e) if e.kind() == ErrorKind::PathEncodedSlash => {
                prop_assert!(has_encoded_slash && path.starts_with(b"/"));
                prop_assert!(path[e.offset()..].len() >= 3);
                prop_assert!(path[e.offset()..e.offset() + 3].eq_ignore_ascii_case(b"%2f"));
            }
            // Without an encoded slash the policy makes no difference.
            refused_or_not => {
                prop_assert!(!has_encoded_slash || !path.starts_with(b"/"));
                prop_assert_eq!(refused_or_not, decoded);
            }
        }
    }

    #[test]
    fn conditionals_never_panic_and_match_their_own_tag(
        field in vec(any::<u8>(), 0..40),
        opaque in "[!#-~]{0,12}",
        weak in any::<bool>(),
    ) {
        let etag = format!("{}\"{opaque}\"", if weak { "W/" } else { "" });
        let etag = etag.as_bytes();
        let tag = EntityTag::parse(etag).unwrap();
        prop_assert_eq!(tag.is_weak(), weak);
        prop_assert!(if_none_match_matches(etag, etag));
        prop_assert_eq!(if_match_matches(etag, etag), !weak);
        let mut list = field.clone();
        list.extend_from_slice(b", ");
        list.extend_from_slice(etag);
        // A malformed prefix may swallow the list only through an unterminated quote.
        if !field.contains(&b'"') {
            prop_assert!(if_none_match_matches(&list, etag));
        }
        let v = Validators { etag: Some(etag), last_modified: Some(0) };
        let _ = if_range_allows(Some(&field), &v);
        let pre = Preconditions {
            if_match: Some(&field),
            if_none_match: Some(&field),
            if_modified_since: Some(&field),
            if_unmodified_since: Some(&field),
            if_range: Some(&field),
        };
        let _ = pre.evaluate(Method::Get, &v);
        let _ = EntityTag::parse(&field);
    }

    #[test]
    fn host_and_port_split_back(
        host in prop_oneof!["[a-z0-9.-]{0,20}", "\\[[0-9a-f:.]{1,20}\\]"],
        port in proptest::option::of("[0-9]{0,5}"),
    ) {
        let value = match &port {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let (h, p) = split_host_port(value.as_bytes());
        prop_assert_eq!(h, host.as_bytes());
        prop_assert_eq!(p, port.as_deref().map(str::as_bytes));
        prop_assert_eq!(host_without_port(value.as_bytes()), host.as_bytes());
    }
}

#[test]
fn a_static_file_walkthrough() {
    // The decisions refserver makes for `GET /a%20b.txt` of a 10-byte file, in order.
    let path = normalize_path(b"/docs/../a%20b.txt").unwrap();
    assert_eq!(&path[..], b"/a b.txt");
    let v = Validators {
        etag: Some(b"\"1-a\""),
        last_modified: Some(1),
    };
    let pre = Preconditions {
        if_none_match: Some(b"\"0-a\""),
        if_range: Some(b"\"1-a\""),
        ..Preconditions::default()
    };
    assert_eq!(pre.evaluate(Method::Get, &v), Precondition::Proceed);
    assert!(if_range_allows(pre.if_range, &v));
    let outcome = parse_range(b"bytes=2-4", 10);
    assert_eq!(outcome.content_range(10).as_deref(), Some("bytes 2-4/10"));
}
