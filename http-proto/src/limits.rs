//! Limits and opt-in leniencies, one value the caller owns.

/// Size limits and leniency flags for parsing.
///
/// Every relaxation of RFC 9112 is a named flag that defaults to strict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest head (start-line plus fields plus the final CRLF). Past it: 431.
    pub max_head_len: usize,
    /// Longest request-target. Past it: 414.
    pub max_target_len: usize,
    /// Most header field lines. Past it: 431.
    pub max_headers: usize,
    /// Largest request body the server side accepts. Past it: 413.
    pub max_body_len: u64,
    /// Longest chunk extension on one chunk-size line.
    pub max_chunk_ext_len: usize,
    /// Longest trailer section.
    pub max_trailer_len: usize,
    /// Accept a lone LF as a line terminator (RFC 9112 §2.2 permits it; off by default because
    /// peers that disagree on line endings are a request-smuggling vector).
    pub allow_bare_lf: bool,
    /// Replace obs-fold (CRLF followed by whitespace inside a field) with spaces instead of
    /// rejecting it (RFC 9112 §5.2 allows either).
    pub fold_obs_fold: bool,
    /// Empty lines (CRLF) tolerated before a request-line (RFC 9112 §2.2: SHOULD ignore at least one).
    pub max_leading_empty_lines: usize,
}

impl Limits {
    /// Defaults suited to a public server: 16 KiB heads, 8 KiB targets, 100 fields, 10 MiB bodies.
    pub const DEFAULT: Self = Self {
        max_head_len: 16 * 1024,
        max_target_len: 8 * 1024,
        max_headers: 100,
        max_body_len: 10 * 1024 * 1024,
        max_chunk_ext_len: 1024,
        max_trailer_len: 8 * 1024,
        allow_bare_lf: false,
        fold_obs_fold: false,
        max_leading_empty_lines: 4,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
