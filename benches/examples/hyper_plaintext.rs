//! The hyper peer for the plaintext comparison: `GET /plaintext` answers `Hello, World!`,
//! on one current-thread tokio runtime (one worker, like `refserver --workers 1` and nginx
//! `worker_processes 1`). Prints `listening on http://ADDR/` once bound.
//!
//! `cargo run --release -p benches --example hyper_plaintext -- 127.0.0.1:18082`

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

async fn plaintext(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = if req.uri().path() == "/plaintext" {
        Response::builder()
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"Hello, World!")))
    } else {
        Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
    };
    Ok(response.unwrap_or_default())
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18082".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on http://{}/", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(plaintext))
                    .await;
            });
        }
    })
}
