#![no_main]
//! The HTTP semantics rules (`http_proto::semantics`) on arbitrary bytes: Range parsing,
//! the conditional fields, path normalization and the Host split never panic, and their
//! outputs keep their invariants: a partial range lies within the length, a normalized
//! path is in normal form (never above the root, no dot-segments, no `//`, no NUL), the
//! encoded-slash policy refuses exactly the paths holding `%2F` and changes nothing else,
//! and the host split gives back pieces of the value.

use arbitrary::Arbitrary;
use http_proto::semantics::{
    EncodedSlash, EntityTag, Precondition, Preconditions, RangeOutcome, Validators,
    host_without_port, if_match_matches, if_none_match_matches, if_range_allows, normalize_path,
    normalize_path_with, parse_http_date_secs, parse_range, split_host_port,
};
use http_proto::{ErrorKind, Method};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    len: u64,
    small_len: bool,
    last_modified: Option<u64>,
    etag: &'a [u8],
    field: &'a [u8],
    path: &'a [u8],
    method: u8,
}

fn check_range(value: &[u8], len: u64) {
    let outcome = parse_range(value, len);
    match outcome {
        RangeOutcome::Partial { start, end } => {
            assert!(start <= end && end < len, "{outcome:?} for {len}");
            assert_eq!(outcome.partial_len(), Some(end - start + 1));
            assert_eq!(
                outcome.content_range(len),
                Some(format!("bytes {start}-{end}/{len}"))
            );
        }
        RangeOutcome::Unsatisfiable => {
            assert_eq!(outcome.content_range(len), Some(format!("bytes */{len}")));
        }
        _ => assert_eq!(outcome.content_range(len), None),
    }
}

fn check_path(path: &[u8]) {
    check_encoded_slash_policy(path);
    let Ok(out) = normalize_path(path) else {
        return;
    };
    if !path.starts_with(b"/") {
        assert_eq!(&out[..], path);
        return;
    }
    assert!(out.starts_with(b"/"));
    assert!(!out.contains(&0));
    for bad in [&b"//"[..], b"/./", b"/../"] {
        assert!(!out.windows(bad.len()).any(|w| w == bad), "{out:?}");
    }
    assert!(!out.ends_with(b"/.") && !out.ends_with(b"/.."), "{out:?}");
    if !out.contains(&b'%') {
        let again = normalize_path(&out).expect("normal form normalizes");
        assert_eq!(&again[..], &out[..]);
    }
}

fn check_encoded_slash_policy(path: &[u8]) {
    let decoded = normalize_path(path);
    assert_eq!(normalize_path_with(path, EncodedSlash::Decode), decoded);
    let has_encoded_slash =
        path.starts_with(b"/") && path.windows(3).any(|w| w.eq_ignore_ascii_case(b"%2f"));
    match normalize_path_with(path, EncodedSlash::Refuse) {
        Err(e) if e.kind() == ErrorKind::PathEncodedSlash => {
            assert!(has_encoded_slash);
            let at = path.get(e.offset()..e.offset() + 3).expect("offset inside");
            assert!(at.eq_ignore_ascii_case(b"%2f"));
        }
        other => {
            assert!(!has_encoded_slash, "{other:?}");
            assert_eq!(other, decoded);
        }
    }
}

fn check_conditionals(input: &Input<'_>) {
    let field = input.field;
    let ours = Validators {
        etag: Some(input.etag),
        last_modified: input.last_modified,
    };
    let _ = parse_http_date_secs(field);
    let _ = if_range_allows(Some(field), &ours);
    if let Some(tag) = EntityTag::parse(input.etag) {
        // Our own tag always matches itself, weakly; strongly unless weak.
        assert!(if_none_match_matches(input.etag, input.etag));
        assert_eq!(if_match_matches(input.etag, input.etag), !tag.is_weak());
    }
    let method = match input.method % 4 {
        0 => Method::Get,
        1 => Method::Head,
        2 => Method::Put,
        _ => Method::Post,
    };
    let pre = Preconditions {
        if_match: (input.method & 4 != 0).then_some(field),
        if_none_match: (input.method & 8 != 0).then_some(field),
        if_modified_since: (input.method & 16 != 0).then_some(field),
        if_unmodified_since: (input.method & 32 != 0).then_some(field),
        if_range: Some(field),
    };
    let outcome = pre.evaluate(method, &ours);
    // 304 only answers a safe retrieval.
    if outcome == Precondition::NotModified {
        assert!(matches!(method, Method::Get | Method::Head));
    }
}

fn check_host(value: &[u8]) {
    let (host, port) = split_host_port(value);
    assert!(value.starts_with(host));
    assert_eq!(host_without_port(value), host);
    if let Some(port) = port {
        assert!(value.ends_with(port));
        assert_eq!(host.len() + 1 + port.len(), value.len());
    }
}

fuzz_target!(|input: Input<'_>| {
    let len = if input.small_len {
        input.len % 64
    } else {
        input.len
    };
    check_range(input.field, len);
    check_path(input.path);
    check_path(input.field);
    check_conditionals(&input);
    check_host(input.field);
});
