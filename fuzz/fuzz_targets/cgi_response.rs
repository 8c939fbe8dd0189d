#![no_main]
//! The CGI response parser on any bytes: never panics, and the same events come out
//! whether the input is fed whole or in the chunks the fuzzer picks.

use cgi_env::{Error, Limits, ResponseEvent, ResponseParser};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Outcome {
    head: Option<cgi_env::CgiResponse>,
    body: Vec<u8>,
    ended: bool,
    error: Option<Error>,
}

fn run(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = ResponseParser::new(limits);
    let mut out = Outcome {
        head: None,
        body: Vec::new(),
        ended: false,
        error: None,
    };
    let drain = |parser: &mut ResponseParser, out: &mut Outcome| loop {
        match parser.poll_event() {
            Ok(ResponseEvent::Head(head)) => {
                assert!(out.head.is_none());
                assert!((100..=599).contains(&head.status));
                for (name, value) in &head.headers {
                    assert!(!name.is_empty());
                    assert!(!value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0));
                }
                out.head = Some(head);
            }
            Ok(ResponseEvent::Body(b)) => {
                assert!(!b.is_empty() && out.head.is_some());
                out.body.extend_from_slice(&b);
            }
            Ok(ResponseEvent::End) => {
                out.ended = true;
                return false;
            }
            Ok(ResponseEvent::NeedData) => return true,
            Err(e) => {
                assert_eq!(parser.poll_event(), Err(e.clone()));
                out.error = Some(e);
                return false;
            }
        }
    };
    for chunk in chunks {
        parser.feed(chunk);
        if !drain(&mut parser, &mut out) {
            return out;
        }
    }
    parser.feed_eof();
    drain(&mut parser, &mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    // First byte: limits; second: chunk size for the split run.
    let (control, input) = match data {
        [a, b, rest @ ..] => ((*a, *b), rest),
        _ => ((0, 0), data),
    };
    let limits = if control.0 & 1 == 1 {
        Limits {
            max_header_bytes: 16 + usize::from(control.0),
            max_headers: usize::from(control.0 >> 4),
            ..Limits::default()
        }
    } else {
        Limits::default()
    };
    let whole = run(&[input], limits);
    let size = usize::from(control.1 % 17) + 1;
    let chunks: Vec<&[u8]> = input.chunks(size).collect();
    assert_eq!(run(&chunks, limits), whole);
    if let Some(head) = &whole.head {
        assert!(whole.error.is_none());
        if head.kind != cgi_env::ResponseKind::LocalRedirect {
            assert!(input.ends_with(&whole.body));
        }
    }
});
