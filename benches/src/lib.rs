//! Shared inputs for the criterion benches in `benches/benches/`.

/// A minimal HTTP/1.1 GET request, the smallest realistic input.
pub const SMALL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

#[cfg(test)]
mod tests {
    #[test]
    fn small_get_is_a_complete_head() {
        assert!(super::SMALL_GET.ends_with(b"\r\n\r\n"));
    }
}
