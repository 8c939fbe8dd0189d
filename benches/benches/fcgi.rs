//! fcgi-proto beside `fastcgi-client` (crates.io), issue 5.
//!
//! Workloads: a typical request (30 params, 1 KiB stdin) and a 64 KiB stdout
//! stream. For each, fcgi-proto's four halves are measured alone (web-server
//! side encode and decode, application side encode and decode), then the
//! web-server side's whole exchange (encode the request, decode the response)
//! beside `fastcgi-client` 0.12 doing the same exchange over an in-memory
//! stream. `fastcgi-client` is the most used FastCGI client on crates.io and
//! runtime-agnostic (`futures-io`), so it runs here on a no-op waker with no
//! runtime cost; it collects stdout into a `Vec`, where fcgi-proto hands out
//! zero-copy `Bytes`.
//!
//! The application side's whole exchange (decode the request, encode the
//! response) runs beside `tokio-fastcgi` 1.3, the application-side crate with
//! a comparable scope (multiplexing, all roles), also on in-memory streams
//! and a no-op waker. `tokio-fastcgi` gathers params into a `HashMap` and
//! stdin into a buffer before handing a request over; fcgi-proto's exchange
//! only looks at each param and stdin chunk as it arrives.
//!
//! Bytes throughput is wire bytes; the `records` group reports records per second.
//!
//! One run (2-core shared machine, `--warm-up-time 1 --measurement-time 3`,
//! medians; neighbours' builds make single figures move by up to ~30%):
//!
//! | workload | fcgi-proto | peer | ratio |
//! |---|---|---|---|
//! | typical request, web-server side exchange | 0.85 µs | fastcgi-client 7.03 µs | 8.3x |
//! | typical request, application side exchange | 1.41 µs | tokio-fastcgi 8.46 µs | 6.0x |
//! | 64 KiB stdout, web-server side exchange | 1.69 µs | fastcgi-client 6.88 µs | 4.1x |
//! | 64 KiB stdout, application side exchange | 0.95 µs | tokio-fastcgi 1.71 µs | 1.8x |
//!
//! Alone: request encode 1.09 µs, request decode 1.74 µs (3.7 M records/s),
//! 64 KiB stdout encode 2.15 µs copying / 0.40 µs with `send_stdout_bytes`,
//! 64 KiB stdout decode 1.45 µs (42 GiB/s, 2.6 M records/s).
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::borrow::Cow;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fcgi_proto::record::RecordDecoder;
use fcgi_proto::{AppConn, AppEvent, Limits, Role, ServerConn, ServerEvent};

/// 30 params of the sizes nginx's `fastcgi_params` produces.
fn typical_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("QUERY_STRING", "page=2&sort=desc&filter=active"),
        ("REQUEST_METHOD", "POST"),
        ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
        ("CONTENT_LENGTH", "1024"),
        ("SCRIPT_NAME", "/index.php"),
        ("REQUEST_URI", "/index.php?page=2&sort=desc&filter=active"),
        ("DOCUMENT_URI", "/index.php"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "refserver/0.1"),
        ("REMOTE_ADDR", "192.0.2.17"),
        ("REMOTE_PORT", "51234"),
        ("SERVER_ADDR", "192.0.2.1"),
        ("SERVER_PORT", "80"),
        ("SERVER_NAME", "example.org"),
        ("REDIRECT_STATUS", "200"),
        ("SCRIPT_FILENAME", "/var/www/html/index.php"),
        ("PATH_INFO", ""),
        ("HTTP_HOST", "example.org"),
        (
            "HTTP_USER_AGENT",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ),
        (
            "HTTP_ACCEPT",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.5"),
        ("HTTP_ACCEPT_ENCODING", "gzip, deflate, br"),
        ("HTTP_CONNECTION", "keep-alive"),
        (
            "HTTP_COOKIE",
            "session=0123456789abcdef0123456789abcdef; theme=dark; lang=en",
        ),
        ("HTTP_REFERER", "http://example.org/index.php?page=1"),
        ("HTTP_CACHE_CONTROL", "max-age=0"),
        ("HTTP_UPGRADE_INSECURE_REQUESTS", "1"),
    ]
}

const SHORT_RESPONSE: &[u8] = b"Status: 200 OK\r\nContent-Type: text/html\r\n\r\n<p>ok</p>";

/// fcgi-proto web-server side: encode one request; returns the wire (setup).
fn ours_encode_request(params: &[(&str, &str)], stdin: &[u8]) -> Bytes {
    let mut conn = queue_request(params, stdin);
    take_all(|| conn.poll_transmit())
}

/// fcgi-proto web-server side: encode one request and hand out its bytes
/// (measured).
fn ours_encode_request_len(params: &[(&str, &str)], stdin: &[u8]) -> usize {
    let mut conn = queue_request(params, stdin);
    write_out(|| conn.poll_transmit())
}

fn queue_request(params: &[(&str, &str)], stdin: &[u8]) -> ServerConn {
    let mut conn = ServerConn::new(Limits::default());
    let Ok(id) = conn.begin_request(Role::Responder, true) else {
        unreachable!()
    };
    let _ = conn.send_params(id, params.iter().copied());
    let _ = conn.end_params(id);
    let _ = conn.send_stdin(id, stdin);
    let _ = conn.end_stdin(id);
    conn
}

/// Gathers every queued segment into one buffer (setup only: the benches
/// themselves just touch the segments, as a vectored write would).
fn take_all(mut poll: impl FnMut() -> Option<Bytes>) -> Bytes {
    let mut all = bytes::BytesMut::new();
    while let Some(b) = poll() {
        all.extend_from_slice(&b);
    }
    all.freeze()
}

/// Touches every queued segment; returns the bytes "written".
fn write_out(mut poll: impl FnMut() -> Option<Bytes>) -> usize {
    let mut n = 0;
    while let Some(b) = poll() {
        n += black_box(b).len();
    }
    n
}

/// fcgi-proto application side, zero-copy: a 64 KiB body handed over as
/// `Bytes` (`send_stdout_bytes`) is queued as views, not copied.
fn ours_encode_response_shared(body: &Bytes) -> usize {
    let mut app = AppConn::new(Limits::default());
    app.feed(&[1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    let _ = app.poll_event();
    let _ = app.send_stdout_bytes(1, body.clone());
    let _ = app.end_request(1, 0);
    write_out(|| app.poll_transmit())
}

/// fcgi-proto application side: encode a response (stdout, end of stdout,
/// END_REQUEST); returns the wire (setup).
fn ours_encode_response(body: &[u8]) -> Bytes {
    let mut app = queue_response(body);
    take_all(|| app.poll_transmit())
}

/// fcgi-proto application side: encode a response, copying the body, and
/// hand out its bytes (measured).
fn ours_encode_response_len(body: &[u8]) -> usize {
    let mut app = queue_response(body);
    write_out(|| app.poll_transmit())
}

fn queue_response(body: &[u8]) -> AppConn {
    let mut app = AppConn::new(Limits::default());
    // BEGIN_REQUEST id 1, responder, keep_conn.
    app.feed(&[1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    let _ = app.poll_event();
    let _ = app.send_stdout(1, body);
    let _ = app.end_request(1, 0);
    app
}

/// fcgi-proto application side: decode a request; returns params + stdin bytes seen.
fn ours_decode_request(wire: &[u8]) -> usize {
    let mut app = AppConn::new(Limits::default());
    app.feed(wire);
    let mut seen = 0;
    while let Ok(Some(ev)) = app.poll_event() {
        match ev {
            AppEvent::Params { params, .. } => seen += params.len(),
            AppEvent::Stdin { data, .. } => seen += data.len(),
            _ => {}
        }
    }
    seen
}

/// fcgi-proto web-server side: decode a response to request 1 (begun on `conn`).
fn ours_decode_response(conn: &mut ServerConn, wire: &[u8]) -> usize {
    conn.feed(wire);
    let mut seen = 0;
    while let Ok(Some(ev)) = conn.poll_event() {
        match ev {
            ServerEvent::Stdout { data, .. } => seen += black_box(data).len(),
            ServerEvent::EndRequest { .. } => seen += 1,
            _ => {}
        }
    }
    seen
}

/// fcgi-proto web-server side, the whole exchange: encode the request, "write"
/// it, decode the response.
fn ours_exchange(params: &[(&str, &str)], stdin: &[u8], response: &[u8]) -> usize {
    let mut conn = ServerConn::new(Limits::default());
    let Ok(id) = conn.begin_request(Role::Responder, true) else {
        unreachable!()
    };
    let _ = conn.send_params(id, params.iter().copied());
    let _ = conn.end_params(id);
    let _ = conn.send_stdin(id, stdin);
    let _ = conn.end_stdin(id);
    let sent = write_out(|| conn.poll_transmit());
    sent + ours_decode_response(&mut conn, response)
}

/// An in-memory duplex stream for `fastcgi-client`: reads the canned
/// response, swallows writes.
struct MemStream<'a> {
    input: &'a [u8],
    written: usize,
}

impl fastcgi_client::io::AsyncRead for MemStream<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Poll::Ready(Ok(n))
    }
}

impl fastcgi_client::io::AsyncWrite for MemStream<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written += black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (all I/O is in memory) to completion.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn peer_params(params: &[(&'static str, &'static str)]) -> fastcgi_client::Params<'static> {
    let mut p = fastcgi_client::Params::default();
    p.clear(); // only the workload's params, like ours
    for (n, v) in params {
        p.insert(Cow::Borrowed(n), Cow::Borrowed(v));
    }
    p
}

/// fastcgi-client, the whole exchange on one in-memory stream.
fn peer_exchange(params: &fastcgi_client::Params<'static>, stdin: &[u8], response: &[u8]) -> usize {
    let stream = MemStream {
        input: response,
        written: 0,
    };
    let client = fastcgi_client::Client::new(stream);
    let req = fastcgi_client::Request::new(params.clone(), fastcgi_client::io::Cursor::new(stdin));
    match block_on(client.execute_once(req)) {
        Ok(resp) => resp.stdout.map_or(0, |s| black_box(s).len()) + 1,
        Err(e) => panic!("fastcgi-client failed: {e}"),
    }
}

/// fcgi-proto application side, the whole exchange: decode the request,
/// answer with `body` once stdin ended, take the response bytes.
fn ours_app_exchange(request: &[u8], body: &Bytes) -> usize {
    let mut app = AppConn::new(Limits::default());
    app.feed(request);
    let mut seen = 0;
    while let Ok(Some(ev)) = app.poll_event() {
        match ev {
            AppEvent::Params { params, .. } => {
                seen += params
                    .iter()
                    .map(|p| black_box(p).value.len())
                    .sum::<usize>();
            }
            AppEvent::Stdin { data, .. } => seen += black_box(data).len(),
            AppEvent::StdinEnd { request_id } => {
                let _ = app.send_stdout_bytes(request_id, body.clone());
                let _ = app.end_request(request_id, 0);
            }
            _ => {}
        }
    }
    seen + write_out(|| app.poll_transmit())
}

/// tokio-fastcgi's reader: the canned request.
struct TokioReader<'a>(&'a [u8]);

impl tokio::io::AsyncRead for TokioReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = buf.remaining().min(self.0.len());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Poll::Ready(Ok(()))
    }
}

/// tokio-fastcgi's writer: swallows the response.
struct TokioSink;

impl tokio::io::AsyncWrite for TokioSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(black_box(buf).len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// tokio-fastcgi, the whole application-side exchange.
fn peer_app_exchange(request: &[u8], body: &[u8]) -> usize {
    block_on(async {
        let mut requests = tokio_fastcgi::Requests::new(TokioReader(request), TokioSink, 1, 1);
        let mut handled = 0;
        while let Ok(Some(req)) = requests.next().await {
            let done = req
                .process(|r| async move {
                    let mut out = r.get_stdout();
                    match out.write(body).await {
                        Ok(_) => tokio_fastcgi::RequestResult::Complete(0),
                        Err(e) => panic!("tokio-fastcgi write failed: {e:?}"),
                    }
                })
                .await;
            assert!(done.is_ok(), "tokio-fastcgi failed");
            handled += 1;
        }
        handled
    })
}

fn count_records(wire: &[u8]) -> u64 {
    let mut d = RecordDecoder::new();
    d.feed(wire);
    let mut n = 0;
    while let Ok(Some(_)) = d.decode() {
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let params = typical_params();
    let stdin = vec![b'a'; 1024];
    let request_wire = ours_encode_request(&params, &stdin);
    let short_response = ours_encode_response(SHORT_RESPONSE);
    let big_body = vec![b'x'; 64 * 1024];
    let big_response = ours_encode_response(&big_body);
    let tiny_params = vec![
        ("SCRIPT_FILENAME", "/var/www/html/big.php"),
        ("REQUEST_METHOD", "GET"),
    ];
    let peer_typical = peer_params(&params);
    let peer_tiny = peer_params(&tiny_params);

    let tiny_request = ours_encode_request(&tiny_params, b"");
    let short_body = Bytes::from_static(SHORT_RESPONSE);
    let big_shared = Bytes::from(big_body.clone());

    // Sanity: both clients agree on what the responses hold; both apps answer.
    assert_eq!(peer_app_exchange(&request_wire, SHORT_RESPONSE), 1);
    assert_eq!(peer_app_exchange(&tiny_request, &big_body), 1);
    assert_eq!(
        peer_exchange(&peer_typical, &stdin, &short_response),
        SHORT_RESPONSE.len() + 1
    );
    assert_eq!(
        peer_exchange(&peer_tiny, b"", &big_response),
        big_body.len() + 1
    );

    let mut g = c.benchmark_group("fcgi_request_30_params_1k_stdin");
    g.throughput(Throughput::Bytes(request_wire.len() as u64));
    g.bench_function("fcgi-proto/server_encode", |b| {
        b.iter(|| ours_encode_request_len(black_box(&params), black_box(&stdin)));
    });
    g.bench_function("fcgi-proto/app_decode", |b| {
        b.iter(|| ours_decode_request(black_box(&request_wire)));
    });
    g.bench_function("fcgi-proto/exchange", |b| {
        b.iter(|| {
            ours_exchange(
                black_box(&params),
                black_box(&stdin),
                black_box(&short_response),
            )
        });
    });
    g.bench_function("fastcgi-client/exchange", |b| {
        b.iter(|| {
            peer_exchange(
                black_box(&peer_typical),
                black_box(&stdin),
                black_box(&short_response),
            )
        });
    });
    g.bench_function("fcgi-proto/app_exchange", |b| {
        b.iter(|| ours_app_exchange(black_box(&request_wire), black_box(&short_body)));
    });
    g.bench_function("tokio-fastcgi/app_exchange", |b| {
        b.iter(|| peer_app_exchange(black_box(&request_wire), black_box(SHORT_RESPONSE)));
    });
    g.finish();

    let mut g = c.benchmark_group("fcgi_stdout_64k");
    g.throughput(Throughput::Bytes(big_response.len() as u64));
    g.bench_function("fcgi-proto/app_encode", |b| {
        b.iter(|| ours_encode_response_len(black_box(&big_body)));
    });
    g.bench_function("fcgi-proto/app_encode_bytes", |b| {
        b.iter(|| ours_encode_response_shared(black_box(&big_shared)));
    });
    g.bench_function("fcgi-proto/server_decode", |b| {
        b.iter(|| {
            let mut conn = ServerConn::new(Limits::default());
            let _ = conn.begin_request(Role::Responder, true);
            ours_decode_response(&mut conn, black_box(&big_response))
        });
    });
    g.bench_function("fcgi-proto/exchange", |b| {
        b.iter(|| ours_exchange(black_box(&tiny_params), b"", black_box(&big_response)));
    });
    g.bench_function("fastcgi-client/exchange", |b| {
        b.iter(|| peer_exchange(black_box(&peer_tiny), b"", black_box(&big_response)));
    });
    g.bench_function("fcgi-proto/app_exchange", |b| {
        b.iter(|| ours_app_exchange(black_box(&tiny_request), black_box(&big_shared)));
    });
    g.bench_function("tokio-fastcgi/app_exchange", |b| {
        b.iter(|| peer_app_exchange(black_box(&tiny_request), black_box(&big_body)));
    });
    g.finish();

    let mut g = c.benchmark_group("fcgi_records");
    g.throughput(Throughput::Elements(count_records(&request_wire)));
    g.bench_function("fcgi-proto/app_decode_request", |b| {
        b.iter(|| ours_decode_request(black_box(&request_wire)));
    });
    g.throughput(Throughput::Elements(count_records(&big_response)));
    g.bench_function("fcgi-proto/server_decode_stdout_64k", |b| {
        b.iter(|| {
            let mut conn = ServerConn::new(Limits::default());
            let _ = conn.begin_request(Role::Responder, true);
            ours_decode_response(&mut conn, black_box(&big_response))
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
