//! Limits that bound work and memory per request.

/// Bounds on what the crate accepts. Every parser and resolver takes one; there are no
/// hidden constants.
///
/// ```
/// let limits = cgi_env::Limits { max_header_bytes: 8 * 1024, ..cgi_env::Limits::default() };
/// assert_eq!(limits.max_headers, 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest CGI response header section, counted from the first byte to the end of
    /// the blank line that closes it. Default 64 KiB (lighttpd's limit; Apache allows
    /// 8 KiB per line).
    pub max_header_bytes: usize,
    /// Most header lines in a CGI response (NPH status line not counted). Default 100.
    pub max_headers: usize,
    /// Most segments in a URL path given to the script resolver; bounds the number of
    /// filesystem look-ups per request. Default 64.
    pub max_path_segments: usize,
    /// Most ISINDEX command-line words (RFC 3875 §4.4); past it no command line is
    /// produced at all. Default 64.
    pub max_isindex_words: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_path_segments: 64,
            max_isindex_words: 64,
        }
    }
}
