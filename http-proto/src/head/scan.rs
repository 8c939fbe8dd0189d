//! Byte classes and fast scans over them: the parser's inner loops live here.

/// `tchar` from RFC 9110 §5.6.2.
pub(crate) static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)] // i < 256
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

/// Bytes allowed in a request-target: visible ASCII (RFC 9112 §3.2 with RFC 3986's
/// characters; we do not reject the few visible characters 3986 leaves out, as browsers send them).
pub(crate) static TARGET: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x21;
    while i < 0x7f {
        t[i] = true;
        i += 1;
    }
    t
};

/// Length of the run of token characters at the start of `buf`.
#[inline]
pub(crate) fn token_len(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| !TOKEN[b as usize])
        .unwrap_or(buf.len())
}

/// Length of the run of request-target characters at the start of `buf`.
#[inline]
pub(crate) fn target_len(buf: &[u8]) -> usize {
    let mut i = 0;
    // Eight at a time: a chunk is all visible ASCII when no byte is < 0x21 and none is >= 0x7f.
    while i + 8 <= buf.len() {
        let x = word(&buf[i..i + 8]);
        if has_below(x, 0x21) | has_at_or_above(x, 0x7f) != 0 {
            break;
        }
        i += 8;
    }
    i + buf[i..]
        .iter()
        .position(|&b| !TARGET[b as usize])
        .unwrap_or(buf.len() - i)
}

/// Length of the run of field-value bytes (VCHAR, obs-text, SP, HTAB) at the start of `buf`.
///
/// Stops at the first CR, LF, other control byte or DEL; the caller decides which it was.
#[inline]
pub(crate) fn field_value_len(buf: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= buf.len() {
        let x = word(&buf[i..i + 8]);
        if has_below(x, 0x20) | has_byte(x, 0x7f) != 0 {
            break;
        }
        i += 8;
    }
    // A tab also stops the fast loop; the byte loop goes on past it.
    i + buf[i..]
        .iter()
        .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        .unwrap_or(buf.len() - i)
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Non-zero when some byte of `x` is below `n` (n <= 0x80). Exact as a yes/no answer:
/// a borrow only starts at a byte that is itself below `n`.
#[inline]
fn has_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO * u64::from(n)) & !x & HI
}

/// Non-zero when some byte of `x` is >= `n` (0x01 <= n <= 0x80): the low seven bits plus
/// `0x80 - n` reach the high bit exactly when the byte is >= n; bytes >= 0x80 have it already.
#[inline]
fn has_at_or_above(x: u64, n: u8) -> u64 {
    ((x & !HI).wrapping_add(LO * u64::from(0x80 - n)) | x) & HI
}

/// Non-zero when some byte of `x` equals `b`.
#[inline]
fn has_byte(x: u64, b: u8) -> u64 {
    let y = x ^ (LO * u64::from(b));
    (y.wrapping_sub(LO) & !y) & HI
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_value_len(buf: &[u8]) -> usize {
        buf.iter()
            .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            .unwrap_or(buf.len())
    }

    #[test]
    fn swar_scans_agree_with_byte_loops_on_every_byte_at_every_position() {
        for pos in 0..20 {
            for b in 0..=255u8 {
                let mut buf = vec![b'a'; 20];
                buf[pos] = b;
                assert_eq!(
                    field_value_len(&buf),
                    naive_value_len(&buf),
                    "value byte {b:#x} at {pos}"
                );
                let naive = buf
                    .iter()
                    .position(|&c| !TARGET[c as usize])
                    .unwrap_or(buf.len());
                assert_eq!(target_len(&buf), naive, "target byte {b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn tabs_inside_values_do_not_stop_the_scan() {
        assert_eq!(field_value_len(b"a\tb\tc\td\te\tf\tg\th\ti\r\n"), 17);
    }
}
