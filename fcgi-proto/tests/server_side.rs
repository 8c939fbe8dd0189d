//! The web-server side against hand-written application bytes: one test per
//! rule, and a table of peer faults with the error each must give.

mod common;

use bytes::BytesMut;
use common::split::assert_split_anywhere;
use fcgi_proto::params::encode_pair;
use fcgi_proto::record::{EndRequestBody, RecordDecoder, encode_record, encode_stream_end};
use fcgi_proto::{Error, Limits, ProtocolStatus, RecordType, Role, ServerConn, ServerEvent};

fn rec(t: RecordType, id: u16, content: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_record(&mut b, t, id, content).unwrap();
    b.to_vec()
}

fn end(id: u16, status: ProtocolStatus) -> Vec<u8> {
    rec(
        RecordType::EndRequest,
        id,
        &EndRequestBody {
            app_status: 0,
            protocol_status: status,
        }
        .encode(),
    )
}

fn stdout_end(id: u16) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_stream_end(&mut b, RecordType::Stdout, id);
    b.to_vec()
}

fn events(conn: &mut ServerConn) -> Vec<Result<ServerEvent, Error>> {
    let mut out = Vec::new();
    loop {
        match conn.poll_event() {
            Ok(Some(e)) => out.push(Ok(e)),
            Ok(None) => return out,
            Err(e) => {
                let fatal = e.is_fatal();
                out.push(Err(e));
                if fatal {
                    return out;
                }
            }
        }
    }
}

fn started() -> (ServerConn, u16) {
    let mut c = ServerConn::new(Limits::default());
    let id = c.begin_request(Role::Responder, true).unwrap();
    (c, id)
}

#[test]
fn begin_request_writes_spec_bytes() {
    let (mut c, id) = started();
    assert_eq!(id, 1);
    c.send_params(id, [("A", "b")]).unwrap();
    c.end_params(id).unwrap();
    c.end_stdin(id).unwrap();
    let wire = c.poll_transmit().unwrap();
    assert_eq!(
        &wire[..],
        &[
            1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0,
            0, // BEGIN_REQUEST responder keep_conn
            1, 4, 0, 1, 0, 4, 4, 0, 1, 1, b'A', b'b', 0, 0, 0, 0, // PARAMS, padded
            1, 4, 0, 1, 0, 0, 0, 0, // end of PARAMS
            1, 5, 0, 1, 0, 0, 0, 0, // end of STDIN
        ][..]
    );
}

#[test]
fn stdout_stderr_and_end() {
    let (mut c, id) = started();
    let mut wire = rec(RecordType::Stdout, id, b"Status: 200\r\n\r\n");
    wire.extend(rec(RecordType::Stderr, id, b"warn"));
    wire.extend(stdout_end(id));
    wire.extend(end(id, ProtocolStatus::RequestComplete));
    c.feed(&wire);
    let evs = events(&mut c);
    assert_eq!(evs.len(), 3);
    assert!(
        matches!(&evs[0], Ok(ServerEvent::Stdout { data, .. }) if &data[..] == b"Status: 200\r\n\r\n")
    );
    assert!(matches!(&evs[1], Ok(ServerEvent::Stderr { data, .. }) if &data[..] == b"warn"));
    assert!(matches!(
        evs[2],
        Ok(ServerEvent::EndRequest {
            request_id: 1,
            protocol_status: ProtocolStatus::RequestComplete,
            ..
        })
    ));
    assert_eq!(c.active_requests(), 0);
    assert!(c.can_begin_request());
}

#[test]
fn peer_faults_table() {
    // (bytes from the application after request 1 began, the error expected)
    let cases: Vec<(&str, Vec<u8>, Error)> = vec![
        (
            "bad version",
            vec![2, 6, 0, 1, 0, 0, 0, 0],
            Error::UnsupportedVersion { version: 2 },
        ),
        (
            "stdout for a request never begun",
            rec(RecordType::Stdout, 9, b"x"),
            Error::UnknownRequestId {
                record_type: RecordType::Stdout,
                request_id: 9,
            },
        ),
        (
            "stdout after end of stdout",
            [stdout_end(1), rec(RecordType::Stdout, 1, b"x")].concat(),
            Error::StreamAlreadyEnded {
                record_type: RecordType::Stdout,
                request_id: 1,
            },
        ),
        (
            "END_REQUEST before stdout closed",
            [
                rec(RecordType::Stdout, 1, b"x"),
                end(1, ProtocolStatus::RequestComplete),
            ]
            .concat(),
            Error::EndRequestBeforeStdoutClosed { request_id: 1 },
        ),
        (
            "record for an ended request",
            [
                stdout_end(1),
                end(1, ProtocolStatus::RequestComplete),
                rec(RecordType::Stdout, 1, b"x"),
            ]
            .concat(),
            Error::UnknownRequestId {
                record_type: RecordType::Stdout,
                request_id: 1,
            },
        ),
        (
            "short END_REQUEST body",
            rec(RecordType::EndRequest, 1, &[0; 4]),
            Error::InvalidBodyLength {
                record_type: RecordType::EndRequest,
                length: 4,
            },
        ),
        (
            "STDIN from the application",
            rec(RecordType::Stdin, 1, b"x"),
            Error::UnexpectedRecord {
                record_type: RecordType::Stdin,
                request_id: 1,
            },
        ),
        (
            "GET_VALUES from the application",
            rec(RecordType::GetValues, 0, b""),
            Error::UnexpectedRecord {
                record_type: RecordType::GetValues,
                request_id: 0,
            },
        ),
        (
            "truncated GET_VALUES_RESULT",
            rec(RecordType::GetValuesResult, 0, &[5, 1, b'A']),
            Error::TruncatedParams { request_id: 0 },
        ),
    ];
    for (name, wire, want) in cases {
        let mut c = ServerConn::new(Limits::default().with_require_stdout_end(true));
        c.begin_request(Role::Responder, true).unwrap();
        c.feed(&wire);
        let errs: Vec<Error> = events(&mut c).into_iter().filter_map(Result::err).collect();
        assert_eq!(errs, vec![want], "{name}");
    }
}

#[test]
fn errors_that_are_not_fatal_leave_the_connection_usable() {
    let (mut c, id) = started();
    let mut wire = rec(RecordType::Stdout, 77, b"stray");
    wire.extend(rec(RecordType::Stdout, id, b"ok"));
    c.feed(&wire);
    assert!(matches!(
        c.poll_event(),
        Err(Error::UnknownRequestId { request_id: 77, .. })
    ));
    assert!(matches!(
        c.poll_event(),
        Ok(Some(ServerEvent::Stdout { .. }))
    ));
}

#[test]
fn refusals_may_come_without_streams() {
    for status in [
        ProtocolStatus::CantMpxConn,
        ProtocolStatus::Overloaded,
        ProtocolStatus::UnknownRole,
    ] {
        let (mut c, id) = started();
        c.feed(&end(id, status));
        assert!(
            matches!(c.poll_event(), Ok(Some(ServerEvent::EndRequest { protocol_status, .. })) if protocol_status == status)
        );
    }
}

#[test]
fn aborted_request_may_end_without_stdout() {
    let (mut c, id) = started();
    c.abort_request(id).unwrap();
    c.abort_request(id).unwrap(); // second abort queues nothing
    let wire = c.poll_transmit().unwrap();
    assert_eq!(&wire[wire.len() - 8..], &[1, 2, 0, 1, 0, 0, 0, 0]);
    assert_eq!(wire.len(), 16 + 8);
    assert_eq!(
        c.send_stdin(id, b"x"),
        Err(Error::StreamClosed {
            record_type: RecordType::Stdin,
            request_id: id
        })
    );
    c.feed(&end(id, ProtocolStatus::RequestComplete));
    assert!(matches!(
        c.poll_event(),
        Ok(Some(ServerEvent::EndRequest { .. }))
    ));
}

#[test]
fn one_request_at_a_time_until_the_app_multiplexes() {
    let mut c = ServerConn::new(Limits::default().with_max_concurrent_requests(8));
    assert_eq!(c.max_concurrent(), 1);
    let a = c.begin_request(Role::Responder, true).unwrap();
    assert_eq!(
        c.begin_request(Role::Responder, true),
        Err(Error::ConnectionBusy { active: 1 })
    );
    c.get_values([fcgi_proto::FCGI_MPXS_CONNS, fcgi_proto::FCGI_MAX_REQS])
        .unwrap();
    let mut ans = BytesMut::new();
    encode_pair(&mut ans, b"FCGI_MPXS_CONNS", b"1").unwrap();
    encode_pair(&mut ans, b"FCGI_MAX_REQS", b"50").unwrap();
    c.feed(&rec(RecordType::GetValuesResult, 0, &ans));
    assert!(
        matches!(c.poll_event(), Ok(Some(ServerEvent::GetValuesResult { values })) if values.len() == 2)
    );
    assert_eq!(c.max_concurrent(), 8); // our own limit is smaller than the app's 50
    let ids: Vec<u16> = (0..7)
        .map(|_| c.begin_request(Role::Responder, true).unwrap())
        .collect();
    assert_eq!(ids, vec![2, 3, 4, 5, 6, 7, 8]);
    assert!(!c.can_begin_request());
    // CANT_MPX_CONN drops back to one at a time.
    c.feed(&end(a, ProtocolStatus::CantMpxConn));
    let _ = c.poll_event();
    assert_eq!(c.max_concurrent(), 1);
}

#[test]
fn get_values_writes_a_management_record() {
    let mut c = ServerConn::new(Limits::default());
    c.get_values(["FCGI_MAX_CONNS"]).unwrap();
    let wire = c.poll_transmit().unwrap();
    let mut d = RecordDecoder::new();
    d.feed(&wire);
    let r = d.decode().unwrap().unwrap();
    assert_eq!((r.record_type, r.request_id), (RecordType::GetValues, 0));
    assert_eq!(&r.content[..], b"\x0e\x00FCGI_MAX_CONNS");
}

#[test]
fn keep_conn_false_allows_no_second_request() {
    let mut c = ServerConn::new(Limits::default());
    let id = c.begin_request(Role::Responder, false).unwrap();
    assert!(!c.is_reusable());
    c.feed(&[stdout_end(id), end(id, ProtocolStatus::RequestComplete)].concat());
    assert!(matches!(
        c.poll_event(),
        Ok(Some(ServerEvent::EndRequest { .. }))
    ));
    assert!(matches!(
        c.begin_request(Role::Responder, true),
        Err(Error::ConnectionBusy { .. })
    ));
}

#[test]
fn stdin_back_pressure_bounds_the_send_buffer() {
    let mut c = ServerConn::new(Limits::default().with_send_buffer_bytes(100_000));
    let id = c.begin_request(Role::Responder, true).unwrap();
    let body = vec![b'x'; 1 << 20];
    let mut sent = 0;
    let mut wire_total = 0;
    let mut rounds = 0;
    while sent < body.len() {
        let took = c.send_stdin(id, &body[sent..]).unwrap();
        assert!(took <= 100_000);
        sent += took;
        let w = c.poll_transmit().unwrap();
        assert!(w.len() <= 100_000 + 100, "queued {}", w.len());
        wire_total += w.len();
        rounds += 1;
    }
    assert!(rounds >= 10);
    assert!(wire_total > body.len());
    // A full buffer takes nothing.
    let mut c = ServerConn::new(Limits::default().with_send_buffer_bytes(10));
    let id = c.begin_request(Role::Responder, true).unwrap();
    assert_eq!(c.send_stdin(id, b"abc").unwrap(), 0); // BEGIN_REQUEST already fills it
    c.poll_transmit();
    assert_eq!(c.send_stdin(id, b"abcdefghijklmnop").unwrap(), 10);
}

#[test]
fn caller_faults() {
    let (mut c, id) = started();
    assert_eq!(
        c.send_stdin(99, b"x"),
        Err(Error::RequestNotActive { request_id: 99 })
    );
    assert_eq!(
        c.send_data(id, b"x"),
        Err(Error::StreamClosed {
            record_type: RecordType::Data,
            request_id: id
        })
    );
    c.end_params(id).unwrap();
    assert_eq!(
        c.end_params(id),
        Err(Error::StreamClosed {
            record_type: RecordType::Params,
            request_id: id
        })
    );
    assert_eq!(
        c.send_params(id, [("A", "B")]),
        Err(Error::StreamClosed {
            record_type: RecordType::Params,
            request_id: id
        })
    );
    c.end_stdin(id).unwrap();
    assert!(c.send_stdin(id, b"x").is_err());
    assert_eq!(
        c.send_stdin(id, b""),
        Err(Error::StreamClosed {
            record_type: RecordType::Stdin,
            request_id: id
        })
    );
}

#[test]
fn filter_role_has_a_data_stream() {
    let mut c = ServerConn::new(Limits::default());
    let id = c.begin_request(Role::Filter, true).unwrap();
    assert_eq!(c.role(id), Some(Role::Filter));
    assert_eq!(c.send_data(id, b"file").unwrap(), 4);
    c.end_data(id).unwrap();
}

#[test]
fn end_request_ends_stdout_by_default_like_php_fpm_does() {
    // php-fpm 8.2 sends STDOUT then END_REQUEST with no empty STDOUT between.
    let (mut c, id) = started();
    c.feed(
        &[
            rec(RecordType::Stdout, id, b"x"),
            end(id, ProtocolStatus::RequestComplete),
        ]
        .concat(),
    );
    assert!(matches!(
        c.poll_event(),
        Ok(Some(ServerEvent::Stdout { .. }))
    ));
    assert!(matches!(
        c.poll_event(),
        Ok(Some(ServerEvent::EndRequest { .. }))
    ));
}

#[test]
fn events_do_not_depend_on_how_the_bytes_are_split() {
    let mut wire = rec(RecordType::Stdout, 1, b"Status: 200\r\n\r\nbody");
    wire.extend(rec(RecordType::Stderr, 1, b"e"));
    wire.extend(rec(RecordType::Stdout, 7, b"stray")); // a non-fatal fault in the middle
    wire.extend(stdout_end(1));
    wire.extend(end(1, ProtocolStatus::RequestComplete));
    let evs = assert_split_anywhere(&wire, 48, |parts| {
        let (mut c, _) = started();
        let mut out = Vec::new();
        for p in parts {
            c.feed(p);
            out.extend(events(&mut c));
        }
        out
    });
    assert_eq!(evs.len(), 4);
}
