//! The fields a static route adds to its responses: `headers = { .. }` (nginx's
//! `add_header`) and `expires` (nginx's `expires`), checked once at start-up.

use crate::config::{ConfigError, StaticConfig};
use crate::route_kinds::reply::Reply;
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Fields the static route itself sets; a second copy from the configuration would
/// contradict them.
const SET_BY_THE_ROUTE: [&str; 9] = [
    "content-type",
    "content-encoding",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "vary",
    "date",
    "server",
];

/// nginx's `expires max`: the date and age it sends.
const MAX_DATE: &str = "Thu, 31 Dec 2037 23:55:55 GMT";
const MAX_AGE: u64 = 315_360_000;

/// What `expires` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Expires {
    #[default]
    Off,
    Max,
    Epoch,
    /// Seconds from now; negative: already expired.
    After(i64),
}

/// A route's added fields, ready to apply.
#[derive(Debug, Default)]
pub(crate) struct RouteFields {
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    expires: Expires,
}

impl RouteFields {
    /// Checks route `n`'s `headers` and `expires`: names must be tokens and values valid
    /// field values; framing, hop-by-hop and the route's own fields are refused, and so
    /// are `Cache-Control`/`Expires` beside `expires` (which sets them).
    pub(crate) fn new(n: usize, config: &StaticConfig) -> Result<Self, ConfigError> {
        let expires = parse_expires(&config.expires).ok_or_else(|| {
            ConfigError::new(format!(
                "route {n}: static.expires `{}`: expected \"off\", \"max\", \"epoch\" or a duration such as \"30s\", \"1h\", \"7d\"",
                config.expires
            ))
        })?;
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let refuse = |why: &str| {
                Err(ConfigError::new(format!(
                    "route {n}: static.headers `{name}`: {why}"
                )))
            };
            if !http_proto::is_field_name(name.as_bytes()) {
                return refuse("not a valid field name");
            }
            if !http_proto::is_field_value(value.as_bytes()) {
                return refuse("the value has characters a field value cannot hold");
            }
            if http_proto::is_connection_field(name.as_bytes()) {
                return refuse("the connection owns this field (framing or hop-by-hop)");
            }
            if SET_BY_THE_ROUTE
                .iter()
                .any(|f| f.eq_ignore_ascii_case(name))
            {
                return refuse("the static route sets this field itself");
            }
            if expires != Expires::Off
                && ["cache-control", "expires"]
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(name))
            {
                return refuse("`expires` sets this field; set one or the other");
            }
            headers.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        }
        Ok(Self { headers, expires })
    }

    /// Adds the fields to `reply`: the headers always; `Expires` and `Cache-Control` to
    /// the statuses nginx gives them (2xx a cache may keep, redirects, 304: RFC 9110
    /// §15.4.5 wants a 304 to carry what the 200 would).
    pub(crate) fn apply(&self, reply: &mut Reply, now: SystemTime) {
        for (name, value) in &self.headers {
            reply
                .headers
                .push((Cow::Owned(name.clone()), value.clone()));
        }
        if !matches!(
            reply.status,
            200 | 201 | 204 | 206 | 301 | 302 | 303 | 304 | 307 | 308
        ) {
            return;
        }
        let (expires, cache_control) = match self.expires {
            Expires::Off => return,
            Expires::Max => (MAX_DATE.to_owned(), format!("max-age={MAX_AGE}")),
            Expires::Epoch => (
                httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1)),
                "no-cache".to_owned(),
            ),
            Expires::After(secs) if secs < 0 => {
                let at = now
                    .checked_sub(Duration::from_secs(secs.unsigned_abs()))
                    .unwrap_or(UNIX_EPOCH);
                (httpdate::fmt_http_date(at), "no-cache".to_owned())
            }
            Expires::After(secs) => {
                let age = secs.unsigned_abs();
                let at = now.checked_add(Duration::from_secs(age)).unwrap_or(now);
                (httpdate::fmt_http_date(at), format!("max-age={age}"))
            }
        };
        reply
            .headers
            .push((Cow::Borrowed(b"expires"), expires.into_bytes()));
        reply
            .headers
            .push((Cow::Borrowed(b"cache-control"), cache_control.into_bytes()));
    }
}

/// `off`, `max`, `epoch`, or an optionally negative duration: numbers with nginx's units
/// (`s` the default, `m`, `h`, `d`, `w`, `M` for 30 days, `y` for 365), e.g. `1h30m`.
fn parse_expires(text: &str) -> Option<Expires> {
    match text.trim() {
        "off" => return Some(Expires::Off),
        "max" => return Some(Expires::Max),
        "epoch" => return Some(Expires::Epoch),
        _ => {}
    }
    let text = text.trim();
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: i64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?;
        let unit = match rest.bytes().next() {
            Some(b's') | None => 1,
            Some(b'm') => 60,
            Some(b'h') => 3_600,
            Some(b'd') => 86_400,
            Some(b'w') => 7 * 86_400,
            Some(b'M') => 30 * 86_400,
            Some(b'y') => 365 * 86_400,
            Some(_) => return None,
        };
        rest = rest.get(usize::from(!rest.is_empty())..)?.trim_start();
        total = total.checked_add(number.checked_mul(unit)?)?;
    }
    Some(Expires::After(if negative { -total } else { total }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn config(headers: &[(&str, &str)], expires: &str) -> StaticConfig {
        let mut c = StaticConfig::serving(PathBuf::from("/"));
        c.headers = headers
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        c.expires = expires.to_owned();
        c
    }

    #[test]
    fn expires_values() {
        let table = [
            ("off", Some(Expires::Off)),
            ("max", Some(Expires::Max)),
            ("epoch", Some(Expires::Epoch)),
            ("30", Some(Expires::After(30))),
            ("30s", Some(Expires::After(30))),
            ("10m", Some(Expires::After(600))),
            ("1h", Some(Expires::After(3600))),
            ("1h30m", Some(Expires::After(5400))),
            ("1h 30m", Some(Expires::After(5400))),
            ("7d", Some(Expires::After(604_800))),
            ("-1h", Some(Expires::After(-3600))),
            ("0", Some(Expires::After(0))),
            ("", None),
            ("-", None),
            ("1x", None),
            ("h", None),
            ("1.5h", None),
            ("99999999999999999999y", None),
            ("9999999999999999y", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_expires(text), want, "{text}");
        }
    }

    #[test]
    fn bad_fields_are_refused_at_start_up_naming_the_route() {
        for (name, value, expires) in [
            ("Bad Name", "x", "off"),
            ("X-Ok", "a\r\nSet-Cookie: x", "off"),
            ("Content-Length", "5", "off"),
            ("transfer-encoding", "chunked", "off"),
            ("Connection", "close", "off"),
            ("Content-Type", "text/plain", "off"),
            ("ETag", "\"x\"", "off"),
            ("Cache-Control", "no-store", "1h"),
        ] {
            let err = RouteFields::new(3, &config(&[(name, value)], expires)).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("route 3: static.headers `{name}`")),
                "{err}"
            );
        }
        let err = RouteFields::new(2, &config(&[], "soon")).unwrap_err();
        assert!(
            err.to_string().contains("route 2: static.expires `soon`"),
            "{err}"
        );
        assert!(RouteFields::new(1, &config(&[("Cache-Control", "no-store")], "off")).is_ok());
    }

    #[test]
    fn fields_go_on_every_reply_and_expires_on_cacheable_ones() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let fields = RouteFields::new(1, &config(&[("X-Frame-Options", "DENY")], "1h")).unwrap();
        let mut ok = Reply::error(200);
        fields.apply(&mut ok, now);
        assert_eq!(ok.header("x-frame-options"), Some(&b"DENY"[..]));
        assert_eq!(ok.header("cache-control"), Some(&b"max-age=3600"[..]));
        assert_eq!(
            ok.header("expires"),
            Some(httpdate::fmt_http_date(now + Duration::from_secs(3600)).as_bytes())
        );
        let mut missing = Reply::error(404);
        fields.apply(&mut missing, now);
        assert_eq!(missing.header("x-frame-options"), Some(&b"DENY"[..]));
        assert_eq!(missing.header("cache-control"), None);

        let cases = [
            ("max", MAX_DATE.to_owned(), "max-age=315360000"),
            (
                "epoch",
                "Thu, 01 Jan 1970 00:00:01 GMT".to_owned(),
                "no-cache",
            ),
            (
                "-1m",
                httpdate::fmt_http_date(now - Duration::from_secs(60)),
                "no-cache",
            ),
        ];
        for (expires, date, cache_control) in cases {
            let mut r = Reply::error(304);
            RouteFields::new(1, &config(&[], expires))
                .unwrap()
                .apply(&mut r, now);
            assert_eq!(r.header("expires"), Some(date.as_bytes()), "{expires}");
            assert_eq!(r.header("cache-control"), Some(cache_control.as_bytes()));
        }
        let mut off = Reply::error(200);
        RouteFields::new(1, &config(&[], "off"))
            .unwrap()
            .apply(&mut off, now);
        assert_eq!(off.header("expires"), None);
    }
}
