#![no_main]
//! Differential: on input that both http-proto and httparse accept as a complete request
//! head, they agree on the method, target, version, head length and every header field.
//!
//! Intentional differences, where only one side accepts (so never compared): httparse
//! takes bare LF line endings, any number of leading empty lines, non-ASCII target bytes,
//! and requests without Host or with conflicting framing fields; http-proto rejects them
//! (RFC 9112 §2.2, §3.2, §6.3). Both trim whitespace around field values (RFC 9112 §5:
//! OWS is not part of the value), so values are compared exactly. The one skip: httparse
//! returns at most the header slots it is given, so inputs past our field limit are not compared.

use bytes::Bytes;
use http_proto::{Limits, RequestHead, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let ours = RequestHead::parse(&Bytes::copy_from_slice(data), &limits);
    let mut slots = [httparse::EMPTY_HEADER; 128];
    let mut theirs = httparse::Request::new(&mut slots);
    let Ok(httparse::Status::Complete(their_len)) = theirs.parse(data) else {
        return;
    };
    let Ok(Some((head, len))) = ours else {
        return;
    };
    assert_eq!(len, their_len, "head length");
    assert_eq!(Some(head.method_bytes()), theirs.method.map(str::as_bytes));
    assert_eq!(Some(head.target()), theirs.path.map(str::as_bytes));
    let version = match head.version() {
        Version::Http10 => 0,
        Version::Http11 => 1,
    };
    assert_eq!(Some(version), theirs.version);
    assert_eq!(head.headers().len(), theirs.headers.len(), "header count");
    for ((name, value), theirs) in head.headers().iter().zip(theirs.headers.iter()) {
        assert_eq!(name, theirs.name.as_bytes());
        assert_eq!(value, theirs.value);
    }
});
