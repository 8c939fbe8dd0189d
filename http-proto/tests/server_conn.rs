//! The server role: keep-alive, pipelining, 100-continue, bodiless responses, upgrades,
//! errors and EOF, each as a short conversation. Scripted conversations are also fed in
//! every split and must give the same events and the same output.

mod support;

use bytes::BytesMut;
use http_proto::{ErrorKind, Limits, Response, ServerConn, ServerEvent, SideState};
use support::{B, Ev, assert_split_anywhere, crlf, run_server};

fn conn_with(text: &str) -> ServerConn {
    let mut conn = ServerConn::new(Limits::default());
    conn.feed(&crlf(text));
    conn
}

/// Polls until the request's `End`, returning the request head's target and the body.
fn read_request(conn: &mut ServerConn) -> (B, B) {
    let ServerEvent::Request(head) = conn.poll_event().expect("request") else {
        panic!("expected a request");
    };
    let mut body = Vec::new();
    loop {
        match conn.poll_event().expect("body") {
            ServerEvent::Data(d) => body.extend_from_slice(&d),
            ServerEvent::End(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    (B::from(head.target()), B(body))
}

fn respond(conn: &mut ServerConn, response: &Response<'_>, body: &[u8]) -> B {
    let mut out = BytesMut::new();
    conn.send_response(response, &mut out)
        .expect("send_response");
    conn.send_data(body, &mut out).expect("send_data");
    conn.send_end(&[], &mut out).expect("send_end");
    B(out.to_vec())
}

fn ok2() -> Response<'static> {
    Response::new(200).body_len(2)
}

#[test]
fn http11_persists_by_default() {
    let mut conn = conn_with("GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n");
    assert_eq!(read_request(&mut conn).0, B::from("/1"));
    assert_eq!(
        respond(&mut conn, &ok2(), b"ok"),
        B(crlf("HTTP/1.1 200 OK\ncontent-length: 2\n\nok"))
    );
    assert!(!conn.must_close());
    assert_eq!(conn.our_state(), SideState::Idle);
    assert_eq!(read_request(&mut conn).0, B::from("/2"));
    respond(&mut conn, &ok2(), b"ok");
    assert_eq!(conn.poll_event(), Ok(ServerEvent::NeedData));
    assert!(!conn.must_close());
}

#[test]
fn http10_closes_unless_keep_alive() {
    let mut conn = conn_with("GET / HTTP/1.0\n\nGET /never HTTP/1.0\n\n");
    read_request(&mut conn);
    assert_eq!(
        respond(&mut conn, &ok2(), b"ok"),
        B(crlf(
            "HTTP/1.1 200 OK\ncontent-length: 2\nconnection: close\n\nok"
        ))
    );
    assert!(conn.must_close());
    assert_eq!(conn.our_state(), SideState::Closed);
    assert_eq!(
        conn.poll_event(),
        Ok(ServerEvent::Paused),
        "no request after close"
    );

    let mut conn = conn_with("GET / HTTP/1.0\nConnection: keep-alive\n\nGET /2 HTTP/1.0\n\n");
    read_request(&mut conn);
    assert_eq!(
        respond(&mut conn, &ok2(), b"ok"),
        B(crlf(
            "HTTP/1.1 200 OK\ncontent-length: 2\nconnection: keep-alive\n\nok"
        ))
    );
    assert!(!conn.must_close());
    assert_eq!(read_request(&mut conn).0, B::from("/2"));
}

#[test]
fn http10_unknown_length_is_close_delimited() {
    let mut conn = conn_with("GET / HTTP/1.0\nConnection: keep-alive\n\n");
    read_request(&mut conn);
    let out = respond(&mut conn, &Response::new(200).streamed(), b"stream");
    assert_eq!(out, B(crlf("HTTP/1.1 200 OK\nconnection: close\n\nstream")));
    assert!(conn.must_close());
}

#[test]
fn http11_unknown_length_is_chunked_with_trailers() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(200).streamed(), &mut out)
        .unwrap();
    conn.send_data(b"abc", &mut out).unwrap();
    conn.send_data(b"", &mut out).unwrap();
    conn.send_end(&[(b"x-sum", b"1")], &mut out).unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n3\nabc\n0\nx-sum: 1\n\n"
        ))
    );
    assert!(!conn.must_close());
}

#[test]
fn connection_close_from_either_side() {
    let mut conn =
        conn_with("GET / HTTP/1.1\nHost: a\nConnection: close\n\nGET /2 HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    assert_eq!(
        respond(&mut conn, &ok2(), b"ok"),
        B(crlf(
            "HTTP/1.1 200 OK\ncontent-length: 2\nconnection: close\n\nok"
        ))
    );
    assert!(conn.must_close());

    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let out = respond(
        &mut conn,
        &ok2().headers(&[(b"Connection", b"close")]),
        b"ok",
    );
    assert_eq!(
        out,
        B(crlf(
            "HTTP/1.1 200 OK\nConnection: close\ncontent-length: 2\n\nok"
        )),
        "the caller's Connection: close is not repeated"
    );
    assert!(conn.must_close());
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Paused));
}

#[test]
fn caller_close_on_a_keep_alive_http10_request_says_close_only() {
    let mut conn = conn_with("GET / HTTP/1.0\nConnection: keep-alive\n\n");
    read_request(&mut conn);
    let out = respond(
        &mut conn,
        &ok2().headers(&[(b"connection", b"close")]),
        b"ok",
    );
    assert_eq!(
        out,
        B(crlf(
            "HTTP/1.1 200 OK\nconnection: close\ncontent-length: 2\n\nok"
        ))
    );
    assert!(conn.must_close());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut conn = conn_with(
        "GET /1 HTTP/1.1\nHost: a\n\nPOST /2 HTTP/1.1\nHost: a\nContent-Length: 3\n\nabcGET /3 HTTP/1.1\nHost: a\n\n",
    );
    let mut out = BytesMut::new();
    for (target, body) in [("/1", ""), ("/2", "abc"), ("/3", "")] {
        let (t, b) = read_request(&mut conn);
        assert_eq!((t, b), (B::from(target), B::from(body)));
        assert_eq!(
            conn.poll_event(),
            Ok(ServerEvent::Paused),
            "until {target} is answered"
        );
        assert_eq!(conn.poll_event(), Ok(ServerEvent::Paused));
        assert_eq!(conn.their_state(), SideState::Done);
        let text = format!("re {target}");
        conn.send_response(&Response::new(200).body_len(text.len() as u64), &mut out)
            .unwrap();
        conn.send_data(text.as_bytes(), &mut out).unwrap();
        conn.send_end(&[], &mut out).unwrap();
    }
    assert_eq!(conn.poll_event(), Ok(ServerEvent::NeedData));
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "HTTP/1.1 200 OK\ncontent-length: 5\n\nre /1HTTP/1.1 200 OK\ncontent-length: 5\n\nre /2HTTP/1.1 200 OK\ncontent-length: 5\n\nre /3"
        ))
    );
}

#[test]
fn expect_100_continue() {
    let mut conn =
        conn_with("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert!(conn.wants_continue());
    let mut out = BytesMut::new();
    conn.send_continue(&mut out).unwrap();
    assert_eq!(B(out.to_vec()), B(crlf("HTTP/1.1 100 Continue\n\n")));
    assert!(!conn.wants_continue());
    conn.send_continue(&mut out).unwrap();
    assert_eq!(out.len(), 25, "a second send_continue writes nothing");
    conn.feed(b"abc");
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Data("abc".into())));
    assert_eq!(conn.poll_event(), Ok(ServerEvent::End(None)));
    respond(&mut conn, &ok2(), b"ok");
    assert!(!conn.must_close());

    // The client may send the body without waiting: no 100 is owed once data arrived.
    let mut conn =
        conn_with("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\nabc");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Data("abc".into())));
    assert!(!conn.wants_continue());
    let mut out = BytesMut::new();
    conn.send_continue(&mut out).unwrap();
    assert!(out.is_empty());

    // Refusing instead (a final response before the body): the unread body means close.
    let mut conn =
        conn_with("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    let out = respond(&mut conn, &Response::new(417), b"");
    assert_eq!(
        out,
        B(crlf(
            "HTTP/1.1 417 Expectation Failed\ncontent-length: 0\nconnection: close\n\n"
        ))
    );
    assert!(!conn.wants_continue());
    assert!(conn.must_close());

    // HTTP/1.0 has no 100 Continue.
    let mut conn = conn_with("POST / HTTP/1.0\nExpect: 100-continue\nContent-Length: 3\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert!(!conn.wants_continue());
    assert!(
        conn.send_informational(100, &[], &mut BytesMut::new())
            .is_err()
    );
}

#[test]
fn head_response_keeps_content_length_and_drops_data() {
    let mut conn = conn_with("HEAD / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let out = respond(&mut conn, &Response::new(200).body_len(5), b"hello");
    assert_eq!(out, B(crlf("HTTP/1.1 200 OK\ncontent-length: 5\n\n")));
    assert!(conn.body_encoder().is_none());
    assert!(!conn.must_close());
    read_request(&mut conn);

    let mut conn = conn_with("HEAD / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let out = respond(&mut conn, &Response::new(200).streamed(), b"hello");
    assert_eq!(
        out,
        B(crlf("HTTP/1.1 200 OK\n\n")),
        "no framing field for an unknown length"
    );
    assert!(!conn.must_close());
}

#[test]
fn bodiless_statuses_write_no_framing_and_refuse_data() {
    for (status, line) in [(204, "204 No Content"), (304, "304 Not Modified")] {
        let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
        read_request(&mut conn);
        let mut out = BytesMut::new();
        conn.send_response(&Response::new(status).body_len(10), &mut out)
            .unwrap();
        assert!(
            conn.send_data(b"x", &mut out).is_err(),
            "{status} carries no body"
        );
        conn.send_data(b"", &mut out).unwrap();
        conn.send_end(&[], &mut out).unwrap();
        assert_eq!(B(out.to_vec()), B(crlf(&format!("HTTP/1.1 {line}\n\n"))));
        assert!(!conn.must_close());
    }
}

#[test]
fn content_length_is_enforced_on_send() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(200).body_len(2), &mut out)
        .unwrap();
    assert_eq!(
        conn.send_data(b"abc", &mut out).map_err(|e| e.kind()),
        Err(ErrorKind::LocalProtocolError)
    );
    conn.send_data(b"a", &mut out).unwrap();
    assert!(conn.send_end(&[], &mut out).is_err(), "one byte short");
}

#[test]
fn response_before_the_body_was_read_closes() {
    let mut conn = conn_with("POST / HTTP/1.1\nHost: a\nContent-Length: 10\n\nabc");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    let out = respond(&mut conn, &ok2(), b"ok");
    assert_eq!(
        out,
        B(crlf(
            "HTTP/1.1 200 OK\ncontent-length: 2\nconnection: close\n\nok"
        ))
    );
    assert!(conn.must_close());

    // A bodiless request is "read" as soon as its head is.
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    respond(&mut conn, &ok2(), b"ok");
    assert!(!conn.must_close());
    assert_eq!(conn.poll_event(), Ok(ServerEvent::End(None)));
    assert_eq!(conn.poll_event(), Ok(ServerEvent::NeedData));
}

#[test]
fn upgrade_hands_back_the_remaining_bytes() {
    let mut conn = conn_with(
        "GET /chat HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\n\\0\\r\\nframes",
    );
    let ServerEvent::Request(head) = conn.poll_event().unwrap() else {
        panic!()
    };
    assert!(head.wants_upgrade());
    assert_eq!(conn.poll_event(), Ok(ServerEvent::End(None)));
    let mut out = BytesMut::new();
    conn.send_response(
        &Response::new(101).headers(&[(b"upgrade", b"websocket"), (b"connection", b"upgrade")]),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "HTTP/1.1 101 Switching Protocols\nupgrade: websocket\nconnection: upgrade\n\n"
        ))
    );
    assert!(conn.is_upgraded());
    assert_eq!(conn.our_state(), SideState::Upgraded);
    conn.feed(b"more");
    assert_eq!(
        conn.take_upgraded().as_deref(),
        Some(&b"\0\r\nframesmore"[..])
    );
    assert!(conn.send_data(b"x", &mut out).is_err());

    // A 101 nobody asked for is the caller's mistake.
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    assert!(
        conn.send_response(&Response::new(101), &mut BytesMut::new())
            .is_err()
    );
    assert!(conn.take_upgraded().is_none());
    // The upgrade was refused with a normal response: HTTP/1.1 goes on.
    let mut conn = conn_with(
        "GET / HTTP/1.1\nHost: a\nConnection: upgrade\nUpgrade: h2c\n\nGET /2 HTTP/1.1\nHost: a\n\n",
    );
    read_request(&mut conn);
    respond(&mut conn, &ok2(), b"ok");
    assert!(!conn.is_upgraded());
    assert_eq!(read_request(&mut conn).0, B::from("/2"));
}

#[test]
fn connect_2xx_hands_back_the_tunnel() {
    let mut conn = conn_with("CONNECT example.com:443 HTTP/1.1\nHost: example.com:443\n\n\\0tls");
    read_request(&mut conn);
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(200).body_len(100), &mut out)
        .unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf("HTTP/1.1 200 OK\n\n")),
        "no framing on a tunnel"
    );
    assert_eq!(conn.take_upgraded().as_deref(), Some(&b"\0tls"[..]));

    // A refused CONNECT is an ordinary response.
    let mut conn = conn_with("CONNECT example.com:443 HTTP/1.1\nHost: example.com:443\n\n");
    read_request(&mut conn);
    respond(&mut conn, &Response::new(403), b"");
    assert!(!conn.is_upgraded());
    assert!(conn.take_upgraded().is_none());
}

#[test]
fn parse_errors_can_be_answered_then_close() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\nBad Name: x\n\n");
    let err = conn.poll_event().unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::InvalidHeaderName, 400),
        "a space inside a name, not before the colon"
    );
    assert_eq!(conn.poll_event(), Err(err), "the error stays");
    assert!(conn.can_respond());
    assert_eq!(conn.their_state(), SideState::Closed);
    let out = respond(&mut conn, &Response::new(err.status()), b"");
    assert_eq!(
        out,
        B(crlf(
            "HTTP/1.1 400 Bad Request\ncontent-length: 0\nconnection: close\n\n"
        ))
    );
    assert!(conn.must_close());
    assert!(!conn.can_respond());

    // An error in a body whose response already started cannot be answered.
    let mut conn = conn_with("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(200).streamed(), &mut out)
        .unwrap();
    conn.feed(b"zz\r\n");
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidChunkSize)
    );
    assert!(!conn.can_respond());
    assert!(
        !conn.must_close(),
        "the response in progress may still be finished"
    );
    conn.send_end(&[], &mut out).unwrap();
    assert!(conn.must_close());

    // An error on a pipelined request after a finished response.
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\nGET / HTTP/9.9\n\n");
    read_request(&mut conn);
    respond(&mut conn, &ok2(), b"ok");
    let err = conn.poll_event().unwrap_err();
    assert_eq!(err.status(), 505);
    assert!(conn.can_respond());
    respond(&mut conn, &Response::new(505), b"");
    assert!(conn.must_close());
}

#[test]
fn oversized_bodies_are_413() {
    let mut limits = Limits::default();
    limits.max_body_len = 5;
    let mut conn = ServerConn::new(limits.clone());
    conn.feed(&crlf(
        "POST / HTTP/1.1\nHost: a\nContent-Length: 6\n\nabcdef",
    ));
    let err = conn.poll_event().unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::BodyTooLarge, 413));
    assert!(conn.can_respond());

    let mut conn = ServerConn::new(limits);
    conn.feed(&crlf(
        "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n3\ndef\n0\n\n",
    ));
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Data("abc".into())));
    assert_eq!(conn.poll_event().map_err(|e| e.status()), Err(413));
}

#[test]
fn eof_between_requests_and_in_the_middle() {
    let mut conn = ServerConn::new(Limits::default());
    conn.feed_eof();
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Closed));
    assert!(conn.must_close());

    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    respond(&mut conn, &ok2(), b"ok");
    conn.feed_eof();
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Closed));
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Closed));
    assert!(conn.must_close());

    let mut conn = conn_with("GET / HTTP/1.1\nHo");
    assert!(conn.is_mid_head());
    assert_eq!(conn.poll_event(), Ok(ServerEvent::NeedData));
    conn.feed_eof();
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::IncompleteMessage)
    );

    let mut conn = conn_with("POST / HTTP/1.1\nHost: a\nContent-Length: 5\n\nab");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Data("ab".into())));
    conn.feed_eof();
    assert_eq!(
        conn.poll_event().map_err(|e| e.kind()),
        Err(ErrorKind::IncompleteMessage)
    );
    assert!(conn.can_respond());

    // A stray empty line after a request (llhttp's "CRLF between requests"), then EOF:
    // a clean close, not an incomplete request.
    let mut conn = conn_with("POST / HTTP/1.1\nHost: a\nContent-Length: 1\n\nx\n");
    read_request(&mut conn);
    respond(&mut conn, &ok2(), b"ok");
    assert_eq!(conn.poll_event(), Ok(ServerEvent::NeedData));
    conn.feed_eof();
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Closed));

    // EOF with the response still owed: the request is complete, answer it, then close.
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    conn.feed_eof();
    read_request(&mut conn);
    respond(&mut conn, &ok2(), b"ok");
    assert_eq!(conn.poll_event(), Ok(ServerEvent::Closed));
    assert!(conn.must_close());
}

#[test]
fn responses_without_a_request() {
    for (status, reason) in [(408, "Request Timeout"), (503, "Service Unavailable")] {
        let mut conn = ServerConn::new(Limits::default());
        assert!(conn.can_respond());
        let out = respond(&mut conn, &Response::new(status), b"");
        assert_eq!(
            out,
            B(crlf(&format!(
                "HTTP/1.1 {status} {reason}\ncontent-length: 0\nconnection: close\n\n"
            )))
        );
        assert!(conn.must_close());
        conn.feed(&crlf("GET / HTTP/1.1\nHost: a\n\n"));
        assert_eq!(
            conn.poll_event(),
            Ok(ServerEvent::Paused),
            "no request is read after"
        );
    }
    // A 408 while a head is half read.
    let mut conn = conn_with("GET / HT");
    assert_eq!(conn.poll_event(), Ok(ServerEvent::NeedData));
    respond(&mut conn, &Response::new(408), b"");
    assert!(conn.must_close());
}

#[test]
fn header_injection_and_framing_fields_are_refused() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let mut out = BytesMut::from(&b"earlier output"[..]);
    for headers in [
        &[(&b"x"[..], &b"a\r\nSet-Cookie: evil=1"[..])][..],
        &[(b"x", b"a\nb")],
        &[(b"x", b"a\rb")],
        &[(b"x", b"a\0b")],
        &[(b"bad name", b"v")],
        &[(b"x\r\nEvil", b"v")],
        &[(b"", b"v")],
        &[(b"Content-Length", b"5")],
        &[(b"transfer-encoding", b"chunked")],
    ] {
        let result = conn.send_response(&Response::new(200).headers(headers), &mut out);
        assert_eq!(
            result.map_err(|e| e.kind()),
            Err(ErrorKind::LocalProtocolError),
            "{headers:?}"
        );
        assert!(
            conn.can_respond(),
            "a refused response leaves the state alone"
        );
        assert_eq!(
            &out[..],
            b"earlier output",
            "nothing of a refused response is written"
        );
    }
    assert!(
        conn.send_response(&Response::new(200).reason(b"O\r\nK"), &mut out)
            .is_err()
    );
    assert!(conn.send_response(&Response::new(99), &mut out).is_err());
    assert!(conn.send_response(&Response::new(1000), &mut out).is_err());
    assert!(
        conn.send_response(&Response::new(100), &mut out).is_err(),
        "1xx goes through send_informational"
    );
    assert_eq!(&out[..], b"earlier output");
    respond(&mut conn, &ok2(), b"ok");
}

#[test]
fn send_order_is_enforced() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    let mut out = BytesMut::new();
    assert!(
        conn.send_data(b"x", &mut out).is_err(),
        "no response started"
    );
    assert!(conn.send_end(&[], &mut out).is_err());
    read_request(&mut conn);
    conn.send_response(&ok2(), &mut out).unwrap();
    assert!(
        conn.send_response(&ok2(), &mut out).is_err(),
        "one response per request"
    );
    assert!(
        conn.send_informational(100, &[], &mut out).is_err(),
        "1xx after the final response"
    );
}

#[test]
fn informational_responses() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    let mut out = BytesMut::new();
    conn.send_informational(103, &[(b"link", b"</a.css>")], &mut out)
        .unwrap();
    assert!(conn.send_informational(101, &[], &mut out).is_err());
    assert!(conn.send_informational(200, &[], &mut out).is_err());
    let before = out.len();
    assert!(
        conn.send_informational(103, &[(b"x", b"\r\n")], &mut out)
            .is_err()
    );
    assert_eq!(out.len(), before, "nothing of a refused 1xx is written");
    conn.send_response(&ok2(), &mut out).unwrap();
    conn.send_data(b"ok", &mut out).unwrap();
    conn.send_end(&[], &mut out).unwrap();
    assert_eq!(
        B(out.to_vec()),
        B(crlf(
            "HTTP/1.1 103 Early Hints\nlink: </a.css>\n\nHTTP/1.1 200 OK\ncontent-length: 2\n\nok"
        ))
    );
}

#[test]
fn release_buffer_only_when_empty() {
    let mut conn = conn_with("GET / HTTP/1.1\nHost: a\n\n");
    read_request(&mut conn);
    respond(&mut conn, &ok2(), b"ok");
    let released = conn.release_buffer().expect("nothing buffered: released");
    assert!(released.is_empty());
    assert_eq!(conn.buffer_capacity(), 0);
    conn.read_buf()
        .extend_from_slice(&crlf("GET /2 HTTP/1.1\nHost: a\n\n"));
    assert!(conn.release_buffer().is_none());
    assert!(conn.buffered() > 0, "buffered bytes are kept");
    assert_eq!(read_request(&mut conn).0, B::from("/2"));
}

// ---------------------------------------------------------------------------------------
// Scripted conversations in every split.

fn scripted(text: &str, eof: bool) -> Vec<Ev> {
    let input = crlf(text);
    assert_split_anywhere(&input, |parts| run_server(parts, &Limits::default(), eof))
}

fn sent(events: &[Ev]) -> B {
    events
        .iter()
        .find_map(|e| match e {
            Ev::Sent(b) => Some(b.clone()),
            _ => None,
        })
        .expect("sent")
}

const OK: &str = "HTTP/1.1 200 OK\ncontent-length: 2\n\nok";

#[test]
fn split_pipelined_with_bodies() {
    let events = scripted(
        "GET /1 HTTP/1.1\nHost: a\n\nPOST /2 HTTP/1.1\nHost: a\nContent-Length: 3\n\nabcPUT /3 HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n2;x=y\nde\n0\nT: 1\n\n",
        true,
    );
    assert_eq!(sent(&events), B(crlf(&OK.repeat(3))));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Ev::Request(_)))
            .count(),
        3
    );
    assert!(events.contains(&Ev::Data(B::from("abc"))));
    assert!(events.contains(&Ev::End(vec![(B::from("T"), B::from("1"))])));
    assert!(events.contains(&Ev::Closed));
}

#[test]
fn split_continue_close_and_errors() {
    let events = scripted(
        "POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 2\n\nhi",
        false,
    );
    assert_eq!(
        sent(&events),
        B(crlf(&format!("HTTP/1.1 100 Continue\n\n{OK}")))
    );

    let events = scripted("GET / HTTP/1.0\n\nGET / HTTP/1.0\n\n", false);
    assert_eq!(events.last(), Some(&Ev::MustClose(true)));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Ev::Request(_)))
            .count(),
        1
    );

    let events = scripted("GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\n\n", false);
    assert!(events.contains(&Ev::Error(ErrorKind::MissingHost)));
    assert_eq!(
        sent(&events),
        B(crlf(&format!(
            "{OK}HTTP/1.1 400 Bad Request\ncontent-length: 0\nconnection: close\n\n"
        )))
    );

    let events = scripted("POST / HTTP/1.1\nHost: a\nContent-Length: 9\n\nabc", true);
    assert!(events.contains(&Ev::Error(ErrorKind::IncompleteMessage)));

    let events = scripted(
        "GET /upgrade HTTP/1.1\nHost: a\nConnection: upgrade\nUpgrade: x\n\nraw\nbytes",
        false,
    );
    assert_eq!(
        events[events.len() - 3],
        Ev::Upgraded(B::from("raw\r\nbytes"))
    );
    let events = scripted("CONNECT a:1 HTTP/1.1\nHost: a:1\n\ntunnel", false);
    assert_eq!(events[events.len() - 3], Ev::Upgraded(B::from("tunnel")));
}

#[test]
fn path_and_query_leave_out_a_fragment() {
    let raw = bytes::Bytes::from_static(b"GET /a/b?x=1#frag HTTP/1.1\r\nHost: h\r\n\r\n");
    let (head, _) = http_proto::RequestHead::parse(&raw, &http_proto::Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.path(), b"/a/b");
    assert_eq!(head.query(), Some(&b"x=1"[..]));
    assert_eq!(
        head.target(),
        b"/a/b?x=1#frag",
        "the target stays as received"
    );
}

#[test]
fn a_promise_to_read_the_body_after_the_response_keeps_the_connection() {
    // Without the promise, an early response closes: the body's bytes would follow it.
    let mut conn = conn_with("PUT /f HTTP/1.1\nHost: a\nContent-Length: 3\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(401).body_len(0), &mut out)
        .unwrap();
    conn.send_end(&[], &mut out).unwrap();
    assert!(conn.must_close());

    // With it, the response keeps the connection and the body is read after it.
    let mut conn = conn_with("PUT /f HTTP/1.1\nHost: a\nContent-Length: 3\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert!(conn.read_body_after_response());
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(401).body_len(0), &mut out)
        .unwrap();
    conn.send_end(&[], &mut out).unwrap();
    assert!(!conn.must_close());
    assert!(!String::from_utf8_lossy(&out).contains("connection: close"));
    conn.feed(b"abcGET /n HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Data(_))));
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::End(_))));
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(h)) if h.path() == b"/n"));

    // A client waiting for 100 Continue may never send the body: no promise is possible.
    let mut conn =
        conn_with("PUT /f HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 3\n\n");
    assert!(matches!(conn.poll_event(), Ok(ServerEvent::Request(_))));
    assert!(!conn.read_body_after_response());
    let mut out = BytesMut::new();
    conn.send_response(&Response::new(417).body_len(0), &mut out)
        .unwrap();
    conn.send_end(&[], &mut out).unwrap();
    assert!(conn.must_close());
    assert!(String::from_utf8_lossy(&out).contains("connection: close"));
}
