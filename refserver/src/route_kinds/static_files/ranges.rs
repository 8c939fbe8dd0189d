//! Several ranges in one 206 `multipart/byteranges` (RFC 9110 §14.6), and the caps that
//! keep a `Range` field from costing more than the file.
//!
//! http-proto parses the field ([`parse_range_set`](http_proto::semantics::parse_range_set):
//! at most `max_ranges` members, else the whole file; overlapping and unordered members
//! coalesced) and lays out the body ([`MultipartByteranges`]); this file adds the last
//! cap and the plan of segments the reply streams:
//!
//! - a multipart body longer than the file is never sent: many tiny ranges (the
//!   CVE-2011-3192 class) cost a part header each, and the whole file (200) is then
//!   both smaller and correct (RFC 9110 §14.2 lets a server ignore Range).

use crate::route_kinds::reply::Segment;
use bytes::Bytes;
use http_proto::semantics::{ByteRange, MultipartByteranges};
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};

/// A planned multipart body.
#[derive(Debug)]
pub(super) struct MultipartPlan {
    /// The response's `Content-Type` (with the boundary).
    pub(super) content_type: String,
    /// Its `Content-Length`.
    pub(super) body_len: u64,
    /// Part heads and file ranges, in order.
    pub(super) segments: VecDeque<Segment>,
}

/// The body for `ranges` (two or more, sorted and disjoint) of a `len`-byte file of
/// type `content_type`; `None` when it would be longer than the file (send it whole).
pub(super) fn plan_multipart(
    ranges: &[ByteRange],
    content_type: &[u8],
    len: u64,
) -> Option<MultipartPlan> {
    let boundary = boundary();
    let framing = MultipartByteranges::new(&boundary, content_type, len)?;
    let body_len = framing.body_len(ranges).filter(|&n| n <= len)?;
    let mut segments = VecDeque::with_capacity(ranges.len() * 2 + 1);
    for range in ranges {
        segments.push_back(Segment::Bytes(Bytes::from(framing.part_head(range))));
        segments.push_back(Segment::File {
            offset: range.start,
            len: range.len(),
        });
    }
    segments.push_back(Segment::Bytes(Bytes::from(framing.closing())));
    Some(MultipartPlan {
        content_type: framing.content_type(),
        body_len,
        segments,
    })
}

/// A fresh boundary per response: 64 random bits (std's per-map hash keys), so a file
/// cannot be crafted to contain the delimiter of the answer that sends it.
fn boundary() -> String {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("refserver-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_longer_than_the_file_are_refused() {
        let r = |start, end| ByteRange { start, end };
        let plan = plan_multipart(&[r(0, 99), r(900, 999)], b"text/plain", 1000).unwrap();
        assert!(
            plan.content_type
                .starts_with("multipart/byteranges; boundary=refserver-")
        );
        assert_eq!(plan.segments.len(), 5);
        assert!(plan.body_len > 200 && plan.body_len < 1000);
        // Ten one-byte ranges of a 500-byte file: the part heads outweigh the file.
        let tiny: Vec<ByteRange> = (0..10).map(|i| r(i * 50, i * 50)).collect();
        assert!(plan_multipart(&tiny, b"text/plain", 500).is_none());
    }

    #[test]
    fn boundaries_differ_per_response() {
        assert_ne!(boundary(), boundary());
    }
}
