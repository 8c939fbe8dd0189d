#![no_main]
//! The environment builder on arbitrary requests: never panics, names stay unique and
//! well-formed, no NUL reaches a value, and `Proxy` never becomes `HTTP_PROXY`.

use arbitrary::Arbitrary;
use cgi_env::{CgiRequest, Environment, ScriptResolution, isindex_words};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a [u8],
    target: &'a [u8],
    query: Option<&'a [u8]>,
    protocol: &'a [u8],
    server_name: &'a [u8],
    host: Option<&'a [u8]>,
    headers: Vec<(&'a [u8], &'a [u8])>,
    https: bool,
    pass_authorization: bool,
    content_length: Option<u64>,
}

fuzz_target!(|input: Input<'_>| {
    let request = CgiRequest {
        method: input.method,
        request_target: input.target,
        query: input.query,
        authority: input.host,
        protocol: input.protocol,
        server_name: input.server_name,
        https: input.https,
        pass_authorization: input.pass_authorization,
        content_length: input.content_length,
        ..CgiRequest::default()
    };
    let script = ScriptResolution::new(b"/s".to_vec(), b"/p".to_vec(), "/x/s".into(), "/x".into());
    let host = input.host.map(|h| (&b"Host"[..], h));
    let headers = host.into_iter().chain(input.headers.iter().copied());
    if let Ok(env) = Environment::build(&request, &script, headers) {
        let mut names: Vec<&[u8]> = env.iter().map(|(n, _)| n).collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total);
        assert_eq!(
            env.get(b"QUERY_STRING"),
            Some(input.query.unwrap_or_default())
        );
        for (name, value) in env.iter() {
            assert!(!value.contains(&0));
            assert!(!name.is_empty() && !name.contains(&b'='));
            assert_ne!(name, b"HTTP_PROXY");
            if !input.pass_authorization {
                assert_ne!(name, b"HTTP_AUTHORIZATION");
            }
        }
    }
    if let Some(words) = isindex_words(
        input.method,
        input.query.unwrap_or_default(),
        &cgi_env::Limits::default(),
    ) {
        assert!(
            words
                .iter()
                .all(|w| !w.is_empty() && !w.contains(&0) && w[0] != b'-')
        );
    }
});
