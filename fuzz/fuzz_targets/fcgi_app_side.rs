#![no_main]
//! The application side fed arbitrary web-server bytes in arbitrary chunks,
//! answering every request: never panics, bounds what it holds, and
//! everything it transmits is well-formed FastCGI.

use fcgi_proto::record::{RecordDecoder, RecordType};
use fcgi_proto::{AppConn, AppEvent, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u16>)| {
    let (data, cuts) = input;
    let limits = Limits::default()
        .with_max_concurrent_requests(4)
        .with_max_params_bytes(1024)
        .with_send_buffer_bytes(2048);
    let mut app = AppConn::new(limits);
    let mut out = RecordDecoder::new();
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    points.sort_unstable();
    points.push(data.len());
    let mut start = 0;
    'feed: for p in points {
        app.feed(&data[start..p]);
        start = p;
        loop {
            match app.poll_event() {
                Ok(Some(ev)) => match ev {
                    AppEvent::StdinEnd { request_id } | AppEvent::AbortRequest { request_id } => {
                        let _ = app.send_stderr(request_id, b"e");
                        let n = if request_id % 2 == 0 {
                            app.send_stdout(request_id, b"Status: 200\r\n\r\nok")
                                .unwrap()
                        } else {
                            // A body over the copy threshold, through the zero-copy path.
                            let body = bytes::Bytes::from(vec![b'z'; 3000]);
                            app.send_stdout_bytes(request_id, body).unwrap()
                        };
                        assert!(n <= 3000);
                        app.end_request(request_id, 0).unwrap();
                    }
                    AppEvent::Params { params, .. } => assert!(!params.is_empty()),
                    _ => {}
                },
                Ok(None) => break,
                Err(e) if e.is_fatal() => break 'feed,
                Err(_) => {}
            }
            assert!(app.active_requests() <= 4);
        }
        while let Some(b) = app.poll_transmit() {
            out.feed(&b);
        }
        while let Some(r) = out.decode().expect("we transmit only version 1") {
            assert!(matches!(
                r.record_type,
                RecordType::Stdout
                    | RecordType::Stderr
                    | RecordType::EndRequest
                    | RecordType::GetValuesResult
                    | RecordType::UnknownType
            ));
        }
    }
});
