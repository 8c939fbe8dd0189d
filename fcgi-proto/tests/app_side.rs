//! The application side against hand-written web-server bytes.

mod common;

use bytes::BytesMut;
use common::split::assert_split_anywhere;
use fcgi_proto::params::{decode_pairs, encode_pair};
use fcgi_proto::record::{
    BeginRequestBody, EndRequestBody, Record, RecordDecoder, UnknownTypeBody, encode_record,
    encode_stream_end,
};
use fcgi_proto::{AppConn, AppEvent, Error, Limits, ProtocolStatus, RecordType, Role};

fn rec(t: RecordType, id: u16, content: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_record(&mut b, t, id, content).unwrap();
    b.to_vec()
}

fn begin(id: u16, role: Role, keep_conn: bool) -> Vec<u8> {
    rec(
        RecordType::BeginRequest,
        id,
        &BeginRequestBody { role, keep_conn }.encode(),
    )
}

fn stream_end(t: RecordType, id: u16) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_stream_end(&mut b, t, id);
    b.to_vec()
}

fn events(app: &mut AppConn) -> Vec<Result<AppEvent, Error>> {
    let mut out = Vec::new();
    loop {
        match app.poll_event() {
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

fn sent_records(app: &mut AppConn) -> Vec<Record> {
    let mut d = RecordDecoder::new();
    while let Some(b) = app.poll_transmit() {
        d.feed(&b);
    }
    let mut out = Vec::new();
    while let Some(r) = d.decode().unwrap() {
        out.push(r);
    }
    out
}

fn end_body(r: &Record) -> EndRequestBody {
    assert_eq!(r.record_type, RecordType::EndRequest);
    EndRequestBody::decode(&r.content).unwrap()
}

#[test]
fn responder_request_in_order() {
    let mut app = AppConn::new(Limits::default());
    let mut params = BytesMut::new();
    encode_pair(&mut params, b"REQUEST_METHOD", b"POST").unwrap();
    encode_pair(&mut params, b"EMPTY", b"").unwrap();
    app.feed(&begin(3, Role::Responder, false));
    app.feed(&rec(RecordType::Params, 3, &params));
    app.feed(&stream_end(RecordType::Params, 3));
    app.feed(&rec(RecordType::Stdin, 3, b"body"));
    app.feed(&stream_end(RecordType::Stdin, 3));
    let evs = events(&mut app);
    assert_eq!(evs.len(), 5, "{evs:?}");
    assert_eq!(
        evs[0],
        Ok(AppEvent::BeginRequest {
            request_id: 3,
            role: Role::Responder,
            keep_conn: false
        })
    );
    assert!(
        matches!(&evs[1], Ok(AppEvent::Params { params, .. }) if params.len() == 2 && params[1].value.is_empty())
    );
    assert_eq!(evs[2], Ok(AppEvent::ParamsEnd { request_id: 3 }));
    assert!(matches!(&evs[3], Ok(AppEvent::Stdin { data, .. }) if &data[..] == b"body"));
    assert_eq!(evs[4], Ok(AppEvent::StdinEnd { request_id: 3 }));
    assert!(!app.wants_close());
    app.send_stdout(3, b"Status: 204\r\n\r\n").unwrap();
    app.send_stderr(3, b"log line").unwrap();
    app.end_request(3, 7).unwrap();
    assert!(app.wants_close());
    let out = sent_records(&mut app);
    let kinds: Vec<(RecordType, usize)> = out
        .iter()
        .map(|r| (r.record_type, r.content.len()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (RecordType::Stdout, 15),
            (RecordType::Stderr, 8),
            (RecordType::Stdout, 0),
            (RecordType::Stderr, 0),
            (RecordType::EndRequest, 8)
        ]
    );
    assert_eq!(end_body(&out[4]).app_status, 7);
    // Stdin still arriving for the ended request is ignored (§3.3).
    app.feed(&rec(RecordType::Stdin, 3, b"late"));
    assert!(events(&mut app).is_empty());
}

#[test]
fn get_values_is_answered_once_per_known_name() {
    let mut app = AppConn::new(
        Limits::default()
            .with_max_concurrent_requests(10)
            .with_max_conns(3),
    );
    let mut q = BytesMut::new();
    for n in [
        "FCGI_MAX_CONNS",
        "FCGI_MAX_REQS",
        "FCGI_MPXS_CONNS",
        "OTHER",
        "FCGI_MAX_REQS",
    ] {
        encode_pair(&mut q, n.as_bytes(), b"").unwrap();
    }
    app.feed(&rec(RecordType::GetValues, 0, &q));
    assert!(events(&mut app).is_empty());
    let out = sent_records(&mut app);
    assert_eq!(
        (out[0].record_type, out[0].request_id),
        (RecordType::GetValuesResult, 0)
    );
    let got: Vec<(String, String)> = decode_pairs(out[0].content.clone(), 1000, 0)
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                String::from_utf8_lossy(&p.name).into(),
                String::from_utf8_lossy(&p.value).into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("FCGI_MAX_CONNS", "3"),
        ("FCGI_MAX_REQS", "10"),
        ("FCGI_MPXS_CONNS", "1"),
    ]
    .iter()
    .map(|(a, b)| ((*a).into(), (*b).into()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn unknown_management_type_is_answered() {
    let mut app = AppConn::new(Limits::default());
    app.feed(&rec(RecordType::Other(42), 0, b"whatever"));
    assert!(events(&mut app).is_empty());
    let out = sent_records(&mut app);
    assert_eq!(out[0].record_type, RecordType::UnknownType);
    assert_eq!(
        UnknownTypeBody::decode(&out[0].content)
            .unwrap()
            .record_type,
        42
    );
}

#[test]
fn refusals() {
    // Unknown role.
    let mut app = AppConn::new(Limits::default());
    app.feed(&begin(1, Role::Other(9), true));
    assert!(events(&mut app).is_empty());
    assert_eq!(
        end_body(&sent_records(&mut app)[0]).protocol_status,
        ProtocolStatus::UnknownRole
    );
    // Second request when not multiplexing.
    let mut app = AppConn::new(Limits::default().with_max_concurrent_requests(1));
    app.feed(&begin(1, Role::Responder, true));
    app.feed(&begin(2, Role::Responder, true));
    assert_eq!(events(&mut app).len(), 1);
    let out = sent_records(&mut app);
    assert_eq!(
        (out[0].request_id, end_body(&out[0]).protocol_status),
        (2, ProtocolStatus::CantMpxConn)
    );
    // Past the limit when multiplexing.
    let mut app = AppConn::new(Limits::default().with_max_concurrent_requests(2));
    for id in 1..=3 {
        app.feed(&begin(id, Role::Responder, true));
    }
    assert_eq!(events(&mut app).len(), 2);
    let out = sent_records(&mut app);
    assert_eq!(
        (out[0].request_id, end_body(&out[0]).protocol_status),
        (3, ProtocolStatus::Overloaded)
    );
}

#[test]
fn abort_and_filter_data() {
    let mut app = AppConn::new(Limits::default());
    app.feed(&begin(5, Role::Filter, true));
    app.feed(&rec(RecordType::Data, 5, b"file"));
    app.feed(&stream_end(RecordType::Data, 5));
    app.feed(&rec(RecordType::AbortRequest, 5, b""));
    app.feed(&rec(RecordType::AbortRequest, 6, b"")); // inactive: ignored
    let evs = events(&mut app);
    assert_eq!(evs.len(), 4, "{evs:?}");
    assert!(matches!(&evs[1], Ok(AppEvent::Data { data, .. }) if &data[..] == b"file"));
    assert_eq!(evs[2], Ok(AppEvent::DataEnd { request_id: 5 }));
    assert_eq!(evs[3], Ok(AppEvent::AbortRequest { request_id: 5 }));
    app.end_request(5, 1).unwrap();
    assert_eq!(
        app.end_request(5, 1),
        Err(Error::RequestNotActive { request_id: 5 })
    );
}

#[test]
fn peer_faults_table() {
    let big_params = {
        let mut b = BytesMut::new();
        encode_pair(&mut b, b"X", &[b'v'; 2000]).unwrap();
        b
    };
    let cases: Vec<(&str, Vec<u8>, Error)> = vec![
        (
            "bad version",
            vec![0, 1, 0, 1, 0, 0, 0, 0],
            Error::UnsupportedVersion { version: 0 },
        ),
        (
            "duplicate request id",
            begin(1, Role::Responder, true),
            Error::DuplicateRequestId { request_id: 1 },
        ),
        (
            "short BEGIN_REQUEST",
            rec(RecordType::BeginRequest, 2, &[0, 1]),
            Error::InvalidBodyLength {
                record_type: RecordType::BeginRequest,
                length: 2,
            },
        ),
        (
            "oversized params",
            rec(RecordType::Params, 1, &big_params),
            Error::ParamsTooLarge {
                request_id: 1,
                limit: 1024,
            },
        ),
        (
            "params ending inside a pair",
            [
                rec(RecordType::Params, 1, &[3, 3, b'a']),
                stream_end(RecordType::Params, 1),
            ]
            .concat(),
            Error::TruncatedParams { request_id: 1 },
        ),
        (
            "stdin after its end",
            [
                stream_end(RecordType::Stdin, 1),
                rec(RecordType::Stdin, 1, b"x"),
            ]
            .concat(),
            Error::StreamAlreadyEnded {
                record_type: RecordType::Stdin,
                request_id: 1,
            },
        ),
        (
            "STDOUT from the web server",
            rec(RecordType::Stdout, 1, b"x"),
            Error::UnexpectedRecord {
                record_type: RecordType::Stdout,
                request_id: 1,
            },
        ),
        (
            "data on a responder",
            rec(RecordType::Data, 1, b"x"),
            Error::StreamAlreadyEnded {
                record_type: RecordType::Data,
                request_id: 1,
            },
        ),
    ];
    for (name, wire, want) in cases {
        let mut app = AppConn::new(Limits::default().with_max_params_bytes(1024));
        app.feed(&begin(1, Role::Responder, true));
        app.feed(&wire);
        let errs: Vec<Error> = events(&mut app)
            .into_iter()
            .filter_map(Result::err)
            .collect();
        assert_eq!(errs, vec![want], "{name}");
    }
}

#[test]
fn stdout_back_pressure() {
    let mut app = AppConn::new(Limits::default().with_send_buffer_bytes(1000));
    app.feed(&begin(1, Role::Responder, true));
    let _ = events(&mut app);
    assert_eq!(app.send_stdout(1, &[b'x'; 5000]).unwrap(), 1000);
    assert_eq!(app.send_stdout(1, b"more").unwrap(), 0);
    assert!(app.wants_write());
    let _ = app.poll_transmit();
    assert_eq!(app.send_capacity(), 1000);
}

#[test]
fn a_peer_that_never_reads_cannot_grow_our_output() {
    let mut app = AppConn::new(Limits::default().with_send_buffer_bytes(4096));
    let flood: Vec<u8> = (0..10_000)
        .flat_map(|_| rec(RecordType::Other(99), 0, b""))
        .collect();
    app.feed(&flood);
    assert!(events(&mut app).is_empty());
    let mut queued = 0;
    while let Some(b) = app.poll_transmit() {
        queued += b.len();
    }
    assert!(queued <= 4096 + 16, "queued {queued}");
    // Once drained, polling goes on.
    assert!(events(&mut app).is_empty());
    assert!(app.wants_write());
}

#[test]
fn events_do_not_depend_on_how_the_bytes_are_split() {
    let mut params = BytesMut::new();
    encode_pair(&mut params, b"A", b"1").unwrap();
    encode_pair(&mut params, &[b'N'; 130], b"long name").unwrap();
    let mut wire = begin(1, Role::Responder, true);
    wire.extend(rec(RecordType::Params, 1, &params[..5]));
    wire.extend(rec(RecordType::Params, 1, &params[5..]));
    wire.extend(stream_end(RecordType::Params, 1));
    wire.extend(rec(RecordType::Stdin, 1, b"xyz"));
    wire.extend(stream_end(RecordType::Stdin, 1));
    let evs = assert_split_anywhere(&wire, 0, |parts| {
        let mut app = AppConn::new(Limits::default());
        let mut out = Vec::new();
        for p in parts {
            app.feed(p);
            out.extend(events(&mut app));
        }
        out
    });
    // Params split mid-pair across records still come out whole.
    let names: Vec<usize> = evs
        .iter()
        .filter_map(|e| match e {
            Ok(AppEvent::Params { params, .. }) => Some(params.iter().map(|p| p.name.len()).sum()),
            _ => None,
        })
        .collect();
    assert_eq!(names.iter().sum::<usize>(), 131);
    assert_eq!(evs.last(), Some(&Ok(AppEvent::StdinEnd { request_id: 1 })));
}
