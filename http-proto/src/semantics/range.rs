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
    let value = value.trim_ascii();
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return RangeOutcome::Full;
    };
    let (unit, set) = (value.get(..eq).unwrap_or_default(), value.get(eq + 1..));
    let Some(set) = set.filter(|_| unit.eq_ignore_ascii_case(b"bytes")) else {
        return RangeOutcome::Full;
    };
    let mut count = 0usize;
    let mut first = None;
    let mut any_satisfiable = false;
    for member in set.split(|&b| b == b',') {
        let member = member.trim_ascii();
        if member.is_empty() {
            continue;
        }
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
}
