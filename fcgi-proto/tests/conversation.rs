//! The web-server side and the application side talking through in-memory
//! buffers: many interleaved requests on one connection, any chunking.

mod common;

use std::collections::HashMap;

use common::split::cut;
use fcgi_proto::{
    AppConn, AppEvent, FCGI_MAX_REQS, FCGI_MPXS_CONNS, Limits, ProtocolStatus, Role, ServerConn,
    ServerEvent,
};
use proptest::prelude::*;

#[derive(Default)]
struct AppReq {
    params: Vec<(Vec<u8>, Vec<u8>)>,
    stdin: Vec<u8>,
}

/// The test application: answers each request with its params and stdin,
/// and writes its id to stderr.
#[derive(Default)]
struct EchoApp {
    reqs: HashMap<u16, AppReq>,
    /// Responses waiting for send-buffer room: (id, bytes, bytes sent).
    outgoing: Vec<(u16, Vec<u8>, usize)>,
}

impl EchoApp {
    fn handle(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::BeginRequest { request_id, .. } => {
                self.reqs.insert(request_id, AppReq::default());
            }
            AppEvent::Params { request_id, params } => {
                let r = self.reqs.get_mut(&request_id).unwrap();
                r.params.extend(
                    params
                        .into_iter()
                        .map(|p| (p.name.to_vec(), p.value.to_vec())),
                );
            }
            AppEvent::Stdin { request_id, data } => {
                self.reqs
                    .get_mut(&request_id)
                    .unwrap()
                    .stdin
                    .extend_from_slice(&data);
            }
            AppEvent::StdinEnd { request_id } => {
                let r = self.reqs.remove(&request_id).unwrap();
                let mut out = Vec::new();
                for (n, v) in &r.params {
                    out.extend_from_slice(n);
                    out.push(b'=');
                    out.extend_from_slice(v);
                    out.push(b'\n');
                }
                out.extend_from_slice(&r.stdin);
                self.outgoing.push((request_id, out, 0));
            }
            AppEvent::ParamsEnd { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Sends what the send buffer has room for, ending requests whose
    /// response is all queued: the application's back-pressure loop.
    fn pump(&mut self, app: &mut AppConn) {
        self.outgoing.retain_mut(|(id, out, off)| {
            // Odd ids go through the zero-copy path, even ids through the copying one.
            *off += if *id % 2 == 1 {
                app.send_stdout_bytes(*id, bytes::Bytes::copy_from_slice(&out[*off..]))
            } else {
                app.send_stdout(*id, &out[*off..])
            }
            .unwrap();
            if *off < out.len() {
                return true;
            }
            app.send_stderr(*id, format!("req {id}").as_bytes())
                .unwrap();
            app.end_request(*id, u32::from(*id)).unwrap();
            false
        });
    }
}

struct Spec {
    params: Vec<(Vec<u8>, Vec<u8>)>,
    stdin: Vec<u8>,
}

fn expected(s: &Spec) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in &s.params {
        out.extend_from_slice(n);
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out.extend_from_slice(&s.stdin);
    out
}

/// Runs every spec through one connection; `cuts` chunk every transfer,
/// `stdin_step` is how much stdin each request sends per round (so requests
/// interleave).
fn converse(specs: &[Spec], cuts: &[usize], stdin_step: usize) {
    let limits = Limits::default()
        .with_max_concurrent_requests(64)
        .with_send_buffer_bytes(1 << 20);
    let mut server = ServerConn::new(limits.clone());
    let mut app = AppConn::new(limits);
    let mut echo = EchoApp::default();

    // Learn that the app multiplexes.
    server.get_values([FCGI_MPXS_CONNS, FCGI_MAX_REQS]).unwrap();
    let mut learned = false;

    let mut next = 0;
    let mut sent: HashMap<u16, (usize, usize)> = HashMap::new(); // id -> (spec, stdin sent)
    let mut got: HashMap<usize, (Vec<u8>, Vec<u8>, u32)> = HashMap::new();
    let mut rounds = 0;
    while got.len() < specs.len() {
        rounds += 1;
        assert!(rounds < 100_000, "no progress");
        if learned {
            while next < specs.len() && server.can_begin_request() {
                let id = server.begin_request(Role::Responder, true).unwrap();
                server
                    .send_params(id, specs[next].params.iter().map(|(n, v)| (n, v)))
                    .unwrap();
                server.end_params(id).unwrap();
                sent.insert(id, (next, 0));
                next += 1;
            }
        }
        let mut ids: Vec<u16> = sent.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let (i, off) = sent[&id];
            let body = &specs[i].stdin;
            if off > body.len() {
                continue; // ended
            }
            let end = (off + stdin_step).min(body.len());
            let n = if id % 2 == 1 {
                server.send_stdin_bytes(id, bytes::Bytes::copy_from_slice(&body[off..end]))
            } else {
                server.send_stdin(id, &body[off..end])
            }
            .unwrap();
            let off = off + n;
            if off == body.len() {
                server.end_stdin(id).unwrap();
                sent.insert(id, (i, usize::MAX));
            } else {
                sent.insert(id, (i, off));
            }
        }
        // server -> app, in chunks
        let mut wire = Vec::new();
        while let Some(b) = server.poll_transmit() {
            wire.extend_from_slice(&b);
        }
        for part in cut(&wire, cuts) {
            app.feed(part);
            while let Some(ev) = app.poll_event().unwrap() {
                echo.handle(ev);
            }
        }
        echo.pump(&mut app);
        // app -> server, in chunks
        let mut wire = Vec::new();
        while let Some(b) = app.poll_transmit() {
            wire.extend_from_slice(&b);
        }
        for part in cut(&wire, cuts) {
            server.feed(part);
            while let Some(ev) = server.poll_event().unwrap() {
                match ev {
                    ServerEvent::GetValuesResult { .. } => learned = true,
                    ServerEvent::Stdout { request_id, data } => {
                        let i = sent[&request_id].0;
                        got.entry(i).or_default().0.extend_from_slice(&data);
                    }
                    ServerEvent::Stderr { request_id, data } => {
                        let i = sent[&request_id].0;
                        got.entry(i).or_default().1.extend_from_slice(&data);
                    }
                    ServerEvent::EndRequest {
                        request_id,
                        app_status,
                        protocol_status,
                    } => {
                        assert_eq!(protocol_status, ProtocolStatus::RequestComplete);
                        assert_eq!(app_status, u32::from(request_id));
                        let (i, _) = sent.remove(&request_id).unwrap();
                        got.entry(i).or_default().2 = app_status;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
    for (i, s) in specs.iter().enumerate() {
        assert_eq!(got[&i].0, expected(s), "request {i}");
        assert!(got[&i].1.starts_with(b"req "));
    }
    assert_eq!(server.active_requests(), 0);
    assert_eq!(app.active_requests(), 0);
    assert!(!server.has_partial_record());
}

#[test]
fn hundred_interleaved_requests() {
    let specs: Vec<Spec> = (0..100)
        .map(|i| Spec {
            params: vec![
                (b"REQUEST_ID".to_vec(), i.to_string().into_bytes()),
                (vec![b'L'; 200], vec![b'v'; i * 3]),
            ],
            stdin: (0..i * 997)
                .map(|b| u8::try_from(b % 251).unwrap())
                .collect(),
        })
        .collect();
    converse(&specs, &[], 300);
    converse(&specs, &[7, 13, 1000, 65_000], 70_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_requests_any_chunking(
        specs in proptest::collection::vec(
            (common::strategies::params(), proptest::collection::vec(any::<u8>(), 0..3000)),
            1..20,
        ),
        cuts in common::strategies::cuts(),
        step in 1usize..5000,
    ) {
        let specs: Vec<Spec> = specs.into_iter().map(|(params, stdin)| Spec { params, stdin }).collect();
        converse(&specs, &cuts, step);
    }
}
