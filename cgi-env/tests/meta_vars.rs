//! The meta-variables, one test per RFC 3875 §4.1 rule (and per de-facto extra).
#![allow(clippy::type_complexity)] // Rule tables read best as inline literals.

use bytes::Bytes;
use cgi_env::{CgiRequest, Environment, Error, ScriptResolution};
use http_proto::RequestHead;

type Header<'a> = (&'a [u8], &'a [u8]);

/// The head http-proto parses from `text` (lines end in `\n`, sent as CRLF).
fn parse(text: &str) -> RequestHead {
    let raw = Bytes::from(text.replace('\n', "\r\n"));
    RequestHead::parse(&raw, &http_proto::Limits::default())
        .expect("valid head")
        .expect("complete head")
        .0
}

/// The environment of a parsed request, with the test's server facts.
fn build_from(head: &RequestHead, server_name: &[u8]) -> Environment {
    let r = CgiRequest {
        server_name,
        server_addr: "198.51.100.1:8080".parse().expect("addr"),
        ..CgiRequest::from_head(head)
    };
    Environment::build(&r, &script(b""), head.headers().iter()).expect("builds")
}

fn script(path_info: &[u8]) -> ScriptResolution {
    ScriptResolution::new(
        b"/cgi-bin/app.cgi".to_vec(),
        path_info.to_vec(),
        "/usr/lib/cgi-bin/app.cgi".into(),
        "/var/www".into(),
    )
}

fn request() -> CgiRequest<'static> {
    CgiRequest {
        method: b"GET",
        request_target: b"/cgi-bin/app.cgi/p/q?a=1&b=%20",
        query: Some(b"a=1&b=%20"),
        protocol: b"HTTP/1.1",
        remote_addr: "203.0.113.9:40000".parse().expect("addr"),
        server_addr: "198.51.100.1:8080".parse().expect("addr"),
        server_name: b"www.example.org",
        server_software: b"refserver/0.1",
        ..CgiRequest::default()
    }
}

fn build(request: &CgiRequest<'_>, path_info: &[u8], headers: &[Header<'_>]) -> Environment {
    Environment::build(request, &script(path_info), headers.iter().copied()).expect("builds")
}

fn get<'e>(env: &'e Environment, name: &str) -> Option<&'e str> {
    env.get(name.as_bytes())
        .map(|v| std::str::from_utf8(v).expect("utf-8"))
}

#[test]
fn always_set_variables() {
    let env = build(&request(), b"/p/q", &[]);
    let expected = [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "refserver/0.1"),
        ("SERVER_NAME", "www.example.org"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_PORT", "8080"),
        ("SERVER_ADDR", "198.51.100.1"),
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", "/cgi-bin/app.cgi/p/q?a=1&b=%20"),
        ("SCRIPT_NAME", "/cgi-bin/app.cgi"),
        ("SCRIPT_FILENAME", "/usr/lib/cgi-bin/app.cgi"),
        ("PATH_INFO", "/p/q"),
        ("PATH_TRANSLATED", "/var/www/p/q"),
        ("QUERY_STRING", "a=1&b=%20"),
        ("DOCUMENT_ROOT", "/var/www"),
        ("REMOTE_ADDR", "203.0.113.9"),
        ("REMOTE_PORT", "40000"),
        ("REMOTE_HOST", "203.0.113.9"),
        ("REQUEST_SCHEME", "http"),
        ("REDIRECT_STATUS", "200"),
    ];
    let got: Vec<(&str, &str)> = env
        .iter()
        .map(|(n, v)| {
            (
                std::str::from_utf8(n).expect("n"),
                std::str::from_utf8(v).expect("v"),
            )
        })
        .collect();
    assert_eq!(got, expected, "exact set and order");
}

#[test]
fn gateway_interface_is_cgi_1_1() {
    assert_eq!(
        get(&build(&request(), b"", &[]), "GATEWAY_INTERFACE"),
        Some("CGI/1.1")
    );
}

#[test]
fn query_string_is_the_query_http_proto_split_off() {
    // §4.1.7: MUST be set, "" when the URI has no query component; still URL-encoded,
    // case preserved; a fragment is not part of the query (RFC 3986 §3.5).
    let table: &[(&str, &str)] = &[
        ("GET /cgi-bin/app.cgi HTTP/1.1", ""),
        ("GET /cgi-bin/app.cgi? HTTP/1.1", ""),
        ("GET /x?Q=%2F%41+b HTTP/1.1", "Q=%2F%41+b"),
        ("GET /x?a?b HTTP/1.1", "a?b"),
        ("GET /x?a=1#frag HTTP/1.1", "a=1"),
        ("GET /x#frag?not-a-query HTTP/1.1", ""),
        ("GET http://h.test/x?q=1#f HTTP/1.1", "q=1"),
        ("GET http://h.test?q HTTP/1.1", "q"),
    ];
    for (line, query) in table {
        let head = parse(&format!("{line}\nHost: h.test\n\n"));
        let env = build_from(&head, b"");
        assert_eq!(get(&env, "QUERY_STRING"), Some(*query), "{line}");
        assert_eq!(
            env.get(b"QUERY_STRING"),
            Some(head.query().unwrap_or_default()),
            "{line}"
        );
        // REQUEST_URI stays the target as received.
        assert_eq!(env.get(b"REQUEST_URI"), Some(head.target()), "{line}");
    }
}

#[test]
fn path_info_and_path_translated_are_absent_when_null() {
    // §4.1.5 / §4.1.6: PATH_TRANSLATED MUST be NULL when PATH_INFO is.
    let env = build(&request(), b"", &[]);
    assert_eq!(get(&env, "PATH_INFO"), None);
    assert_eq!(get(&env, "PATH_TRANSLATED"), None);
    let env = build(&request(), b"/", &[]);
    assert_eq!(get(&env, "PATH_INFO"), Some("/"));
    assert_eq!(get(&env, "PATH_TRANSLATED"), Some("/var/www/"));
}

#[test]
fn script_name_is_set_even_when_empty() {
    // §4.1.13: the variable MUST be set even if the path is NULL.
    let s = ScriptResolution::new(Vec::new(), b"/x".to_vec(), "/app".into(), "/www".into());
    let env = Environment::build(&request(), &s, std::iter::empty::<Header<'_>>()).expect("ok");
    assert_eq!(get(&env, "SCRIPT_NAME"), Some(""));
}

#[test]
fn content_length_only_with_a_body() {
    // §4.1.2: set if and only if the request has a body.
    assert_eq!(get(&build(&request(), b"", &[]), "CONTENT_LENGTH"), None);
    let r = CgiRequest {
        method: b"POST",
        content_length: Some(0),
        ..request()
    };
    assert_eq!(get(&build(&r, b"", &[]), "CONTENT_LENGTH"), Some("0"));
    let r = CgiRequest {
        method: b"POST",
        content_length: Some(1234),
        ..request()
    };
    // The Content-Length field itself never becomes HTTP_CONTENT_LENGTH.
    let env = build(&r, b"", &[(b"Content-Length", b"1234")]);
    assert_eq!(get(&env, "CONTENT_LENGTH"), Some("1234"));
    assert_eq!(get(&env, "HTTP_CONTENT_LENGTH"), None);
}

#[test]
fn content_type_only_when_the_request_has_one() {
    // §4.1.3: set if the request has a Content-Type field; no default.
    assert_eq!(get(&build(&request(), b"", &[]), "CONTENT_TYPE"), None);
    let env = build(
        &request(),
        b"",
        &[(b"content-type", b"text/plain; charset=utf-8")],
    );
    assert_eq!(get(&env, "CONTENT_TYPE"), Some("text/plain; charset=utf-8"));
    assert_eq!(get(&env, "HTTP_CONTENT_TYPE"), None);
}

#[test]
fn auth_type_and_remote_user_only_after_authentication() {
    // §4.1.1 / §4.1.11.
    let env = build(
        &request(),
        b"",
        &[(b"Authorization", b"Basic YWxpY2U6c2VjcmV0")],
    );
    assert_eq!(get(&env, "AUTH_TYPE"), None);
    assert_eq!(get(&env, "REMOTE_USER"), None);
    assert_eq!(
        get(&env, "HTTP_AUTHORIZATION"),
        None,
        "credentials never leak"
    );
    let r = CgiRequest {
        auth_type: Some(b"Basic"),
        remote_user: Some(b"alice"),
        ..request()
    };
    let env = build(&r, b"", &[(b"Authorization", b"Basic YWxpY2U6c2VjcmV0")]);
    assert_eq!(get(&env, "AUTH_TYPE"), Some("Basic"));
    assert_eq!(get(&env, "REMOTE_USER"), Some("alice"));
    assert_eq!(get(&env, "HTTP_AUTHORIZATION"), None);
}

#[test]
fn authorization_passes_only_when_asked() {
    let r = CgiRequest {
        pass_authorization: true,
        ..request()
    };
    let env = build(
        &r,
        b"",
        &[
            (b"Authorization", b"Bearer t"),
            (b"Proxy-Authorization", b"Basic x"),
        ],
    );
    assert_eq!(get(&env, "HTTP_AUTHORIZATION"), Some("Bearer t"));
    assert_eq!(get(&env, "HTTP_PROXY_AUTHORIZATION"), Some("Basic x"));
    let env = build(&request(), b"", &[(b"Proxy-Authorization", b"Basic x")]);
    assert_eq!(get(&env, "HTTP_PROXY_AUTHORIZATION"), None);
}

#[test]
fn remote_host_falls_back_to_remote_addr() {
    // §4.1.9: the FQDN if available, else the server MAY substitute REMOTE_ADDR.
    assert_eq!(
        get(&build(&request(), b"", &[]), "REMOTE_HOST"),
        Some("203.0.113.9")
    );
    let r = CgiRequest {
        remote_host: Some(b"client.example.net"),
        ..request()
    };
    assert_eq!(
        get(&build(&r, b"", &[]), "REMOTE_HOST"),
        Some("client.example.net")
    );
}

#[test]
fn remote_ident_only_when_known() {
    // §4.1.10.
    assert_eq!(get(&build(&request(), b"", &[]), "REMOTE_IDENT"), None);
    let r = CgiRequest {
        remote_ident: Some(b"bob"),
        ..request()
    };
    assert_eq!(get(&build(&r, b"", &[]), "REMOTE_IDENT"), Some("bob"));
}

#[test]
fn addresses_ipv6_and_mapped_ipv4() {
    let r = CgiRequest {
        remote_addr: "[2001:db8::7]:443".parse().expect("v6"),
        server_addr: "[::ffff:192.0.2.1]:80".parse().expect("mapped"),
        ..request()
    };
    let env = build(&r, b"", &[]);
    assert_eq!(get(&env, "REMOTE_ADDR"), Some("2001:db8::7"));
    assert_eq!(get(&env, "REMOTE_PORT"), Some("443"));
    assert_eq!(get(&env, "SERVER_ADDR"), Some("192.0.2.1"));
    assert_eq!(get(&env, "SERVER_PORT"), Some("80"));
}

#[test]
fn request_method_and_protocol_are_passed_as_received() {
    // §4.1.12: case-sensitive; §4.1.16.
    let r = CgiRequest {
        method: b"PROPFIND",
        protocol: b"HTTP/1.0",
        ..request()
    };
    let env = build(&r, b"", &[]);
    assert_eq!(get(&env, "REQUEST_METHOD"), Some("PROPFIND"));
    assert_eq!(get(&env, "SERVER_PROTOCOL"), Some("HTTP/1.0"));
}

#[test]
fn server_name_falls_back_to_the_authority_then_address() {
    // §4.1.14 MUST be set: the configured name, else the host of the request's effective
    // authority (RFC 9112 §3.2.2: an absolute-form target's, not Host's), else the address.
    let table: &[(&str, &[u8], &str)] = &[
        ("GET / HTTP/1.1\nHost: site.test:8080\n\n", b"", "site.test"),
        ("GET / HTTP/1.1\nHost: [::1]:8080\n\n", b"", "[::1]"),
        ("GET / HTTP/1.1\nHost:\n\n", b"", "198.51.100.1"),
        ("GET / HTTP/1.0\n\n", b"", "198.51.100.1"),
        (
            "GET http://a.test:81/x HTTP/1.1\nHost: b.test\n\n",
            b"",
            "a.test",
        ),
        ("OPTIONS * HTTP/1.1\nHost: o.test\n\n", b"", "o.test"),
        // The configured name wins over the request's.
        (
            "GET / HTTP/1.1\nHost: evil.test\n\n",
            b"www.example.org",
            "www.example.org",
        ),
    ];
    for (text, configured, name) in table {
        let env = build_from(&parse(text), configured);
        assert_eq!(get(&env, "SERVER_NAME"), Some(*name), "{text:?}");
    }
    // Built by hand: the authority field, not a Host among the headers.
    let r = CgiRequest {
        server_name: b"",
        authority: Some(b"hand.test:1"),
        ..request()
    };
    assert_eq!(
        get(
            &build(&r, b"", &[(b"Host", b"ignored.test")]),
            "SERVER_NAME"
        ),
        Some("hand.test")
    );
}

#[test]
fn https_and_request_scheme() {
    assert_eq!(get(&build(&request(), b"", &[]), "HTTPS"), None);
    let r = CgiRequest {
        https: true,
        ..request()
    };
    let env = build(&r, b"", &[]);
    assert_eq!(get(&env, "HTTPS"), Some("on"));
    assert_eq!(get(&env, "REQUEST_SCHEME"), Some("https"));
}

#[test]
fn redirect_status_default_and_off() {
    assert_eq!(
        get(&build(&request(), b"", &[]), "REDIRECT_STATUS"),
        Some("200")
    );
    let r = CgiRequest {
        redirect_status: None,
        ..request()
    };
    assert_eq!(get(&build(&r, b"", &[]), "REDIRECT_STATUS"), None);
    let r = CgiRequest {
        redirect_status: Some(404),
        ..request()
    };
    assert_eq!(get(&build(&r, b"", &[]), "REDIRECT_STATUS"), Some("404"));
}

#[test]
fn http_variables_mapping_joining_and_order() {
    // §4.1.18.
    let headers: &[Header<'_>] = &[
        (b"Host", b"www.example.org"),
        (b"user-agent", b"curl/8"),
        (b"Accept", b"text/html"),
        (b"X-Forwarded-For", b"10.0.0.1"),
        (b"accept", b"*/*"),
        (b"Cookie", b"a=1"),
        (b"X-FORWARDED-FOR", b"10.0.0.2"),
        (b"Cookie", b"b=2"),
        (b"X-Empty", b""),
    ];
    let env = build(&request(), b"", headers);
    let http: Vec<(&[u8], &[u8])> = env
        .iter()
        .filter(|(n, _)| n.starts_with(b"HTTP_"))
        .collect();
    assert_eq!(
        http,
        [
            (&b"HTTP_HOST"[..], &b"www.example.org"[..]),
            (b"HTTP_USER_AGENT", b"curl/8"),
            (b"HTTP_ACCEPT", b"text/html, */*"),
            (b"HTTP_X_FORWARDED_FOR", b"10.0.0.1, 10.0.0.2"),
            (b"HTTP_COOKIE", b"a=1; b=2"),
            (b"HTTP_X_EMPTY", b""),
        ]
    );
    // HTTP_* come after every other variable.
    let first_http = env
        .iter()
        .position(|(n, _)| n.starts_with(b"HTTP_"))
        .expect("some");
    assert!(
        env.iter()
            .skip(first_http)
            .all(|(n, _)| n.starts_with(b"HTTP_"))
    );
}

#[test]
fn httpoxy_proxy_header_never_becomes_http_proxy() {
    for name in [&b"Proxy"[..], b"proxy", b"PROXY"] {
        let env = build(&request(), b"", &[(name, b"http://evil.example:8080")]);
        assert_eq!(get(&env, "HTTP_PROXY"), None);
        assert!(env.iter().all(|(_, v)| v != b"http://evil.example:8080"));
    }
    // Proxy-Connection and friends are other names and pass.
    let env = build(&request(), b"", &[(b"Proxy-Connection", b"keep-alive")]);
    assert_eq!(get(&env, "HTTP_PROXY_CONNECTION"), Some("keep-alive"));
}

#[test]
fn field_names_outside_letters_digits_and_hyphen_are_dropped() {
    // `X_Forwarded_For` would map onto the same variable as `X-Forwarded-For`.
    let headers: &[Header<'_>] = &[
        (b"X-Forwarded-For", b"10.0.0.1"),
        (b"X_Forwarded_For", b"6.6.6.6"),
        (b"X.Dot", b"1"),
        (b"", b"empty name"),
        (b"Caf\xc3\xa9", b"1"),
    ];
    let env = build(&request(), b"", headers);
    let http: Vec<&[u8]> = env
        .iter()
        .filter(|(n, _)| n.starts_with(b"HTTP_"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(http, [&b"HTTP_X_FORWARDED_FOR"[..]]);
    assert_eq!(get(&env, "HTTP_X_FORWARDED_FOR"), Some("10.0.0.1"));
}

#[test]
fn nul_bytes_are_refused() {
    let s = script(b"");
    let err = Environment::build(&request(), &s, [(&b"X-A"[..], &b"a\0b"[..])]).expect_err("nul");
    assert_eq!(
        err,
        Error::NulInVariable {
            name: b"HTTP_X_A".to_vec()
        }
    );
    let r = CgiRequest {
        query: Some(b"\0"),
        ..request()
    };
    let err = Environment::build(&r, &s, std::iter::empty::<Header<'_>>()).expect_err("nul");
    assert!(matches!(err, Error::NulInVariable { .. }));
    let r = CgiRequest {
        request_target: b"/x\0",
        ..request()
    };
    let err = Environment::build(&r, &s, std::iter::empty::<Header<'_>>()).expect_err("nul");
    assert_eq!(
        err,
        Error::NulInVariable {
            name: b"REQUEST_URI".to_vec()
        }
    );
}

#[test]
fn set_replaces_or_appends_and_remove_removes() {
    let mut env = build(&request(), b"", &[]);
    let n = env.len();
    env.set("GIT_PROJECT_ROOT", "/srv/git").expect("ok");
    env.set(&b"REDIRECT_STATUS"[..], &b"404"[..]).expect("ok");
    assert_eq!(env.len(), n + 1);
    assert_eq!(
        env.iter().last(),
        Some((&b"GIT_PROJECT_ROOT"[..], &b"/srv/git"[..]))
    );
    assert_eq!(get(&env, "REDIRECT_STATUS"), Some("404"));
    assert_eq!(env.remove(b"REDIRECT_STATUS").as_deref(), Some(&b"404"[..]));
    assert_eq!(env.remove(b"REDIRECT_STATUS"), None);
    assert!(matches!(
        env.set("A=B", "x"),
        Err(Error::InvalidVariableName { .. })
    ));
    assert!(matches!(
        env.set("", "x"),
        Err(Error::InvalidVariableName { .. })
    ));
    assert!(matches!(
        env.set("A", "x\0"),
        Err(Error::NulInVariable { .. })
    ));
    assert_eq!(env.as_slice().len(), env.len());
    assert!(!env.is_empty());
    assert!(Environment::default().is_empty());
    assert_eq!(env.clone().into_vec().len(), env.len());
}

#[test]
fn names_are_unique() {
    let headers: &[Header<'_>] = &[(b"A", b"1"), (b"a", b"2"), (b"B", b"3")];
    let env = build(&request(), b"/x", headers);
    let mut names: Vec<&[u8]> = env.iter().map(|(n, _)| n).collect();
    let total = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), total);
}

proptest::proptest! {
    /// Addresses and ports are written as `Display` writes them, whatever their digits.
    #[test]
    fn addresses_and_ports_read_as_display_writes_them(
        remote in proptest::prelude::any::<std::net::SocketAddrV4>(),
        server in proptest::prelude::any::<std::net::SocketAddrV6>(),
        length in proptest::prelude::any::<u64>(),
    ) {
        let r = CgiRequest {
            remote_addr: remote.into(),
            server_addr: server.into(),
            content_length: Some(length),
            ..request()
        };
        let env = build(&r, b"", &[]);
        let expected = [
            ("REMOTE_ADDR", remote.ip().to_string()),
            ("REMOTE_PORT", remote.port().to_string()),
            ("SERVER_ADDR", server.ip().to_canonical().to_string()),
            ("SERVER_PORT", server.port().to_string()),
            ("CONTENT_LENGTH", length.to_string()),
        ];
        for (name, value) in &expected {
            proptest::prop_assert_eq!(get(&env, name), Some(value.as_str()));
        }
    }
}
