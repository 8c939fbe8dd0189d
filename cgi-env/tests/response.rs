//! The CGI response parser, rule by rule (RFC 3875 §5, §6). Every input goes through the
//! split-anywhere helper, so each row also checks that chunking changes nothing.
#![allow(clippy::type_complexity)] // Rule tables read best as inline literals.

mod support;

use cgi_env::{Error, Limits, ResponseEvent, ResponseKind, ResponseParser};
use support::{Outcome, assert_split_anywhere};

fn parse(input: &[u8]) -> Outcome {
    assert_split_anywhere(input, Limits::default())
}

fn head_of(input: &[u8]) -> cgi_env::CgiResponse {
    let out = parse(input);
    assert_eq!(out.error, None, "{}", String::from_utf8_lossy(input));
    out.head.expect("head")
}

fn err_of(input: &[u8]) -> Error {
    parse(input).error.expect("an error")
}

/// (input, kind, status, reason) for every accepted response type.
#[test]
fn response_types() {
    let table: &[(&[u8], ResponseKind, u16, &str)] = &[
        // §6.2.1 document
        (
            b"Content-Type: text/html\n\n<p>",
            ResponseKind::Document,
            200,
            "OK",
        ),
        (
            b"Content-Type: text/html\r\n\r\n<p>",
            ResponseKind::Document,
            200,
            "OK",
        ),
        (
            b"Status: 404 Not Found\nContent-Type: text/plain\n\n",
            ResponseKind::Document,
            404,
            "Not Found",
        ),
        (
            b"Status: 500\nContent-Type: text/plain\n\n",
            ResponseKind::Document,
            500,
            "Internal Server Error",
        ),
        (
            b"Status: 299 Custom\nContent-Type: a/b\n\n",
            ResponseKind::Document,
            299,
            "Custom",
        ),
        (
            b"Status: 299\nContent-Type: a/b\n\n",
            ResponseKind::Document,
            299,
            "",
        ),
        (
            b"content-type: a/b\nSTATUS: 201 Made It\n\n",
            ResponseKind::Document,
            201,
            "Made It",
        ),
        // Status alone (RFC 3875 §6.3.1 needs a type only with a body; git-http-backend
        // answers errors like this)
        (
            b"Status: 304 Not Modified\n\n",
            ResponseKind::Document,
            304,
            "Not Modified",
        ),
        (
            b"Status: 404 Not Found\r\nExpires: Fri, 01 Jan 1980 00:00:00 GMT\r\nPragma: no-cache\r\n\r\n",
            ResponseKind::Document,
            404,
            "Not Found",
        ),
        (b"Status: 200 OK\n\n", ResponseKind::Document, 200, "OK"),
        (
            b"Status: 204\nX-A: b\n\n",
            ResponseKind::Document,
            204,
            "No Content",
        ),
        // §6.2.2 local redirect
        (
            b"Location: /other?x=1\n\n",
            ResponseKind::LocalRedirect,
            200,
            "OK",
        ),
        (
            b"Location: /other\nStatus: 200 OK\n\n",
            ResponseKind::LocalRedirect,
            200,
            "OK",
        ),
        // §6.2.3 client redirect
        (
            b"Location: http://example.com/\n\n",
            ResponseKind::ClientRedirect,
            302,
            "Found",
        ),
        (
            b"Location: https://example.com/\nStatus: 301 Moved\n\n",
            ResponseKind::ClientRedirect,
            301,
            "Moved",
        ),
        (
            b"Location: https://example.com/\nStatus: 200 OK\n\n",
            ResponseKind::ClientRedirect,
            302,
            "Found",
        ),
        // a network-path reference is another host, never local
        (
            b"Location: //evil.example/x\n\n",
            ResponseKind::ClientRedirect,
            302,
            "Found",
        ),
        // a relative reference goes to the client (RFC 9110 §10.2.2)
        (
            b"Location: next.html\n\n",
            ResponseKind::ClientRedirect,
            302,
            "Found",
        ),
        // a local path with a redirect status goes to the client as it is
        (
            b"Status: 303 See Other\nLocation: /done\n\n",
            ResponseKind::ClientRedirect,
            303,
            "See Other",
        ),
        // §6.2.4 client redirect with document
        (
            b"Status: 302 Found\nLocation: http://e.com/\nContent-Type: text/html\n\n<a>",
            ResponseKind::ClientRedirectWithDocument,
            302,
            "Found",
        ),
        (
            b"Location: http://e.com/\nContent-Type: text/html\n\n",
            ResponseKind::ClientRedirectWithDocument,
            302,
            "Found",
        ),
        (
            b"Status: 307\nLocation: /x\nContent-Type: text/html\n\n",
            ResponseKind::ClientRedirectWithDocument,
            307,
            "Temporary Redirect",
        ),
        // §5 NPH
        (
            b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody",
            ResponseKind::Nph,
            200,
            "OK",
        ),
        (b"HTTP/1.0 404 Nope\n\n", ResponseKind::Nph, 404, "Nope"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            ResponseKind::Nph,
            101,
            "Switching Protocols",
        ),
        (b"HTTP/1.1 204\r\n\r\n", ResponseKind::Nph, 204, ""),
    ];
    for (input, kind, status, reason) in table {
        let head = head_of(input);
        let text = String::from_utf8_lossy(input);
        assert_eq!(head.kind, *kind, "{text}");
        assert_eq!(head.status, *status, "{text}");
        assert_eq!(head.reason, reason.as_bytes(), "{text}");
    }
}

/// (input, error) for every refusal.
#[test]
fn refusals() {
    let big = Limits::default().max_header_bytes;
    let table: &[(&[u8], Error)] = &[
        (b"X-Thing: 1\n\nbody", Error::MissingContentType),
        (b"\n\nbody", Error::MissingContentType),
        (
            b"Content-Type: text/html",
            Error::UnexpectedEof { offset: 23 },
        ),
        (
            b"Content-Type: text/html\n",
            Error::UnexpectedEof { offset: 24 },
        ),
        (b"", Error::UnexpectedEof { offset: 0 }),
        // header injection: a CR inside a value, or any control byte
        (
            b"Content-Type: text/html\rSet-Cookie: a=b\n\n",
            Error::InvalidFieldValue { offset: 0 },
        ),
        (
            b"Content-Type: a/b\nX: a\rb\r\n\r\n",
            Error::InvalidFieldValue { offset: 18 },
        ),
        (
            b"Content-Type: a/b\nX: a\x00b\n\n",
            Error::InvalidFieldValue { offset: 18 },
        ),
        (
            b"Content-Type: a/b\nX: a\x7fb\n\n",
            Error::InvalidFieldValue { offset: 18 },
        ),
        (
            b"Content-Type: a/b\nX: a\r\r\n\n",
            Error::InvalidFieldValue { offset: 18 },
        ),
        // bad field names
        (
            b"Content Type: a/b\n\n",
            Error::InvalidFieldName { offset: 0 },
        ),
        (
            b"Content-Type : a/b\n\n",
            Error::InvalidFieldName { offset: 0 },
        ),
        (
            b"Content-Type: a/b\n: v\n\n",
            Error::InvalidFieldName { offset: 18 },
        ),
        (
            b"Content-Type: a/b\nno colon\n\n",
            Error::InvalidFieldName { offset: 18 },
        ),
        (
            b"Content-Type: a/b\nX(y): v\n\n",
            Error::InvalidFieldName { offset: 18 },
        ),
        (
            b"Content-Type: a/b\n\r\r\n\n",
            Error::InvalidFieldName { offset: 18 },
        ),
        (
            b"Content-Type: a/b\nX\xc3\xa9: v\n\n",
            Error::InvalidFieldName { offset: 18 },
        ),
        // obs-fold
        (
            b"Content-Type: a/b\n continued\n\n",
            Error::ObsFold { offset: 18 },
        ),
        (
            b"Content-Type: a/b\n\tcontinued\n\n",
            Error::ObsFold { offset: 18 },
        ),
        // duplicates of the CGI fields
        (
            b"Content-Type: a/b\nContent-Type: c/d\n\n",
            Error::DuplicateField { offset: 18 },
        ),
        (
            b"Status: 200\nstatus: 404\nContent-Type: a/b\n\n",
            Error::DuplicateField { offset: 12 },
        ),
        (
            b"Location: /a\nLocation: /b\n\n",
            Error::DuplicateField { offset: 13 },
        ),
        // Status syntax and range
        (
            b"Status: 20\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"Status: 2000\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"Status: abc\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"Status: 100 Continue\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"Status: 600\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"Status:\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"Status: +20\nContent-Type: a/b\n\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (b"Location:\n\n", Error::InvalidLocation { offset: 0 }),
        (b"Location:   \n\n", Error::InvalidLocation { offset: 0 }),
        // NPH status line syntax
        (b"HTTP/1.1\r\n\r\n", Error::InvalidStatus { offset: 0 }),
        (
            b"HTTP/x.1 200 OK\r\n\r\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"HTTP/1.1 20 OK\r\n\r\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"HTTP/1.1 2000 OK\r\n\r\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"HTTP/1.1 099 OK\r\n\r\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"HTTP/1.1 200 O\x01K\r\n\r\n",
            Error::InvalidStatus { offset: 0 },
        ),
        (
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            Error::InvalidFieldName { offset: 17 },
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
            Error::InvalidFieldValue { offset: 17 },
        ),
    ];
    for (input, expected) in table {
        assert_eq!(
            &err_of(input),
            expected,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    // Not a table row: too big to print.
    let mut huge = b"Content-Type: a/b\nX: ".to_vec();
    huge.resize(big + 10, b'a');
    huge.extend_from_slice(b"\n\n");
    assert_eq!(
        support::run_chunks(&[&huge], Limits::default()).error,
        Some(Error::HeaderTooLarge { limit: big })
    );
}

#[test]
fn fields_keep_order_and_trimmed_values_and_status_is_consumed() {
    let out = parse(b"X-One: \t1 \t\r\nStatus: 201 Created\r\nContent-Type:text/plain\r\nX-One: 2\r\nX-Empty:\r\n\r\nok");
    let head = out.head.expect("head");
    let fields: Vec<(&[u8], &[u8])> = head.headers.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    assert_eq!(
        fields,
        [
            (&b"X-One"[..], &b"1"[..]),
            (b"Content-Type", b"text/plain"),
            (b"X-One", b"2"),
            (b"X-Empty", b""),
        ]
    );
    assert_eq!(head.header(b"x-one").map(|v| &v[..]), Some(&b"1"[..]));
    assert_eq!(
        head.content_type().map(|v| &v[..]),
        Some(&b"text/plain"[..])
    );
    assert_eq!(head.location(), None);
    assert_eq!(head.nph_version, None);
    assert_eq!(out.body, b"ok");
    assert!(out.ended);
}

#[test]
fn location_stays_a_header_and_redirect_exposes_it() {
    let head = head_of(b"Location: /next?a=b\n\n");
    assert_eq!(head.location().map(|v| &v[..]), Some(&b"/next?a=b"[..]));
    let head = head_of(b"Location: http://e.com/\nStatus: 301\n\n");
    assert_eq!(head.headers.len(), 1);
}

#[test]
fn local_redirect_body_is_discarded() {
    let out = parse(b"Location: /other\n\nthis body must not reach the client");
    assert_eq!(out.head.map(|h| h.kind), Some(ResponseKind::LocalRedirect));
    assert_eq!(out.body, b"");
    assert!(out.ended);
}

#[test]
fn nph_passes_fields_through_including_status_like_ones() {
    let out = parse(b"HTTP/1.1 200 OK\r\nStatus: 404\r\nContent-Length: 4\r\n\r\nbody");
    let head = out.head.expect("head");
    assert_eq!(head.nph_version.as_deref(), Some(&b"HTTP/1.1"[..]));
    assert_eq!(head.status, 200);
    assert_eq!(head.headers.len(), 2);
    assert_eq!(out.body, b"body");
}

#[test]
fn body_may_hold_anything_including_blank_lines_and_controls() {
    let out = parse(b"Content-Type: application/octet-stream\n\n\r\n\n\0\x01HTTP/1.1 200\r\n");
    assert_eq!(out.body, b"\r\n\n\0\x01HTTP/1.1 200\r\n");
}

#[test]
fn header_limit_counts_the_blank_line() {
    let input = b"Content-Type: a/b\r\n\r\n"; // 21 bytes
    let exact = Limits {
        max_header_bytes: 21,
        ..Limits::default()
    };
    assert_eq!(assert_split_anywhere(input, exact).error, None);
    let short = Limits {
        max_header_bytes: 20,
        ..Limits::default()
    };
    assert_eq!(
        assert_split_anywhere(input, short).error,
        Some(Error::HeaderTooLarge { limit: 20 })
    );
    // A long partial line fails before the script finishes writing it.
    let mut parser = ResponseParser::new(short);
    parser.feed(b"Content-Type: application/aaaaaaaa");
    assert_eq!(
        parser.poll_event(),
        Err(Error::HeaderTooLarge { limit: 20 })
    );
}

#[test]
fn header_count_limit() {
    let limits = Limits {
        max_headers: 2,
        ..Limits::default()
    };
    assert_eq!(
        assert_split_anywhere(b"Content-Type: a/b\nA: 1\n\n", limits).error,
        None
    );
    assert_eq!(
        assert_split_anywhere(b"Content-Type: a/b\nA: 1\nB: 2\n\n", limits).error,
        Some(Error::TooManyHeaders { limit: 2 })
    );
    // Status counts as a line too: it is part of the header section.
    assert_eq!(
        assert_split_anywhere(b"Status: 200\nContent-Type: a/b\nA: 1\n\n", limits).error,
        Some(Error::TooManyHeaders { limit: 2 })
    );
}

#[test]
fn body_is_streamed_as_it_arrives_and_end_comes_after_eof() {
    let mut parser = ResponseParser::default();
    parser.feed(b"Content-Type: text/plain\n\nfirst");
    assert!(matches!(parser.poll_event(), Ok(ResponseEvent::Head(_))));
    assert!(parser.head_done());
    assert_eq!(parser.poll_event(), Ok(ResponseEvent::Body("first".into())));
    assert_eq!(parser.poll_event(), Ok(ResponseEvent::NeedData));
    parser.feed(b"second");
    assert_eq!(
        parser.poll_event(),
        Ok(ResponseEvent::Body("second".into()))
    );
    parser.feed_eof();
    parser.feed(b"ignored after eof");
    assert_eq!(parser.poll_event(), Ok(ResponseEvent::End));
    assert_eq!(parser.poll_event(), Ok(ResponseEvent::End));
}

#[test]
fn nothing_before_the_blank_line_is_handed_out() {
    let mut parser = ResponseParser::default();
    parser.feed(b"Content-Type: text/plain\n");
    assert_eq!(parser.poll_event(), Ok(ResponseEvent::NeedData));
    assert!(!parser.head_done());
    parser.feed(b"\r");
    assert_eq!(parser.poll_event(), Ok(ResponseEvent::NeedData));
    parser.feed(b"\n");
    assert!(matches!(parser.poll_event(), Ok(ResponseEvent::Head(_))));
}

#[test]
fn errors_are_sticky_and_later_input_is_ignored() {
    let mut parser = ResponseParser::default();
    parser.feed(b"Bad Field: x\n");
    let err = parser.poll_event().expect_err("bad name");
    parser.feed(b"Content-Type: a/b\n\n");
    assert_eq!(parser.poll_event(), Err(err));
}

#[test]
fn error_messages_name_the_fault() {
    assert_eq!(
        Error::InvalidFieldValue { offset: 7 }.to_string(),
        "invalid field value at byte 7"
    );
    assert!(
        Error::MissingContentType
            .to_string()
            .contains("Content-Type")
    );
}

#[test]
fn fields_the_connection_owns_are_not_passed_on() {
    let head = head_of(
        b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nConnection: close\r\nX-Kept: 1\r\n\r\n",
    );
    let fields = head.http_fields();
    let names: Vec<&[u8]> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, [&b"Content-Type"[..], b"X-Kept"]);
}
