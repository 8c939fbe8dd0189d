//! RFC 3875 CGI environments and responses.
//!
//! Placeholder: only the header-to-variable name mapping exists yet (issue 6 builds the rest).
#![forbid(unsafe_code)]

/// Maps a request header name to its `HTTP_*` meta-variable name (RFC 3875 §4.1.18):
/// upper-case, `-` becomes `_`, prefixed with `HTTP_`.
#[must_use]
pub fn http_variable_name(header: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(5 + header.len());
    name.extend_from_slice(b"HTTP_");
    name.extend(header.iter().map(|&b| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_uppercase()
        }
    }));
    name
}

#[cfg(test)]
mod tests {
    use super::http_variable_name;

    #[test]
    fn header_names_map_to_http_variables() {
        assert_eq!(http_variable_name(b"User-Agent"), b"HTTP_USER_AGENT");
        assert_eq!(
            http_variable_name(b"x-forwarded-for"),
            b"HTTP_X_FORWARDED_FOR"
        );
    }
}
