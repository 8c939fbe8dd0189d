//! The client role: request serialisation, response framing by request method, 1xx,
//! keep-alive, pipelining, upgrades and EOF. Response streams are also fed in every split.

mod support;

use bytes::BytesMut;
use http_proto::{ClientConn, ClientEvent, ErrorKind, Limits, Request, SideState};
use support::{B, Ev, assert_split_anywhere, crlf, run_client};

/// Header fields as `send_request` takes them.
type Fields<'a> = &'a [(&'a [u8], &'a [u8])];

const HOST: Fields<'static> = &[(b"host", b"example.com")];

fn send(conn: &mut ClientConn, method: &str, target: &str) -> B {
    let mut out = BytesMut::new();
    conn.send_request(
        &Request::new(method.as_bytes(), target.as_bytes(), HOST),
        &mut out,
    )
    .expect("send_request");
    conn.send_end(&mut out).expect("send_end");
    B(out.to_vec())
}

/// Polls one whole response: (status, body).
fn read_response(conn: &mut ClientConn) -> (u16, B) {
    let status = loop {
        match conn.poll_event().expect("response") {
            ClientEvent::Response(head) => break head.status(),
            ClientEvent::Informational(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    let mut body = Vec::new();
    loop {
        match conn.poll_event().expect("body") {
            ClientEvent::Data(d) => body.extend_from_slice(&d),
            ClientEvent::End(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    (status, B(body))
}

#[test]
fn request_serialisation() {
    let mut conn = ClientConn::new(Limits::default());
    assert_eq!(
        send(&mut conn, "GET", "/a?b"),
        B(crlf("GET /a?b HTTP/1.1\nhost: example.com\n\n"))
    );
    assert_eq!(conn.outstanding(), 1);

    let mut out = BytesMut::new();
    conn.send_request(&Request::new(b"POST", b"/", HOST), &mut out)
        .unwrap();
    conn.send_end(&mut out).unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "POST / HTTP/1.1\nhost: example.com\ncontent-length: 0\n\n"
        )),
        "an empty POST says so"
    );

    let mut out = BytesMut::new();
    conn.send_request(&Request::new(b"PUT", b"/f", HOST).body_len(3), &mut out)
        .unwrap();
    assert_eq!(conn.our_state(), SideState::Body);
    assert!(!conn.can_send(), "one request body at a time");
    assert!(
        conn.send_request(&Request::new(b"GET", b"/", HOST), &mut out)
            .is_err()
    );
    conn.send_data(b"abc", &mut out).unwrap();
    assert!(
        conn.send_data(b"d", &mut out).is_err(),
        "past Content-Length"
    );
    conn.send_end(&mut out).unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "PUT /f HTTP/1.1\nhost: example.com\ncontent-length: 3\n\nabc"
        ))
    );

    let mut out = BytesMut::new();
    conn.send_request(&Request::new(b"POST", b"/s", HOST).streamed(), &mut out)
        .unwrap();
    conn.send_data(b"hello", &mut out).unwrap();
    conn.send_end(&mut out).unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "POST /s HTTP/1.1\nhost: example.com\ntransfer-encoding: chunked\n\n5\nhello\n0\n\n"
        ))
    );
    assert_eq!(conn.outstanding(), 4);
    assert!(
        conn.send_data(b"x", &mut out).is_err(),
        "no request in progress"
    );
}

#[test]
fn invalid_requests_are_refused_and_write_nothing() {
    let mut conn = ClientConn::new(Limits::default());
    let mut out = BytesMut::from(&b"earlier"[..]);
    let cases: [(&[u8], &[u8], Fields<'_>); 9] = [
        (b"GET", b"/", &[]),
        (b"G T", b"/", HOST),
        (b"", b"/", HOST),
        (b"GET", b"", HOST),
        (b"GET", b"/a b", HOST),
        (b"GET", b"/a\r\nX: y", HOST),
        (b"GET", b"/", &[(b"host", b"a"), (b"x", b"1\r\nEvil: 1")]),
        (b"GET", b"/", &[(b"host", b"a"), (b"content-length", b"5")]),
        (b"GET", b"/", &[(b"host", b"a"), (b"bad name", b"1")]),
    ];
    for (method, target, headers) in cases {
        let result = conn.send_request(&Request::new(method, target, headers), &mut out);
        assert_eq!(
            result.map_err(|e| e.kind()),
            Err(ErrorKind::LocalProtocolError),
            "{:?} {:?} {headers:?}",
            B::from(method),
            B::from(target)
        );
        assert_eq!(
            &out[..],
            b"earlier",
            "nothing of a refused request is written"
        );
        assert_eq!(conn.outstanding(), 0);
        assert!(conn.can_send());
    }
}

#[test]
fn keep_alive_and_close() {
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf("HTTP/1.1 200 OK\nContent-Length: 1\n\nx"));
    assert_eq!(read_response(&mut conn), (200, B::from("x")));
    assert!(conn.can_send());
    assert_eq!(conn.outstanding(), 0);
    assert_eq!(conn.poll_event(), Ok(ClientEvent::NeedData));

    // The server says close.
    conn.feed(&[]);
    send(&mut conn, "GET", "/");
    conn.feed(&crlf(
        "HTTP/1.1 200 OK\nConnection: close\nContent-Length: 1\n\nx",
    ));
    assert_eq!(read_response(&mut conn), (200, B::from("x")));
    assert!(!conn.can_send());
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));
    assert_eq!(conn.our_state(), SideState::Closed);

    // We say close.
    let mut conn = ClientConn::new(Limits::default());
    let mut out = BytesMut::new();
    conn.send_request(
        &Request::new(b"GET", b"/", &[(b"host", b"a"), (b"connection", b"close")]),
        &mut out,
    )
    .unwrap();
    conn.send_end(&mut out).unwrap();
    assert!(!conn.can_send(), "no request after our close");
    conn.feed(&crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\n"));
    assert_eq!(read_response(&mut conn), (200, B::from("")));
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));

    // HTTP/1.0 servers close unless they say keep-alive.
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf("HTTP/1.0 200 OK\nContent-Length: 0\n\n"));
    read_response(&mut conn);
    assert!(!conn.can_send());
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf(
        "HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 0\n\n",
    ));
    read_response(&mut conn);
    assert!(conn.can_send());
}

#[test]
fn head_response_with_content_length_has_no_body() {
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "HEAD", "/");
    send(&mut conn, "GET", "/");
    send(&mut conn, "HEAD", "/");
    conn.feed(&crlf(
        "HTTP/1.1 200 OK\nContent-Length: 5\n\nHTTP/1.1 200 OK\nContent-Length: 5\n\nhelloHTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n",
    ));
    assert_eq!(read_response(&mut conn), (200, B::from("")));
    assert_eq!(read_response(&mut conn), (200, B::from("hello")));
    assert_eq!(read_response(&mut conn), (200, B::from("")));
    assert_eq!(conn.outstanding(), 0);
    assert_eq!(conn.poll_event(), Ok(ClientEvent::NeedData));
    assert!(conn.can_send());
}

#[test]
fn informational_responses_come_before_the_final_one() {
    let mut conn = ClientConn::new(Limits::default());
    let mut out = BytesMut::new();
    conn.send_request(
        &Request::new(
            b"POST",
            b"/",
            &[(b"host", b"a"), (b"expect", b"100-continue")],
        )
        .body_len(2),
        &mut out,
    )
    .unwrap();
    // The client need not wait for 100 Continue.
    conn.send_data(b"hi", &mut out).unwrap();
    conn.send_end(&mut out).unwrap();
    conn.feed(&crlf("HTTP/1.1 100 Continue\n\nHTTP/1.1 102 Processing\n\nHTTP/1.1 201 Created\nContent-Length: 0\n\n"));
    let ClientEvent::Informational(first) = conn.poll_event().unwrap() else {
        panic!()
    };
    assert_eq!(first.status(), 100);
    let ClientEvent::Informational(second) = conn.poll_event().unwrap() else {
        panic!()
    };
    assert_eq!(second.status(), 102);
    assert_eq!(conn.outstanding(), 1, "1xx does not answer the request");
    assert_eq!(read_response(&mut conn), (201, B::from("")));
}

#[test]
fn bodiless_statuses() {
    for status in ["204 No Content", "304 Not Modified"] {
        let mut conn = ClientConn::new(Limits::default());
        send(&mut conn, "GET", "/");
        send(&mut conn, "GET", "/");
        conn.feed(&crlf(&format!(
            "HTTP/1.1 {status}\nContent-Length: 10\n\nHTTP/1.1 200 OK\nContent-Length: 1\n\nx"
        )));
        assert_eq!(read_response(&mut conn).1, B::from(""));
        assert_eq!(read_response(&mut conn), (200, B::from("x")));
    }
}

#[test]
fn framing_that_forces_close() {
    // Transfer-Encoding in an HTTP/1.0 response: read as chunked, then close (RFC 9112 §6.1).
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf(
        "HTTP/1.0 200 OK\nConnection: keep-alive\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
    ));
    assert_eq!(read_response(&mut conn), (200, B::from("hello")));
    assert!(!conn.can_send());
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));

    // Transfer-Encoding and Content-Length: TE wins, then close (RFC 9112 §6.3 ¶3).
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf(
        "HTTP/1.1 200 OK\nContent-Length: 2\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
    ));
    assert_eq!(read_response(&mut conn), (200, B::from("hello")));
    assert!(!conn.can_send());
}

#[test]
fn close_delimited_body_ends_at_eof() {
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf("HTTP/1.1 200 OK\n\nfirst "));
    assert!(matches!(conn.poll_event(), Ok(ClientEvent::Response(_))));
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Data("first ".into())));
    assert_eq!(conn.poll_event(), Ok(ClientEvent::NeedData));
    assert!(
        !conn.can_send(),
        "a close-delimited response ends the connection"
    );
    conn.feed(b"second");
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Data("second".into())));
    conn.feed_eof();
    assert_eq!(conn.poll_event(), Ok(ClientEvent::End(None)));
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));
}

#[test]
fn eof_cases() {
    let mut conn = ClientConn::new(Limits::default());
    conn.feed_eof();
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));

    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(b"HTTP/1.1 200 O");
    conn.feed_eof();
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::IncompleteMessage)
    );

    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf("HTTP/1.1 200 OK\nContent-Length: 5\n\nab"));
    conn.feed_eof();
    assert!(matches!(conn.poll_event(), Ok(ClientEvent::Response(_))));
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Data("ab".into())));
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::IncompleteMessage)
    );
    assert!(!conn.can_send());

    // Closed before any byte of the response.
    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed_eof();
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));
    assert!(!conn.can_send());
}

#[test]
fn unsolicited_and_malformed_responses() {
    let mut conn = ClientConn::new(Limits::default());
    conn.feed(&crlf("HTTP/1.1 200 OK\n\n"));
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidStatusLine)
    );
    assert!(!conn.can_send());

    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "GET", "/");
    conn.feed(&crlf("HTTP/1.1 2OO OK\n\n"));
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidStatusLine)
    );
    assert!(conn.poll_event().is_err(), "errors stay");
}

#[test]
fn upgrade_and_connect_hand_back_the_rest() {
    let mut conn = ClientConn::new(Limits::default());
    let mut out = BytesMut::new();
    conn.send_request(
        &Request::new(
            b"GET",
            b"/ws",
            &[
                (b"host", b"a"),
                (b"connection", b"upgrade"),
                (b"upgrade", b"websocket"),
            ],
        ),
        &mut out,
    )
    .unwrap();
    conn.send_end(&mut out).unwrap();
    conn.feed(&crlf(
        "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n\\0frame",
    ));
    let ClientEvent::Response(head) = conn.poll_event().unwrap() else {
        panic!()
    };
    assert_eq!(head.status(), 101);
    assert_eq!(conn.our_state(), SideState::Upgraded);
    assert!(!conn.can_send());
    assert_eq!(conn.poll_event(), Ok(ClientEvent::Closed));
    conn.feed(b"more");
    assert_eq!(conn.take_upgraded().as_deref(), Some(&b"\0framemore"[..]));

    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "CONNECT", "example.com:443");
    conn.feed(&crlf(
        "HTTP/1.1 200 Connection Established\nContent-Length: 99\n\ntls",
    ));
    assert!(matches!(conn.poll_event(), Ok(ClientEvent::Response(_))));
    assert_eq!(conn.take_upgraded().as_deref(), Some(&b"tls"[..]));

    let mut conn = ClientConn::new(Limits::default());
    send(&mut conn, "CONNECT", "example.com:443");
    conn.feed(&crlf(
        "HTTP/1.1 407 Proxy Authentication Required\nContent-Length: 2\n\nno",
    ));
    assert_eq!(read_response(&mut conn), (407, B::from("no")));
    assert!(conn.take_upgraded().is_none());
}

// ---------------------------------------------------------------------------------------
// Response streams in every split.

fn scripted(methods: &[&str], text: &str, eof: bool) -> Vec<Ev> {
    let input = crlf(text);
    assert_split_anywhere(&input, |parts| {
        run_client(methods, parts, &Limits::default(), eof)
    })
}

#[test]
fn split_pipelined_responses_matched_to_methods() {
    let events = scripted(
        &["HEAD", "GET", "POST", "GET"],
        "HTTP/1.1 200 OK\nContent-Length: 4\n\nHTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n4;x\nbody\n0\nT: v\n\nHTTP/1.1 204 No Content\n\nHTTP/1.1 200 OK\n\nto the end",
        true,
    );
    let shape: Vec<String> = events
        .iter()
        .map(|e| match e {
            Ev::Response(r) => format!("R{}", r.status),
            Ev::Informational(r) => format!("I{}", r.status),
            Ev::Data(d) => format!("D{:?}", d),
            Ev::End(t) => format!("E{}", t.len()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "R200",
            "E0",
            "I100",
            "R200",
            "D\"body\"",
            "E1",
            "R204",
            "E0",
            "R200",
            "D\"to the end\"",
            "E0",
            "Closed"
        ]
    );
}

#[test]
fn split_upgrade_and_errors() {
    let events = scripted(&["CONNECT"], "HTTP/1.1 200 OK\n\ntunnel\nbytes", false);
    assert_eq!(events.last(), Some(&Ev::Upgraded(B(crlf("tunnel\nbytes")))));
    let events = scripted(
        &["GET"],
        "HTTP/1.1 200 OK\nContent-Length: 1\nContent-Length: 2\n\n",
        false,
    );
    assert_eq!(events, [Ev::Error(ErrorKind::ConflictingContentLength)]);
    let events = scripted(
        &["GET"],
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nab",
        true,
    );
    assert_eq!(
        events.last(),
        Some(&Ev::Error(ErrorKind::IncompleteMessage))
    );
}
