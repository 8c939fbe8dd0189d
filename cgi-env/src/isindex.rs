//! The ISINDEX command line (RFC 3875 §4.4).

use crate::Limits;

/// The command-line words RFC 3875 §4.4 gives an "indexed" query, or `None` when the
/// script must get no command-line arguments.
///
/// A query is indexed when the method is `GET` or `HEAD` and the query string holds no
/// unencoded `=`. It is then split on `+` into words (`search-word = 1*schar`), and each
/// word is percent-decoded once. No command line at all is produced (§4.4: "the server
/// MUST NOT generate any command line information" if it cannot create every part)
/// when:
///
/// - the query is empty, has an empty word (`a++b`, a leading or trailing `+`), or a
///   byte outside `schar` (RFC 2396 unreserved, `%XX` escapes and `;/?:@&,$`);
/// - a `%` escape is malformed, or a word decodes to a NUL, which no argument can hold;
/// - there are more than [`Limits::max_isindex_words`] words;
/// - a decoded word starts with `-`: the word would reach the script as an option
///   (this is how `php-cgi` was made to print its own source, CVE-2012-1823). RFC 3875
///   lets a server encode words "in a system-defined manner"; dropping the command
///   line is the safe such manner.
///
/// ```
/// use cgi_env::{isindex_words, Limits};
///
/// let words = isindex_words(b"GET", b"rust+cgi%20env", &Limits::default());
/// assert_eq!(words, Some(vec![b"rust".to_vec(), b"cgi env".to_vec()]));
/// assert_eq!(isindex_words(b"GET", b"a=1", &Limits::default()), None);
/// ```
#[must_use]
pub fn isindex_words(method: &[u8], query: &[u8], limits: &Limits) -> Option<Vec<Vec<u8>>> {
    if method != b"GET" && method != b"HEAD" {
        return None;
    }
    if query.is_empty() || query.contains(&b'=') {
        return None;
    }
    let mut words = Vec::new();
    for raw in query.split(|&b| b == b'+') {
        if words.len() >= limits.max_isindex_words {
            return None;
        }
        let word = decode_word(raw)?;
        if word.first() == Some(&b'-') {
            return None;
        }
        words.push(word);
    }
    Some(words)
}

/// One `search-word`, decoded; `None` if it is empty, malformed or holds a NUL.
fn decode_word(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            let decoded = u8::from_str_radix(text, 16).ok()?;
            if decoded == 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(decoded);
            i += 3;
        } else if is_schar(b) {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// RFC 3875 §4.4 `schar` minus `%` escapes: RFC 2396 `unreserved` or `xreserved`.
fn is_schar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b';'
                | b'/'
                | b'?'
                | b':'
                | b'@'
                | b'&'
                | b'='
                | b','
                | b'$'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::type_complexity)] // A table literal reads best inline.
    fn isindex_table() {
        let limits = Limits::default();
        let cases: &[(&[u8], &[u8], Option<&[&[u8]]>)] = &[
            (b"GET", b"word", Some(&[b"word"])),
            (b"HEAD", b"a+b+c", Some(&[b"a", b"b", b"c"])),
            (b"GET", b"a%2Bb", Some(&[b"a+b"])),
            (b"GET", b"x%3Dy", Some(&[b"x=y"])),
            (b"GET", b"caf%C3%A9", Some(&[b"caf\xc3\xa9"])),
            (b"GET", b"a/b;c", Some(&[b"a/b;c"])),
            (b"POST", b"word", None),
            (b"get", b"word", None),
            (b"GET", b"", None),
            (b"GET", b"a=b", None),
            (b"GET", b"a+b=c", None),
            (b"GET", b"a++b", None),
            (b"GET", b"+a", None),
            (b"GET", b"a+", None),
            (b"GET", b"a%2", None),
            (b"GET", b"a%+1", None),
            (b"GET", b"a%zz", None),
            (b"GET", b"a%00", None),
            (b"GET", b"a b", None),
            (b"GET", b"a#b", None),
            (b"GET", b"\xff", None),
            (b"GET", b"-s", None),
            (b"GET", b"%2ds", None),
            (b"GET", b"a+-d+x", None),
            (b"GET", b"a-b", Some(&[b"a-b"])),
        ];
        for (method, query, expected) in cases {
            let got = isindex_words(method, query, &limits);
            let expected = expected.map(|w| w.iter().map(|x| x.to_vec()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(query));
        }
    }

    #[test]
    fn too_many_words_means_no_command_line() {
        let limits = Limits {
            max_isindex_words: 2,
            ..Limits::default()
        };
        assert_eq!(
            isindex_words(b"GET", b"a+b", &limits).map(|w| w.len()),
            Some(2)
        );
        assert_eq!(isindex_words(b"GET", b"a+b+c", &limits), None);
    }
}
