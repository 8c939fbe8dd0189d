//! The host of a `Host` field value without its port (RFC 9110 §7.2:
//! `Host = uri-host [ ":" port ]`), IPv6 literals kept whole in their brackets
//! (RFC 3986 §3.2.2), for matching virtual hosts.
//!
//! ```
//! use http_proto::semantics::{host_without_port, split_host_port};
//! assert_eq!(host_without_port(b"example.com:8080"), b"example.com");
//! assert_eq!(split_host_port(b"[::1]:80"), (&b"[::1]"[..], Some(&b"80"[..])));
//! ```

/// Splits a `Host` value into `uri-host` and the port after its `:` (RFC 9110 §7.2).
///
/// An IP-literal (`[v6]`) keeps its colons: the port colon is the one right after `]`.
/// Otherwise the last `:` separates the port (a reg-name or IPv4 address has none; the
/// request parser already refuses a `Host` that is not `uri-host [ ":" port ]`). The port
/// is returned as written (possibly empty: `example.com:` is valid syntax).
///
/// ```
/// use http_proto::semantics::split_host_port;
/// assert_eq!(split_host_port(b"a.example"), (&b"a.example"[..], None));
/// assert_eq!(split_host_port(b"a.example:"), (&b"a.example"[..], Some(&b""[..])));
/// assert_eq!(split_host_port(b"[::1]"), (&b"[::1]"[..], None));
/// ```
#[must_use]
pub fn split_host_port(value: &[u8]) -> (&[u8], Option<&[u8]>) {
    if value.starts_with(b"[") {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return (value, None);
        };
        let (host, rest) = value.split_at(close + 1);
        return match rest.strip_prefix(b":") {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => (value, None),
        };
    }
    match memchr::memrchr(b':', value) {
        Some(i) if memchr::memchr(b']', value).is_none() => (&value[..i], Some(&value[i + 1..])),
        _ => (value, None),
    }
}

/// `example.com` of `example.com:8080`, `[::1]` of `[::1]:80`: the host a server compares
/// (case-insensitively, RFC 3986 §3.2.2) with its configured names.
///
/// ```
/// use http_proto::semantics::host_without_port;
/// assert_eq!(host_without_port(b"[::1]:80"), b"[::1]");
/// assert_eq!(host_without_port(b"[::1]"), b"[::1]");
/// ```
#[must_use]
pub fn host_without_port(value: &[u8]) -> &[u8] {
    split_host_port(value).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_without_port(b"a.example:80"), b"a.example");
        assert_eq!(host_without_port(b"a.example"), b"a.example");
        assert_eq!(host_without_port(b"[::1]:80"), b"[::1]");
        assert_eq!(host_without_port(b"[::1]"), b"[::1]");
    }

    #[test]
    fn host_and_port_table() {
        // (Host value, uri-host, port)
        type Row = (&'static [u8], &'static [u8], Option<&'static [u8]>);
        let table: &[Row] = &[
            (b"", b"", None),
            (b"x", b"x", None),
            (b"x:1", b"x", Some(b"1")),
            (b"x:", b"x", Some(b"")),
            (b":80", b"", Some(b"80")),
            (b"127.0.0.1:8080", b"127.0.0.1", Some(b"8080")),
            (b"[2001:db8::1]:443", b"[2001:db8::1]", Some(b"443")),
            (b"[2001:db8::1]", b"[2001:db8::1]", None),
            (b"[::ffff:1.2.3.4]:1", b"[::ffff:1.2.3.4]", Some(b"1")),
            // Malformed literals are left whole rather than cut inside the brackets.
            (b"[::1", b"[::1", None),
            (b"[::1]x", b"[::1]x", None),
            (b"a]:80", b"a]:80", None),
        ];
        for &(value, host, port) in table {
            assert_eq!(
                split_host_port(value),
                (host, port),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }
}
