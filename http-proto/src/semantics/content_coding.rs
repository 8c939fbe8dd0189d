//! Content negotiation of codings (RFC 9110 §12.5.3 `Accept-Encoding`, §12.4.2 quality
//! values): which of the codings a server has ready (a precompressed `a.css.br` and
//! `a.css.gz`) a client accepts, and which it prefers.
//!
//! ```
//! use http_proto::semantics::{coding_quality, preferred_coding};
//! let fields: [&[u8]; 1] = [b"gzip;q=0.8, br"];
//! assert_eq!(coding_quality(fields, "br"), 1000);
//! assert_eq!(coding_quality(fields, "gzip"), 800);
//! assert_eq!(preferred_coding(&fields, &["gzip", "br"]), Some("br"));
//! assert_eq!(preferred_coding(&[&b"br;q=0, *"[..]], &["br", "gzip"]), Some("gzip"));
//! ```

/// How much the client accepts `coding`, in thousandths (0 refuses, 1000 is `q=1`), from
/// all its `Accept-Encoding` field lines.
///
/// - the coding's own member wins over `*` (§12.5.3); `x-gzip` is `gzip` (§8.4.1.3);
///   names are case-insensitive;
/// - a coding not named, with no `*`, gets 0;
/// - no field at all gets 0 too. RFC 9110 §12.5.3 allows any coding then, but a client
///   that sends no `Accept-Encoding` may not decode one, so a server sends only what was
///   asked for, as nginx's `gzip_static` does;
/// - a member with an invalid weight (`q=2`, `q=abc`) is ignored, so a malformed field
///   never makes a coding acceptable.
#[must_use]
pub fn coding_quality<'a>(fields: impl IntoIterator<Item = &'a [u8]>, coding: &str) -> u16 {
    let mut named = None;
    let mut wildcard = None;
    for member in fields
        .into_iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|m| !m.is_empty())
    {
        let Some((name, q)) = parse_member(member) else {
            continue;
        };
        if name == b"*" {
            wildcard = Some(wildcard.map_or(q, |w: u16| w.max(q)));
        } else if same_coding(name, coding.as_bytes()) {
            named = Some(named.map_or(q, |n: u16| n.max(q)));
        }
    }
    named.or(wildcard).unwrap_or(0)
}

/// How much the client accepts the media type `media_type` (`type/subtype`), in
/// thousandths, from its `Accept` field lines (RFC 9110 §12.5.1): the most specific
/// matching range wins (`text/html` over `text/*` over `*/*`); media-type parameters
/// are not compared. No field, or no matching range: 0 (a server choosing between its
/// own forms asks which the client names, and falls back to its default).
///
/// ```
/// use http_proto::semantics::media_type_quality;
/// let accept: [&[u8]; 1] = [b"text/html, application/*;q=0.5, */*;q=0.1"];
/// assert_eq!(media_type_quality(accept, "application/json"), 500);
/// assert_eq!(media_type_quality(accept, "image/png"), 100);
/// ```
#[must_use]
pub fn media_type_quality<'a>(fields: impl IntoIterator<Item = &'a [u8]>, media_type: &str) -> u16 {
    let (ty, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    // (specificity, quality) of the best-matching range so far.
    let mut best: Option<(u8, u16)> = None;
    for member in fields
        .into_iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|m| !m.is_empty())
    {
        let Some((range, q)) = parse_member(member) else {
            continue;
        };
        let specificity = if range.eq_ignore_ascii_case(media_type.as_bytes()) {
            2
        } else if range.len() == ty.len() + 2
            && range
                .get(..ty.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(ty.as_bytes()))
            && range.ends_with(b"/*")
        {
            1
        } else if range == b"*/*" {
            0
        } else {
            continue;
        };
        if best.is_none_or(|(s, bq)| specificity > s || (specificity == s && q > bq)) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// The coding of `offered` the client accepts most (quality above 0); ties go to the
/// earlier one in `offered` (the server's preference). `None` when it accepts none.
#[must_use]
pub fn preferred_coding<'a, 'f>(
    fields: &(impl IntoIterator<Item = &'f [u8]> + Clone),
    offered: &[&'a str],
) -> Option<&'a str> {
    let mut best: Option<(&'a str, u16)> = None;
    for &coding in offered {
        let q = coding_quality(fields.clone(), coding);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((coding, q));
        }
    }
    best.map(|(c, _)| c)
}

/// `name *( OWS ";" OWS parameter )`: the coding or media range and its weight (1000
/// without `q`; parameters other than `q` are skipped).
fn parse_member(member: &[u8]) -> Option<(&[u8], u16)> {
    let mut parts = member.split(|&b| b == b';').map(<[u8]>::trim_ascii);
    let name = parts.next().filter(|n| !n.is_empty())?;
    let mut q = 1000;
    for param in parts {
        let (key, value) = param.split_at(param.iter().position(|&b| b == b'=')?);
        if key.trim_ascii().eq_ignore_ascii_case(b"q") {
            q = parse_qvalue(value.get(1..)?.trim_ascii())?;
        }
    }
    Some((name, q))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths.
fn parse_qvalue(v: &[u8]) -> Option<u16> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (v.get(..dot)?, v.get(dot + 1..)?),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let thousandths = frac
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(3)
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn same_coding(name: &[u8], coding: &[u8]) -> bool {
    let canonical = |n: &[u8]| -> Vec<u8> {
        let lower = n.to_ascii_lowercase();
        if lower == b"x-gzip" {
            b"gzip".to_vec()
        } else {
            lower
        }
    };
    canonical(name) == canonical(coding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualities_of_gzip() {
        // (Accept-Encoding lines, quality of gzip)
        let table: &[(&[&[u8]], u16)] = &[
            (&[b"gzip"], 1000),
            (&[b"GZIP"], 1000),
            (&[b"x-gzip"], 1000),
            (&[b"gzip;q=0.5"], 500),
            (&[b"gzip ; Q = 0.5"], 500),
            (&[b"gzip;q=0.125"], 125),
            (&[b"gzip;q=1.000"], 1000),
            (&[b"gzip;q=0"], 0),
            (&[b"gzip;q=0.0"], 0),
            (&[b"gzip;q=0, *"], 0),
            (&[b"*"], 1000),
            (&[b"*;q=0.3"], 300),
            (&[b"br"], 0),
            (&[b"br", b"gzip;q=0.2"], 200),
            (&[], 0),
            (&[b""], 0),
            (&[b"identity"], 0),
            (&[b"gzip;q=2"], 0),
            (&[b"gzip;q=1.5"], 0),
            (&[b"gzip;q=0.1234"], 0),
            (&[b"gzip;q=abc"], 0),
            (&[b"gzip;q="], 0),
            (&[b"gzip;q"], 0),
            (&[b"gzip;q=abc, *;q=0.1"], 100),
            (&[b"gzip;q=0.2,gzip;q=0.4"], 400),
            (&[b",,gzip,,"], 1000),
            (&[b";q=1"], 0),
        ];
        for (fields, want) in table {
            assert_eq!(
                coding_quality(fields.iter().copied(), "gzip"),
                *want,
                "{fields:?}"
            );
        }
    }

    #[test]
    fn the_preferred_coding() {
        let offered = ["br", "gzip"];
        let table: &[(&[u8], Option<&str>)] = &[
            (b"gzip, deflate, br", Some("br")),
            (b"gzip, br;q=0.9", Some("gzip")),
            (b"gzip;q=0.5, br;q=0.5", Some("br")),
            (b"br;q=0, gzip;q=0", None),
            (b"identity", None),
            (b"*;q=0", None),
            (b"deflate", None),
        ];
        for &(field, want) in table {
            assert_eq!(preferred_coding(&[field], &offered), want, "{field:?}");
        }
        assert_eq!(
            preferred_coding(&[&b"gzip, br"[..]], &["gzip", "br"]),
            Some("gzip")
        );
    }

    #[test]
    fn qualities_of_application_json() {
        let table: &[(&[u8], u16)] = &[
            (b"application/json", 1000),
            (b"Application/JSON", 1000),
            (b"application/json;q=0.7", 700),
            (b"application/json; charset=utf-8", 1000),
            (b"application/*;q=0.4", 400),
            (b"*/*", 1000),
            (b"*/*;q=0.1, application/json;q=0", 0),
            (b"text/html", 0),
            (b"applicationx/*", 0),
            (b"", 0),
        ];
        for &(field, want) in table {
            assert_eq!(
                media_type_quality([field], "application/json"),
                want,
                "{field:?}"
            );
        }
    }

    proptest::proptest! {
        /// Any bytes: a quality in 0..=1000 and no panic.
        #[test]
        fn any_field_gives_a_quality(v in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert!(coding_quality([&v[..]], "gzip") <= 1000);
        }

        /// A written weight reads back as itself.
        #[test]
        fn weights_round_trip(q in 0u16..=1000) {
            let field = format!("br;q={}.{:03}", q / 1000, q % 1000);
            proptest::prop_assert_eq!(coding_quality([field.as_bytes()], "br"), q);
        }
    }
}
