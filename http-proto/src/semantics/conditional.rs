//! Conditional requests (RFC 9110 §13): entity-tag comparison, the preconditions
//! `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since` evaluated in the
//! order of §13.2.2, and `If-Range` (§13.1.5).
//!
//! The caller supplies the selected representation's [`Validators`] (how it makes its
//! entity tag is its own policy) and the request's field values; the answer is a
//! [`Precondition`] saying whether to proceed, answer 304 or answer 412.
//!
//! ```
//! use http_proto::semantics::{Precondition, Preconditions, Validators};
//! use http_proto::Method;
//!
//! let ours = Validators::new(Some(b"\"5f-a\""), None);
//! let pre = Preconditions { if_none_match: Some(b"\"x\", W/\"5f-a\""), ..Default::default() };
//! assert_eq!(pre.evaluate(Method::Get, &ours), Precondition::NotModified);
//! assert_eq!(pre.evaluate(Method::Put, &ours), Precondition::Failed);
//! ```

use crate::{Headers, Method};
use std::time::{SystemTime, UNIX_EPOCH};

/// An entity tag (RFC 9110 §8.8.3): `W/"opaque"` (weak) or `"opaque"` (strong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntityTag<'a> {
    weak: bool,
    /// The opaque-tag between (and without) the double quotes.
    opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity tag, surrounding whitespace allowed; `None` when `value` is
    /// anything else (RFC 9110 §8.8.3: `etagc = %x21 / %x23-7E / obs-text`).
    ///
    /// ```
    /// use http_proto::semantics::EntityTag;
    /// let tag = EntityTag::parse(b" W/\"abc\" ").unwrap();
    /// assert!(tag.is_weak());
    /// assert_eq!(tag.opaque(), b"abc");
    /// assert!(EntityTag::parse(b"abc").is_none());
    /// ```
    #[must_use]
    pub fn parse(value: &'a [u8]) -> Option<Self> {
        match scan_tag(value.trim_ascii())? {
            (tag, []) => Some(tag),
            _ => None,
        }
    }

    /// Whether the tag is weak (`W/` prefix).
    #[must_use]
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The opaque-tag, without its quotes.
    #[must_use]
    pub fn opaque(&self) -> &'a [u8] {
        self.opaque
    }

    /// Strong comparison (RFC 9110 §8.8.3.2): both strong and the opaque-tags equal.
    ///
    /// ```
    /// use http_proto::semantics::EntityTag;
    /// let (a, w) = (EntityTag::parse(b"\"1\"").unwrap(), EntityTag::parse(b"W/\"1\"").unwrap());
    /// assert!(a.strong_eq(&a));
    /// assert!(!a.strong_eq(&w) && a.weak_eq(&w));
    /// ```
    #[must_use]
    pub fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (RFC 9110 §8.8.3.2): the opaque-tags equal, weakness ignored.
    #[must_use]
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// One entity tag at the start of `s` (no leading whitespace) and what follows it.
fn scan_tag(s: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, quoted) = match s.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let inner = quoted.strip_prefix(b"\"")?;
    let close = inner.iter().position(|&b| b == b'"')?;
    let opaque = inner.get(..close)?;
    if !opaque
        .iter()
        .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
    {
        return None;
    }
    Some((EntityTag { weak, opaque }, inner.get(close + 1..)?))
}

/// One member of an `If-Match` / `If-None-Match` value.
enum Member<'a> {
    /// `*`: any current representation.
    Any,
    Tag(EntityTag<'a>),
}

/// The members of `#entity-tag` or `*` (RFC 9110 §5.6.1 lists: empty elements and
/// surrounding whitespace ignored). A malformed member is skipped up to the next comma;
/// an unterminated quote ends the list.
fn members(mut s: &[u8]) -> impl Iterator<Item = Member<'_>> {
    std::iter::from_fn(move || {
        loop {
            s = s.trim_ascii_start();
            while let Some(rest) = s.strip_prefix(b",") {
                s = rest.trim_ascii_start();
            }
            if s.is_empty() {
                return None;
            }
            let (member, rest) = if let Some(rest) = s.strip_prefix(b"*") {
                (Some(Member::Any), rest)
            } else if let Some((tag, rest)) = scan_tag(s) {
                (Some(Member::Tag(tag)), rest)
            } else if s.starts_with(b"\"") || s.starts_with(b"W/\"") {
                // Unterminated or with a forbidden byte inside: nothing reliable follows.
                s = &[];
                return None;
            } else {
                (None, s)
            };
            let rest = rest.trim_ascii_start();
            if member.is_some() && (rest.is_empty() || rest.starts_with(b",")) {
                s = rest;
                return member;
            }
            // Junk after the member or an unknown member: skip to the next comma.
            s = match rest.iter().position(|&b| b == b',') {
                Some(i) => rest.get(i..).unwrap_or_default(),
                None => &[],
            };
        }
    })
}

/// Whether an `If-None-Match` value matches `etag` (RFC 9110 §13.1.2): `*`, or any listed
/// tag equal to ours under weak comparison. An `etag` that is not an entity tag matches
/// only `*`.
///
/// ```
/// use http_proto::semantics::if_none_match_matches;
/// assert!(if_none_match_matches(b"\"a\", W/\"b\"", b"\"b\""));
/// assert!(if_none_match_matches(b"*", b"\"b\""));
/// assert!(!if_none_match_matches(b"\"c\"", b"\"b\""));
/// ```
#[must_use]
pub fn if_none_match_matches(list: &[u8], etag: &[u8]) -> bool {
    let ours = EntityTag::parse(etag);
    members(list).any(|m| match m {
        Member::Any => true,
        Member::Tag(t) => ours.is_some_and(|o| o.weak_eq(&t)),
    })
}

/// Whether an `If-Match` value matches `etag` (RFC 9110 §13.1.1): `*`, or any listed tag
/// equal to ours under strong comparison (a weak tag never matches).
///
/// ```
/// use http_proto::semantics::if_match_matches;
/// assert!(if_match_matches(b"\"a\", \"b\"", b"\"b\""));
/// assert!(!if_match_matches(b"W/\"b\"", b"\"b\""));
/// ```
#[must_use]
pub fn if_match_matches(list: &[u8], etag: &[u8]) -> bool {
    let ours = EntityTag::parse(etag);
    members(list).any(|m| match m {
        Member::Any => true,
        Member::Tag(t) => ours.is_some_and(|o| o.strong_eq(&t)),
    })
}

/// An HTTP-date (RFC 9110 §5.6.7, all three formats) as whole seconds since the Unix
/// epoch; `None` when `value` is not one (surrounding whitespace allowed).
///
/// ```
/// use http_proto::semantics::parse_http_date_secs;
/// assert_eq!(parse_http_date_secs(b"Thu, 01 Jan 1970 00:01:00 GMT"), Some(60));
/// assert_eq!(parse_http_date_secs(b"yesterday"), None);
/// ```
#[must_use]
pub fn parse_http_date_secs(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?;
    let time = httpdate::parse_http_date(text.trim()).ok()?;
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// The selected representation's validators (RFC 9110 §8.8), as the server makes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validators<'a> {
    /// The `ETag` field value, quotes included (`"x"` or `W/"x"`).
    pub etag: Option<&'a [u8]>,
    /// `Last-Modified`, in whole seconds since the Unix epoch (HTTP-dates have one-second
    /// resolution, so comparisons are in seconds).
    pub last_modified: Option<u64>,
}

impl<'a> Validators<'a> {
    /// Validators from an entity tag and a modification time (truncated to seconds; a time
    /// before the epoch counts as the epoch).
    #[must_use]
    pub fn new(etag: Option<&'a [u8]>, last_modified: Option<SystemTime>) -> Self {
        Self {
            etag,
            last_modified: last_modified
                .map(|t| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
        }
    }
}

/// The conditional fields of a request (RFC 9110 §13.1), as raw field values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preconditions<'a> {
    /// `If-Match` (§13.1.1).
    pub if_match: Option<&'a [u8]>,
    /// `If-None-Match` (§13.1.2).
    pub if_none_match: Option<&'a [u8]>,
    /// `If-Modified-Since` (§13.1.3).
    pub if_modified_since: Option<&'a [u8]>,
    /// `If-Unmodified-Since` (§13.1.4).
    pub if_unmodified_since: Option<&'a [u8]>,
    /// `If-Range` (§13.1.5); read by [`if_range_allows`], not by [`Preconditions::evaluate`].
    pub if_range: Option<&'a [u8]>,
}

/// What the preconditions decide (RFC 9110 §13.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Precondition {
    /// Perform the method (for GET, Range and If-Range are considered next).
    Proceed,
    /// 304 Not Modified: a GET or HEAD whose cached copy is current.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

impl Precondition {
    /// The status code this outcome answers with, `None` for [`Precondition::Proceed`].
    #[must_use]
    pub fn status(self) -> Option<u16> {
        match self {
            Self::Proceed => None,
            Self::NotModified => Some(304),
            Self::Failed => Some(412),
        }
    }
}

impl<'a> Preconditions<'a> {
    /// The conditional fields of `headers` (the first field line of each).
    #[must_use]
    pub fn from_headers(headers: &'a Headers) -> Self {
        Self {
            if_match: headers.get("if-match"),
            if_none_match: headers.get("if-none-match"),
            if_modified_since: headers.get("if-modified-since"),
            if_unmodified_since: headers.get("if-unmodified-since"),
            if_range: headers.get("if-range"),
        }
    }

    /// Evaluates the preconditions for `method` against the target's current
    /// representation, in RFC 9110 §13.2.2 order:
    ///
    /// 1. `If-Match` present and no member matches (strong comparison): 412.
    /// 2. Else `If-Unmodified-Since` a valid date and the representation modified after it: 412.
    /// 3. `If-None-Match` present and a member matches (weak comparison): 304 for GET/HEAD,
    ///    412 otherwise.
    /// 4. Else, for GET/HEAD, `If-Modified-Since` a valid date and the representation not
    ///    modified after it: 304.
    ///
    /// An invalid date is ignored (§13.1.3, §13.1.4). Without a clock this function does not
    /// ignore an `If-Modified-Since` later than now; a caller that cares checks that first.
    /// `validators` must describe a representation that exists (`*` matches it).
    #[must_use]
    pub fn evaluate(&self, method: Method, validators: &Validators<'_>) -> Precondition {
        let etag = validators.etag.unwrap_or_default();
        if let Some(list) = self.if_match {
            if !if_match_matches(list, etag) {
                return Precondition::Failed;
            }
        } else if let Some(since) = self.if_unmodified_since.and_then(parse_http_date_secs)
            && validators.last_modified.is_some_and(|m| m > since)
        {
            return Precondition::Failed;
        }
        let safe = matches!(method, Method::Get | Method::Head);
        if let Some(list) = self.if_none_match {
            if if_none_match_matches(list, etag) {
                return if safe {
                    Precondition::NotModified
                } else {
                    Precondition::Failed
                };
            }
        } else if safe
            && let Some(since) = self.if_modified_since.and_then(parse_http_date_secs)
            && validators.last_modified.is_some_and(|m| m <= since)
        {
            return Precondition::NotModified;
        }
        Precondition::Proceed
    }
}

/// Whether a Range may be honoured given `If-Range` (RFC 9110 §13.1.5): always without
/// the field; with an entity tag, only if it strongly matches ours; with a date, only if it
/// is exactly our `Last-Modified`. Anything else (a weak tag, garbage) means "send it all".
///
/// ```
/// use http_proto::semantics::{if_range_allows, Validators};
/// let ours = Validators { etag: Some(b"\"v2\""), last_modified: Some(60) };
/// assert!(if_range_allows(None, &ours));
/// assert!(if_range_allows(Some(b"\"v2\""), &ours));
/// assert!(!if_range_allows(Some(b"W/\"v2\""), &ours));
/// assert!(if_range_allows(Some(b"Thu, 01 Jan 1970 00:01:00 GMT"), &ours));
/// ```
#[must_use]
pub fn if_range_allows(if_range: Option<&[u8]>, validators: &Validators<'_>) -> bool {
    let Some(value) = if_range else {
        return true;
    };
    let value = value.trim_ascii();
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        let ours = validators.etag.and_then(EntityTag::parse);
        return EntityTag::parse(value)
            .zip(ours)
            .is_some_and(|(theirs, ours)| theirs.strong_eq(&ours));
    }
    parse_http_date_secs(value).is_some_and(|d| validators.last_modified == Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &[u8] = b"\"5f-a\"";
    const LM: u64 = 946_684_800; // Sat, 01 Jan 2000 00:00:00 GMT

    fn ours() -> Validators<'static> {
        Validators {
            etag: Some(ETAG),
            last_modified: Some(LM),
        }
    }

    fn not_modified(inm: Option<&[u8]>, ims: Option<&[u8]>) -> bool {
        let pre = Preconditions {
            if_none_match: inm,
            if_modified_since: ims,
            ..Preconditions::default()
        };
        pre.evaluate(Method::Get, &ours()) == Precondition::NotModified
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_a_list() {
        // (If-None-Match, matches "5f-a"?)
        let table: &[(&[u8], bool)] = &[
            (b"\"5f-a\"", true),
            (b"W/\"5f-a\"", true),
            (b"\"x\", \"5f-a\"", true),
            (b"\"x\",W/\"5f-a\"", true),
            (b"*", true),
            (b" * ", true),
            (b"\"x\", *", true),
            (b"\"other\"", false),
            (b"\"5f-a", false),
            (b"5f-a", false),
            (b"", false),
            (b",,, ,", false),
            (b"junk, \"5f-a\"", true),
            (b"\"a,b\", \"5f-a\"", true),
            (b"\"5f-a\"junk", false),
            (b"w/\"5f-a\"", false),
        ];
        for &(value, want) in table {
            assert_eq!(
                if_none_match_matches(value, ETAG),
                want,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn if_none_match_decides_alone_then_if_modified_since() {
        let lm = b"Sat, 01 Jan 2000 00:00:00 GMT";
        let later = b"Sun, 02 Jan 2000 00:00:00 GMT";
        let earlier = b"Fri, 31 Dec 1999 00:00:00 GMT";
        assert!(not_modified(Some(b"\"x\", \"5f-a\""), None));
        assert!(not_modified(Some(b"W/\"5f-a\""), None));
        assert!(!not_modified(Some(b"\"other\""), None));
        assert!(not_modified(None, Some(lm)));
        assert!(not_modified(None, Some(later)));
        assert!(!not_modified(None, Some(earlier)));
        assert!(!not_modified(None, Some(b"not a date")));
        // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
        assert!(!not_modified(Some(b"\"other\""), Some(lm)));
        assert!(!not_modified(None, None));
    }

    #[test]
    fn preconditions_follow_the_order_of_13_2_2() {
        let lm = &b"Sat, 01 Jan 2000 00:00:00 GMT"[..];
        let earlier = &b"Fri, 31 Dec 1999 00:00:00 GMT"[..];
        let p = |im, ius, inm, ims| Preconditions {
            if_match: im,
            if_unmodified_since: ius,
            if_none_match: inm,
            if_modified_since: ims,
            if_range: None,
        };
        use Precondition::{Failed, NotModified, Proceed};
        // (preconditions, method, outcome)
        let table = [
            (
                p(Some(&b"\"5f-a\""[..]), None, None, None),
                Method::Put,
                Proceed,
            ),
            (p(Some(b"*"), None, None, None), Method::Put, Proceed),
            (p(Some(b"\"x\""), None, None, None), Method::Put, Failed),
            (
                p(Some(b"W/\"5f-a\""), None, None, None),
                Method::Get,
                Failed,
            ),
            (p(None, Some(lm), None, None), Method::Put, Proceed),
            (p(None, Some(earlier), None, None), Method::Put, Failed),
            (p(None, Some(b"garbage"), None, None), Method::Put, Proceed),
            // If-Match present: If-Unmodified-Since is not evaluated.
            (
                p(Some(b"*"), Some(earlier), None, None),
                Method::Put,
                Proceed,
            ),
            (p(None, None, Some(b"*"), None), Method::Put, Failed),
            (p(None, None, Some(b"*"), None), Method::Head, NotModified),
            (p(None, None, None, Some(lm)), Method::Head, NotModified),
            // If-Modified-Since applies to GET and HEAD only.
            (p(None, None, None, Some(lm)), Method::Post, Proceed),
            (
                p(Some(b"\"x\""), None, Some(b"*"), None),
                Method::Get,
                Failed,
            ),
        ];
        for (pre, method, want) in table {
            assert_eq!(pre.evaluate(method, &ours()), want, "{pre:?} {method:?}");
        }
        assert_eq!(Failed.status(), Some(412));
        assert_eq!(NotModified.status(), Some(304));
        assert_eq!(Proceed.status(), None);
    }

    #[test]
    fn if_range_needs_a_strong_tag_or_the_exact_date() {
        let table: &[(Option<&[u8]>, bool)] = &[
            (None, true),
            (Some(b"\"5f-a\""), true),
            (Some(b" \"5f-a\" "), true),
            (Some(b"\"stale\""), false),
            (Some(b"W/\"5f-a\""), false),
            (Some(b"Sat, 01 Jan 2000 00:00:00 GMT"), true),
            (Some(b"Sat, 01 Jan 2000 00:00:01 GMT"), false),
            (Some(b"garbage"), false),
            (Some(b""), false),
        ];
        for &(value, want) in table {
            assert_eq!(if_range_allows(value, &ours()), want, "{value:?}");
        }
        let weak_ours = Validators {
            etag: Some(b"W/\"5f-a\""),
            last_modified: None,
        };
        assert!(!if_range_allows(Some(b"W/\"5f-a\""), &weak_ours));
        assert!(!if_range_allows(Some(b"\"5f-a\""), &weak_ours));
    }

    #[test]
    fn validators_from_system_time_are_whole_seconds() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(60_900);
        assert_eq!(Validators::new(None, Some(t)).last_modified, Some(60));
        let before = UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(Validators::new(None, Some(before)).last_modified, Some(0));
    }
}
