#![no_main]
//! The Cookie header reader never panics, yields only grammatical pairs, and anything it
//! yields can be written back as a Set-Cookie that reads back to the same pair.

use libfuzzer_sys::fuzz_target;
use session_core::visitor::{CookieHeader, SessionId, SetCookie};

fuzz_target!(|data: &[u8]| {
    let cookies = CookieHeader::parse(data);
    for (name, value) in cookies.iter() {
        assert!(!name.is_empty());
        assert!(
            !name
                .bytes()
                .chain(value.bytes())
                .any(|b| matches!(b, b';' | b'\r' | b'\n' | b' ' | b'"'))
        );
        // The defaults satisfy every prefix rule, so a grammatical pair always encodes.
        if let Ok(header) = SetCookie::new(name, value).encode() {
            assert_eq!(
                CookieHeader::parse(header.as_bytes()).iter().next(),
                Some((name, value))
            );
        }
        if let Ok(id) = SessionId::parse(value) {
            assert_eq!(id.encode().as_str(), value);
        }
    }
    // The name-first lookup agrees with the fully checked iterator.
    for name in ["id", "a", "__Host-id"] {
        let slow = cookies.iter().filter(|(n, _)| *n == name).map(|(_, v)| v);
        assert!(cookies.get_all(name).eq(slow));
    }
    // Arbitrary text as a name or value is either refused or yields a header without CR/LF.
    if let Ok(text) = std::str::from_utf8(data) {
        let mut middle = text.len() / 2;
        while !text.is_char_boundary(middle) {
            middle -= 1;
        }
        let (name, value) = text.split_at(middle);
        if let Ok(header) = SetCookie::new(name, value).path(Some(value)).encode() {
            assert!(!header.bytes().any(|b| b.is_ascii_control()));
        }
    }
});
