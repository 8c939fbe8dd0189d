//! Session ids: 128 random bits from the OS generator, written as 32 lowercase hex digits.
//!
//! OWASP asks for at least 64 bits of entropy; 128 bits from `getrandom` gives that with a
//! wide margin. The id carries no meaning (no user, no time, no counter), so there is nothing
//! in it to disclose. Comparison is constant-time, and `Debug` prints only a short prefix so
//! a stray `{:?}` in a log line does not hand out a working credential.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::str::FromStr;

use super::Error;

/// Length of the raw id in bytes (128 bits).
const ID_BYTES: usize = 16;
/// Length of the encoded id: two lowercase hex digits per byte.
const ENCODED_LEN: usize = 2 * ID_BYTES;
/// How many hex digits `Debug` shows (24 of the 128 bits), enough to correlate log lines.
const DEBUG_PREFIX: usize = 6;
const HEX: &[u8; 16] = b"0123456789abcdef";

/// A visitor session id: 128 bits from the operating system's CSPRNG.
///
/// Make one with [`SessionId::generate`] (a [`MemoryStore`](super::MemoryStore) does it for
/// you), send it with [`SessionId::encode`], read it back from a cookie with
/// [`SessionId::parse`]. Equality is constant-time. `Debug` is log-safe: it shows only the
/// first six hex digits.
///
/// ```
/// use session_core::visitor::SessionId;
///
/// let id = SessionId::generate()?;
/// let text = id.encode();
/// assert_eq!(text.as_str().len(), 32);
/// assert_eq!(SessionId::parse(text.as_str())?, id);
/// assert!(!format!("{id:?}").contains(text.as_str()));
/// # Ok::<(), session_core::visitor::Error>(())
/// ```
#[derive(Clone, Copy, Eq)]
pub struct SessionId([u8; ID_BYTES]);

impl SessionId {
    /// Draws a fresh id from the operating system's random generator.
    ///
    /// # Errors
    /// [`Error::RandomUnavailable`] if the generator fails (for example, very early at boot
    /// on some systems); the caller should answer 503 rather than fall back to a weaker source.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|_| Error::RandomUnavailable)?;
        Ok(Self(bytes))
    }

    /// Builds an id from raw bytes.
    ///
    /// For tests, benches and for stores that keep ids elsewhere. The bytes must come from a
    /// CSPRNG: never derive them from request data (OWASP: accept only server-generated ids).
    ///
    /// ```
    /// use session_core::visitor::SessionId;
    ///
    /// let id = SessionId::from_bytes([0xab; 16]);
    /// assert_eq!(id.encode().as_str(), "abababababababababababababababab");
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; ID_BYTES]) -> Self {
        Self(bytes)
    }

    /// Reads an id from its cookie form.
    ///
    /// Accepts exactly 32 lowercase hex digits, the only form [`SessionId::encode`] writes, so
    /// each id has one spelling.
    ///
    /// # Errors
    /// [`Error::MalformedSessionId`] for any other input: wrong length, uppercase, non-hex.
    ///
    /// ```
    /// use session_core::visitor::{Error, SessionId};
    ///
    /// assert!(SessionId::parse("00112233445566778899aabbccddeeff").is_ok());
    /// assert_eq!(SessionId::parse("00112233445566778899AABBCCDDEEFF"), Err(Error::MalformedSessionId));
    /// assert_eq!(SessionId::parse("0011"), Err(Error::MalformedSessionId));
    /// ```
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.as_bytes();
        if text.len() != ENCODED_LEN {
            return Err(Error::MalformedSessionId);
        }
        let mut bytes = [0u8; ID_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let (Some(high), Some(low)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(Error::MalformedSessionId);
            };
            *byte = (high << 4) | low;
        }
        Ok(Self(bytes))
    }

    /// Writes the id in its cookie form: 32 lowercase hex digits, no allocation.
    #[must_use]
    pub fn encode(&self) -> EncodedSessionId {
        let mut text = [0u8; ENCODED_LEN];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        EncodedSessionId(text)
    }

    /// The raw 16 bytes, for a store that keeps ids outside this process.
    #[must_use]
    pub const fn to_bytes(&self) -> [u8; ID_BYTES] {
        self.0
    }
}

/// Lowercase hex digit value; `None` for anything else.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

impl PartialEq for SessionId {
    /// Constant-time: every byte is compared whatever the first difference, so response
    /// timing does not tell an attacker how many leading bytes of a guess were right.
    fn eq(&self, other: &Self) -> bool {
        let mut difference = 0u8;
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            difference |= black_box(a ^ b);
        }
        black_box(difference) == 0
    }
}

impl Hash for SessionId {
    /// Hashes the raw bytes, consistent with the constant-time `eq` (equal ids, equal bytes).
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.encode();
        let prefix = text.as_str().get(..DEBUG_PREFIX).unwrap_or("");
        write!(f, "SessionId({prefix}…)")
    }
}

impl FromStr for SessionId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

/// A session id in its cookie form (32 lowercase hex digits), held on the stack.
///
/// Get the text with [`as_str`](Self::as_str) to put in a `Set-Cookie` value. Like
/// [`SessionId`], its `Debug` shows only a prefix.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedSessionId([u8; ENCODED_LEN]);

impl EncodedSessionId {
    /// The 32-character text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Always ASCII hex, written by `SessionId::encode`; the fallback is unreachable.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl AsRef<str> for EncodedSessionId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for EncodedSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.as_str().get(..DEBUG_PREFIX).unwrap_or("");
        write!(f, "EncodedSessionId({prefix}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_differ_and_round_trip() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.encode().as_str()).unwrap(), a);
        assert_eq!(a.encode().as_str().parse::<SessionId>().unwrap(), a);
    }

    #[test]
    fn encoding_is_32_lowercase_hex() {
        let id = SessionId::from_bytes([
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ]);
        assert_eq!(id.encode().as_str(), "00112233445566778899aabbccddeeff");
        assert_eq!(id.to_bytes()[15], 0xff);
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "0",
            "00112233445566778899aabbccddeef",   // 31
            "00112233445566778899aabbccddeeff0", // 33
            "00112233445566778899aabbccddeefF",  // uppercase
            "00112233445566778899aabbccddeefg",  // not hex
            " 0112233445566778899aabbccddeeff",  // space
            "0011223344556677\n899aabbccddeeff", // newline
            "0011223344556677889éaabbccddeef",   // non-ASCII, 32 bytes
            "+0112233445566778899aabbccddeeff",  // sign
        ] {
            assert_eq!(
                SessionId::parse(bad),
                Err(Error::MalformedSessionId),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_does_not_print_the_whole_id() {
        let id = SessionId::from_bytes([0x5a; 16]);
        let text = id.encode();
        let debug = format!("{id:?}");
        assert_eq!(debug, "SessionId(5a5a5a…)");
        assert!(!debug.contains(text.as_str()));
        assert!(!format!("{text:?}").contains(text.as_str()));
    }

    #[test]
    fn equality_sees_every_byte() {
        let a = SessionId::from_bytes([7; 16]);
        for i in 0..16 {
            let mut bytes = [7; 16];
            bytes[i] ^= 1;
            assert_ne!(a, SessionId::from_bytes(bytes));
        }
        assert_eq!(a, SessionId::from_bytes([7; 16]));
    }
}
