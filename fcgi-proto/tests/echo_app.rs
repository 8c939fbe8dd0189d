//! Our two sides over a real TCP socket: `ServerConn` multiplexing many
//! requests on one connection to the `echo_app` example's serving code.

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/echo_app.rs"]
mod echo_app;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use common::peer::{Req, pattern, run_requests};
use fcgi_proto::{FCGI_MAX_REQS, FCGI_MPXS_CONNS, Limits, Role, ServerConn, ServerEvent};

#[test]
fn fifty_multiplexed_requests_over_tcp() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = echo_app::run("127.0.0.1:0", |addr| {
            let _ = tx.send(addr.to_owned());
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let mut sock = TcpStream::connect(&addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let mut conn = ServerConn::new(Limits::default().with_max_concurrent_requests(16));
    conn.get_values([FCGI_MPXS_CONNS, FCGI_MAX_REQS]).unwrap();
    sock.write_all(&conn.poll_transmit().unwrap()).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0);
        conn.feed(&buf[..n]);
        if let Some(ServerEvent::GetValuesResult { .. }) = conn.poll_event().unwrap() {
            break;
        }
    }
    assert_eq!(conn.max_concurrent(), 16);

    let mut reqs: Vec<Req> = (0..50)
        .map(|i| Req::responder(&[("N", &i.to_string())], &pattern(i * 3001)))
        .collect();
    reqs[7].role = Role::Filter;
    reqs[7].data = b"filter data".to_vec();
    let replies = run_requests(sock, &mut conn, &reqs, true, Duration::from_secs(30));
    for (i, r) in replies.iter().enumerate() {
        let (head, body) = r.split();
        let want = format!("N={i}\n\n");
        assert!(body.starts_with(want.as_bytes()), "request {i}: {head}");
        let rest = &body[want.len()..];
        if i == 7 {
            assert!(head.contains("X-Echo-Role: Filter"));
            assert!(rest.ends_with(b"filter data"));
        } else {
            assert_eq!(rest, &pattern(i * 3001)[..]);
        }
    }
}
