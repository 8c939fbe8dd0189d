//! Byte ranges (RFC 9110 §14): what a `Range` field asks of a representation of known
//! length, and the `Content-Range` that answers it.
//!
//! ```
//! use http_proto::semantics::{parse_range, RangeOutcome};
//!
//! let outcome = parse_range(b"bytes=2-4", 10);
//! assert_eq!(outcome, RangeOutcome::Partial { start: 2, end: 4 });
//! assert_eq!(outcome.content_range(10).as_deref(), Some("bytes 2-4/10"));
//! let outcome = parse_range(b"bytes=10-", 10);
//! assert_eq!(outcome, RangeOutcome::Unsatisfiable);
//! assert_eq!(outcome.content_range(10).as_deref(), Some("bytes */10"));
//! ```

/// What a `Range` field asks of a representation of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeOutcome {
    /// Send the whole representation (200): not a `bytes` range, or invalid syntax
    /// (RFC 9110 §14.2: a server MAY ignore Range, and a recipient ignores an invalid one).
    Full,
    /// Send bytes `start..=end` (206); always `start <= end < len`.
    Partial {
        /// First byte, zero-based.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// No requested byte exists (416 with `Content-Range: bytes */len`, §15.5.17).
    Unsatisfiable,
    /// Two or more valid ranges, at least one satisfiable: the caller decides between a
    /// `multipart/byteranges` 206 and the whole representation (200).
    Multiple,
}

impl RangeOutcome {
    /// The status code to answer with: 200, 206 or 416; `None` for [`RangeOutcome::Multiple`]
    /// (the caller's choice).
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Full => Some(200),
            Self::Partial { .. } => Some(206),
            Self::Unsatisfiable => Some(416),
            Self::Multiple => None,
        }
    }

    /// The number of bytes a [`RangeOutcome::Partial`] sends.
    #[must_use]
    pub fn partial_len(&self) -> Option<u64> {
        match *self {
            // `start <= end < len <= u64::MAX`, so `end - start + 1` cannot overflow.
            Self::Partial { start, end } => end.checked_sub(start)?.checked_add(1),
            _ => None,
        }
    }

    /// The `Content-Range` value (RFC 9110 §14.4) for a representation of `len` bytes:
    /// `bytes start-end/len` for a partial answer, `bytes */len` for a 416.
    #[must_use]
    pub fn content_range(&self, len: u64) -> Option<String> {
        match self {
            Self::Partial { start, end } => Some(format!("bytes {start}-{end}/{len}")),
            Self::Unsatisfiable => Some(format!("bytes */{len}")),
            Self::Full | Self::Multiple => None,
        }
    }
}

/// One range-spec (RFC 9110 §14.1.1) resolved against the length.
enum Spec {
    Satisfiable { start: u64, end: u64 },
    Unsatisfiable,
}

/// What `Range: value` asks of a representation of `len` bytes (RFC 9110 §14.1.2):
/// `bytes=a-b`, `bytes=a-` and `bytes=-n`, the unit case-insensitive, whitespace around
/// the positions and list members tolerated, empty list members ignored (§5.6.1).
///
/// - a last-pos past the end is clamped to `len - 1`; a first-pos at or past the end, or a
///   suffix of 0, is unsatisfiable (so is any range of an empty representation);
/// - positions too large for `u64` saturate instead of overflowing: such a first-pos is
///   unsatisfiable, such a last-pos or suffix covers the rest;
/// - any invalid member (other unit, no `-`, non-digits, `last < first`) makes the whole
///   field invalid: [`RangeOutcome::Full`];
/// - several members: [`RangeOutcome::Multiple`] if any is satisfiable, else
///   [`RangeOutcome::Unsatisfiable`].
///
/// ```
/// use http_proto::semantics::{parse_range, RangeOutcome};
/// assert_eq!(parse_range(b"bytes=7-", 10), RangeOutcome::Partial { start: 7, end: 9 });
/// assert_eq!(parse_range(b"bytes=8-100", 10), RangeOutcome::Partial { start: 8, end: 9 });
/// assert_eq!(parse_range(b"bytes=0-1,3-4", 10), RangeOutcome::Multiple);
/// assert_eq!(parse_range(b"lines=1-2", 10), RangeOutcome::Full);
/// ```
#[must_use]
pub fn parse_range(value: &[u8], len: u64) -> RangeOutcome {
    let Some(set) = byte_range_set(value) else {
        return RangeOutcome::Full;
    };
    let mut count = 0usize;
    let mut first = None;
    let mut any_satisfiable = false;
    for member in members(set) {
        let Some(spec) = resolve(member, len) else {
            return RangeOutcome::Full;
        };
        any_satisfiable |= matches!(spec, Spec::Satisfiable { .. });
        count += 1;
        if first.is_none() {
            first = Some(spec);
        }
    }
    match (count, first) {
        (1, Some(Spec::Satisfiable { start, end })) => RangeOutcome::Partial { start, end },
        (1, Some(Spec::Unsatisfiable)) => RangeOutcome::Unsatisfiable,
        (0, _) => RangeOutcome::Full,
        _ if any_satisfiable => RangeOutcome::Multiple,
        _ => RangeOutcome::Unsatisfiable,
    }
}

/// One satisfiable byte range, `start..=end`, of a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte, zero-based.
    pub start: u64,
    /// Last byte, inclusive; `start <= end`.
    pub end: u64,
}

impl ByteRange {
    /// How many bytes the range covers (at least 1).
    #[must_use]
    pub fn len(&self) -> u64 {
        // `start <= end`, so this is at most `u64::MAX - start + 1`, saturated for the
        // one range (`0..=u64::MAX`) that would not fit.
        (self.end - self.start).saturating_add(1)
    }

    /// Always false: a range covers at least one byte (clippy's `len` convention).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Content-Range` value of this range of a `complete`-byte representation
    /// (RFC 9110 §14.4): `bytes start-end/complete`.
    #[must_use]
    pub fn content_range(&self, complete: u64) -> String {
        format!("bytes {}-{}/{complete}", self.start, self.end)
    }
}

/// What a `Range` field asks of a representation, when the server can send several
/// ranges ([`parse_range_set`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeSet {
    /// Send the whole representation (200): no `bytes` range, invalid syntax, or more
    /// members than the caller allows (RFC 9110 §14.2 lets a server ignore Range).
    Full,
    /// No requested byte exists (416 with `Content-Range: bytes */len`).
    Unsatisfiable,
    /// The satisfiable ranges, sorted, disjoint and not adjacent (overlapping and
    /// touching members coalesced); never empty. One range is a plain 206, several a
    /// `multipart/byteranges` 206.
    Ranges(Vec<ByteRange>),
}

/// What `Range: value` asks of a representation of `len` bytes, for a server that
/// answers several ranges (RFC 9110 §14.2, §14.6). Each member is read as
/// [`parse_range`] reads it; then:
///
/// - more than `max_ranges` members (counting unsatisfiable ones) is [`RangeSet::Full`],
///   as nginx's `max_ranges` does: the cap bounds the work a field can ask for, so a
///   field with thousands of members costs no more than the whole file;
/// - unsatisfiable members are dropped (§14.1.2: satisfiable if any member is);
/// - overlapping, touching and unordered members are coalesced into sorted disjoint
///   ranges (§14.2 lets a server coalesce), so no byte is sent twice whatever the
///   client asked (the CVE-2011-3192 overlap amplification).
///
/// `max_ranges` of 0 ignores every Range field.
///
/// ```
/// use http_proto::semantics::{parse_range_set, ByteRange, RangeSet};
/// let r = |start, end| ByteRange { start, end };
/// assert_eq!(parse_range_set(b"bytes=0-1,5-6", 10, 16), RangeSet::Ranges(vec![r(0, 1), r(5, 6)]));
/// assert_eq!(parse_range_set(b"bytes=5-6,0-3,2-4", 10, 16), RangeSet::Ranges(vec![r(0, 6)]));
/// assert_eq!(parse_range_set(b"bytes=0-0,2-2,4-4", 10, 2), RangeSet::Full);
/// assert_eq!(parse_range_set(b"bytes=20-,30-", 10, 16), RangeSet::Unsatisfiable);
/// ```
#[must_use]
pub fn parse_range_set(value: &[u8], len: u64, max_ranges: usize) -> RangeSet {
    if max_ranges == 0 {
        return RangeSet::Full;
    }
    let Some(set) = byte_range_set(value) else {
        return RangeSet::Full;
    };
    let mut ranges = Vec::new();
    let mut count = 0usize;
    for member in members(set) {
        count += 1;
        if count > max_ranges {
            return RangeSet::Full;
        }
        match resolve(member, len) {
            None => return RangeSet::Full,
            Some(Spec::Satisfiable { start, end }) => ranges.push(ByteRange { start, end }),
            Some(Spec::Unsatisfiable) => {}
        }
    }
    if count == 0 {
        return RangeSet::Full;
    }
    if ranges.is_empty() {
        return RangeSet::Unsatisfiable;
    }
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(1) => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    RangeSet::Ranges(merged)
}

/// The `byte-range-set` of a `bytes=` field value; `None` for another unit or no `=`.
fn byte_range_set(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let eq = value.iter().position(|&b| b == b'=')?;
    let unit = value.get(..eq)?;
    unit.eq_ignore_ascii_case(b"bytes")
        .then(|| value.get(eq + 1..))
        .flatten()
}

/// The non-empty members of a `byte-range-set`, trimmed (empty list members are ignored,
/// RFC 9110 §5.6.1).
fn members(set: &[u8]) -> impl Iterator<Item = &[u8]> {
    set.split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|m| !m.is_empty())
}

/// One `int-range` or `suffix-range`; `None` when it is neither.
fn resolve(member: &[u8], len: u64) -> Option<Spec> {
    let dash = member.iter().position(|&b| b == b'-')?;
    let first = member.get(..dash)?.trim_ascii();
    let last = member.get(dash + 1..)?.trim_ascii();
    let last_byte = len.checked_sub(1);
    if first.is_empty() {
        // suffix-range: the last n bytes.
        let n = digits(last)?;
        return Some(match last_byte {
            Some(end) if n > 0 => Spec::Satisfiable {
                start: len.saturating_sub(n),
                end,
            },
            _ => Spec::Unsatisfiable,
        });
    }
    let start = digits(first)?;
    let end = if last.is_empty() {
        u64::MAX
    } else {
        digits(last)?
    };
    if end < start {
        return None;
    }
    Some(match last_byte {
        Some(last_byte) if start <= last_byte => Spec::Satisfiable {
            start,
            end: end.min(last_byte),
        },
        _ => Spec::Unsatisfiable,
    })
}

/// `1*DIGIT` as a `u64`, saturating at `u64::MAX` (a position that large is past any end).
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeOutcome::{Full, Multiple, Partial, Unsatisfiable};

    #[test]
    fn single_ranges_of_ten_bytes() {
        // (Range value, outcome for a 10-byte representation)
        let table: &[(&[u8], RangeOutcome)] = &[
            (b"bytes=2-4", Partial { start: 2, end: 4 }),
            (b"bytes=-3", Partial { start: 7, end: 9 }),
            (b"bytes=7-", Partial { start: 7, end: 9 }),
            (b"bytes=8-100", Partial { start: 8, end: 9 }),
            (b"bytes=0-0", Partial { start: 0, end: 0 }),
            (b"bytes=9-9", Partial { start: 9, end: 9 }),
            (b"bytes=-100", Partial { start: 0, end: 9 }),
            (b"bytes=0-", Partial { start: 0, end: 9 }),
            (b" bytes= 2 - 4 ", Partial { start: 2, end: 4 }),
            (b"BYTES=2-4", Partial { start: 2, end: 4 }),
            (b"bytes=2-4,", Partial { start: 2, end: 4 }),
            (b"bytes=, 2-4 ,", Partial { start: 2, end: 4 }),
            (b"bytes=10-", Unsatisfiable),
            (b"bytes=10-20", Unsatisfiable),
            (b"bytes=-0", Unsatisfiable),
            (b"bytes=0-1,3-4", Multiple),
            (b"bytes=0-1, 20-30", Multiple),
            (b"bytes=20-30, 40-", Unsatisfiable),
            (b"bytes=0-1,x", Full),
            (b"lines=1-2", Full),
            (b"bytes=5-1", Full),
            (b"bytes=", Full),
            (b"bytes=-", Full),
            (b"bytes=a-b", Full),
            (b"bytes=1", Full),
            (b"bytes=+1-2", Full),
            (b"bytes=1--2", Full),
            (b"bytes 1-2", Full),
            (b"", Full),
            // Overflow: saturates instead of wrapping or giving up.
            (b"bytes=99999999999999999999999-", Unsatisfiable),
            (
                b"bytes=0-99999999999999999999999",
                Partial { start: 0, end: 9 },
            ),
            (
                b"bytes=-99999999999999999999999",
                Partial { start: 0, end: 9 },
            ),
            (
                b"bytes=18446744073709551615-18446744073709551615",
                Unsatisfiable,
            ),
        ];
        for &(value, want) in table {
            assert_eq!(
                parse_range(value, 10),
                want,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn an_empty_representation_satisfies_no_range() {
        for value in [&b"bytes=0-"[..], b"bytes=-1", b"bytes=0-0"] {
            assert_eq!(parse_range(value, 0), Unsatisfiable);
        }
        assert_eq!(parse_range(b"bytes=1-0", 0), Full);
    }

    #[test]
    fn the_largest_length_does_not_overflow() {
        let max = u64::MAX;
        assert_eq!(
            parse_range(b"bytes=0-", max),
            Partial {
                start: 0,
                end: max - 1
            }
        );
        assert_eq!(
            parse_range(b"bytes=-1", max),
            Partial {
                start: max - 1,
                end: max - 1
            }
        );
        assert_eq!(parse_range(b"bytes=0-", max).partial_len(), Some(max));
    }

    #[test]
    fn outcomes_know_their_status_and_content_range() {
        let p = Partial { start: 2, end: 4 };
        assert_eq!((p.status(), p.partial_len()), (Some(206), Some(3)));
        assert_eq!(p.content_range(10).as_deref(), Some("bytes 2-4/10"));
        assert_eq!(Unsatisfiable.status(), Some(416));
        assert_eq!(
            Unsatisfiable.content_range(10).as_deref(),
            Some("bytes */10")
        );
        assert_eq!((Full.status(), Full.content_range(10)), (Some(200), None));
        assert_eq!((Multiple.status(), Multiple.partial_len()), (None, None));
    }

    fn set(ranges: &[(u64, u64)]) -> RangeSet {
        RangeSet::Ranges(
            ranges
                .iter()
                .map(|&(start, end)| ByteRange { start, end })
                .collect(),
        )
    }

    #[test]
    fn range_sets_of_a_hundred_bytes() {
        // (Range value, max_ranges, outcome for a 100-byte representation)
        let table: &[(&[u8], usize, RangeSet)] = &[
            (b"bytes=0-9,20-29", 16, set(&[(0, 9), (20, 29)])),
            (b"bytes=20-29,0-9", 16, set(&[(0, 9), (20, 29)])),
            (b"bytes=0-9,5-14", 16, set(&[(0, 14)])),
            (b"bytes=0-9,10-19", 16, set(&[(0, 19)])),
            (b"bytes=0-,5-0", 16, RangeSet::Full),
            (b"bytes=0-,0-,0-", 16, set(&[(0, 99)])),
            (b"bytes=-10,0-9", 16, set(&[(0, 9), (90, 99)])),
            (b"bytes=0-9,200-300", 16, set(&[(0, 9)])),
            (b"bytes=200-300,300-", 16, RangeSet::Unsatisfiable),
            (b"bytes=2-4", 16, set(&[(2, 4)])),
            (b"bytes=0-0,2-2,4-4", 3, set(&[(0, 0), (2, 2), (4, 4)])),
            (b"bytes=0-0,2-2,4-4", 2, RangeSet::Full),
            (b"bytes=0-0,200-,4-4", 2, RangeSet::Full),
            (b"bytes=0-0", 0, RangeSet::Full),
            (b"bytes=0-1,x", 16, RangeSet::Full),
            (b"lines=0-1", 16, RangeSet::Full),
            (b"bytes=,", 16, RangeSet::Full),
        ];
        for (value, max, want) in table {
            assert_eq!(
                &parse_range_set(value, 100, *max),
                want,
                "{} (max {max})",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn a_byte_range_knows_its_length_and_content_range() {
        let r = ByteRange { start: 2, end: 4 };
        assert_eq!((r.len(), r.content_range(10).as_str()), (3, "bytes 2-4/10"));
        let all = ByteRange {
            start: 0,
            end: u64::MAX,
        };
        assert_eq!(all.len(), u64::MAX);
    }

    proptest::proptest! {
        /// Whatever the field, the ranges are sorted, disjoint, non-adjacent, inside the
        /// representation, never more than the cap, and cover exactly the bytes the
        /// satisfiable members ask for.
        #[test]
        fn range_sets_are_coalesced_and_inside(
            members in proptest::collection::vec((0u64..120, 0u64..120, 0u8..3), 0..20),
            len in 0u64..110,
            max in 0usize..20,
        ) {
            let value = format!("bytes={}", members.iter().map(|&(a, b, kind)| match kind {
                0 => format!("{}-{}", a.min(b), a.max(b)),
                1 => format!("{a}-"),
                _ => format!("-{b}"),
            }).collect::<Vec<_>>().join(","));
            match parse_range_set(value.as_bytes(), len, max) {
                RangeSet::Ranges(ranges) => {
                    proptest::prop_assert!(!ranges.is_empty() && ranges.len() <= max);
                    for w in ranges.windows(2) {
                        proptest::prop_assert!(w[0].end + 1 < w[1].start);
                    }
                    let mut wanted = vec![false; usize::try_from(len).unwrap()];
                    for &(a, b, kind) in &members {
                        let (s, e) = match kind {
                            0 => (a.min(b), a.max(b)),
                            1 => (a, u64::MAX),
                            _ if b == 0 => continue,
                            _ => (len.saturating_sub(b), u64::MAX),
                        };
                        for i in s..=e.min(len.saturating_sub(1)) {
                            if i < len { wanted[usize::try_from(i).unwrap()] = true; }
                        }
                    }
                    let mut got = vec![false; wanted.len()];
                    for r in &ranges {
                        proptest::prop_assert!(r.start <= r.end && r.end < len);
                        for i in r.start..=r.end { got[usize::try_from(i).unwrap()] = true; }
                    }
                    proptest::prop_assert_eq!(got, wanted);
                }
                RangeSet::Unsatisfiable => proptest::prop_assert!(!members.is_empty() && members.len() <= max),
                RangeSet::Full => proptest::prop_assert!(members.is_empty() || members.len() > max),
            }
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn any_field_value_is_answered(value in proptest::collection::vec(proptest::num::u8::ANY, 0..64), len in proptest::num::u64::ANY) {
            let _ = parse_range_set(&value, len, 16);
            let _ = parse_range(&value, len);
        }
    }
}
