//! Conformance tables: raw messages and the outcome RFC 9112 (as this crate reads it)
//! demands. Every case is also fed in every split and must give the same answer.
//!
//! Cases marked `llhttp:` are transcribed from llhttp's `test/request/*.md` and
//! `test/response/*.md` (input and accept/reject; our own test code). Where llhttp's
//! default answer differs from a strictness decision documented in `lib.rs`, the case
//! encodes our decision and says why.

mod support;

use http_proto::{ErrorKind, Framing, Limits, TargetForm, Version};
use support::{
    B, Ev, ReqSummary, assert_split_anywhere, crlf, folding, lenient_lf, run_body, run_client,
    run_request_head, run_response_heads,
};

/// What a request head must parse to.
#[derive(Debug, Clone)]
struct OkSpec {
    method: &'static str,
    target: &'static str,
    version: Version,
    form: TargetForm,
    framing: Framing,
    keep_alive: bool,
    headers: Vec<(&'static str, Vec<u8>)>,
    /// When set: `path()`, `query()` and `authority()` must be these.
    parts: Option<Parts>,
}

/// A target's parts as `RequestHead` reads them.
#[derive(Debug, Clone)]
struct Parts {
    path: &'static str,
    query: Option<&'static str>,
    authority: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum Expect {
    Ok(OkSpec),
    Err(ErrorKind, u16),
}

fn ok(method: &'static str, target: &'static str) -> OkSpec {
    OkSpec {
        method,
        target,
        version: Version::Http11,
        form: TargetForm::Origin,
        framing: Framing::None,
        keep_alive: true,
        headers: Vec::new(),
        parts: None,
    }
}

impl OkSpec {
    fn v10(mut self) -> Self {
        self.version = Version::Http10;
        self.keep_alive = false;
        self
    }
    fn form(mut self, form: TargetForm) -> Self {
        self.form = form;
        self
    }
    fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }
    fn keep_alive(mut self, keep_alive: bool) -> Self {
        self.keep_alive = keep_alive;
        self
    }
    /// The values of every field named `name` must be exactly the `hdr` calls for it, in order.
    fn hdr(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }
    /// The target's path, query and effective authority.
    fn parts(
        mut self,
        path: &'static str,
        query: Option<&'static str>,
        authority: Option<&'static str>,
    ) -> Self {
        self.parts = Some(Parts {
            path,
            query,
            authority,
        });
        self
    }
    fn done(self) -> Expect {
        Expect::Ok(self)
    }
}

fn err(kind: ErrorKind, status: u16) -> Expect {
    Expect::Err(kind, status)
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    limits: Limits,
    expect: Expect,
}

fn case(name: &'static str, input: impl Into<Input>, expect: Expect) -> Case {
    Case {
        name,
        input: input.into().0,
        limits: Limits::default(),
        expect,
    }
}

fn case_with(name: &'static str, input: impl Into<Input>, limits: Limits, expect: Expect) -> Case {
    Case {
        limits,
        ..case(name, input, expect)
    }
}

/// Case input: `&str` goes through [`crlf`], raw bytes are taken as they are.
struct Input(Vec<u8>);

impl From<&str> for Input {
    fn from(s: &str) -> Self {
        Self(crlf(s))
    }
}

impl From<&[u8]> for Input {
    fn from(b: &[u8]) -> Self {
        Self(b.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Input {
    fn from(b: &[u8; N]) -> Self {
        Self(b.to_vec())
    }
}

impl From<Vec<u8>> for Input {
    fn from(b: Vec<u8>) -> Self {
        Self(b)
    }
}

fn check_request(case: &Case) {
    let outcome = assert_split_anywhere(&case.input, |parts| run_request_head(parts, &case.limits));
    match (&case.expect, outcome) {
        (Expect::Ok(spec), Ok(Some((got, _rest)))) => check_spec(case.name, spec, &got),
        (Expect::Err(kind, status), Err(got)) => {
            assert_eq!(got, *kind, "{}: error kind", case.name);
            assert_eq!(got.status(), *status, "{}: status", case.name);
        }
        (expect, got) => panic!("{}: expected {expect:?}, got {got:?}", case.name),
    }
}

fn check_spec(name: &str, spec: &OkSpec, got: &ReqSummary) {
    assert_eq!(got.method, B::from(spec.method), "{name}: method");
    assert_eq!(got.target, B::from(spec.target), "{name}: target");
    assert_eq!(got.version, spec.version, "{name}: version");
    assert_eq!(got.form, spec.form, "{name}: target form");
    assert_eq!(got.framing, spec.framing, "{name}: framing");
    assert_eq!(got.keep_alive, spec.keep_alive, "{name}: keep-alive");
    if let Some(parts) = &spec.parts {
        assert_eq!(got.path, B::from(parts.path), "{name}: path()");
        assert_eq!(got.query, parts.query.map(B::from), "{name}: query()");
        assert_eq!(
            got.authority,
            parts.authority.map(B::from),
            "{name}: authority()"
        );
    }
    for (field, _) in &spec.headers {
        let want: Vec<B> = spec
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(field))
            .map(|(_, v)| B(v.clone()))
            .collect();
        let have: Vec<B> = got
            .headers
            .iter()
            .filter(|(n, _)| n.0.eq_ignore_ascii_case(field.as_bytes()))
            .map(|(_, v)| v.clone())
            .collect();
        assert_eq!(have, want, "{name}: values of {field}");
    }
}

fn run_table(cases: &[Case]) {
    let mut names = std::collections::HashSet::new();
    for case in cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
        check_request(case);
    }
}

fn small_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_headers = 3;
    limits.max_head_len = 64;
    limits.max_target_len = 16;
    limits
}

use ErrorKind as K;

#[test]
fn request_line_and_versions() {
    run_table(&[
        case(
            "simple GET",
            "GET / HTTP/1.1\nHost: a\n\n",
            ok("GET", "/").hdr("host", "a").done(),
        ),
        case(
            "HTTP/1.0 without Host",
            "GET / HTTP/1.0\n\n",
            ok("GET", "/").v10().done(),
        ),
        case(
            "path and query",
            "GET /a/b?c=d&e HTTP/1.1\nHost: a\n\n",
            ok("GET", "/a/b?c=d&e").done(),
        ),
        // RFC 9110 §9.1: the method is a case-sensitive token; unknown ones are the
        // application's to refuse (501/405), not the parser's.
        case(
            "extension method",
            "MKCOL /x HTTP/1.1\nHost: a\n\n",
            ok("MKCOL", "/x").done(),
        ),
        case(
            "lowercase method",
            "get / HTTP/1.1\nHost: a\n\n",
            ok("get", "/").done(),
        ),
        // llhttp: "Invalid method" (`MKCOLA`) and ANNOUNCE over HTTP: llhttp knows a fixed
        // method list per protocol; RFC 9110 says any token, so we accept both.
        case(
            "llhttp: MKCOLA",
            "MKCOLA / HTTP/1.1\nHost: a\n\n",
            ok("MKCOLA", "/").done(),
        ),
        case(
            "llhttp: ANNOUNCE over HTTP",
            "ANNOUNCE /music/sweet/music HTTP/1.0\nHost: example.com\n\n",
            ok("ANNOUNCE", "/music/sweet/music").v10().done(),
        ),
        case(
            "method with @",
            "G@T / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidMethod, 400),
        ),
        case(
            "empty method",
            " / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidMethod, 400),
        ),
        case(
            "tab after method",
            "GET\\t/ HTTP/1.1\nHost: a\n\n",
            err(K::InvalidMethod, 400),
        ),
        case(
            "two spaces after method",
            "GET  / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "HTTP/1.2 is 505",
            "GET / HTTP/1.2\nHost: a\n\n",
            err(K::UnsupportedVersion, 505),
        ),
        case(
            "HTTP/2.0 is 505",
            "GET / HTTP/2.0\nHost: a\n\n",
            err(K::UnsupportedVersion, 505),
        ),
        case(
            "HTTP/0.9 is 505",
            "GET / HTTP/0.9\n\n",
            err(K::UnsupportedVersion, 505),
        ),
        // llhttp answers "Invalid HTTP version" (400); a well-formed HTTP/DIGIT.DIGIT that
        // we do not speak is 505 (RFC 9110 §15.6.6).
        case(
            "llhttp: HTTP/5.6",
            "GET / HTTP/5.6\n\n",
            err(K::UnsupportedVersion, 505),
        ),
        case(
            "lowercase http",
            "GET / http/1.1\nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "HTTP/11",
            "GET / HTTP/11\nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "HTTP/1",
            "GET / HTTP/1\nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "HTTP/1.x",
            "GET / HTTP/1.x\nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "HTTP/1.10",
            "GET / HTTP/1.10\nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "space after version",
            "GET / HTTP/1.1 \nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "no version (HTTP/0.9 simple request)",
            "GET /\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "llhttp: ICE protocol",
            "GET /music/sweet/music ICE/1.0\nHost: example.com\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "llhttp: IHTTP protocol",
            "GET /music/sweet/music IHTTP/1.0\nHost: example.com\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "llhttp: RTSP protocol",
            "PUT /music/sweet/music RTSP/1.0\nHost: example.com\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "leading empty line",
            "\nGET / HTTP/1.1\nHost: a\n\n",
            ok("GET", "/").done(),
        ),
        case(
            "four leading empty lines",
            "\n\n\n\nGET / HTTP/1.1\nHost: a\n\n",
            ok("GET", "/").done(),
        ),
        case(
            "five leading empty lines",
            "\n\n\n\n\nGET / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidRequestLine, 400),
        ),
        case(
            "leading bare CR",
            "\\rGET / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidMethod, 400),
        ),
        case(
            "leading bare LF",
            "\\nGET / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidMethod, 400),
        ),
        case_with(
            "leading bare LF, lenient",
            "\\nGET / HTTP/1.1\nHost: a\n\n",
            lenient_lf(),
            ok("GET", "/").done(),
        ),
    ]);
}

#[test]
fn request_targets() {
    run_table(&[
        case(
            "absolute-form",
            "GET http://example.com/x?y HTTP/1.1\nHost: example.com\n\n",
            ok("GET", "http://example.com/x?y")
                .form(TargetForm::Absolute)
                .done(),
        ),
        case(
            "authority-form with CONNECT",
            "CONNECT example.com:443 HTTP/1.1\nHost: example.com:443\n\n",
            ok("CONNECT", "example.com:443")
                .form(TargetForm::Authority)
                .done(),
        ),
        case(
            "authority-form IPv6 with CONNECT",
            "CONNECT [::1]:443 HTTP/1.1\nHost: [::1]:443\n\n",
            ok("CONNECT", "[::1]:443")
                .form(TargetForm::Authority)
                .done(),
        ),
        case(
            "CONNECT without port",
            "CONNECT example.com HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "CONNECT with empty port",
            "CONNECT example.com: HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "CONNECT with userinfo",
            "CONNECT user@example.com:443 HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "CONNECT with two colons",
            "CONNECT a:b:443 HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "CONNECT with a bad IPv6 literal",
            "CONNECT [zz]:443 HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "CONNECT with origin-form",
            "CONNECT / HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "CONNECT with absolute-form",
            "CONNECT http://a:80/ HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "authority-form outside CONNECT",
            "GET 127.0.0.1:80 HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "asterisk-form with OPTIONS",
            "OPTIONS * HTTP/1.1\nHost: a\n\n",
            ok("OPTIONS", "*").form(TargetForm::Asterisk).done(),
        ),
        case(
            "asterisk-form with GET",
            "GET * HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "relative target",
            "GET a/b HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "NUL in target",
            "GET /a\\0b HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "tab in target",
            "GET /a\\tb HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "raw UTF-8 in target",
            &b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            err(K::InvalidTarget, 400),
        ),
        case(
            "DEL in target",
            &b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            err(K::InvalidTarget, 400),
        ),
        case(
            "llhttp: fragment in target",
            "POST /post_identity_body_world?q=search#hey HTTP/1.1\nHost: a\nContent-Length: 5\n\nWorld",
            ok("POST", "/post_identity_body_world?q=search#hey")
                .framing(Framing::Length(5))
                .done(),
        ),
        case_with(
            "target at the limit",
            "GET /aaaaaaaaaaaaaaa HTTP/1.1\nHost: a\n\n",
            small_limits(),
            ok("GET", "/aaaaaaaaaaaaaaa").done(),
        ),
        case_with(
            "target past the limit is 414",
            "GET /aaaaaaaaaaaaaaaa HTTP/1.1\nHost: a\n\n",
            small_limits(),
            err(K::TargetTooLong, 414),
        ),
    ]);
}

#[test]
fn default_target_limit_is_414() {
    let mut input = b"GET /".to_vec();
    input.resize(5 + 8 * 1024, b'a');
    input.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        run_request_head(&[&input], &Limits::default()).map_err(|k| k.status()),
        Err(414)
    );
}

#[test]
fn header_fields() {
    run_table(&[
        case("whitespace before colon", "GET / HTTP/1.1\nHost : a\n\n", err(K::WhitespaceBeforeColon, 400)),
        case("tab before colon", "GET / HTTP/1.1\nHost\\t: a\n\n", err(K::WhitespaceBeforeColon, 400)),
        case("spaces then tab before colon", "GET / HTTP/1.1\nHost  \\t: a\n\n", err(K::WhitespaceBeforeColon, 400)),
        case("space inside a name", "GET / HTTP/1.1\nHost: a\nBad Name: x\n\n", err(K::InvalidHeaderName, 400)),
        case("space ending a line with no colon", "GET / HTTP/1.1\nHost: a\nBad \n\n", err(K::InvalidHeaderName, 400)),
        case("llhttp: invalid header token @", "GET / HTTP/1.1\nFo@: Failure\n\n", err(K::InvalidHeaderName, 400)),
        case("llhttp: NUL in name", "GET / HTTP/1.1\nFoo\\0test: Bar\n\n", err(K::InvalidHeaderName, 400)),
        case("llhttp: empty name", "GET / HTTP/1.1\n: Bar\n\n", err(K::InvalidHeaderName, 400)),
        case("name without colon", "GET / HTTP/1.1\nHost: a\nFoo\n\n", err(K::InvalidHeaderName, 400)),
        case(
            "llhttp: illegal field name line folding",
            "GET / HTTP/1.1\nname\n : value\n\n",
            err(K::InvalidHeaderName, 400),
        ),
        case(
            "llhttp: corrupted Connection header",
            &b"GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection\r\x1b5\xd5eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n"[..],
            err(K::InvalidHeaderName, 400),
        ),
        case("NUL in value", "GET / HTTP/1.1\nHost: a\nX: a\\0b\n\n", err(K::InvalidHeaderValue, 400)),
        case("DEL in value", &b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n"[..], err(K::InvalidHeaderValue, 400)),
        case("control byte in value", &b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"[..], err(K::InvalidHeaderValue, 400)),
        case("llhttp: headers separated by CR", "GET / HTTP/1.1\nFoo: 1\\rBar: 2\n\n", err(K::BareCr, 400)),
        case(
            "llhttp: empty headers separated by CR",
            "POST / HTTP/1.1\nHost: localhost:5000\nx:\\rTransfer-Encoding: chunked\n\n1\nA\n0\n\n",
            err(K::BareCr, 400),
        ),
        case(
            "llhttp: headers separated by dummy characters",
            "GET / HTTP/1.1\nConnection: close\nHost: a\n\\rZGET /evil: HTTP/1.1\nHost: a\n\n",
            err(K::BareCr, 400),
        ),
        case(
            "llhttp: headers separated by LF",
            "POST / HTTP/1.1\nHost: localhost:5000\nx:x\\nTransfer-Encoding: chunked\n\n1\nA\n0\n\n",
            err(K::BareLf, 400),
        ),
        case(
            "llhttp: missing CR between headers (smuggling)",
            "GET / HTTP/1.1\nHost: localhost\nDummy: x\\nContent-Length: 23\n\nGET / HTTP/1.1\nDummy: GET /admin HTTP/1.1\nHost: localhost\n\n",
            err(K::BareLf, 400),
        ),
        case_with(
            "bare LF inside the head, lenient",
            "GET / HTTP/1.1\nHost: a\nx:x\\nY: z\n\n",
            lenient_lf(),
            ok("GET", "/").hdr("x", "x").hdr("y", "z").done(),
        ),
        case(
            "obs-text in value",
            &b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"[..],
            ok("GET", "/").hdr("x", b"caf\xc3\xa9").done(),
        ),
        case(
            "tab inside value, whitespace around it trimmed",
            "GET / HTTP/1.1\nHost: a\nX:  \\ta\\tb \\t\n\n",
            ok("GET", "/").hdr("x", "a\tb").done(),
        ),
        case("empty value", "GET / HTTP/1.1\nHost: a\nX:\nY:   \n\n", ok("GET", "/").hdr("x", "").hdr("y", "").done()),
        case(
            "repeated fields kept in order",
            "GET / HTTP/1.1\nHost: a\nX: 1\nx: 2\nX: 3\n\n",
            ok("GET", "/").hdr("x", "1").hdr("x", "2").hdr("x", "3").done(),
        ),
        case("obs-fold rejected", "GET / HTTP/1.1\nHost: a\nX: a\n b\n\n", err(K::ObsFold, 400)),
        case("obs-fold with tab rejected", "GET / HTTP/1.1\nHost: a\nX: a\n\\tb\n\n", err(K::ObsFold, 400)),
        case(
            "llhttp: spaces before headers (smuggling)",
            "POST /hello HTTP/1.1\nHost: localhost\nFoo: bar\n Content-Length: 38\n\nGET /bye HTTP/1.1\nHost: localhost\n\n",
            err(K::ObsFold, 400),
        ),
        case(
            "llhttp: whitespace after the start line",
            "GET / HTTP/1.1\n Host: foo\n\n",
            err(K::ObsFold, 400),
        ),
        case_with(
            "whitespace after the start line, even with folding",
            "GET / HTTP/1.1\n Host: foo\n\n",
            folding(),
            err(K::ObsFold, 400),
        ),
        case_with(
            "obs-fold folded to spaces",
            "GET / HTTP/1.1\nHost: a\nX: a\n b\nY: c\n\n",
            folding(),
            ok("GET", "/").hdr("x", "a   b").hdr("y", "c").done(),
        ),
        case_with(
            "obs-fold twice",
            "GET / HTTP/1.1\nHost: a\nX: a\n b\n\\tc\n\n",
            folding(),
            ok("GET", "/").hdr("x", "a   b   c").done(),
        ),
        case_with(
            "obs-fold after an empty first line is trimmed",
            "GET / HTTP/1.1\nHost: a\nX:\n b\n\n",
            folding(),
            ok("GET", "/").hdr("x", "b").done(),
        ),
        case_with(
            "obs-fold of only whitespace is trimmed",
            "GET / HTTP/1.1\nHost: a\nX: a\n \n\n",
            folding(),
            ok("GET", "/").hdr("x", "a").done(),
        ),
        // Framing and connection facts must read a folded value as the application sees
        // it (line breaks as spaces), not miss a token after the fold.
        case_with(
            "folded Connection list still says close",
            "GET / HTTP/1.1\nHost: a\nConnection: keep-alive,\n close\n\n",
            folding(),
            ok("GET", "/").keep_alive(false).hdr("connection", "keep-alive,   close").done(),
        ),
        case_with(
            "folded Content-Length list merges",
            "POST / HTTP/1.1\nHost: a\nContent-Length: 5,\n 5\n\n",
            folding(),
            ok("POST", "/").framing(Framing::Length(5)).done(),
        ),
        case_with(
            "folded Transfer-Encoding",
            "POST / HTTP/1.1\nHost: a\nTransfer-Encoding:\n chunked\n\n",
            folding(),
            ok("POST", "/").framing(Framing::Chunked).hdr("transfer-encoding", "chunked").done(),
        ),
        case_with(
            "folded Transfer-Encoding list ending in chunked",
            "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip,\n chunked\n\n",
            folding(),
            err(K::UnsupportedTransferCoding, 501),
        ),
        case("bare LF ends the head", "GET / HTTP/1.1\nHost: a\n\\n", err(K::BareLf, 400)),
        case("bare LF after the request-line", "GET / HTTP/1.1\\nHost: a\n\n", err(K::BareLf, 400)),
        case("bare CR after the request-line", "GET / HTTP/1.1\\rHost: a\n\n", err(K::BareCr, 400)),
        case_with(
            "all bare LF, lenient",
            "GET / HTTP/1.1\\nHost: a\\nX: y\\n\\n",
            lenient_lf(),
            ok("GET", "/").hdr("host", "a").hdr("x", "y").done(),
        ),
        case_with(
            "three fields at a limit of three",
            "GET / HTTP/1.1\nHost: a\nB: 1\nC: 2\n\n",
            small_limits(),
            ok("GET", "/").done(),
        ),
        case_with(
            "four fields past a limit of three is 431",
            "GET / HTTP/1.1\nHost: a\nB: 1\nC: 2\nD: 3\n\n",
            small_limits(),
            err(K::TooManyHeaders, 431),
        ),
        case_with(
            // 64 bytes exactly: 16 + 9 + 37 + 2.
            "head at the size limit",
            "GET / HTTP/1.1\nHost: a\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n",
            small_limits(),
            ok("GET", "/").done(),
        ),
        case_with(
            "head one byte past the size limit is 431",
            "GET / HTTP/1.1\nHost: a\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n",
            small_limits(),
            err(K::HeadTooLarge, 431),
        ),
    ]);
}

#[test]
fn too_many_headers_at_default_limits() {
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..100 {
        input.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        run_request_head(&[&input], &Limits::default()).map_err(|k| (k, k.status())),
        Err((K::TooManyHeaders, 431))
    );
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    input.resize(17 * 1024, b'v');
    assert_eq!(
        run_request_head(&[&input], &Limits::default()).map_err(|k| (k, k.status())),
        Err((K::HeadTooLarge, 431))
    );
}

#[test]
fn host_rules() {
    run_table(&[
        case(
            "missing Host in 1.1",
            "GET / HTTP/1.1\nX: y\n\n",
            err(K::MissingHost, 400),
        ),
        case(
            "duplicate Host",
            "GET / HTTP/1.1\nHost: a\nHost: a\n\n",
            err(K::DuplicateHost, 400),
        ),
        case(
            "duplicate Host in 1.0",
            "GET / HTTP/1.0\nHost: a\nHost: b\n\n",
            err(K::DuplicateHost, 400),
        ),
        case(
            "empty Host",
            "GET / HTTP/1.1\nHost:\n\n",
            ok("GET", "/").hdr("host", "").done(),
        ),
        case(
            "Host with port",
            "GET / HTTP/1.1\nhOsT: a.b:8080\n\n",
            ok("GET", "/").hdr("host", "a.b:8080").done(),
        ),
        case(
            "IPv6 Host",
            "GET / HTTP/1.1\nHost: [::1]:80\n\n",
            ok("GET", "/").hdr("host", "[::1]:80").done(),
        ),
        case(
            "Host with a space",
            "GET / HTTP/1.1\nHost: a b\n\n",
            err(K::InvalidHost, 400),
        ),
        case(
            "Host with userinfo",
            "GET / HTTP/1.1\nHost: u@a\n\n",
            err(K::InvalidHost, 400),
        ),
        case(
            "Host with a path",
            "GET / HTTP/1.1\nHost: a/b\n\n",
            err(K::InvalidHost, 400),
        ),
        case(
            "Host with a bad port",
            "GET / HTTP/1.1\nHost: a:b\n\n",
            err(K::InvalidHost, 400),
        ),
    ]);
}

#[test]
fn content_length_rules() {
    let cl = |v: &str| format!("POST / HTTP/1.1\nHost: a\nContent-Length: {v}\n\n");
    run_table(&[
        case(
            "Content-Length 5",
            cl("5").as_str(),
            ok("POST", "/").framing(Framing::Length(5)).done(),
        ),
        case(
            "Content-Length 0",
            cl("0").as_str(),
            ok("POST", "/").framing(Framing::None).done(),
        ),
        case(
            "llhttp: Content-Length with zeroes",
            cl("003").as_str(),
            ok("POST", "/").framing(Framing::Length(3)).done(),
        ),
        case(
            "llhttp: spaces around Content-Length",
            "POST / HTTP/1.1\nHost: a\nContent-Length:  42 \n\n",
            ok("POST", "/").framing(Framing::Length(42)).done(),
        ),
        case(
            "llhttp: funky Content-Length name case",
            "GET /get_funky_content_length_body_hello HTTP/1.0\nconTENT-Length: 5\n\nHELLO",
            ok("GET", "/get_funky_content_length_body_hello")
                .v10()
                .framing(Framing::Length(5))
                .done(),
        ),
        case(
            "largest Content-Length",
            cl("18446744073709551615").as_str(),
            ok("POST", "/").framing(Framing::Length(u64::MAX)).done(),
        ),
        case(
            "Content-Length +5",
            cl("+5").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "Content-Length -1",
            cl("-1").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "Content-Length 0x5",
            cl("0x5").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "llhttp: Content-Length 4 2",
            cl("4 2").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "llhttp: Content-Length 13 37",
            cl("13 37").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "llhttp: empty Content-Length",
            cl("").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "Content-Length 5.0",
            cl("5.0").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "Content-Length overflow by one",
            cl("18446744073709551616").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "llhttp: Content-Length overflow",
            cl("1000000000000000000000").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "Content-Length 5, 5 merged",
            cl("5, 5").as_str(),
            ok("POST", "/").framing(Framing::Length(5)).done(),
        ),
        case(
            "Content-Length 5,5,5 merged",
            cl("5,5,5").as_str(),
            ok("POST", "/").framing(Framing::Length(5)).done(),
        ),
        case(
            "Content-Length 5, 6 in one field",
            cl("5, 6").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "Content-Length with an empty element",
            cl("5,,5").as_str(),
            err(K::InvalidContentLength, 400),
        ),
        case(
            "two identical Content-Length fields merged",
            "POST / HTTP/1.1\nHost: a\nContent-Length: 5\nContent-Length: 5\n\n",
            ok("POST", "/").framing(Framing::Length(5)).done(),
        ),
        case(
            "llhttp: duplicate conflicting Content-Length",
            "PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nContent-Length: 2\n\n",
            err(K::ConflictingContentLength, 400),
        ),
        case(
            "llhttp: CR instead of dash in Content-Length",
            "PUT /url HTTP/1.1\nContent\\rLength: 003\n\nabc",
            err(K::InvalidHeaderName, 400),
        ),
    ]);
}

#[test]
fn transfer_encoding_rules() {
    let te = |v: &str| format!("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: {v}\n\n");
    run_table(&[
        case(
            "chunked",
            te("chunked").as_str(),
            ok("POST", "/").framing(Framing::Chunked).done(),
        ),
        case(
            "CHUNKED any case",
            te("CHUNKED").as_str(),
            ok("POST", "/").framing(Framing::Chunked).done(),
        ),
        case(
            "llhttp: chunked with trailing space",
            te("chunked ").as_str(),
            ok("POST", "/").framing(Framing::Chunked).done(),
        ),
        case(
            "last coding not chunked",
            te("chunked, gzip").as_str(),
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "llhttp: chunked before deflate",
            te("chunked, deflate").as_str(),
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "llhttp: pigeons",
            te("pigeons").as_str(),
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "identity",
            te("identity").as_str(),
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "llhttp: chunkedchunked",
            te("chunkedchunked").as_str(),
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "llhttp: empty Transfer-Encoding",
            te("").as_str(),
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "chunked twice",
            te("chunked, chunked").as_str(),
            err(K::ChunkedRepeated, 400),
        ),
        case(
            "chunked twice over two fields",
            "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked\n\n",
            err(K::ChunkedRepeated, 400),
        ),
        // llhttp accepts `deflate, chunked` and leaves deflate to the caller; we decode only
        // chunked, so a coding under it is 501 (RFC 9112 §6.1: MAY answer 501).
        case(
            "gzip, chunked is 501",
            te("gzip, chunked").as_str(),
            err(K::UnsupportedTransferCoding, 501),
        ),
        case(
            "llhttp: deflate, chunked is 501",
            te("deflate, chunked").as_str(),
            err(K::UnsupportedTransferCoding, 501),
        ),
        case(
            "llhttp: deflate then chunked over two fields is 501",
            "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: deflate\nTransfer-Encoding: chunked\n\n",
            err(K::UnsupportedTransferCoding, 501),
        ),
        case(
            "llhttp: chunked then deflate over two fields",
            "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: deflate\n\n",
            err(K::ChunkedNotLast, 400),
        ),
        case(
            "chunked with a parameter",
            te("chunked;q=1").as_str(),
            // A syntax error, not an unknown coding: 400.
            err(K::InvalidTransferEncoding, 400),
        ),
        case(
            "an empty coding name",
            te(";x=1, chunked").as_str(),
            err(K::InvalidTransferEncoding, 400),
        ),
        // Both fields: rejected, the documented choice (lib.rs; RFC 9112 §6.3 ¶3).
        case(
            "TE and CL",
            "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nContent-Length: 5\n\n",
            err(K::ContentLengthWithTransferEncoding, 400),
        ),
        case(
            "CL and TE",
            "POST / HTTP/1.1\nHost: a\nContent-Length: 5\nTransfer-Encoding: chunked\n\n",
            err(K::ContentLengthWithTransferEncoding, 400),
        ),
        case(
            "llhttp: CL with TE identity",
            "PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nTransfer-Encoding: identity\n\n",
            err(K::ContentLengthWithTransferEncoding, 400),
        ),
        // llhttp's lenient mode reads this with TE; by default it rejects, as we do.
        case(
            "llhttp: CL with TE chunked",
            "PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nTransfer-Encoding: chunked\n\n",
            err(K::ContentLengthWithTransferEncoding, 400),
        ),
        case(
            "TE in HTTP/1.0",
            "POST / HTTP/1.0\nTransfer-Encoding: chunked\n\n",
            err(K::TransferEncodingInHttp10, 400),
        ),
        case(
            "llhttp: obs-fold after chunked",
            "PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n  abc\n\n5\nWorld\n0\n\n",
            err(K::ObsFold, 400),
        ),
    ]);
}

#[test]
fn connection_and_expect() {
    run_table(&[
        case(
            "1.1 persists",
            "GET / HTTP/1.1\nHost: a\n\n",
            ok("GET", "/").keep_alive(true).done(),
        ),
        case(
            "1.1 close",
            "GET / HTTP/1.1\nHost: a\nConnection: close\n\n",
            ok("GET", "/").keep_alive(false).done(),
        ),
        case(
            "1.1 CLOSE any case",
            "GET / HTTP/1.1\nHost: a\nConnection: CLOSE\n\n",
            ok("GET", "/").keep_alive(false).done(),
        ),
        case(
            "1.1 close in a list",
            "GET / HTTP/1.1\nHost: a\nConnection: keep-alive, close\n\n",
            ok("GET", "/").keep_alive(false).done(),
        ),
        case(
            "1.1 close in a second field",
            "GET / HTTP/1.1\nHost: a\nConnection: upgrade\nConnection: close\n\n",
            ok("GET", "/").keep_alive(false).done(),
        ),
        case(
            "1.0 closes",
            "GET / HTTP/1.0\n\n",
            ok("GET", "/").v10().done(),
        ),
        case(
            "1.0 keep-alive",
            "GET / HTTP/1.0\nConnection: keep-alive\n\n",
            ok("GET", "/").v10().keep_alive(true).done(),
        ),
        case(
            "1.0 keep-alive and close",
            "GET / HTTP/1.0\nConnection: keep-alive, close\n\n",
            ok("GET", "/").v10().keep_alive(false).done(),
        ),
        case(
            "closed is not close",
            "GET / HTTP/1.1\nHost: a\nConnection: closed\n\n",
            ok("GET", "/").keep_alive(true).done(),
        ),
    ]);
    let head = |text: &str| {
        run_request_head(&[&crlf(text)], &Limits::default())
            .expect("valid")
            .expect("complete")
            .0
    };
    assert!(
        head("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 1\n\n")
            .expects_continue
    );
    assert!(
        head("POST / HTTP/1.1\nHost: a\nExpect: 100-CONTINUE\nTransfer-Encoding: chunked\n\n")
            .expects_continue
    );
    assert!(
        !head("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\n\n").expects_continue,
        "no body"
    );
    assert!(
        !head("POST / HTTP/1.0\nExpect: 100-continue\nContent-Length: 1\n\n").expects_continue,
        "1.0"
    );
    assert!(
        head("GET / HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\n").wants_upgrade
    );
    assert!(
        !head("GET / HTTP/1.1\nHost: a\nUpgrade: websocket\n\n").wants_upgrade,
        "not in Connection"
    );
    assert!(head("CONNECT a:1 HTTP/1.1\nHost: a:1\n\n").wants_upgrade);
    assert!(
        !head("GET / HTTP/1.0\nConnection: Upgrade\nUpgrade: websocket\n\n").wants_upgrade,
        "RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored"
    );
}

/// Whole requests, heads and bodies, from llhttp's samples, through a parser and decoder.
#[test]
fn llhttp_request_samples_with_bodies() {
    let all = |text: &str| {
        let input = crlf(text);
        assert_split_anywhere(&input, |parts| {
            support::run_requests(parts, &Limits::default())
        })
    };
    let data = |events: &[Ev]| -> Vec<B> {
        events
            .iter()
            .filter_map(|e| match e {
                Ev::Data(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    };
    let events = all("PUT /url HTTP/1.1\nHost: a\nContent-Length: 003\nOhai: world\n\nabc");
    assert_eq!(data(&events), [B::from("abc")]);
    assert_eq!(events.last(), Some(&Ev::End(vec![])));

    let events = all(
        "POST /two_chunks_mult_zero_end HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\nhello\n6\n world\n000\n\n",
    );
    assert_eq!(data(&events), [B::from("hello world")]);
    assert_eq!(events.last(), Some(&Ev::End(vec![])));

    let events = all(
        "POST /chunked_w_trailing_headers HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\nhello\n6\n world\n0\nVary: *\nContent-Type: text/plain\n\n",
    );
    assert_eq!(
        events.last(),
        Some(&Ev::End(vec![
            (B::from("Vary"), B::from("*")),
            (B::from("Content-Type"), B::from("text/plain")),
        ]))
    );

    let events = all(
        "POST /post_identity_body_world?q=search#hey HTTP/1.1\nHost: a\nAccept: */*\nTransfer-Encoding: chunked\n\n5\nWorld\n0\n\nGET / HTTP/1.1\nHost: b\n\n",
    );
    assert_eq!(data(&events), [B::from("World")]);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Ev::Request(_)))
            .count(),
        2
    );
    assert_eq!(events.last(), Some(&Ev::End(vec![])));

    // llhttp "Only LFs present": rejected by default, accepted when bare LF is allowed.
    let only_lf = "POST / HTTP/1.1\\nHost: a\\nTransfer-Encoding: chunked\\nTrailer: Baz\\nFoo: abc\\nBar: def\\n\\n1\\nA\\n1;abc\\nB\\n1;def=ghi\\nC\\n1;jkl=\"mno\"\\nD\\n0\\nBaz: ghi\\n\\n";
    assert_eq!(
        support::run_requests(&[&crlf(only_lf)], &Limits::default()),
        [Ev::Error(K::BareLf)]
    );
    let events = assert_split_anywhere(&crlf(only_lf), |parts| {
        support::run_requests(parts, &lenient_lf())
    });
    assert_eq!(data(&events), [B::from("ABCD")]);
    assert_eq!(
        events.last(),
        Some(&Ev::End(vec![(B::from("Baz"), B::from("ghi"))]))
    );
}

// ---------------------------------------------------------------------------------------
// Chunked bodies.

enum BodyExpect {
    Ok(&'static str, Vec<(&'static str, &'static str)>),
    Err(ErrorKind),
}

fn check_chunked(name: &str, input: &[u8], limits: &Limits, expect: &BodyExpect) {
    let events = assert_split_anywhere(input, |parts| {
        run_body(parts, Framing::Chunked, limits, false)
    });
    let data: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            Ev::Data(d) => Some(d.0.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    match expect {
        BodyExpect::Ok(body, trailers) => {
            assert_eq!(B(data), B::from(*body), "{name}: data");
            let want: Vec<(B, B)> = trailers
                .iter()
                .map(|(n, v)| (B::from(*n), B::from(*v)))
                .collect();
            assert!(
                events.contains(&Ev::End(want.clone())),
                "{name}: expected end with {want:?}, got {events:?}"
            );
        }
        BodyExpect::Err(kind) => {
            assert_eq!(events.last(), Some(&Ev::Error(*kind)), "{name}: {events:?}");
        }
    }
}

#[test]
fn chunked_bodies() {
    let okb = |body: &'static str| BodyExpect::Ok(body, vec![]);
    let cases: Vec<(&str, Vec<u8>, Limits, BodyExpect)> = vec![
        (
            "one chunk",
            crlf("5\nhello\n0\n\n"),
            Limits::default(),
            okb("hello"),
        ),
        (
            "llhttp: lowercase size",
            crlf("a\n0123456789\n0\n\n"),
            Limits::default(),
            okb("0123456789"),
        ),
        (
            "llhttp: uppercase size",
            crlf("A\n0123456789\n0\n\n"),
            Limits::default(),
            okb("0123456789"),
        ),
        ("empty body", crlf("0\n\n"), Limits::default(), okb("")),
        (
            "leading zeros",
            crlf("0005\nhello\n000\n\n"),
            Limits::default(),
            okb("hello"),
        ),
        (
            "llhttp: all your base",
            crlf("1e\nall your base are belong to us\n0\n\n"),
            Limits::default(),
            okb("all your base are belong to us"),
        ),
        (
            "sixteen hex digits that fit",
            crlf("0000000000000005\nhello\n0\n\n"),
            Limits::default(),
            okb("hello"),
        ),
        (
            "seventeen hex digits overflow",
            crlf("10000000000000000\nx\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkSize),
        ),
        (
            "largest size is too large a body",
            crlf("ffffffffffffffff\nx\n"),
            Limits::default(),
            BodyExpect::Err(K::BodyTooLarge),
        ),
        (
            "negative size",
            crlf("-1\nx\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkSize),
        ),
        (
            "0x prefix",
            crlf("0x5\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkSize),
        ),
        (
            "empty size line",
            crlf("\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkSize),
        ),
        (
            "llhttp: missing last chunk",
            crlf("3\nfoo\n\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkSize),
        ),
        (
            "llhttp: chunk data not followed by CRLF",
            crlf("5\nABCDE0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkTerminator),
        ),
        (
            "data followed by CR alone",
            crlf("5\nhello\\rX0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkTerminator),
        ),
        (
            "llhttp: chunk size line ended by CR CR",
            crlf("5\\r\\r;ABCD\n34\nE\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::BareCr),
        ),
        (
            "llhttp: extensions",
            crlf(
                "5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\nhello\n6;blahblah;blah\n world\n0\n\n",
            ),
            Limits::default(),
            okb("hello world"),
        ),
        (
            "llhttp: quoted extensions",
            crlf(
                "5;ilovew3=\"I \\\\\"love\\\\\"; \\\\\\\\extensions\\\\\\\\\";somuchlove=\"aretheseparametersfor\";blah;foo=bar\nhello\n6;blahblah;blah\n world\n0\n\n",
            ),
            Limits::default(),
            okb("hello world"),
        ),
        (
            "llhttp: unbalanced quote in extension",
            crlf("5;ilovew3=\"abc\";somuchlove=\"def; ghi\nhello\n6;blahblah;blah\n world\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "extension with spaces",
            crlf("5 ; a = b ;c\nhello\n0;z\n\n"),
            Limits::default(),
            okb("hello"),
        ),
        (
            "llhttp: no extension after semicolon",
            crlf("2;\naa\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "llhttp: no semicolon before extension",
            crlf("2 erfrferferf\naa\n0 rrrr\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "llhttp: space after chunk size",
            crlf("a \n0123456789\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "extension value missing",
            crlf("5;a=\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "extension name invalid",
            crlf("5;@\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "extension value with =",
            crlf("5;a=b=c\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "NUL in quoted extension",
            crlf("5;a=\"\\0\"\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkExtension),
        ),
        (
            "trailers",
            crlf("5\nhello\n0\nExpires: never\nX-Sum:  1 \n\n"),
            Limits::default(),
            BodyExpect::Ok("hello", vec![("Expires", "never"), ("X-Sum", "1")]),
        ),
        (
            "trailer with space before colon",
            crlf("0\nX : y\n\n"),
            Limits::default(),
            BodyExpect::Err(K::WhitespaceBeforeColon),
        ),
        (
            "trailer with NUL",
            crlf("0\nX: a\\0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidHeaderValue),
        ),
        (
            "trailer obs-fold",
            crlf("0\nX: a\n b\n\n"),
            Limits::default(),
            BodyExpect::Err(K::ObsFold),
        ),
        (
            "trailer bare CR",
            crlf("0\nX: a\\rb\n\n"),
            Limits::default(),
            BodyExpect::Err(K::BareCr),
        ),
        (
            "bare LF after size",
            crlf("5\\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::BareLf),
        ),
        (
            "bare LF after extension",
            crlf("5;a\\nhello\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::BareLf),
        ),
        (
            "bare LF after data",
            crlf("5\nhello\\n0\n\n"),
            Limits::default(),
            BodyExpect::Err(K::InvalidChunkTerminator),
        ),
        (
            "bare LF ends trailers",
            crlf("0\nX: y\n\\n"),
            Limits::default(),
            BodyExpect::Err(K::BareLf),
        ),
        (
            "bare LF after last chunk",
            crlf("0\\n\n"),
            Limits::default(),
            BodyExpect::Err(K::BareLf),
        ),
        (
            "bare LF everywhere, lenient",
            crlf("5\\nhello\\n3;a=b\\nabc\\n0\\nX: y\\n\\n"),
            lenient_lf(),
            BodyExpect::Ok("helloabc", vec![("X", "y")]),
        ),
    ];
    for (name, input, limits, expect) in &cases {
        check_chunked(name, input, limits, expect);
    }
}

#[test]
fn chunk_extension_and_trailer_limits() {
    let limits = Limits::default();
    let mut at_limit = b"5;".to_vec();
    at_limit.resize(2 + limits.max_chunk_ext_len, b'a');
    at_limit.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    check_chunked(
        "extension at the limit",
        &at_limit,
        &limits,
        &BodyExpect::Ok("hello", vec![]),
    );
    let mut too_long = b"5;".to_vec();
    too_long.resize(3 + limits.max_chunk_ext_len, b'a');
    too_long.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    check_chunked(
        "extension past the limit",
        &too_long,
        &limits,
        &BodyExpect::Err(K::InvalidChunkExtension),
    );

    let mut small = Limits::default();
    small.max_trailer_len = 16;
    check_chunked(
        "trailers within the limit",
        &crlf("0\nX: 012345678\n\n"),
        &small,
        &BodyExpect::Ok("", vec![("X", "012345678")]),
    );
    check_chunked(
        "trailers past the limit",
        &crlf("0\nX: 0123456789\n\n"),
        &small,
        &BodyExpect::Err(K::HeadTooLarge),
    );
    let mut few = Limits::default();
    few.max_headers = 1;
    check_chunked(
        "too many trailers",
        &crlf("0\nA: 1\nB: 2\n\n"),
        &few,
        &BodyExpect::Err(K::TooManyHeaders),
    );
    let mut small_body = Limits::default();
    small_body.max_body_len = 4;
    check_chunked(
        "chunk larger than the body limit",
        &crlf("5\nhello\n0\n\n"),
        &small_body,
        &BodyExpect::Err(K::BodyTooLarge),
    );
    check_chunked(
        "chunks adding up past the body limit",
        &crlf("3\nhel\n2\nlo\n0\n\n"),
        &small_body,
        &BodyExpect::Err(K::BodyTooLarge),
    );
}

#[test]
fn bodies_leave_the_next_message_alone() {
    let events = assert_split_anywhere(&crlf("5\nhello\n0\nX: y\n\nGET /next"), |parts| {
        run_body(parts, Framing::Chunked, &Limits::default(), false)
    });
    assert_eq!(
        events,
        [
            Ev::Data(B::from("hello")),
            Ev::End(vec![(B::from("X"), B::from("y"))]),
            Ev::Rest(B::from("GET /next")),
        ]
    );
    let events = assert_split_anywhere(b"helloGET", |parts| {
        run_body(parts, Framing::Length(5), &Limits::default(), false)
    });
    assert_eq!(
        events,
        [
            Ev::Data(B::from("hello")),
            Ev::End(vec![]),
            Ev::Rest(B::from("GET"))
        ]
    );
    let events = assert_split_anywhere(b"hel", |parts| {
        run_body(parts, Framing::Length(5), &Limits::default(), true)
    });
    assert_eq!(
        events,
        [Ev::Data(B::from("hel")), Ev::Error(K::IncompleteMessage)]
    );
    let events = assert_split_anywhere(b"all of it", |parts| {
        run_body(parts, Framing::CloseDelimited, &Limits::default(), true)
    });
    assert_eq!(events, [Ev::Data(B::from("all of it")), Ev::End(vec![])]);
    let events = assert_split_anywhere(&crlf("5\nhel"), |parts| {
        run_body(parts, Framing::Chunked, &Limits::default(), true)
    });
    assert_eq!(
        events,
        [Ev::Data(B::from("hel")), Ev::Error(K::IncompleteMessage)]
    );
}

// ---------------------------------------------------------------------------------------
// Responses.

#[test]
fn status_lines() {
    let parse = |text: &str| {
        let input = crlf(text);
        let events = assert_split_anywhere(&input, |parts| {
            run_response_heads(parts, &Limits::default())
        });
        match events.first() {
            Some(Ev::Response(r)) => Ok((r.version, r.status, r.reason.clone(), r.keep_alive)),
            Some(Ev::Error(kind)) => Err(*kind),
            other => panic!("{text:?}: {other:?}"),
        }
    };
    let v11 = Version::Http11;
    assert_eq!(
        parse("HTTP/1.1 200 OK\n\n"),
        Ok((v11, 200, B::from("OK"), true))
    );
    assert_eq!(
        parse("HTTP/1.1 404 Not Found\n\n"),
        Ok((v11, 404, B::from("Not Found"), true))
    );
    assert_eq!(
        parse("HTTP/1.1 200\n\n"),
        Ok((v11, 200, B::from(""), true)),
        "no SP before an empty reason"
    );
    assert_eq!(
        parse("HTTP/1.1 200 \n\n"),
        Ok((v11, 200, B::from(""), true))
    );
    assert_eq!(
        parse("HTTP/1.1 999 X\n\n"),
        Ok((v11, 999, B::from("X"), true))
    );
    assert_eq!(
        parse("HTTP/1.1 100 Continue\n\n"),
        Ok((v11, 100, B::from("Continue"), true))
    );
    assert_eq!(
        parse("HTTP/1.1 200 OK\\tfine\n\n"),
        Ok((v11, 200, B::from("OK\tfine"), true))
    );
    assert_eq!(
        parse("HTTP/1.0 200 OK\n\n"),
        Ok((Version::Http10, 200, B::from("OK"), false))
    );
    assert_eq!(
        parse("HTTP/1.0 200 OK\nConnection: keep-alive\n\n"),
        Ok((Version::Http10, 200, B::from("OK"), true))
    );
    assert_eq!(
        parse("HTTP/1.1 200 OK\nConnection: close\n\n"),
        Ok((v11, 200, B::from("OK"), false))
    );
    for bad in [
        "HTTP/1.1 099 Low\n\n",
        "HTTP/1.1 20 OK\n\n",
        "HTTP/1.1 2000 OK\n\n",
        "HTTP/1.1  200 OK\n\n",
        "HTTP/1.1 2x0 OK\n\n",
        "HTTP/1.1 200OK\n\n",
        "HTTP/1.1 200 O\\0K\n\n",
        "HTTP/1.1 200 O\\rK\n\n",
        "HTTP/1.1 200 OK\\n\n",
        "HTTP/2.0 200 OK\n\n",
        "HTTP/1.2 200 OK\n\n",
        "http/1.1 200 OK\n\n",
        "HTTP/1.1\n\n",
        "ICY 200 OK\n\n",
    ] {
        assert_eq!(parse(bad), Err(K::InvalidStatusLine), "{bad:?}");
    }
    assert_eq!(
        parse("HTTP/1.1 200 OK\nX : y\n\n"),
        Err(K::WhitespaceBeforeColon)
    );
    assert_eq!(parse("HTTP/1.1 200 OK\nX: a\n b\n\n"), Err(K::ObsFold));
}

/// Response framing as the client reads it (RFC 9112 §6.3).
#[test]
fn response_framing() {
    let read = |methods: &[&str], text: &str, eof: bool| {
        let input = crlf(text);
        assert_split_anywhere(&input, |parts| {
            run_client(methods, parts, &Limits::default(), eof)
        })
    };
    let body = |events: &[Ev]| -> Option<B> {
        events.iter().find_map(|e| match e {
            Ev::Data(d) => Some(d.clone()),
            _ => None,
        })
    };
    // Content-Length.
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
        false,
    );
    assert_eq!(body(&events), Some(B::from("hello")));
    assert_eq!(events.last(), Some(&Ev::End(vec![])));
    // llhttp (response/content-length.md): duplicate, conflicting lengths are an error.
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nContent-Length: 1\nContent-Length: 2\n\nab",
        false,
    );
    assert_eq!(events, [Ev::Error(K::ConflictingContentLength)]);
    // Chunked.
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
        false,
    );
    assert_eq!(body(&events), Some(B::from("hello")));
    assert_eq!(events.last(), Some(&Ev::End(vec![])));
    // TE and CL in a response: TE wins (RFC 9112 §6.3 ¶3) and the connection closes after.
    let events = read(
        &["GET", "GET"],
        "HTTP/1.1 200 OK\nContent-Length: 100\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
        false,
    );
    assert_eq!(body(&events), Some(B::from("hello")));
    assert_eq!(events.last(), Some(&Ev::Closed), "{events:?}");
    // A coding under chunked is the caller's to undo: the chunks are still decoded.
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n3\nxyz\n0\n\n",
        false,
    );
    assert_eq!(body(&events), Some(B::from("xyz")));
    // Chunked not last: read until close (RFC 9112 §6.3 ¶4).
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked, gzip\n\nraw bytes",
        true,
    );
    assert_eq!(body(&events), Some(B::from("raw bytes")));
    assert_eq!(events.last(), Some(&Ev::Closed));
    // Close-delimited.
    let events = read(&["GET"], "HTTP/1.1 200 OK\n\nuntil the end", true);
    assert_eq!(body(&events), Some(B::from("until the end")));
    assert!(events.contains(&Ev::End(vec![])));
    // HEAD: Content-Length describes the GET response; no body follows.
    let events = read(
        &["HEAD", "GET"],
        "HTTP/1.1 200 OK\nContent-Length: 5\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
        false,
    );
    assert_eq!(body(&events), Some(B::from("hi")));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Ev::Response(_)))
            .count(),
        2
    );
    // 204 and 304 have no body whatever they say.
    for status in ["204 No Content", "304 Not Modified"] {
        let text = format!(
            "HTTP/1.1 {status}\nContent-Length: 5\n\nHTTP/1.1 200 OK\nContent-Length: 1\n\nx"
        );
        let events = read(&["GET", "GET"], &text, false);
        assert_eq!(body(&events), Some(B::from("x")), "{status}");
    }
    // 1xx, then the final response.
    let events = read(
        &["POST"],
        "HTTP/1.1 100 Continue\n\nHTTP/1.1 103 Early Hints\nLink: </a>\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok",
        false,
    );
    assert!(matches!(&events[0], Ev::Informational(r) if r.status == 100));
    assert!(matches!(&events[1], Ev::Informational(r) if r.status == 103));
    assert!(matches!(&events[2], Ev::Response(r) if r.status == 200));
    assert_eq!(body(&events), Some(B::from("ok")));
}

/// Runs of small chunks wholly in the buffer are joined in place by the decoder; cut
/// anywhere, the same bytes arrive a piece at a time. Both give the same data, trailers
/// and errors, at the same byte.
#[test]
fn runs_of_small_chunks_give_the_same_events_in_every_split() {
    let mut body = Vec::new();
    let mut expected = String::new();
    for (i, size) in [4096usize, 7, 1, 38, 600, 2, 3].into_iter().enumerate() {
        let fill = char::from(b'a' + u8::try_from(i).expect("few chunks"));
        let ext = if i == 5 { ";n=v" } else { "" };
        body.extend_from_slice(format!("{size:x}{ext}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(fill as u8, size));
        body.extend_from_slice(b"\r\n");
        expected.extend(std::iter::repeat_n(fill, size));
    }
    let mut with_trailer = body.clone();
    with_trailer.extend_from_slice(b"0\r\nT: v\r\n\r\n");
    check_chunked(
        "small chunks after big ones, with an extension and a trailer",
        &with_trailer,
        &Limits::default(),
        &BodyExpect::Ok(expected.leak(), vec![("T", "v")]),
    );
    let mut small = Limits::default();
    small.max_body_len = 4096 + 7 + 1 + 38 + 1;
    body.extend_from_slice(b"0\r\n\r\n");
    check_chunked(
        "the body limit reached inside a run",
        &body,
        &small,
        &BodyExpect::Err(K::BodyTooLarge),
    );
    let mut tail = b"1\r\na\r\n".repeat(40);
    tail.extend_from_slice(b"1\r\nb\r\r0\r\n\r\n");
    check_chunked(
        "a bad chunk end after forty joined chunks",
        &tail,
        &Limits::default(),
        &BodyExpect::Err(K::InvalidChunkTerminator),
    );
}

#[test]
fn body_limits_give_the_same_events_in_every_split() {
    let mut limits = Limits::default();
    limits.max_body_len = 4;
    let events = assert_split_anywhere(b"hello", |parts| {
        run_body(parts, Framing::CloseDelimited, &limits, true)
    });
    assert_eq!(
        events,
        [Ev::Data(B::from("hell")), Ev::Error(K::BodyTooLarge)]
    );
    let events = assert_split_anywhere(b"hello", |parts| {
        run_body(parts, Framing::Length(5), &limits, false)
    });
    assert_eq!(events, [Ev::Error(K::BodyTooLarge)]);
    let events = assert_split_anywhere(b"hell", |parts| {
        run_body(parts, Framing::CloseDelimited, &limits, true)
    });
    assert_eq!(events, [Ev::Data(B::from("hell")), Ev::End(vec![])]);
}

/// llhttp's `test/request/uri.md`. Its inputs are HTTP/1.1 requests without `Host`, which
/// RFC 9112 §3.2 makes a 400 here; we add `Host: a` to test what the case is about.
#[test]
fn llhttp_uri_corpus() {
    run_table(&[
        case(
            "llhttp: quotes in URI",
            "GET /with_\"lovely\"_quotes?foo=\\\\\"bar\\\\\" HTTP/1.1\nHost: a\n\n",
            ok("GET", "/with_\"lovely\"_quotes?foo=\\\"bar\\\"").done(),
        ),
        case(
            "llhttp: question mark in query",
            "GET /test.cgi?foo=bar?baz HTTP/1.1\nHost: a\n\n",
            ok("GET", "/test.cgi?foo=bar?baz").done(),
        ),
        case(
            "llhttp: host terminated by a query string",
            "GET http://hypnotoad.org?hail=all HTTP/1.1\nHost: a\n\n",
            ok("GET", "http://hypnotoad.org?hail=all")
                .form(TargetForm::Absolute)
                .done(),
        ),
        case(
            "llhttp: host:port terminated by a query string",
            "GET http://hypnotoad.org:1234?hail=all HTTP/1.1\nHost: a\n\n",
            ok("GET", "http://hypnotoad.org:1234?hail=all")
                .form(TargetForm::Absolute)
                .done(),
        ),
        case(
            "llhttp: vertical bar in query",
            "GET /test.cgi?query=| HTTP/1.1\nHost: a\n\n",
            ok("GET", "/test.cgi?query=|").done(),
        ),
        case(
            "llhttp: host:port terminated by a space",
            "GET http://hypnotoad.org:1234 HTTP/1.1\nHost: a\n\n",
            ok("GET", "http://hypnotoad.org:1234")
                .form(TargetForm::Absolute)
                .done(),
        ),
        case(
            "llhttp: UTF-8 in path",
            "GET /\u{3b4}\u{b6}/\u{3b4}t/pope?q=1#narf HTTP/1.1\nHost: github.com\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "llhttp: fragment in URI",
            "GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\nHost: a\n\n",
            ok("GET", "/forums/1/topics/2375?page=1#posts-17408").done(),
        ),
        case(
            "llhttp: underscore in CONNECT host",
            "CONNECT home_0.netscape.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\nProxy-authorization: basic aGVsbG86d29ybGQ=\n\n",
            ok("CONNECT", "home_0.netscape.com:443")
                .v10()
                .form(TargetForm::Authority)
                .done(),
        ),
        // llhttp accepts it; RFC 9110 §4.2.4 deprecates userinfo in http(s) URIs and asks
        // recipients to treat it as an error (it is a phishing device): 400 here.
        case(
            "llhttp: userinfo in absolute-form",
            "GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "llhttp: space in URI",
            "GET /foo bar/ HTTP/1.1\nHost: a\n\n",
            err(K::InvalidVersion, 400),
        ),
        // The unmodified input: no Host in HTTP/1.1.
        case(
            "llhttp: fragment in URI, no Host",
            "GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\n\n",
            err(K::MissingHost, 400),
        ),
    ]);
}

/// llhttp's `test/request/connection.md`.
#[test]
fn llhttp_connection_corpus() {
    run_table(&[
        case(
            "llhttp: keep-alive token",
            "PUT /url HTTP/1.1\nHost: a\nConnection: keep-alive\n\n",
            ok("PUT", "/url").keep_alive(true).done(),
        ),
        case(
            "llhttp: close token",
            "PUT /url HTTP/1.1\nHost: a\nConnection: close\n\n",
            ok("PUT", "/url").keep_alive(false).done(),
        ),
        case(
            "llhttp: multiple tokens",
            "PUT /url HTTP/1.1\nHost: a\nConnection: close, token, upgrade, token, keep-alive\n\n",
            ok("PUT", "/url").keep_alive(false).done(),
        ),
        // llhttp folds by default; obs-fold is a 400 here unless `fold_obs_fold` is set.
        case(
            "llhttp: multiple tokens with folding",
            "GET /demo HTTP/1.1\nHost: example.com\nConnection: Something,\n Upgrade, ,Keep-Alive\nUpgrade: WebSocket\n\nHot diggity dogg",
            err(K::ObsFold, 400),
        ),
        case_with(
            "llhttp: multiple tokens with folding, folded",
            "GET /demo HTTP/1.1\nHost: example.com\nConnection: Something,\n Upgrade, ,Keep-Alive\nUpgrade: WebSocket\n\nHot diggity dogg",
            folding(),
            ok("GET", "/demo")
                .hdr("connection", "Something,   Upgrade, ,Keep-Alive")
                .done(),
        ),
        case_with(
            "llhttp: folding with LWS and CRLF",
            "GET /demo HTTP/1.1\nHost: a\nConnection: keep-alive, \n upgrade\nUpgrade: WebSocket\n\nHot diggity dogg",
            folding(),
            ok("GET", "/demo")
                .hdr("connection", "keep-alive,    upgrade")
                .done(),
        ),
    ]);
    let folded = run_request_head(
        &[&crlf(
            "GET /demo HTTP/1.1\nHost: a\nConnection: Something,\n Upgrade, ,Keep-Alive\nUpgrade: WebSocket\n\n",
        )],
        &folding(),
    );
    assert!(
        folded.expect("valid").expect("complete").0.wants_upgrade,
        "Upgrade after a fold counts"
    );

    // Conversations through a server connection.
    let server = |text: &str| {
        let input = crlf(text);
        assert_split_anywhere(&input, |parts| {
            support::run_server(parts, &Limits::default(), false)
        })
    };
    let requests = |events: &[Ev]| {
        events
            .iter()
            .filter(|e| matches!(e, Ev::Request(_)))
            .count()
    };
    // "Restarting when keep-alive is explicit": two requests.
    let events = server(
        "PUT /url HTTP/1.1\nHost: a\nConnection: keep-alive\n\nPUT /url HTTP/1.1\nHost: a\nConnection: keep-alive\n\n",
    );
    assert_eq!(requests(&events), 2);
    // "No restart when keep-alive is off (1.0)": the second request is never read.
    let events = server("PUT /url HTTP/1.0\n\nPUT /url HTTP/1.1\nHost: a\n\n");
    assert_eq!(requests(&events), 1);
    assert_eq!(events.last(), Some(&Ev::MustClose(true)));
    // "CRLF between requests, implicit keep-alive": the empty line before the next
    // request-line is ignored (RFC 9112 §2.2). The second request has no Host: 400 here.
    let events = server(
        "POST / HTTP/1.1\nHost: www.example.com\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 4\n\nq=42\n\nGET / HTTP/1.1\n\n",
    );
    assert!(events.contains(&Ev::Data(B::from("q=42"))));
    assert!(events.contains(&Ev::Error(K::MissingHost)));
    let events = server(
        "POST / HTTP/1.1\nHost: www.example.com\nContent-Length: 4\n\nq=42\n\nGET / HTTP/1.1\nHost: a\n\n",
    );
    assert_eq!(requests(&events), 2);
    // "CRLF between requests, explicit close" (llhttp strict mode): nothing more is read.
    let events = server(
        "POST / HTTP/1.1\nHost: www.example.com\nContent-Length: 4\nConnection: close\n\nq=42\n\nGET / HTTP/1.1\nHost: a\n\n",
    );
    assert_eq!(requests(&events), 1);
    // "Emitting part of body and pausing" / "Upgrade POST request": the body is read, the
    // bytes after it belong to the new protocol.
    let events = server(
        "PUT /url HTTP/1.1\nHost: a\nConnection: upgrade\nContent-Length: 4\nUpgrade: ws\n\nabcdefgh",
    );
    assert!(events.contains(&Ev::Data(B::from("abcd"))));
    assert!(events.contains(&Ev::Upgraded(B::from("efgh"))));
    let events = server(
        "POST /demo HTTP/1.1\nHost: example.com\nConnection: Upgrade\nUpgrade: HTTP/2.0\nContent-Length: 15\n\nsweet post bodyHot diggity dogg",
    );
    assert!(events.contains(&Ev::Data(B::from("sweet post body"))));
    assert!(events.contains(&Ev::Upgraded(B::from("Hot diggity dogg"))));
}

/// llhttp's `test/response/*.md`, through a client connection that sent GET (or HEAD).
#[test]
fn llhttp_response_corpus() {
    let read = |methods: &[&str], text: &str, eof: bool| {
        let input = crlf(text);
        assert_split_anywhere(&input, |parts| {
            run_client(methods, parts, &Limits::default(), eof)
        })
    };
    let body = |events: &[Ev]| -> Option<B> {
        events.iter().find_map(|e| match e {
            Ev::Data(d) => Some(d.clone()),
            _ => None,
        })
    };
    // invalid.md: malformed status lines.
    for bad in [
        "HTP/1.1 200 OK\n\n",
        "HTTP/01.1 200 OK\n\n",
        "HTTP/11.1 200 OK\n\n",
        "HTTP/1.01 200 OK\n\n",
        "HTTP/1.1\\t200 OK\n\n",
        "\\rHTTP/1.1\\t200 OK\n\n",
        "HTTP/5.6 200 OK\n\n",
        "HTTP/1.1  200 OK\n\n",
        "HTTP/1.1 2 OK\n\n",
        "HTTP/1.1 200 OK\\nContent-Length: 0\\n\\n",
    ] {
        assert_eq!(
            read(&["GET"], bad, false),
            [Ev::Error(K::InvalidStatusLine)],
            "{bad:?}"
        );
    }
    assert_eq!(
        read(&["GET"], "HTTP/1.1 200 OK\nFoo: 1\\rBar: 2\n\n", false),
        [Ev::Error(K::BareCr)]
    );
    assert_eq!(
        read(&["GET"], "HTTP/1.1 200 OK\n Host: foo\n\n", false),
        [Ev::Error(K::ObsFold)]
    );
    // "Extra space between status code and reason": accepted, the reason keeps it.
    let events = read(&["GET"], "HTTP/1.1 200  OK\nContent-Length: 0\n\n", false);
    assert!(matches!(&events[0], Ev::Response(r) if r.reason == B::from(" OK")));
    // "Only LFs present and no body (lenient)".
    let input = crlf("HTTP/1.1 200 OK\\nContent-Length: 0\\n\\n");
    let events = assert_split_anywhere(&input, |parts| {
        run_client(&["GET"], parts, &lenient_lf(), false)
    });
    assert_eq!(events.last(), Some(&Ev::End(vec![])));

    // transfer-encoding.md. llhttp rejects an empty Transfer-Encoding; a response whose
    // codings do not end in chunked is read until close (RFC 9112 §6.3 ¶4), and so is this.
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nTransfer-Encoding:\nContent-Length: 5\n\nhello",
        true,
    );
    assert_eq!(body(&events), Some(B::from("hello")));
    assert_eq!(events.last(), Some(&Ev::Closed));
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nContent-Type: text/plain\nTransfer-Encoding: chunked\n\n25  \nThis is the data in the first chunk\n\n1C\nand this is the second one\n\n0  \n\n",
        false,
    );
    assert_eq!(
        events.last(),
        Some(&Ev::Error(K::InvalidChunkExtension)),
        "trailing space after a chunk size"
    );
    for te in ["chunked, deflate", "chunkedchunked"] {
        let events = read(
            &["GET"],
            &format!("HTTP/1.1 200 OK\nAccept: */*\nTransfer-Encoding: {te}\n\nWorld"),
            true,
        );
        assert_eq!(body(&events), Some(B::from("World")), "{te}");
    }
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nAccept: */*\nTransfer-Encoding: chunked\nTransfer-Encoding: identity\n\nWorld",
        true,
    );
    assert_eq!(body(&events), Some(B::from("World")));
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nHost: localhost\nTransfer-encoding: chunked\n\n5;ilovew3;somuchlove=aretheseparametersfor\nhello\n6;blahblah;blah\n world\n0\n\n",
        false,
    );
    assert_eq!(body(&events), Some(B::from("hello world")));
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nHost: localhost\nTransfer-Encoding: chunked\n\n5;ilovew3=\"I love; extensions\";somuchlove=\"aretheseparametersfor\";blah;foo=bar\nhello\n6;blahblah;blah\n world\n0\n\n",
        false,
    );
    assert_eq!(body(&events), Some(B::from("hello world")));
    for (chunks, kind) in [
        ("2 erfrferferf\naa\n0 rrrr\n\n", K::InvalidChunkExtension),
        ("2;\naa\n0\n\n", K::InvalidChunkExtension),
        (
            "5;ilovew3=\"abc\";somuchlove=\"def; ghi\nhello\n0\n\n",
            K::InvalidChunkExtension,
        ),
    ] {
        let text =
            format!("HTTP/1.1 200 OK\nHost: localhost\nTransfer-encoding: chunked\n\n{chunks}");
        assert_eq!(
            read(&["GET"], &text, false).last(),
            Some(&Ev::Error(kind)),
            "{chunks:?}"
        );
    }

    // content-length.md.
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nServer: Apache\nContent-Type: text/xml; charset=utf-8\nConnection: close\n\n<?xml version=\"1.0\"?>\\n<SOAP-ENV:Envelope/>",
        true,
    );
    assert_eq!(
        body(&events),
        Some(B::from("<?xml version=\"1.0\"?>\n<SOAP-ENV:Envelope/>"))
    );
    assert_eq!(events.last(), Some(&Ev::Closed));
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nContent-Length-X: 0\nTransfer-Encoding: chunked\n\n2\nOK\n0\n\n",
        false,
    );
    assert_eq!(body(&events), Some(B::from("OK")));
    let events = read(
        &["HEAD", "HEAD"],
        "HTTP/1.1 200 OK\nContent-Length: 123\n\nHTTP/1.1 200 OK\nContent-Length: 456\n\n",
        false,
    );
    assert_eq!(events.iter().filter(|e| matches!(e, Ev::End(_))).count(), 2);
    assert_eq!(body(&events), None);
    let events = read(
        &["GET"],
        "HTTP/1.1 200 OK\nContent-Length:\\t42\\t\n\n",
        false,
    );
    assert!(matches!(&events[0], Ev::Response(r) if r.headers[0].1 == B::from("42")));
    assert_eq!(events.len(), 1, "waiting for 42 body bytes");
}

/// RFC 9112 §3.2 and RFC 9110 §4.2: each target form, its parts (`path()`, `query()`,
/// `authority()`), and the absolute-form rules checked at parse time.
#[test]
fn target_forms_and_their_parts() {
    let absolute = |target| ok("GET", target).form(TargetForm::Absolute);
    run_table(&[
        // origin-form (§3.2.1): the authority is the Host field.
        case(
            "origin-form: path, query, Host",
            "GET /a/b?c=d HTTP/1.1\nHost: h.example:8080\n\n",
            ok("GET", "/a/b?c=d")
                .parts("/a/b", Some("c=d"), Some("h.example:8080"))
                .done(),
        ),
        case(
            "origin-form: a fragment is neither path nor query",
            "GET /a?q#frag HTTP/1.1\nHost: h\n\n",
            ok("GET", "/a?q#frag")
                .parts("/a", Some("q"), Some("h"))
                .done(),
        ),
        case(
            "origin-form: empty Host means no authority",
            "GET / HTTP/1.1\nHost:\n\n",
            ok("GET", "/").parts("/", None, None).done(),
        ),
        case(
            "origin-form: HTTP/1.0 without Host has no authority",
            "GET /x HTTP/1.0\n\n",
            ok("GET", "/x").v10().parts("/x", None, None).done(),
        ),
        // absolute-form (§3.2.2): the target's authority replaces Host.
        case(
            "absolute-form: the target's authority, not Host",
            "GET http://a.example/x?y HTTP/1.1\nHost: b.example\n\n",
            absolute("http://a.example/x?y")
                .parts("/x", Some("y"), Some("a.example"))
                .done(),
        ),
        case(
            "absolute-form: https, with a port",
            "GET https://a.example:8443/x HTTP/1.1\nHost: a.example:8443\n\n",
            absolute("https://a.example:8443/x")
                .parts("/x", None, Some("a.example:8443"))
                .done(),
        ),
        case(
            "absolute-form: the scheme is case-insensitive",
            "GET HTTP://a.example/ HTTP/1.1\nHost: a\n\n",
            absolute("HTTP://a.example/")
                .parts("/", None, Some("a.example"))
                .done(),
        ),
        case(
            "absolute-form: empty path is / (RFC 9110 §4.2.3)",
            "GET http://a.example HTTP/1.1\nHost: a\n\n",
            absolute("http://a.example")
                .parts("/", None, Some("a.example"))
                .done(),
        ),
        case(
            "absolute-form: empty path before a query",
            "GET http://a.example?q=1 HTTP/1.1\nHost: a\n\n",
            absolute("http://a.example?q=1")
                .parts("/", Some("q=1"), Some("a.example"))
                .done(),
        ),
        case(
            "absolute-form: empty path before a fragment",
            "GET http://a.example#f HTTP/1.1\nHost: a\n\n",
            absolute("http://a.example#f")
                .parts("/", None, Some("a.example"))
                .done(),
        ),
        case(
            "absolute-form: IPv6 literal",
            "GET http://[2001:db8::1]:80/x HTTP/1.1\nHost: a\n\n",
            absolute("http://[2001:db8::1]:80/x")
                .parts("/x", None, Some("[2001:db8::1]:80"))
                .done(),
        ),
        case(
            "absolute-form: empty port is valid syntax",
            "GET http://a.example:/x HTTP/1.1\nHost: a\n\n",
            absolute("http://a.example:/x")
                .parts("/x", None, Some("a.example:"))
                .done(),
        ),
        case(
            "absolute-form: still needs Host in HTTP/1.1 (RFC 9112 §3.2)",
            "GET http://a.example/ HTTP/1.1\n\n",
            err(K::MissingHost, 400),
        ),
        case(
            "absolute-form in HTTP/1.0 without Host",
            "GET http://a.example/x HTTP/1.0\n\n",
            absolute("http://a.example/x")
                .v10()
                .parts("/x", None, Some("a.example"))
                .done(),
        ),
        case(
            "absolute-form: another scheme",
            "GET ftp://a.example/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: a scheme that starts with http",
            "GET httpx://a.example/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: scheme without //",
            "GET http:/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: scheme and path, no authority",
            "GET http:x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: scheme alone",
            "GET http HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: empty host (RFC 9110 §4.2.1 MUST reject)",
            "GET http:///x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: empty host with a port",
            "GET http://:80/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: empty host before a query",
            "GET http://?q HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: userinfo (RFC 9110 §4.2.4)",
            "GET http://user@a.example/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: userinfo with a password",
            "GET http://user:pw@a.example/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: a port that is not digits",
            "GET http://a.example:8o/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: a byte outside reg-name",
            "GET http://a^b/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: a malformed IPv6 literal",
            "GET http://[zz]/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "absolute-form: an unclosed IPv6 literal",
            "GET http://[::1/x HTTP/1.1\nHost: a\n\n",
            err(K::InvalidTarget, 400),
        ),
        // authority-form (§3.2.3): the target is the authority.
        case(
            "authority-form: the target is the authority",
            "CONNECT a.example:443 HTTP/1.1\nHost: b.example:443\n\n",
            ok("CONNECT", "a.example:443")
                .form(TargetForm::Authority)
                .parts("", None, Some("a.example:443"))
                .done(),
        ),
        // asterisk-form (§3.2.4): the authority is the Host field.
        case(
            "asterisk-form: path is *, authority is Host",
            "OPTIONS * HTTP/1.1\nHost: h\n\n",
            ok("OPTIONS", "*")
                .form(TargetForm::Asterisk)
                .parts("*", None, Some("h"))
                .done(),
        ),
    ]);
}

#[test]
fn path_and_query_accessors() {
    let head = |text: &str| {
        let buf = bytes::Bytes::from(crlf(text));
        http_proto::RequestHead::parse(&buf, &Limits::default())
            .expect("valid")
            .expect("complete")
            .0
    };
    let h = head("GET /a/b?c=d HTTP/1.1\nHost: a\n\n");
    assert_eq!((h.path(), h.query()), (&b"/a/b"[..], Some(&b"c=d"[..])));
    let h = head("GET http://h/a/b?c HTTP/1.1\nHost: h\n\n");
    assert_eq!((h.path(), h.query()), (&b"/a/b"[..], Some(&b"c"[..])));
    let h = head("GET http://hypnotoad.org?hail=all HTTP/1.1\nHost: a\n\n");
    assert_eq!(
        (h.path(), h.query()),
        (&b"/"[..], Some(&b"hail=all"[..])),
        "empty path is /"
    );
    let h = head("GET http://h HTTP/1.1\nHost: h\n\n");
    assert_eq!((h.path(), h.query()), (&b"/"[..], None));
    let h = head("OPTIONS * HTTP/1.1\nHost: h\n\n");
    assert_eq!(h.path(), b"*");
    let h = head("CONNECT h:1 HTTP/1.1\nHost: h:1\n\n");
    assert_eq!(h.path(), b"");
    assert_eq!(h.target_bytes(), &b"h:1"[..]);
}

/// llhttp's `test/request/sample.md` (HTTP/1.1 inputs get the `Host` they lack).
#[test]
fn llhttp_sample_corpus() {
    run_table(&[
        case(
            "llhttp: simple request, tab before value",
            "OPTIONS /url HTTP/1.1\nHost: a\nHeader1: Value1\nHeader2:\\t Value2\n\n",
            ok("OPTIONS", "/url")
                .hdr("header1", "Value1")
                .hdr("header2", "Value2")
                .done(),
        ),
        case(
            "llhttp: method starting with H",
            "HEAD /url HTTP/1.1\nHost: a\n\n",
            ok("HEAD", "/url").done(),
        ),
        case(
            "llhttp: curl GET, = in Host",
            "GET /test HTTP/1.1\nUser-Agent: curl/7.18.0 (i486-pc-linux-gnu) libcurl/7.18.0 OpenSSL/0.9.8g zlib/1.2.3.3 libidn/1.1\nHost: 0.0.0.0=5000\nAccept: */*\n\n",
            ok("GET", "/test")
                .hdr("host", "0.0.0.0=5000")
                .hdr("accept", "*/*")
                .done(),
        ),
        case(
            "llhttp: Firefox GET",
            "GET /favicon.ico HTTP/1.1\nHost: 0.0.0.0=5000\nUser-Agent: Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9) Gecko/2008061015 Firefox/3.0\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\nAccept-Language: en-us,en;q=0.5\nAccept-Encoding: gzip,deflate\nAccept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\nKeep-Alive: 300\nConnection: keep-alive\n\n",
            ok("GET", "/favicon.ico")
                .hdr("keep-alive", "300")
                .keep_alive(true)
                .done(),
        ),
        case(
            "llhttp: DUMBPACK, no space after colon",
            "GET /dumbpack HTTP/1.1\nHost: a\naaaaaaaaaaaaa:++++++++++\n\n",
            ok("GET", "/dumbpack")
                .hdr("aaaaaaaaaaaaa", "++++++++++")
                .done(),
        ),
        case(
            "llhttp: no headers, HTTP/1.1",
            "GET /get_no_headers_no_body/world HTTP/1.1\n\n",
            err(K::MissingHost, 400),
        ),
        case(
            "llhttp: Apache bench GET",
            "GET /test HTTP/1.0\nHost: 0.0.0.0:5000\nUser-Agent: ApacheBench/2.3\nAccept: */*\n\n",
            ok("GET", "/test").v10().hdr("host", "0.0.0.0:5000").done(),
        ),
        case(
            "llhttp: prefix newline",
            "\nGET /test HTTP/1.1\nHost: a\n\n",
            ok("GET", "/test").done(),
        ),
        // llhttp reads this as HTTP/0.9; we speak 1.0 and 1.1 only.
        case(
            "llhttp: no HTTP version",
            "GET /\n\n",
            err(K::InvalidVersion, 400),
        ),
        case(
            "llhttp: extended characters",
            "GET / HTTP/1.1\nHost: a\nTest: D\u{fc}sseldorf\n\n",
            ok("GET", "/").hdr("test", "D\u{fc}sseldorf").done(),
        ),
        case(
            "llhttp: 0xff in a value",
            &b"OPTIONS /url HTTP/1.1\r\nHost: a\r\nHeader1: Value1\r\nHeader2: \xffValue2\r\n\r\n"
                [..],
            ok("OPTIONS", "/url").hdr("header2", b"\xffValue2").done(),
        ),
        // obs-fold is rejected unless folding is enabled (lib.rs); llhttp folds by default.
        case(
            "llhttp: line folding with CRLF",
            LINE_FOLDING,
            err(K::ObsFold, 400),
        ),
        case_with(
            "llhttp: line folding with CRLF, folded",
            LINE_FOLDING,
            folding(),
            ok("GET", "/")
                .hdr("line1", "abc   def   ghi    jkl    mno      qrs")
                .hdr("line2", "line2")
                .hdr("line3", "line3")
                .hdr("line4", "")
                .keep_alive(false)
                .done(),
        ),
        case(
            "llhttp: line folding with LF",
            "GET / HTTP/1.1\\nHost: a\\nLine1:   abc\\n\\tdef\\n ghi\\n\\n",
            err(K::BareLf, 400),
        ),
    ]);
    let mut both = folding();
    both.allow_bare_lf = true;
    check_request(&case_with(
        "llhttp: line folding with LF, lenient and folded",
        "GET / HTTP/1.1\\nHost: a\\nLine1:   abc\\n\\tdef\\n ghi\\nConnection:\\n close\\n\\n",
        both,
        ok("GET", "/")
            .hdr("line1", "abc  def  ghi")
            .keep_alive(false)
            .done(),
    ));
}

const LINE_FOLDING: &str = "GET / HTTP/1.1\nHost: a\nLine1:   abc\n\\tdef\n ghi\n\\t\\tjkl\n  mno \n\\t \\tqrs\nLine2: \\t line2\\t\nLine3:\n line3\nLine4: \n \nConnection:\n close\n\n";

#[test]
fn heads_are_zero_copy() {
    let buf = bytes::Bytes::from(crlf("GET /a HTTP/1.1\nHost: example.com\n\nbody"));
    let (head, len) = http_proto::RequestHead::parse(&buf, &Limits::default())
        .expect("valid")
        .expect("complete");
    assert_eq!(&buf[len..], b"body");
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    assert_eq!(
        head.as_bytes().as_ptr(),
        buf.as_ptr(),
        "the head is a view of the input"
    );
    assert!(range.contains(&(head.target_bytes().as_ptr() as usize)));
    let host = head.headers().get_bytes("HOST").expect("host");
    assert_eq!(&host[..], b"example.com");
    assert!(range.contains(&(host.as_ptr() as usize)));
}

/// llhttp's `test/request/method.md`. HTTP/1.1 inputs get the `Host` they lack.
#[test]
fn llhttp_method_corpus() {
    let netscape = |target: &'static str| {
        ok("CONNECT", target)
            .v10()
            .form(TargetForm::Authority)
            .hdr("user-agent", "Mozilla/1.1N")
            .hdr("proxy-authorization", "basic aGVsbG86d29ybGQ=")
    };
    run_table(&[
        case(
            "llhttp: REPORT",
            "REPORT /test HTTP/1.1\nHost: a\n\n",
            ok("REPORT", "/test").done(),
        ),
        case(
            "llhttp: CONNECT",
            "CONNECT 0-home0.netscape.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\nProxy-authorization: basic aGVsbG86d29ybGQ=\n\nsome data\nand yet even more data",
            netscape("0-home0.netscape.com:443").done(),
        ),
        case(
            "llhttp: CONNECT with capitals",
            "CONNECT HOME0.NETSCAPE.COM:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\nProxy-authorization: basic aGVsbG86d29ybGQ=\n\n",
            netscape("HOME0.NETSCAPE.COM:443").done(),
        ),
        case(
            "llhttp: CONNECT with Content-Length",
            "CONNECT foo.bar.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\nProxy-authorization: basic aGVsbG86d29ybGQ=\nContent-Length: 10\n\nblarfcicle\"",
            // RFC 9110 §9.3.6: CONNECT has no content; llhttp starts the tunnel, RFC 9112 §6.3
            // would read a body: we refuse rather than pick one (lib.rs).
            err(K::BodyNotAllowed, 400),
        ),
        // RFC 9112 §3.2.4: asterisk-form is for OPTIONS only (lib.rs); llhttp accepts any method.
        case(
            "llhttp: M-SEARCH *",
            "M-SEARCH * HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: \"ssdp:discover\"\nST: \"ssdp:all\"\n\n",
            err(K::InvalidTarget, 400),
        ),
        case(
            "llhttp: M-SEARCH with a path",
            "M-SEARCH / HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: \"ssdp:discover\"\nST: \"ssdp:all\"\n\n",
            ok("M-SEARCH", "/")
                .hdr("man", "\"ssdp:discover\"")
                .hdr("st", "\"ssdp:all\"")
                .done(),
        ),
        case(
            "llhttp: PATCH",
            "PATCH /file.txt HTTP/1.1\nHost: www.example.com\nContent-Type: application/example\nIf-Match: \"e0023aa4e\"\nContent-Length: 10\n\ncccccccccc",
            ok("PATCH", "/file.txt")
                .framing(Framing::Length(10))
                .hdr("if-match", "\"e0023aa4e\"")
                .done(),
        ),
        case(
            "llhttp: PURGE",
            "PURGE /file.txt HTTP/1.1\nHost: www.example.com\n\n",
            ok("PURGE", "/file.txt").done(),
        ),
        case(
            "llhttp: SEARCH",
            "SEARCH / HTTP/1.1\nHost: www.example.com\n\n",
            ok("SEARCH", "/").done(),
        ),
        case(
            "llhttp: LINK",
            "LINK /images/my_dog.jpg HTTP/1.1\nHost: example.com\nLink: <http://example.com/profiles/joe>; rel=\"tag\"\nLink: <http://example.com/profiles/sally>; rel=\"tag\"\n\n",
            ok("LINK", "/images/my_dog.jpg")
                .hdr("link", "<http://example.com/profiles/joe>; rel=\"tag\"")
                .hdr("link", "<http://example.com/profiles/sally>; rel=\"tag\"")
                .done(),
        ),
        case(
            "llhttp: UNLINK",
            "UNLINK /images/my_dog.jpg HTTP/1.1\nHost: example.com\nLink: <http://example.com/profiles/sally>; rel=\"tag\"\n\n",
            ok("UNLINK", "/images/my_dog.jpg")
                .hdr("link", "<http://example.com/profiles/sally>; rel=\"tag\"")
                .done(),
        ),
        case(
            "llhttp: SOURCE",
            "SOURCE /music/sweet/music HTTP/1.1\nHost: example.com\n\n",
            ok("SOURCE", "/music/sweet/music").done(),
        ),
        case(
            "llhttp: REPORT, no Host",
            "REPORT /test HTTP/1.1\n\n",
            err(K::MissingHost, 400),
        ),
    ]);

    // Through a server connection: the bytes after a CONNECT head belong to the tunnel.
    let server = |text: &str| {
        let input = crlf(text);
        assert_split_anywhere(&input, |parts| {
            support::run_server(parts, &Limits::default(), false)
        })
    };
    let events = server(
        "CONNECT 0-home0.netscape.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\nProxy-authorization: basic aGVsbG86d29ybGQ=\n\nsome data\nand yet even more data",
    );
    assert!(
        events.contains(&Ev::Upgraded(B(crlf("some data\nand yet even more data")))),
        "{events:?}"
    );
    let events = server(
        "CONNECT foo.bar.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\nProxy-authorization: basic aGVsbG86d29ybGQ=\nContent-Length: 10\n\nblarfcicle\"",
    );
    // RFC 9112 §6.3 would frame it by Content-Length, llhttp (after RFC 9110 §9.3.6, "CONNECT
    // has no content") starts the tunnel at the head's end: we refuse the ambiguity.
    assert!(
        events.contains(&Ev::Error(ErrorKind::BodyNotAllowed)),
        "{events:?}"
    );
}

/// llhttp's `test/request/pipelining.md` (each request gets a `Host`). The CRLF after each
/// body is an empty line before the next request-line, ignored (RFC 9112 §2.2).
#[test]
fn llhttp_request_pipelining_corpus() {
    let text = "POST /aaa HTTP/1.1\nHost: a\nContent-Length: 3\n\nAAA\nPUT /bbb HTTP/1.1\nHost: a\nContent-Length: 4\n\nBBBB\nPATCH /ccc HTTP/1.1\nHost: a\nContent-Length: 5\n\nCCCC";
    let input = crlf(text);
    let events = assert_split_anywhere(&input, |parts| {
        support::run_requests(parts, &Limits::default())
    });
    let shape: Vec<String> = events
        .iter()
        .map(|e| match e {
            Ev::Request(r) => format!("{:?} {:?} {:?}", r.method, r.target, r.framing),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "\"POST\" \"/aaa\" Length(3)",
            "Data(\"AAA\")",
            "End([])",
            "\"PUT\" \"/bbb\" Length(4)",
            "Data(\"BBBB\")",
            "End([])",
            "\"PATCH\" \"/ccc\" Length(5)",
            "Data(\"CCCC\")",
        ]
    );
    // A server connection answers the first two and waits for the last body byte.
    let events = assert_split_anywhere(&input, |parts| {
        support::run_server(parts, &Limits::default(), false)
    });
    let Some(Ev::Sent(sent)) = events.iter().rev().nth(1) else {
        panic!("{events:?}")
    };
    let answers = sent.0.windows(8).filter(|w| w == b"HTTP/1.1").count();
    assert_eq!(answers, 2, "{events:?}");
    assert_eq!(events.last(), Some(&Ev::MustClose(false)));
}

/// llhttp's `test/request/finish.md`: whether the connection may end where it does.
#[test]
fn llhttp_request_finish_corpus() {
    let finish = |text: &str| {
        let input = crlf(text);
        assert_split_anywhere(&input, |parts| {
            support::run_server(parts, &Limits::default(), true)
        })
    };
    // Safe: EOF after a complete request.
    let events = finish("GET / HTTP/1.1\nHost: a\n\n");
    assert!(events.contains(&Ev::Closed), "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(e, Ev::Error(_))),
        "{events:?}"
    );
    // Unsafe: EOF inside a body, and inside a field name.
    let events = finish("PUT / HTTP/1.1\nHost: a\nContent-Length: 100\n\n");
    assert!(
        events.contains(&Ev::Error(K::IncompleteMessage)),
        "{events:?}"
    );
    let events = finish("PUT / HTTP/1.1\nHost: a\nContent-Leng");
    assert!(
        events.contains(&Ev::Error(K::IncompleteMessage)),
        "{events:?}"
    );
    // As transcribed (no Host): the request itself is refused before EOF matters.
    let events = finish("GET / HTTP/1.1\n\n");
    assert!(events.contains(&Ev::Error(K::MissingHost)), "{events:?}");
}

const X_SSL_NONSENSE: [&str; 32] = [
    "\tMIIFbTCCBFWgAwIBAgICH4cwDQYJKoZIhvcNAQEFBQAwcDELMAkGA1UEBhMCVUsx",
    "\tETAPBgNVBAoTCGVTY2llbmNlMRIwEAYDVQQLEwlBdXRob3JpdHkxCzAJBgNVBAMT",
    "\tAkNBMS0wKwYJKoZIhvcNAQkBFh5jYS1vcGVyYXRvckBncmlkLXN1cHBvcnQuYWMu",
    "\tdWswHhcNMDYwNzI3MTQxMzI4WhcNMDcwNzI3MTQxMzI4WjBbMQswCQYDVQQGEwJV",
    "\tSzERMA8GA1UEChMIZVNjaWVuY2UxEzARBgNVBAsTCk1hbmNoZXN0ZXIxCzAJBgNV",
    "\tBAcTmrsogriqMWLAk1DMRcwFQYDVQQDEw5taWNoYWVsIHBhcmQYJKoZIhvcNAQEB",
    "\tBQADggEPADCCAQoCggEBANPEQBgl1IaKdSS1TbhF3hEXSl72G9J+WC/1R64fAcEF",
    "\tW51rEyFYiIeZGx/BVzwXbeBoNUK41OK65sxGuflMo5gLflbwJtHBRIEKAfVVp3YR",
    "\tgW7cMA/s/XKgL1GEC7rQw8lIZT8RApukCGqOVHSi/F1SiFlPDxuDfmdiNzL31+sL",
    "\t0iwHDdNkGjy5pyBSB8Y79dsSJtCW/iaLB0/n8Sj7HgvvZJ7x0fr+RQjYOUUfrePP",
    "\tu2MSpFyf+9BbC/aXgaZuiCvSR+8Snv3xApQY+fULK/xY8h8Ua51iXoQ5jrgu2SqR",
    "\twgA7BUi3G8LFzMBl8FRCDYGUDy7M6QaHXx1ZWIPWNKsCAwEAAaOCAiQwggIgMAwG",
    "\tA1UdEwEB/wQCMAAwEQYJYIZIAYb4QgHTTPAQDAgWgMA4GA1UdDwEB/wQEAwID6DAs",
    "\tBglghkgBhvhCAQ0EHxYdVUsgZS1TY2llbmNlIFVzZXIgQ2VydGlmaWNhdGUwHQYD",
    "\tVR0OBBYEFDTt/sf9PeMaZDHkUIldrDYMNTBZMIGaBgNVHSMEgZIwgY+AFAI4qxGj",
    "\tloCLDdMVKwiljjDastqooXSkcjBwMQswCQYDVQQGEwJVSzERMA8GA1UEChMIZVNj",
    "\taWVuY2UxEjAQBgNVBAsTCUF1dGhvcml0eTELMAkGA1UEAxMCQ0ExLTArBgkqhkiG",
    "\t9w0BCQEWHmNhLW9wZXJhdG9yQGdyaWQtc3VwcG9ydC5hYy51a4IBADApBgNVHRIE",
    "\tIjAggR5jYS1vcGVyYXRvckBncmlkLXN1cHBvcnQuYWMudWswGQYDVR0gBBIwEDAO",
    "\tBgwrBgEEAdkvAQEBAQYwPQYJYIZIAYb4QgEEBDAWLmh0dHA6Ly9jYS5ncmlkLXN1",
    "\tcHBvcnQuYWMudmT4sopwqlBWsvcHViL2NybC9jYWNybC5jcmwwPQYJYIZIAYb4QgEDBDAWLmh0",
    "\tdHA6Ly9jYS5ncmlkLXN1cHBvcnQuYWMudWsvcHViL2NybC9jYWNybC5jcmwwPwYD",
    "\tVR0fBDgwNjA0oDKgMIYuaHR0cDovL2NhLmdyaWQt5hYy51ay9wdWIv",
    "\tY3JsL2NhY3JsLmNybDANBgkqhkiG9w0BAQUFAAOCAQEAS/U4iiooBENGW/Hwmmd3",
    "\tXCy6Zrt08YjKCzGNjorT98g8uGsqYjSxv/hmi0qlnlHs+k/3Iobc3LjS5AMYr5L8",
    "\tUO7OSkgFFlLHQyC9JzPfmLCAugvzEbyv4Olnsr8hbxF1MbKZoQxUZtMVu29wjfXk",
    "\thTeApBv7eaKCWpSp7MCbvgzm74izKhu3vlDk9w6qVrxePfGgpKPqfHiOoGhFnbTK",
    "\twTC6o2xq5y0qZ03JonF7OJspEd3I5zKY3E+ov7/ZhW6DqT8UFvsAdjvQbXyhV8Eu",
    "\tYhixw1aKEPzNjNowuIseVogKOLXxWI5vAi5HgXdS0/ES5gDGsABo4fqovUKlgop3",
    "\tRA==",
    "\t-----END CERTIFICATE-----",
    "",
];

/// llhttp's `test/request/sample.md`, second half (HTTP/1.1 inputs get the `Host` they lack).
#[test]
fn llhttp_sample_corpus_second_half() {
    let mut cert_input =
        b"GET / HTTP/1.1\r\nHost: a\r\nX-SSL-Nonsense:   -----BEGIN CERTIFICATE-----".to_vec();
    let mut cert_value = b"-----BEGIN CERTIFICATE-----".to_vec();
    for line in X_SSL_NONSENSE.iter().filter(|l| !l.is_empty()) {
        cert_input.extend_from_slice(b"\r\n");
        cert_input.extend_from_slice(line.as_bytes());
        // Each obs-fold (CRLF and the tab after it) becomes spaces (RFC 9112 §5.2).
        cert_value.extend_from_slice(b"   ");
        cert_value.extend_from_slice(&line.as_bytes()[1..]);
    }
    cert_input.extend_from_slice(b"\r\n\r\n");
    run_table(&[
        case(
            "llhttp: one header and no body",
            "GET /get_one_header_no_body HTTP/1.1\nHost: a\nAccept: */*\n\n",
            ok("GET", "/get_one_header_no_body")
                .hdr("accept", "*/*")
                .done(),
        ),
        case(
            "llhttp: one header and no body, no Host",
            "GET /get_one_header_no_body HTTP/1.1\nAccept: */*\n\n",
            err(K::MissingHost, 400),
        ),
        case(
            "llhttp: request starting with CRLF",
            "\\r\\nGET /url HTTP/1.1\nHost: a\nHeader1: Value1\n\n",
            ok("GET", "/url").hdr("header1", "Value1").done(),
        ),
        // obs-fold is rejected unless folding is enabled (lib.rs); llhttp folds by default.
        case(
            "llhttp: X-SSL-Nonsense",
            cert_input.clone(),
            err(K::ObsFold, 400),
        ),
        case_with(
            "llhttp: X-SSL-Nonsense, folded",
            cert_input,
            folding(),
            ok("GET", "/").hdr("x-ssl-nonsense", cert_value).done(),
        ),
    ]);
}

/// llhttp's `test/request/lenient*.md` and `lenient-version.md`. We have no flag for
/// control characters in values, several Host fields or unknown versions, so each is the
/// default rejection; where one of our flags applies, the case runs with it too.
#[test]
fn llhttp_lenient_request_corpus() {
    let mut both = folding();
    both.allow_bare_lf = true;
    run_table(&[
        // lenient-headers.md / lenient.md: a form feed is a control character (RFC 9110 §5.5).
        case(
            "llhttp: form feed as the value",
            "GET /url HTTP/1.1\nHost: a\nHeader1: \x0c\n\n",
            err(K::InvalidHeaderValue, 400),
        ),
        // lenient-header-value-relaxed.md.
        case(
            "llhttp: form feed inside a value",
            "GET /url HTTP/1.1\nHost: a\nHeader1: hello\x0cworld\n\n",
            err(K::InvalidHeaderValue, 400),
        ),
        case(
            "llhttp: bare LF ends an empty value",
            "POST / HTTP/1.1\nHost: localhost:5000\nx:\\nTransfer-Encoding: chunked\n\n1\nA\n0\n\n",
            err(K::BareLf, 400),
        ),
        // With bare LF allowed on both sides it is a line end, so the next line is a field:
        // the smuggling llhttp fears needs peers that disagree, which the flag's doc warns of.
        case_with(
            "llhttp: bare LF ends an empty value, LF allowed",
            "POST / HTTP/1.1\nHost: localhost:5000\nx:\\nTransfer-Encoding: chunked\n\n1\nA\n0\n\n",
            lenient_lf(),
            ok("POST", "/")
                .framing(Framing::Chunked)
                .hdr("x", "")
                .done(),
        ),
        case(
            "llhttp: bare CR in a value",
            "POST / HTTP/1.1\nHost: localhost:5000\nx:\\rTransfer-Encoding: chunked\n\n1\nA\n0\n\n",
            err(K::BareCr, 400),
        ),
        case_with(
            "llhttp: bare CR in a value, every leniency on",
            "POST / HTTP/1.1\nHost: localhost:5000\nx:\\rTransfer-Encoding: chunked\n\n1\nA\n0\n\n",
            both.clone(),
            err(K::BareCr, 400),
        ),
        // RFC 9112 §2.2: whitespace before the first field line MUST be rejected or ignored.
        case(
            "llhttp: space after the start line",
            "GET /url HTTP/1.1\n Header1: value\nHost: a\n\n",
            err(K::ObsFold, 400),
        ),
        case_with(
            "llhttp: space after the start line, folding on",
            "GET /url HTTP/1.1\n Header1: value\nHost: a\n\n",
            both,
            err(K::ObsFold, 400),
        ),
        // lenient-host-header.md: RFC 9112 §3.2 requires 400 for more than one Host line;
        // llhttp accepts by default.
        case(
            "llhttp: two Host fields",
            "GET /url HTTP/1.1\nhost: www.python.org\nhost: llhttp.org\n\n",
            err(K::DuplicateHost, 400),
        ),
        // lenient-version.md: a well-formed version we do not speak is a 505.
        case(
            "llhttp: HTTP/5.6",
            "GET / HTTP/5.6\n\n",
            err(K::UnsupportedVersion, 505),
        ),
    ]);
    // "Second request header value": the first request is served, the second refused.
    let input = crlf(
        "GET /url HTTP/1.1\nHost: a\nHeader1: Okay\n\nGET /url HTTP/1.1\nHost: a\nHeader1: \x0c\n\n",
    );
    let events = assert_split_anywhere(&input, |parts| {
        support::run_server(parts, &Limits::default(), false)
    });
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Ev::Request(_)))
            .count(),
        1
    );
    assert!(
        events.contains(&Ev::Error(K::InvalidHeaderValue)),
        "{events:?}"
    );
}

/// What a client connection said about a response conversation, without the header lists.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Said {
    /// Status, reason, keep-alive.
    Head(u16, B, bool),
    Info(u16),
    Data(B),
    End,
    Closed,
    Error(ErrorKind),
    Upgraded(B),
}

fn head(status: u16, reason: &str, keep_alive: bool) -> Said {
    Said::Head(status, B::from(reason), keep_alive)
}

fn data(text: &str) -> Said {
    Said::Data(B(crlf(text)))
}

/// One response conversation: the requests the client sent, the bytes the server sent
/// (through [`crlf`]), whether the server then closed, and what the client must say.
struct RespCase {
    name: &'static str,
    methods: &'static [&'static str],
    input: Vec<u8>,
    eof: bool,
    limits: Limits,
    said: Vec<Said>,
    /// Field values the first response head must carry, by name.
    fields: Vec<(&'static str, &'static [u8])>,
}

fn resp(
    name: &'static str,
    methods: &'static [&'static str],
    text: &str,
    eof: bool,
    said: Vec<Said>,
) -> RespCase {
    RespCase {
        name,
        methods,
        input: crlf(text),
        eof,
        limits: Limits::default(),
        said,
        fields: Vec::new(),
    }
}

impl RespCase {
    fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    fn hdr(mut self, name: &'static str, value: &'static str) -> Self {
        self.fields.push((name, value.as_bytes()));
        self
    }
}

fn run_resp_table(cases: &[RespCase]) {
    let mut names = std::collections::HashSet::new();
    for case in cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
        let events = assert_split_anywhere(&case.input, |parts| {
            run_client(case.methods, parts, &case.limits, case.eof)
        });
        let said: Vec<Said> = events
            .iter()
            .map(|e| match e {
                Ev::Response(r) => Said::Head(r.status, r.reason.clone(), r.keep_alive),
                Ev::Informational(r) => Said::Info(r.status),
                Ev::Data(d) => Said::Data(d.clone()),
                Ev::End(_) => Said::End,
                Ev::Closed => Said::Closed,
                Ev::Error(k) => Said::Error(*k),
                Ev::Upgraded(b) => Said::Upgraded(b.clone()),
                other => panic!("{}: unexpected {other:?}", case.name),
            })
            .collect();
        assert_eq!(said, case.said, "{}", case.name);
        if case.fields.is_empty() {
            continue;
        }
        let Some(Ev::Response(first)) = events.first() else {
            panic!("{}: no response head", case.name)
        };
        for (field, _) in &case.fields {
            let want: Vec<B> = case
                .fields
                .iter()
                .filter(|(n, _)| n == field)
                .map(|(_, v)| B::from(*v))
                .collect();
            let have: Vec<B> = first
                .headers
                .iter()
                .filter(|(n, _)| n.0.eq_ignore_ascii_case(field.as_bytes()))
                .map(|(_, v)| v.clone())
                .collect();
            assert_eq!(have, want, "{}: values of {field}", case.name);
        }
    }
}

const GET: &[&str] = &["GET"];

/// llhttp's `test/response/sample.md`, through a client connection that sent GET.
#[test]
fn llhttp_response_sample_corpus() {
    use Said::{Closed, End, Error};
    run_resp_table(&[
        resp(
            "llhttp: simple response",
            GET,
            "HTTP/1.1 200 OK\nHeader1: Value1\nHeader2:\\t Value2\nContent-Length: 0\n\n",
            false,
            vec![head(200, "OK", true), End],
        )
        .hdr("header2", "Value2"),
        // We speak HTTP only; llhttp accepts RTSP and ICE status lines.
        resp(
            "llhttp: RTSP response",
            GET,
            "RTSP/1.1 200 OK\n\n",
            false,
            vec![Error(K::InvalidStatusLine)],
        ),
        resp(
            "llhttp: ICE response",
            GET,
            "ICE/1.1 200 OK\n\n",
            false,
            vec![Error(K::InvalidStatusLine)],
        ),
        resp(
            "llhttp: invalid response start",
            GET,
            "HTTPER/1.1 200 OK\n\n",
            false,
            vec![Error(K::InvalidStatusLine)],
        ),
        resp(
            "llhttp: empty close-delimited body",
            GET,
            "HTTP/1.1 200 OK\n\n",
            true,
            vec![head(200, "OK", true), End, Closed],
        ),
        // Content-Length 219 with 213 bytes sent: the body is still open.
        resp(
            "llhttp: Google 301",
            GET,
            "HTTP/1.1 301 Moved Permanently\nLocation: http://www.google.com/\nContent-Type: text/html; charset=UTF-8\nDate: Sun, 26 Apr 2009 11:11:49 GMT\nExpires: Tue, 26 May 2009 11:11:49 GMT\nX-$PrototypeBI-Version: 1.6.0.3\nCache-Control: public, max-age=2592000\nServer: gws\nContent-Length:  219  \n\n<HTML><HEAD><meta http-equiv=content-type content=text/html;charset=utf-8>\\n<TITLE>301 Moved</TITLE></HEAD><BODY>\\n<H1>301 Moved</H1>\\nThe document has moved\\n<A HREF=\"http://www.google.com/\">here</A>.\n</BODY></HTML>",
            false,
            vec![
                head(301, "Moved Permanently", true),
                data(
                    "<HTML><HEAD><meta http-equiv=content-type content=text/html;charset=utf-8>\\n<TITLE>301 Moved</TITLE></HEAD><BODY>\\n<H1>301 Moved</H1>\\nThe document has moved\\n<A HREF=\"http://www.google.com/\">here</A>.\n</BODY></HTML>",
                ),
            ],
        )
        .hdr("x-$prototypebi-version", "1.6.0.3")
        .hdr("content-length", "219"),
        resp(
            "llhttp: Google 301, closed early",
            GET,
            "HTTP/1.1 301 Moved Permanently\nContent-Length:  219  \n\n<HTML>",
            true,
            vec![
                head(301, "Moved Permanently", true),
                data("<HTML>"),
                Error(K::IncompleteMessage),
            ],
        ),
        resp(
            "llhttp: amazon.com, a chunk holding LF",
            GET,
            "HTTP/1.1 301 MovedPermanently\nDate: Wed, 15 May 2013 17:06:33 GMT\nServer: Server\nx-amz-id-1: 0GPHKXSJQ826RK7GZEB2\np3p: policyref=\"http://www.amazon.com/w3c/p3p.xml\",CP=\"CAO DSP LAW CUR ADM IVAo IVDo CONo OTPo OUR DELi PUBi OTRi BUS PHY ONL UNI PUR FIN COM NAV INT DEM CNT STA HEA PRE LOC GOV OTC \"\nx-amz-id-2: STN69VZxIFSz9YJLbz1GDbxpbjG6Qjmmq5E3DxRhOUw+Et0p4hr7c/Q8qNcx4oAD\nLocation: http://www.amazon.com/Dan-Brown/e/B000AP9DSU/ref=s9_pop_gw_al1?_encoding=UTF8&refinementId=618073011&pf_rd_m=ATVPDKIKX0DER&pf_rd_s=center-2&pf_rd_r=0SHYY5BZXN3KR20BNFAY&pf_rd_t=101&pf_rd_p=1263340922&pf_rd_i=507846\nVary: Accept-Encoding,User-Agent\nContent-Type: text/html; charset=ISO-8859-1\nTransfer-Encoding: chunked\n\n1\n\\n\n0\n\n",
            false,
            vec![head(301, "MovedPermanently", true), data("\\n"), End],
        )
        .hdr("p3p", "policyref=\"http://www.amazon.com/w3c/p3p.xml\",CP=\"CAO DSP LAW CUR ADM IVAo IVDo CONo OTPo OUR DELi PUBi OTRi BUS PHY ONL UNI PUR FIN COM NAV INT DEM CNT STA HEA PRE LOC GOV OTC \""),
        resp(
            "llhttp: no headers and no body",
            GET,
            "HTTP/1.1 404 Not Found\n\n",
            true,
            vec![head(404, "Not Found", true), End, Closed],
        ),
        resp(
            "llhttp: no reason phrase",
            GET,
            "HTTP/1.1 301\n\n",
            true,
            vec![head(301, "", true), End, Closed],
        ),
        resp(
            "llhttp: empty reason phrase after space",
            GET,
            "HTTP/1.1 200 \n\n",
            true,
            vec![head(200, "", true), End, Closed],
        ),
        resp(
            "llhttp: no carriage return",
            GET,
            "HTTP/1.1 200 OK\\nContent-Type: text/html; charset=utf-8\\nConnection: close\\n\\nthese headers are from http://news.ycombinator.com/",
            true,
            vec![Error(K::InvalidStatusLine)],
        ),
        resp(
            "llhttp: no carriage return, LF allowed",
            GET,
            "HTTP/1.1 200 OK\\nContent-Type: text/html; charset=utf-8\\nConnection: close\\n\\nthese headers are from http://news.ycombinator.com/",
            true,
            vec![
                head(200, "OK", false),
                data("these headers are from http://news.ycombinator.com/"),
                End,
                Closed,
            ],
        )
        .limits(lenient_lf())
        .hdr("content-type", "text/html; charset=utf-8"),
        resp(
            "llhttp: underscore in a field name",
            GET,
            "HTTP/1.1 200 OK\nServer: DCLK-AdSvr\nContent-Type: text/xml\nContent-Length: 0\nDCLK_imp: v7;x;114750856;0-0;0;17820020;0/0;21603567/21621457/1;;~okv=;dcmt=text/xml;;~cs=o\n\n",
            false,
            vec![head(200, "OK", true), End],
        )
        .hdr("dclk_imp", "v7;x;114750856;0-0;0;17820020;0/0;21603567/21621457/1;;~okv=;dcmt=text/xml;;~cs=o"),
        resp(
            "llhttp: bonjourmadame.fr, empty value",
            GET,
            "HTTP/1.0 301 Moved Permanently\nDate: Thu, 03 Jun 2010 09:56:32 GMT\nServer: Apache/2.2.3 (Red Hat)\nCache-Control: public\nPragma: \nLocation: http://www.bonjourmadame.fr/\nVary: Accept-Encoding\nContent-Length: 0\nContent-Type: text/html; charset=UTF-8\nConnection: keep-alive\n\n",
            false,
            vec![head(301, "Moved Permanently", true), End],
        )
        .hdr("pragma", "")
        .hdr("location", "http://www.bonjourmadame.fr/"),
        resp(
            "llhttp: odd field names, chunked, close",
            GET,
            "HTTP/1.1 200 OK\nDate: Tue, 28 Sep 2010 01:14:13 GMT\nServer: Apache\nCache-Control: no-cache, must-revalidate\nExpires: Mon, 26 Jul 1997 05:00:00 GMT\n.et-Cookie: PlaxoCS=1274804622353690521; path=/; domain=.plaxo.com\nVary: Accept-Encoding\n_eep-Alive: timeout=45\n_onnection: Keep-Alive\nTransfer-Encoding: chunked\nContent-Type: text/html\nConnection: close\n\n0\n\n",
            false,
            vec![head(200, "OK", false), End, Closed],
        )
        .hdr(".et-cookie", "PlaxoCS=1274804622353690521; path=/; domain=.plaxo.com")
        .hdr("_onnection", "Keep-Alive"),
        resp(
            "llhttp: space inside a field name",
            GET,
            "HTTP/1.1 200 OK\nServer: Microsoft-IIS/6.0\nX-Powered-By: ASP.NET\nen-US Content-Type: text/xml\nContent-Type: text/xml\nContent-Length: 16\nDate: Fri, 23 Jul 2010 18:45:38 GMT\nConnection: keep-alive\n\n<xml>hello</xml>",
            false,
            vec![Error(K::InvalidHeaderName)],
        ),
        // RFC 9112 §4: reason-phrase allows obs-text; the bytes are kept as sent.
        resp(
            "llhttp: non-ASCII reason phrase",
            GET,
            "HTTP/1.1 500 Ori\u{eb}ntatieprobleem\nDate: Fri, 5 Nov 2010 23:07:12 GMT+2\nContent-Length: 0\nConnection: close\n\n",
            false,
            vec![head(500, "Ori\u{eb}ntatieprobleem", false), End, Closed],
        ),
        // We speak HTTP/1.0 and 1.1 only.
        resp(
            "llhttp: HTTP/0.9 status line",
            GET,
            "HTTP/0.9 200 OK\n\n",
            false,
            vec![Error(K::InvalidStatusLine)],
        ),
        resp(
            "llhttp: no Content-Length, no Transfer-Encoding",
            GET,
            "HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhello world",
            true,
            vec![head(200, "OK", true), data("hello world"), End, Closed],
        ),
        resp(
            "llhttp: no Content-Length, server still open",
            GET,
            "HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhello world",
            false,
            vec![head(200, "OK", true), data("hello world")],
        ),
        // RFC 9112 §2.2 asks servers to skip empty lines before a start-line; we skip them
        // before status-lines too (a stray CRLF after a body is common), as llhttp does.
        resp(
            "llhttp: response starting with CRLF",
            GET,
            "\\r\\nHTTP/1.1 200 OK\nHeader1: Value1\nHeader2:\\t Value2\nContent-Length: 0\n\n",
            false,
            vec![head(200, "OK", true), End],
        ),
    ]);
}

/// llhttp's `test/response/connection.md`.
#[test]
fn llhttp_response_connection_corpus() {
    use Said::{Closed, End, Upgraded};
    run_resp_table(&[
        // Proxy-Connection is no standard field (RFC 9110 §7.6.1 names only Connection);
        // llhttp reads its `close`, we do not.
        resp(
            "llhttp: Proxy-Connection",
            GET,
            "HTTP/1.1 200 OK\nContent-Type: text/html; charset=UTF-8\nContent-Length: 11\nProxy-Connection: close\nDate: Thu, 31 Dec 2009 20:55:48 +0000\n\nhello world",
            false,
            vec![head(200, "OK", true), data("hello world"), End],
        ),
        resp(
            "llhttp: HTTP/1.0 keep-alive, close-delimited",
            &["GET", "GET"],
            "HTTP/1.0 200 OK\nConnection: keep-alive\n\nHTTP/1.0 200 OK",
            true,
            vec![head(200, "OK", true), data("HTTP/1.0 200 OK"), End, Closed],
        ),
        resp(
            "llhttp: HTTP/1.0 keep-alive, 204",
            &["GET", "GET"],
            "HTTP/1.0 204 No content\nConnection: keep-alive\n\nHTTP/1.0 200 OK",
            false,
            vec![head(204, "No content", true), End],
        ),
        resp(
            "llhttp: HTTP/1.0 keep-alive, 204, then a second response",
            &["GET", "GET"],
            "HTTP/1.0 204 No content\nConnection: keep-alive\n\nHTTP/1.0 200 OK\n\n",
            true,
            vec![
                head(204, "No content", true),
                End,
                head(200, "OK", false),
                End,
                Closed,
            ],
        ),
        resp(
            "llhttp: HTTP/1.1 close-delimited",
            &["GET", "GET"],
            "HTTP/1.1 200 OK\n\nHTTP/1.1 200 OK",
            true,
            vec![head(200, "OK", true), data("HTTP/1.1 200 OK"), End, Closed],
        ),
        resp(
            "llhttp: HTTP/1.1 204",
            &["GET", "GET"],
            "HTTP/1.1 204 No content\n\nHTTP/1.1 200 OK",
            false,
            vec![head(204, "No content", true), End],
        ),
        // llhttp (strict) errors on bytes after `Connection: close`, and its
        // lenient-keep-alive mode parses them as the next response; we stop reading.
        resp(
            "llhttp: HTTP/1.1 204 with Connection: close",
            &["GET", "GET"],
            "HTTP/1.1 204 No content\nConnection: close\n\nHTTP/1.1 200 OK",
            false,
            vec![head(204, "No content", false), End, Closed],
        ),
        resp(
            "llhttp: Connection: close, Content-Length, extra bytes",
            &["GET", "GET"],
            "HTTP/1.1 200 No content\nContent-Length: 5\nConnection: close\n\n2ad731e3-4dcd-4f70-b871-0ad284b29ffc",
            false,
            vec![head(200, "No content", false), data("2ad73"), End, Closed],
        ),
        // RFC 9112 §6.3 ¶2 (item 1): a 1xx response ends at its head; llhttp reads the
        // Content-Length or chunked body first. The bytes belong to the new protocol.
        resp(
            "101 to a request that did not ask to upgrade",
            GET,
            "HTTP/1.1 101 Switching Protocols\nConnection: upgrade\nUpgrade: h2c\n\nproto",
            false,
            vec![Said::Error(K::InvalidStatusLine)],
        ),
        resp(
            "llhttp: 101 with Content-Length",
            &["GET+upgrade"],
            "HTTP/1.1 101 Switching Protocols\nConnection: upgrade\nUpgrade: h2c\nContent-Length: 4\n\nbodyproto",
            false,
            vec![
                head(101, "Switching Protocols", true),
                Closed,
                Upgraded(B::from("bodyproto")),
            ],
        ),
        resp(
            "llhttp: 101 with Transfer-Encoding",
            &["GET+upgrade"],
            "HTTP/1.1 101 Switching Protocols\nConnection: upgrade\nUpgrade: h2c\nTransfer-Encoding: chunked\n\n2\nbo\n2\ndy\n0\n\nproto",
            false,
            vec![
                head(101, "Switching Protocols", true),
                Closed,
                Upgraded(B(crlf("2\nbo\n2\ndy\n0\n\nproto"))),
            ],
        ),
        resp(
            "llhttp: 200 with Upgrade, close-delimited",
            GET,
            "HTTP/1.1 200 OK\nConnection: upgrade\nUpgrade: h2c\n\nbody",
            false,
            vec![head(200, "OK", true), data("body")],
        ),
        resp(
            "llhttp: 200 with Upgrade and Content-Length",
            GET,
            "HTTP/1.1 200 OK\nConnection: upgrade\nUpgrade: h2c\nContent-Length: 4\n\nbody",
            false,
            vec![head(200, "OK", true), data("body"), End],
        ),
        resp(
            "llhttp: 200 with Upgrade and Transfer-Encoding",
            GET,
            "HTTP/1.1 200 OK\nConnection: upgrade\nUpgrade: h2c\nTransfer-Encoding: chunked\n\n2\nbo\n2\ndy\n0\n\n",
            false,
            vec![head(200, "OK", true), data("body"), End],
        ),
    ]);
}

/// llhttp's `test/response/{pipelining,finish,lenient-version}.md`.
#[test]
fn llhttp_response_pipelining_finish_version_corpus() {
    use Said::{Closed, End, Error};
    run_resp_table(&[
        // The CRLF after each body is an empty line before the next status-line: skipped
        // (RFC 9112 §2.2 applied to responses too), as llhttp does.
        resp(
            "llhttp: pipelined responses",
            &["POST", "PUT", "PATCH"],
            "HTTP/1.1 200 OK\nContent-Length: 3\n\nAAA\nHTTP/1.1 201 Created\nContent-Length: 4\n\nBBBB\nHTTP/1.1 202 Accepted\nContent-Length: 5\n\nCCCC",
            false,
            vec![
                head(200, "OK", true),
                data("AAA"),
                End,
                head(201, "Created", true),
                data("BBBB"),
                End,
                head(202, "Accepted", true),
                data("CCCC"),
            ],
        ),
        resp(
            "llhttp: pipelined responses, without the stray CRLFs",
            &["POST", "PUT", "PATCH"],
            "HTTP/1.1 200 OK\nContent-Length: 3\n\nAAAHTTP/1.1 201 Created\nContent-Length: 4\n\nBBBBHTTP/1.1 202 Accepted\nContent-Length: 5\n\nCCCC",
            false,
            vec![
                head(200, "OK", true),
                data("AAA"),
                End,
                head(201, "Created", true),
                data("BBBB"),
                End,
                head(202, "Accepted", true),
                data("CCCC"),
            ],
        ),
        resp(
            "llhttp: finish after an empty response",
            GET,
            "HTTP/1.1 200 OK\n\n",
            true,
            vec![head(200, "OK", true), End, Closed],
        ),
        resp(
            "llhttp: finish inside a response head",
            GET,
            "HTTP/1.1 200 OK\nContent-Len",
            true,
            vec![Error(K::IncompleteMessage)],
        ),
        // We speak HTTP/1.0 and 1.1 only; llhttp has a flag to accept any digits.
        resp(
            "llhttp: HTTP/5.6 status line",
            GET,
            "HTTP/5.6 200 OK\n\n",
            false,
            vec![Error(K::InvalidStatusLine)],
        ),
    ]);
}
