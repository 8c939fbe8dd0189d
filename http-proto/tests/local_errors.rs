//! The caller's own mistakes: every way of misusing `ServerConn`, `ClientConn` and
//! `BodyEncoder` is refused with `LocalProtocolError` (500) and a reason that names the
//! verb called and what the state or the arguments did not allow.

mod support;

use bytes::BytesMut;
use http_proto::{
    BodyEncoder, ClientConn, ClientEvent, Error, ErrorKind, Framing, Limits, Request, Response,
    ServerConn, ServerEvent,
};
use support::crlf;

/// A server connection that has read the whole of `request` (head and body, if any).
fn server_after(request: &str) -> ServerConn {
    let mut conn = server_with_head(request);
    loop {
        match conn.poll_event().expect("request body") {
            ServerEvent::End(_) => return conn,
            ServerEvent::Data(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A server connection that has read only the head of `request`.
fn server_with_head(request: &str) -> ServerConn {
    let mut conn = ServerConn::new(Limits::default());
    conn.feed(&crlf(request));
    let Ok(ServerEvent::Request(_)) = conn.poll_event() else {
        panic!("no request in {request:?}");
    };
    conn
}

const GET: &str = "GET / HTTP/1.1\nHost: a\n\n";
const HOST: &[(&[u8], &[u8])] = &[(b"host", b"a")];

/// A client connection that has sent one bodiless GET with `fields` and read `response`.
fn client_after(fields: &[(&[u8], &[u8])], response: &str) -> ClientConn {
    let mut conn = ClientConn::new(Limits::default());
    let mut out = BytesMut::new();
    conn.send_request(&Request::new(b"GET", b"/", fields), &mut out)
        .expect("send_request");
    conn.send_end(&mut out).expect("send_end");
    conn.feed(&crlf(response));
    while let Ok(event) = conn.poll_event() {
        if matches!(
            event,
            ClientEvent::End(_) | ClientEvent::NeedData | ClientEvent::Closed
        ) {
            break;
        }
    }
    conn
}

type Misuse = fn() -> Result<(), Error>;

/// (misuse, the verb its reason must name, a phrase its reason must hold)
const TABLE: &[(Misuse, &str, &str)] = &[
    // ----- ServerConn::send_response -----
    (
        || {
            let mut conn = server_after(GET);
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(200).streamed(), &mut out)?;
            conn.send_response(&Response::new(200), &mut out)
        },
        "send_response",
        "a response was already started for this request",
    ),
    (
        || server_after(GET).send_response(&Response::new(103), &mut BytesMut::new()),
        "send_response",
        "1xx is sent with send_informational",
    ),
    (
        || server_after(GET).send_response(&Response::new(101), &mut BytesMut::new()),
        "send_response",
        "101 to a request that did not ask to upgrade",
    ),
    (
        || {
            server_after("GET / HTTP/1.1\nHost: a\nConnection: upgrade\nUpgrade: ws\n\n")
                .send_response(&Response::new(101), &mut BytesMut::new())
        },
        "send_response",
        "101 without an Upgrade field",
    ),
    (
        || {
            let upgrade: &[(&[u8], &[u8])] = &[(b"upgrade", b"ws")];
            server_with_head(
                "POST / HTTP/1.1\nHost: a\nConnection: upgrade\nUpgrade: ws\nContent-Length: 3\n\n",
            )
            .send_response(&Response::new(101).headers(upgrade), &mut BytesMut::new())
        },
        "send_response",
        "before the request body was read",
    ),
    (
        || {
            let mut conn = server_after("CONNECT a:443 HTTP/1.1\nHost: a:443\n\n");
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(200), &mut out)?;
            conn.send_response(&Response::new(200), &mut out)
        },
        "send_response",
        "the connection was handed over",
    ),
    (
        || {
            let mut conn = server_after("GET / HTTP/1.1\nHost: a\nConnection: close\n\n");
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(204), &mut out)?;
            conn.send_end(&[], &mut out)?;
            conn.send_response(&Response::new(200), &mut out)
        },
        "send_response",
        "the connection is closed",
    ),
    (
        || server_after(GET).send_response(&Response::new(1000), &mut BytesMut::new()),
        "send_response",
        "status code outside 100..=999",
    ),
    (
        || {
            server_after(GET).send_response(
                &Response::new(200).reason(b"OK\r\nX: y"),
                &mut BytesMut::new(),
            )
        },
        "send_response",
        "reason phrase holds CR, LF",
    ),
    (
        || {
            let framing: &[(&[u8], &[u8])] = &[(b"Content-Length", b"5")];
            server_after(GET)
                .send_response(&Response::new(200).headers(framing), &mut BytesMut::new())
        },
        "send_response",
        "Content-Length and Transfer-Encoding are written by the connection",
    ),
    (
        || {
            let injected: &[(&[u8], &[u8])] = &[(b"x", b"a\r\nSet-Cookie: b")];
            server_after(GET)
                .send_response(&Response::new(200).headers(injected), &mut BytesMut::new())
        },
        "send_response",
        "header injection",
    ),
    // ----- ServerConn::send_informational -----
    (
        || server_after(GET).send_informational(200, &[], &mut BytesMut::new()),
        "send_informational",
        "not a 1xx other than 101",
    ),
    (
        || {
            let mut conn = server_after(GET);
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(200).streamed(), &mut out)?;
            conn.send_informational(103, &[], &mut out)
        },
        "send_informational",
        "the final response was already started",
    ),
    (
        || server_after("GET / HTTP/1.0\n\n").send_informational(103, &[], &mut BytesMut::new()),
        "send_informational",
        "HTTP/1.0 client",
    ),
    (
        || {
            let injected: &[(&[u8], &[u8])] = &[(b"link", b"</a>\r\nX: y")];
            server_after(GET).send_informational(103, injected, &mut BytesMut::new())
        },
        "send_informational",
        "header injection",
    ),
    // ----- ServerConn::send_data / send_end -----
    (
        || server_after(GET).send_data(b"x", &mut BytesMut::new()),
        "send_data",
        "no response body in progress",
    ),
    (
        || {
            let mut conn = server_after(GET);
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(200).body_len(2), &mut out)?;
            conn.send_data(b"abc", &mut out)
        },
        "send_data",
        "more bytes than the Content-Length announced",
    ),
    (
        || {
            let mut conn = server_after(GET);
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(204), &mut out)?;
            conn.send_data(b"x", &mut out)
        },
        "send_data",
        "this message has no body",
    ),
    (
        || server_after(GET).send_end(&[], &mut BytesMut::new()),
        "send_end",
        "no response body in progress",
    ),
    (
        || {
            let mut conn = server_after(GET);
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(200).body_len(2), &mut out)?;
            conn.send_data(b"a", &mut out)?;
            conn.send_end(&[], &mut out)
        },
        "send_end",
        "shorter than its Content-Length",
    ),
    (
        || {
            let mut conn = server_after(GET);
            let mut out = BytesMut::new();
            conn.send_response(&Response::new(200).streamed(), &mut out)?;
            conn.send_end(&[(b"bad name", b"v")], &mut out)
        },
        "send_end",
        "a trailer name that is not a token",
    ),
    // ----- ClientConn::send_request -----
    (
        || {
            let mut conn = ClientConn::new(Limits::default());
            let mut out = BytesMut::new();
            conn.send_request(&Request::new(b"POST", b"/", HOST).streamed(), &mut out)?;
            conn.send_request(&Request::new(b"GET", b"/", HOST), &mut out)
        },
        "send_request",
        "the previous request's body has not ended",
    ),
    (
        || {
            let upgrade: &[(&[u8], &[u8])] = &[
                (b"host", b"a"),
                (b"connection", b"upgrade"),
                (b"upgrade", b"ws"),
            ];
            client_after(upgrade, "HTTP/1.1 101 Switching Protocols\nUpgrade: ws\n\n")
                .send_request(&Request::new(b"GET", b"/", HOST), &mut BytesMut::new())
        },
        "send_request",
        "the connection was handed over",
    ),
    (
        || {
            client_after(HOST, "HTTP/1.1 200 OK\nContent-Length: x\n\n")
                .send_request(&Request::new(b"GET", b"/", HOST), &mut BytesMut::new())
        },
        "send_request",
        "failed on an earlier error",
    ),
    (
        || {
            client_after(
                HOST,
                "HTTP/1.1 200 OK\nContent-Length: 0\nConnection: close\n\n",
            )
            .send_request(&Request::new(b"GET", b"/", HOST), &mut BytesMut::new())
        },
        "send_request",
        "closed or does not persist",
    ),
    (
        || {
            ClientConn::new(Limits::default())
                .send_request(&Request::new(b"G T", b"/", HOST), &mut BytesMut::new())
        },
        "send_request",
        "the method is not a token",
    ),
    (
        || {
            ClientConn::new(Limits::default())
                .send_request(&Request::new(b"GET", b"/a b", HOST), &mut BytesMut::new())
        },
        "send_request",
        "the request-target is empty or holds a byte outside visible ASCII",
    ),
    (
        || {
            ClientConn::new(Limits::default())
                .send_request(&Request::new(b"GET", b"/", &[]), &mut BytesMut::new())
        },
        "send_request",
        "no Host field",
    ),
    (
        || {
            let fields: &[(&[u8], &[u8])] = &[(b"host", b"a"), (b"transfer-encoding", b"gzip")];
            ClientConn::new(Limits::default())
                .send_request(&Request::new(b"GET", b"/", fields), &mut BytesMut::new())
        },
        "send_request",
        "Content-Length and Transfer-Encoding are written by the connection",
    ),
    // ----- ClientConn::send_data / send_end -----
    (
        || ClientConn::new(Limits::default()).send_data(b"x", &mut BytesMut::new()),
        "send_data",
        "no request body in progress",
    ),
    (
        || ClientConn::new(Limits::default()).send_end(&mut BytesMut::new()),
        "send_end",
        "no request body in progress",
    ),
    (
        || {
            let mut conn = ClientConn::new(Limits::default());
            let mut out = BytesMut::new();
            conn.send_request(&Request::new(b"GET", b"/", HOST), &mut out)?;
            conn.send_data(b"x", &mut out)
        },
        "send_data",
        "this message has no body",
    ),
    (
        || {
            let mut conn = ClientConn::new(Limits::default());
            let mut out = BytesMut::new();
            conn.send_request(&Request::new(b"PUT", b"/", HOST).body_len(3), &mut out)?;
            conn.send_end(&mut out)
        },
        "send_end",
        "shorter than its Content-Length",
    ),
    // ----- BodyEncoder, used directly -----
    (
        || {
            let mut body = BodyEncoder::new(Framing::Chunked);
            let mut out = BytesMut::new();
            body.finish(&[], &mut out)?;
            body.encode(b"x", &mut out)
        },
        "BodyEncoder::encode",
        "the body already ended",
    ),
    (
        || BodyEncoder::new(Framing::Length(1)).encode_prefix(2, &mut BytesMut::new()),
        "BodyEncoder::encode_prefix",
        "more bytes than the Content-Length announced",
    ),
    (
        || {
            let mut body = BodyEncoder::new(Framing::None);
            let mut out = BytesMut::new();
            body.finish(&[], &mut out)?;
            body.finish(&[], &mut out)
        },
        "BodyEncoder::finish",
        "the body already ended",
    ),
];

#[test]
fn every_misuse_says_which_verb_and_why() {
    for (i, &(misuse, verb, phrase)) in TABLE.iter().enumerate() {
        let err = misuse().expect_err(&format!("case {i} ({verb}: {phrase}) was accepted"));
        assert_eq!(err.kind(), ErrorKind::LocalProtocolError, "case {i}: {err}");
        assert_eq!(err.status(), 500);
        let reason = err.reason().unwrap_or_default();
        assert!(
            reason.starts_with(&format!("{verb}: ")),
            "case {i}: {reason:?} does not name {verb}"
        );
        assert!(
            reason.contains(phrase),
            "case {i}: {reason:?} does not say {phrase:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("local protocol error: {reason} (answers 500)")
        );
    }
}

#[test]
fn errors_in_what_the_peer_sent_have_no_reason() {
    let mut conn = ServerConn::new(Limits::default());
    conn.feed(b"GET / HTTP/1.1\r\n\r\n");
    let err = conn.poll_event().expect_err("no Host");
    assert_eq!(err.kind(), ErrorKind::MissingHost);
    assert_eq!(err.reason(), None);
    assert!(err.to_string().contains(" at byte "), "{err}");
}

#[test]
fn the_error_stays_small() {
    // Returned by value from every verb and stored by both connections.
    assert!(std::mem::size_of::<Error>() <= 32);
}
