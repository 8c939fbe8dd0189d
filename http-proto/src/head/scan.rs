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
/// [`target_len`] checks the same class with word arithmetic; this table is its reference.
#[cfg(test)]
pub(crate) static TARGET: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x21;
    while i < 0x7f {
        t[i] = true;
        i += 1;
    }
    t
};

/// `reg-name` characters of RFC 3986 §3.2.2: unreserved, pct-encoded's `%`, and sub-delims.
pub(crate) static REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)] // i < 256
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        i += 1;
    }
    t
};

/// Length of the run of token characters at the start of `buf`.
#[inline]
pub(crate) fn token_len(buf: &[u8]) -> usize {
    class_len(buf, &TOKEN)
}

/// Length of the run of `reg-name` characters at the start of `buf`.
#[inline]
pub(crate) fn reg_name_len(buf: &[u8]) -> usize {
    class_len(buf, &REG_NAME)
}

/// Length of the run of bytes in `class` at the start of `buf`.
#[inline]
fn class_len(buf: &[u8], class: &[bool; 256]) -> usize {
    // Four lookups per branch: a field name is a dozen bytes, most of them in the fast loop.
    let mut i = 0;
    for quad in buf.chunks_exact(4) {
        if !(class[quad[0] as usize]
            & class[quad[1] as usize]
            & class[quad[2] as usize]
            & class[quad[3] as usize])
        {
            break;
        }
        i += 4;
    }
    while let Some(&b) = buf.get(i) {
        if !class[b as usize] {
            break;
        }
        i += 1;
    }
    i
}

/// Length of the run of request-target characters at the start of `buf`.
#[inline]
pub(crate) fn target_len(buf: &[u8]) -> usize {
    // A byte stops the scan when it is < 0x21 or >= 0x7f; the lowest flagged byte is exact.
    scan_words(buf, |x| has_below(x, 0x21) | has_at_or_above(x, 0x7f))
}

/// Length of the run of field-value bytes (VCHAR, obs-text, SP, HTAB) at the start of `buf`.
///
/// Stops at the first CR, LF, other control byte or DEL; the caller decides which it was.
#[inline(always)]
pub(crate) fn field_value_len(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        // Controls (HTAB included) and DEL stop the word scan; a tab is part of the value.
        at += scan_words(&buf[at..], |x| has_below(x, 0x20) | has_byte(x, 0x7f));
        match buf.get(at) {
            Some(b'\t') => at += 1,
            _ => return at,
        }
    }
}

/// Index of the first byte `stops` flags, or `buf.len()`. `stops` maps eight bytes (little
/// endian) to a mask whose lowest set high bit marks the first stopping byte exactly (bits
/// above it may be spurious; bytes below it are never flagged).
#[inline]
fn scan_words(buf: &[u8], stops: impl Fn(u64) -> u64) -> usize {
    let len = buf.len();
    if len < 8 {
        // Short: pad with `a`, which no scan stops at.
        let mut padded = [b'a'; 8];
        for (p, &b) in padded.iter_mut().zip(buf) {
            *p = b;
        }
        let m = stops(u64::from_le_bytes(padded));
        return if m == 0 { len } else { first_flagged(m) };
    }
    let mut pairs = buf.chunks_exact(16);
    let mut at = 0;
    for pair in &mut pairs {
        let (m_lo, m_hi) = (stops(word(&pair[..8])), stops(word(&pair[8..])));
        if m_lo | m_hi != 0 {
            return if m_lo != 0 {
                at + first_flagged(m_lo)
            } else {
                at + 8 + first_flagged(m_hi)
            };
        }
        at += 16;
    }
    if len - at >= 8 {
        let m = stops(word(&buf[at..at + 8]));
        if m != 0 {
            return at + first_flagged(m);
        }
        at += 8;
    }
    if at == len {
        return len;
    }
    // The last word overlaps bytes already scanned: they did not stop the scan, so they are
    // not flagged, and the lowest flag is still the first stopping byte.
    let m = stops(word(&buf[len - 8..]));
    if m == 0 {
        len
    } else {
        len - 8 + first_flagged(m)
    }
}

/// The byte index of the lowest set high bit of a non-zero mask.
#[inline]
fn first_flagged(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
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
    fn word_and_tail_paths_agree_with_byte_loops_at_every_length() {
        for len in 0..40 {
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut buf = vec![b'a'; len];
                    buf[pos] = b;
                    let naive = |class: &[bool; 256]| {
                        buf.iter()
                            .position(|&c| !class[c as usize])
                            .unwrap_or(buf.len())
                    };
                    assert_eq!(
                        token_len(&buf),
                        naive(&TOKEN),
                        "token {b:#x} at {pos}/{len}"
                    );
                    assert_eq!(
                        target_len(&buf),
                        naive(&TARGET),
                        "target {b:#x} at {pos}/{len}"
                    );
                    assert_eq!(
                        field_value_len(&buf),
                        naive_value_len(&buf),
                        "value {b:#x} at {pos}/{len}"
                    );
                }
            }
        }
    }

    #[test]
    fn tabs_inside_values_do_not_stop_the_scan() {
        assert_eq!(field_value_len(b"a\tb\tc\td\te\tf\tg\th\ti\r\n"), 17);
    }
}
