//! Properties: any valid message serialised by one role parses back to the same message in
//! the other role, however the bytes are cut; and every parser and connection, fed arbitrary
//! bytes in arbitrary pieces, never panics and says the same thing as when fed them whole.

mod strategies;
mod support;

use bytes::BytesMut;
use http_proto::{
    ClientConn, Framing, Limits, Request, Response, ServerConn, ServerEvent, Version, reason_phrase,
};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{
    body, chunked_body, cuts, field_value, fields, http_ish, method, origin_target, status,
};
use support::{
    B, Ev, cut, folding, lenient_lf, run_body, run_client, run_requests, run_response_heads,
    run_server,
};

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

fn as_refs(fields: &Fields) -> Vec<(&[u8], &[u8])> {
    fields.iter().map(|(n, v)| (&n[..], &v[..])).collect()
}

fn as_b(fields: &[(&[u8], &[u8])]) -> Vec<(B, B)> {
    fields
        .iter()
        .map(|(n, v)| (B::from(*n), B::from(*v)))
        .collect()
}

fn data_of(events: &[Ev]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Data(d) => Some(d.0.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn requests_roundtrip_client_to_server(
        method in method(),
        target in origin_target(),
        fields in fields(0..12),
        (body, pieces) in body(),
        chunked in any::<bool>(),
        feed_cuts in cuts(),
    ) {
        let mut headers: Vec<(&[u8], &[u8])> = vec![(b"Host", b"example.com")];
        headers.extend(as_refs(&fields));
        let request = Request::new(&method, &target, &headers);
        let request = if chunked { request.streamed() } else { request.body_len(body.len() as u64) };
        let mut client = ClientConn::new(Limits::default());
        let mut wire = BytesMut::new();
        client.send_request(&request, &mut wire).expect("valid request");
        for piece in cut(&body, &pieces) {
            client.send_data(piece, &mut wire).expect("send_data");
        }
        client.send_end(&mut wire).expect("send_end");

        let len = body.len().to_string();
        let mut expected = as_b(&headers);
        let framing = if chunked {
            expected.push((B::from("transfer-encoding"), B::from("chunked")));
            Framing::Chunked
        } else if !body.is_empty() || matches!(&method[..], b"POST" | b"PUT" | b"PATCH") {
            expected.push((B::from("content-length"), B::from(len.as_str())));
            if body.is_empty() { Framing::None } else { Framing::Length(body.len() as u64) }
        } else {
            Framing::None
        };

        let events = run_server(&cut(&wire, &feed_cuts), &Limits::default(), false);
        let Some(Ev::Request(got)) = events.first() else {
            return Err(TestCaseError::fail(format!("no request: {events:?}")));
        };
        prop_assert_eq!(&got.method, &B(method.clone()));
        prop_assert_eq!(&got.target, &B(target.clone()));
        prop_assert_eq!(got.version, Version::Http11);
        prop_assert_eq!(got.framing, framing);
        prop_assert!(got.keep_alive);
        prop_assert_eq!(&got.headers, &expected);
        prop_assert_eq!(B(data_of(&events)), B(body.clone()));
        prop_assert!(events.contains(&Ev::End(vec![])), "{:?}", events);
        prop_assert_eq!(events.last(), Some(&Ev::MustClose(false)));
    }

    #[test]
    fn responses_roundtrip_server_to_client(
        head_request in any::<bool>(),
        status in status(),
        fields in fields(0..12),
        (body, pieces) in body(),
        chunked in any::<bool>(),
        trailers in fields(0..4),
        feed_cuts in cuts(),
    ) {
        let method = if head_request { "HEAD" } else { "GET" };
        let mut server = ServerConn::new(Limits::default());
        server.feed(format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        prop_assert!(matches!(server.poll_event(), Ok(ServerEvent::Request(_))));
        prop_assert_eq!(server.poll_event(), Ok(ServerEvent::End(None)));

        let headers = as_refs(&fields);
        let trailer_refs = as_refs(&trailers);
        let response = Response::new(status).headers(&headers);
        let response = if chunked { response.streamed() } else { response.body_len(body.len() as u64) };
        let mut wire = BytesMut::new();
        server.send_response(&response, &mut wire).expect("valid response");
        for piece in cut(&body, &pieces) {
            server.send_data(piece, &mut wire).expect("send_data");
        }
        server.send_end(if chunked { &trailer_refs } else { &[] }, &mut wire).expect("send_end");
        prop_assert!(!server.must_close());

        let len = body.len().to_string();
        let mut expected = as_b(&headers);
        if !chunked {
            expected.push((B::from("content-length"), B::from(len.as_str())));
        } else if !head_request {
            expected.push((B::from("transfer-encoding"), B::from("chunked")));
        }
        let events = run_client(&[method], &cut(&wire, &feed_cuts), &Limits::default(), false);
        let Some(Ev::Response(got)) = events.first() else {
            return Err(TestCaseError::fail(format!("no response: {events:?}")));
        };
        prop_assert_eq!(got.status, status);
        prop_assert_eq!(&got.reason, &B::from(reason_phrase(status)));
        prop_assert!(got.keep_alive);
        prop_assert_eq!(&got.headers, &expected);
        let (want_body, want_trailers) = if head_request {
            (Vec::new(), Vec::new())
        } else if chunked {
            (body.clone(), as_b(&trailer_refs))
        } else {
            (body.clone(), Vec::new())
        };
        prop_assert_eq!(B(data_of(&events)), B(want_body));
        prop_assert_eq!(events.last(), Some(&Ev::End(want_trailers)));
    }

    #[test]
    fn folded_values_read_as_their_unfolded_text(
        words in vec(field_value().prop_filter("non-empty", |v| !v.is_empty()), 1..4),
        cuts in cuts(),
    ) {
        // obs-fold opt-in: `X: a CRLF SP b` reads as `a`, spaces, `b`.
        let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        input.extend_from_slice(&words.join(&b"\r\n "[..]));
        input.extend_from_slice(b"\r\n\r\n");
        let events = run_requests(&cut(&input, &cuts), &folding());
        let Some(Ev::Request(got)) = events.first() else {
            return Err(TestCaseError::fail(format!("{events:?}")));
        };
        prop_assert_eq!(&got.headers[1].1, &B(words.join(&b"   "[..])));
    }
}

/// Arbitrary bytes, or bytes made of HTTP fragments.
fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..400), http_ish()]
}

fn limits_variant(i: u8) -> Limits {
    match i % 4 {
        0 => Limits::default(),
        1 => lenient_lf(),
        2 => folding(),
        _ => {
            let mut small = Limits::default();
            small.max_headers = 3;
            small.max_head_len = 80;
            small.max_target_len = 10;
            small.max_body_len = 20;
            small.max_chunk_ext_len = 5;
            small.max_trailer_len = 20;
            small.max_leading_empty_lines = 1;
            small
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_parser_never_panics_and_ignores_splits(input in any_input(), cuts in cuts(), l in any::<u8>()) {
        let limits = limits_variant(l);
        let whole = run_requests(&[&input], &limits);
        prop_assert_eq!(run_requests(&cut(&input, &cuts), &limits), whole);
    }

    #[test]
    fn response_parser_never_panics_and_ignores_splits(input in any_input(), cuts in cuts(), l in any::<u8>()) {
        let limits = limits_variant(l);
        let whole = run_response_heads(&[&input], &limits);
        prop_assert_eq!(run_response_heads(&cut(&input, &cuts), &limits), whole);
    }

    #[test]
    fn body_decoder_never_panics_and_ignores_splits(
        input in any_input(),
        cuts in cuts(),
        l in any::<u8>(),
        framing in prop_oneof![
            Just(Framing::Chunked),
            Just(Framing::CloseDelimited),
            Just(Framing::None),
            (0u64..600).prop_map(Framing::Length),
        ],
        eof in any::<bool>(),
    ) {
        let limits = limits_variant(l);
        let whole = run_body(&[&input], framing, &limits, eof);
        prop_assert_eq!(run_body(&cut(&input, &cuts), framing, &limits, eof), whole);
    }

    #[test]
    fn chunked_bodies_give_the_same_events_however_split(input in chunked_body(), cuts in cuts(), l in any::<u8>()) {
        // Whole, the decoder joins runs of small chunks in place; cut anywhere (and one
        // byte at a time) it sees them a piece at a time. Both must say the same.
        let limits = limits_variant(l);
        let whole = run_body(&[&input], Framing::Chunked, &limits, true);
        prop_assert_eq!(run_body(&cut(&input, &cuts), Framing::Chunked, &limits, true), whole.clone());
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(run_body(&bytes, Framing::Chunked, &limits, true), whole);
    }

    #[test]
    fn server_conn_never_panics_and_ignores_splits(input in any_input(), cuts in cuts(), l in any::<u8>(), eof in any::<bool>()) {
        let limits = limits_variant(l);
        let whole = run_server(&[&input], &limits, eof);
        prop_assert_eq!(run_server(&cut(&input, &cuts), &limits, eof), whole);
    }

    #[test]
    fn client_conn_never_panics_and_ignores_splits(
        input in any_input(),
        cuts in cuts(),
        l in any::<u8>(),
        eof in any::<bool>(),
        methods in vec(prop::sample::select(vec!["GET", "HEAD", "POST", "CONNECT"]), 0..4),
    ) {
        let limits = limits_variant(l);
        let whole = run_client(&methods, &[&input], &limits, eof);
        prop_assert_eq!(run_client(&methods, &cut(&input, &cuts), &limits, eof), whole);
    }
}

/// Request heads that are valid, or nearly so: generated fields with a few bytes changed.
fn request_head_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        method(),
        origin_target(),
        fields(0..8),
        vec((any::<usize>(), any::<u8>()), 0..3),
    )
        .prop_map(|(method, target, fields, edits)| {
            let mut head = method;
            head.push(b' ');
            head.extend_from_slice(&target);
            head.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n");
            for (name, value) in fields {
                head.extend_from_slice(&name);
                head.extend_from_slice(b": ");
                head.extend_from_slice(&value);
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(b"\r\n");
            for (at, byte) in edits {
                let at = at % head.len();
                head[at] = byte;
            }
            head
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Where both this crate and httparse accept a head, they agree on every field; and
    /// what we accept, httparse (less strict) accepts too.
    #[test]
    fn agrees_with_httparse(input in prop_oneof![request_head_bytes(), http_ish()]) {
        let ours = support::run_request_head(&[&input], &Limits::default());
        let mut slots = [httparse::EMPTY_HEADER; 128];
        let mut theirs = httparse::Request::new(&mut slots);
        let status = theirs.parse(&input);
        if let Ok(Some((head, _))) = &ours {
            let Ok(httparse::Status::Complete(_)) = status else {
                return Err(TestCaseError::fail(format!("httparse: {status:?} for {:?}", B(input.clone()))));
            };
            prop_assert_eq!(&head.method, &B::from(theirs.method.unwrap_or_default()));
            prop_assert_eq!(&head.target, &B::from(theirs.path.unwrap_or_default()));
            let minor = match head.version { http_proto::Version::Http10 => 0, _ => 1 };
            prop_assert_eq!(theirs.version, Some(minor));
            let their_fields: Vec<(B, B)> = theirs
                .headers
                .iter()
                .map(|h| {
                    let mut v = h.value;
                    while let [rest @ .., b' ' | b'\t'] = v {
                        v = rest;
                    }
                    (B::from(h.name), B::from(v))
                })
                .collect();
            prop_assert_eq!(&head.headers, &their_fields);
        }
    }
}

/// A response head: a version, any three-digit status, a reason phrase (VCHAR, SP, HTAB and
/// obs-text), fields, and a few bytes overwritten, so both valid and nearly valid heads come up.
fn response_head_bytes() -> impl Strategy<Value = Vec<u8>> {
    let reason_byte = prop_oneof![
        8 => 0x21u8..=0x7e,
        1 => 0x80u8..=0xff,
        1 => Just(b' '),
        1 => Just(b'\t'),
    ];
    (
        prop::sample::select(vec!["HTTP/1.0", "HTTP/1.1"]),
        0u16..1000,
        prop_oneof![
            6 => vec(reason_byte, 0..24).prop_map(|r| [&b" "[..], &r].concat()),
            1 => Just(Vec::new()),
        ],
        fields(0..8),
        vec((any::<usize>(), any::<u8>()), 0..3),
    )
        .prop_map(|(version, code, reason, fields, edits)| {
            let mut head = format!("{version} {code:03}").into_bytes();
            head.extend_from_slice(&reason);
            head.extend_from_slice(b"\r\n");
            for (name, value) in fields {
                head.extend_from_slice(&name);
                head.extend_from_slice(b": ");
                head.extend_from_slice(&value);
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(b"\r\n");
            for (at, byte) in edits {
                let at = at % head.len();
                head[at] = byte;
            }
            head
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Where both this crate and `httparse::Response` accept a complete response head, they
    /// agree on version, status, reason and every field; and what we accept, httparse
    /// accepts too. Intentional differences, all where we are stricter or say more:
    /// - httparse skips empty lines before the status-line, takes bare LF, and any status
    ///   from 000; we reject those (RFC 9112 §2.2 asks only servers to skip empty lines;
    ///   bare LF is opt-in; RFC 9110 §15: a status is 100 to 999).
    /// - httparse reports a reason holding obs-text as empty; we hand out its bytes.
    /// - httparse keeps trailing whitespace in a field value; RFC 9112 §5 excludes it, and so
    ///   do we, so theirs is trimmed before comparing.
    #[test]
    fn response_heads_agree_with_httparse(
        input in prop_oneof![response_head_bytes(), http_ish()],
        bare_lf in any::<bool>(),
    ) {
        // httparse always takes bare LF; with `allow_bare_lf` we do too, and must agree.
        let limits = if bare_lf { lenient_lf() } else { Limits::default() };
        let ours = run_response_heads(&[&input], &limits);
        let mut slots = [httparse::EMPTY_HEADER; 128];
        let mut theirs = httparse::Response::new(&mut slots);
        let status = theirs.parse(&input);
        if let Some(Ev::Response(head)) = ours.first() {
            let Ok(httparse::Status::Complete(_)) = status else {
                return Err(TestCaseError::fail(format!("httparse: {status:?} for {:?}", B(input.clone()))));
            };
            let minor = match head.version { Version::Http10 => 0, _ => 1 };
            prop_assert_eq!(theirs.version, Some(minor));
            prop_assert_eq!(theirs.code, Some(head.status));
            let their_reason = theirs.reason.unwrap_or_default();
            if head.reason.0.is_ascii() {
                prop_assert_eq!(&head.reason, &B::from(their_reason));
            } else {
                prop_assert_eq!(their_reason, "", "httparse empties a reason with obs-text");
            }
            let their_fields: Vec<(B, B)> = theirs
                .headers
                .iter()
                .map(|h| {
                    let mut v = h.value;
                    while let [rest @ .., b' ' | b'\t'] = v {
                        v = rest;
                    }
                    (B::from(h.name), B::from(v))
                })
                .collect();
            prop_assert_eq!(&head.headers, &their_fields);
        }
    }
}

/// One request and the response it gets, for whole conversations.
#[derive(Debug, Clone)]
struct Exchange {
    method: Vec<u8>,
    target: Vec<u8>,
    fields: Fields,
    body: Vec<u8>,
    chunked: bool,
    early_hint: bool,
    status: u16,
    response_fields: Fields,
    response_body: Vec<u8>,
    response_chunked: bool,
    trailers: Fields,
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        (
            method(),
            origin_target(),
            fields(0..4),
            body(),
            any::<bool>(),
        ),
        (
            any::<bool>(),
            prop_oneof![4 => status(), 1 => Just(204u16), 1 => Just(304u16)],
            fields(0..4),
            body(),
            any::<bool>(),
            fields(0..2),
        ),
    )
        .prop_map(
            |(
                (method, target, fields, (body, _), chunked),
                (
                    early_hint,
                    status,
                    response_fields,
                    (response_body, _),
                    response_chunked,
                    trailers,
                ),
            )| Exchange {
                method,
                target,
                fields,
                body,
                chunked,
                early_hint,
                status,
                response_fields,
                response_body,
                response_chunked,
                trailers,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Pipelined requests from a client, answered in order by a server, read back by the
    /// client: every request and response arrives whole and in order.
    #[test]
    fn pipelined_conversations(exchanges in vec(exchange(), 1..5), cuts1 in cuts(), cuts2 in cuts()) {
        let limits = Limits::default();
        let mut client = ClientConn::new(limits.clone());
        let mut wire = BytesMut::new();
        for x in &exchanges {
            let mut headers: Vec<(&[u8], &[u8])> = vec![(b"host", b"h")];
            headers.extend(as_refs(&x.fields));
            let request = Request::new(&x.method, &x.target, &headers);
            let request = if x.chunked { request.streamed() } else { request.body_len(x.body.len() as u64) };
            client.send_request(&request, &mut wire).expect("send_request");
            client.send_data(&x.body, &mut wire).expect("send_data");
            client.send_end(&mut wire).expect("send_end");
        }
        prop_assert_eq!(client.outstanding(), exchanges.len());

        // The server reads the pipeline and answers each request as it completes.
        let mut server = ServerConn::new(limits.clone());
        let mut answers = BytesMut::new();
        let mut seen: Vec<(B, B, B)> = Vec::new();
        let mut body = Vec::new();
        let mut target = B::default();
        let mut method = B::default();
        for piece in cut(&wire, &cuts1) {
            server.feed(piece);
            loop {
                match server.poll_event().expect("server event") {
                    ServerEvent::Request(head) => {
                        method = B::from(head.method_bytes());
                        target = B::from(head.target());
                    }
                    ServerEvent::Data(d) => body.extend_from_slice(&d),
                    ServerEvent::End(_) => {
                        seen.push((method.clone(), target.clone(), B(std::mem::take(&mut body))));
                        let x = &exchanges[seen.len() - 1];
                        if x.early_hint {
                            server.send_informational(103, &[(b"link", b"</s>")], &mut answers).expect("103");
                        }
                        let headers = as_refs(&x.response_fields);
                        let response = Response::new(x.status).headers(&headers);
                        let response = if x.response_chunked {
                            response.streamed()
                        } else {
                            response.body_len(x.response_body.len() as u64)
                        };
                        server.send_response(&response, &mut answers).expect("send_response");
                        if x.status != 204 && x.status != 304 {
                            server.send_data(&x.response_body, &mut answers).expect("send_data");
                        }
                        let trailers = as_refs(&x.trailers);
                        server.send_end(&trailers, &mut answers).expect("send_end");
                        prop_assert!(!server.must_close());
                    }
                    ServerEvent::NeedData => break,
                    other => return Err(TestCaseError::fail(format!("server: {other:?}"))),
                }
            }
        }
        prop_assert_eq!(seen.len(), exchanges.len());
        for (x, (m, t, b)) in exchanges.iter().zip(&seen) {
            prop_assert_eq!(m, &B(x.method.clone()));
            prop_assert_eq!(t, &B(x.target.clone()));
            prop_assert_eq!(b, &B(x.body.clone()));
        }

        // The client reads the answers, matched to its requests by order.
        let mut got: Vec<(u16, B, usize)> = Vec::new();
        let mut hints = 0;
        let mut body = Vec::new();
        let mut status = 0;
        for piece in cut(&answers, &cuts2) {
            client.feed(piece);
            loop {
                match client.poll_event().expect("client event") {
                    http_proto::ClientEvent::Informational(h) => {
                        prop_assert_eq!(h.status(), 103);
                        hints += 1;
                    }
                    http_proto::ClientEvent::Response(h) => status = h.status(),
                    http_proto::ClientEvent::Data(d) => body.extend_from_slice(&d),
                    http_proto::ClientEvent::End(t) => {
                        got.push((status, B(std::mem::take(&mut body)), t.map_or(0, |t| t.len())));
                    }
                    http_proto::ClientEvent::NeedData => break,
                    http_proto::ClientEvent::Closed => {
                        return Err(TestCaseError::fail("client closed"));
                    }
                }
            }
        }
        prop_assert_eq!(hints, exchanges.iter().filter(|x| x.early_hint).count());
        prop_assert_eq!(got.len(), exchanges.len());
        for (x, (status, body, trailers)) in exchanges.iter().zip(&got) {
            let bodiless = x.method == b"HEAD" || x.status == 204 || x.status == 304;
            prop_assert_eq!(*status, x.status);
            let want = if bodiless { Vec::new() } else { x.response_body.clone() };
            prop_assert_eq!(body, &B(want));
            let want_trailers = if bodiless || !x.response_chunked { 0 } else { x.trailers.len() };
            prop_assert_eq!(*trailers, want_trailers);
        }
        prop_assert_eq!(client.outstanding(), 0);
        prop_assert!(client.can_send());
    }
}
