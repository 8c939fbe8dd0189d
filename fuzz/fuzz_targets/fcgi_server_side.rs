#![no_main]
//! The web-server side driven by arbitrary calls and fed arbitrary
//! application bytes: never panics, keeps its invariants, and everything it
//! transmits is well-formed FastCGI.

use arbitrary::Arbitrary;
use fcgi_proto::record::RecordDecoder;
use fcgi_proto::{Limits, Role, ServerConn, ServerEvent};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Begin {
        role: u8,
        keep_conn: bool,
    },
    Params {
        id: u8,
        name: Vec<u8>,
        value: Vec<u8>,
    },
    EndParams {
        id: u8,
    },
    Stdin {
        id: u8,
        len: u16,
    },
    StdinBytes {
        id: u8,
        len: u16,
    },
    EndStdin {
        id: u8,
    },
    Data {
        id: u8,
        len: u16,
    },
    EndData {
        id: u8,
    },
    Abort {
        id: u8,
    },
    GetValues,
    AppMax {
        n: u8,
    },
    Feed {
        bytes: Vec<u8>,
    },
    Transmit,
}

fuzz_target!(|ops: Vec<Op>| {
    let limits = Limits::default()
        .with_max_concurrent_requests(8)
        .with_send_buffer_bytes(4096)
        .with_max_params_bytes(2048);
    let mut conn = ServerConn::new(limits);
    let mut out = RecordDecoder::new();
    let body = vec![b'x'; 70_000];
    for op in ops {
        let _ = match op {
            Op::Begin { role, keep_conn } => {
                let could = conn.can_begin_request();
                let r = conn.begin_request(Role::from_u16(u16::from(role % 5)), keep_conn);
                assert_eq!(could, r.is_ok());
                r.map(|_| ())
            }
            Op::Params { id, name, value } => conn.send_params(u16::from(id), [(name, value)]),
            Op::EndParams { id } => conn.end_params(u16::from(id)),
            Op::Stdin { id, len } => {
                let cap = conn.send_capacity();
                conn.send_stdin(u16::from(id), &body[..usize::from(len)])
                    .map(|n| assert!(n <= cap))
            }
            Op::StdinBytes { id, len } => {
                let cap = conn.send_capacity();
                let data = bytes::Bytes::from(body[..usize::from(len)].to_vec());
                conn.send_stdin_bytes(u16::from(id), data)
                    .map(|n| assert!(n <= cap))
            }
            Op::EndStdin { id } => conn.end_stdin(u16::from(id)),
            Op::Data { id, len } => conn
                .send_data(u16::from(id), &body[..usize::from(len)])
                .map(|_| ()),
            Op::EndData { id } => conn.end_data(u16::from(id)),
            Op::Abort { id } => conn.abort_request(u16::from(id)),
            Op::GetValues => conn.get_values(["FCGI_MPXS_CONNS", "FCGI_MAX_REQS"]),
            Op::AppMax { n } => {
                conn.set_app_max_requests(usize::from(n));
                Ok(())
            }
            Op::Feed { bytes } => {
                conn.feed(&bytes);
                loop {
                    match conn.poll_event() {
                        Ok(Some(
                            ServerEvent::Stdout { data, .. } | ServerEvent::Stderr { data, .. },
                        )) => {
                            assert!(!data.is_empty());
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) if e.is_fatal() => break,
                        Err(_) => {}
                    }
                }
                Ok(())
            }
            Op::Transmit => {
                while let Some(b) = conn.poll_transmit() {
                    out.feed(&b);
                }
                while let Some(r) = out.decode().expect("we transmit only version 1") {
                    assert!(r.content.len() <= 65535);
                }
                Ok(())
            }
        };
        assert!(conn.active_requests() <= 8);
    }
});
