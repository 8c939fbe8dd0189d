//! `Authorization: Basic` credentials (RFC 7617): the user-id a server logs as
//! `$remote_user`. Decoding only; checking a password is the application's business.

/// The user-id and password of a `Basic` `Authorization` field value (RFC 7617 §2): the
/// scheme (any case), one or more spaces, then base64 (RFC 4648 §4, padding optional) of
/// `user-id ":" password`. `None` for another scheme, bad base64, or no `:`.
///
/// ```
/// use http_proto::semantics::basic_credentials;
/// assert_eq!(
///     basic_credentials(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
///     Some((b"Aladdin".to_vec(), b"open sesame".to_vec()))
/// );
/// assert_eq!(basic_credentials(b"Bearer abc"), None);
/// ```
#[must_use]
pub fn basic_credentials(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let token = rest.trim_ascii();
    let decoded = decode_base64(token)?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// RFC 4648 §4 base64, `=` padding optional; `None` on any other byte or a bad length.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let value = |b: u8| -> Option<u32> {
        Some(u32::from(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut bits = 0u32;
        for &b in chunk {
            bits = (bits << 6) | value(b)?;
        }
        bits <<= 6 * (4 - chunk.len());
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4648 §4, for the round trip.
    fn encode(data: &[u8]) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        for chunk in data.chunks(3) {
            let mut bits = 0u32;
            for (i, &b) in chunk.iter().enumerate() {
                bits |= u32::from(b) << (16 - 8 * i);
            }
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((bits >> (18 - 6 * i)) & 63) as usize]);
            }
            out.extend(std::iter::repeat_n(b'=', 3 - chunk.len()));
        }
        out
    }

    #[test]
    fn rfc_7617_examples_and_refusals() {
        assert_eq!(
            basic_credentials(b"basic   dGVzdDoxMjPCow=="),
            Some((b"test".to_vec(), "123£".as_bytes().to_vec()))
        );
        assert_eq!(
            basic_credentials(b"Basic dXNlcjo"),
            Some((b"user".to_vec(), Vec::new()))
        );
        for bad in [
            &b"Basic"[..],
            b"Basic !!!!",
            b"Basic dXNlcg==",
            b"Digest x",
            b"Basic a",
        ] {
            assert_eq!(
                basic_credentials(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest! {
        #[test]
        fn decoding_inverts_encoding(user in "[a-z]{0,12}", password in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut plain = user.clone().into_bytes();
            plain.push(b':');
            plain.extend_from_slice(&password);
            let mut value = b"Basic ".to_vec();
            value.extend(encode(&plain));
            prop_assert_eq!(basic_credentials(&value), Some((user.into_bytes(), password)));
        }

        #[test]
        fn any_value_is_safe(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = basic_credentials(&value);
        }
    }
}
