//! The web-server side against a real fcgiwrap running a shell CGI script,
//! over a unix socket in a temp dir (a TCP port picked up front could be
//! taken by a parallel test's peer between the pick and fcgiwrap's bind).
//! Skips when fcgiwrap is not installed, unless `CI=true`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use common::peer::{
    GroupGuard, Req, TempDir, find_peer, pattern, run_requests, spawn_group, wait_until,
};
use fcgi_proto::{Limits, ProtocolStatus, ServerConn};

const SCRIPT: &str = "#!/bin/sh\n\
printf 'Content-Type: text/plain\\r\\n'\n\
printf 'X-Method: %s\\r\\n\\r\\n' \"$REQUEST_METHOD\"\n\
printf 'query=%s\\n' \"$QUERY_STRING\"\n\
printf 'x-test=%s\\n' \"$HTTP_X_TEST\"\n\
echo 'to-stderr' >&2\n\
cat\n";

struct Wrap {
    _guard: GroupGuard,
    socket: std::path::PathBuf,
    script: String,
    _dir: TempDir,
}

impl Wrap {
    fn start() -> Option<Self> {
        let bin = find_peer("fcgiwrap", &["/usr/sbin/fcgiwrap", "/usr/bin/fcgiwrap"])?;
        let dir = TempDir::new("fcgiwrap");
        let script = dir.path().join("echo.sh");
        std::fs::write(&script, SCRIPT).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("fcgiwrap.sock");
        let url = format!("unix:{}", socket.display());
        let guard = spawn_group(Command::new(bin).args(["-f", "-c", "2", "-s", &url]));
        wait_until(Duration::from_secs(10), || {
            UnixStream::connect(&socket).ok()
        });
        Some(Self {
            _guard: guard,
            socket,
            script: script.display().to_string(),
            _dir: dir,
        })
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    fn req(&self, query: &str, body: &[u8]) -> Req {
        let len = body.len().to_string();
        Req::responder(
            &[
                ("GATEWAY_INTERFACE", "CGI/1.1"),
                ("REQUEST_METHOD", "POST"),
                ("SCRIPT_FILENAME", &self.script),
                ("SCRIPT_NAME", "/echo.sh"),
                ("DOCUMENT_ROOT", "/"),
                ("QUERY_STRING", query),
                ("CONTENT_LENGTH", &len),
                ("HTTP_X_TEST", "wrapped"),
            ],
            body,
        )
    }
}

#[test]
fn runs_a_cgi_script_with_params_stdin_and_stderr() {
    let Some(w) = Wrap::start() else { return };
    let body = pattern(40_000);
    let mut conn = ServerConn::new(Limits::default());
    let replies = run_requests(
        w.connect(),
        &mut conn,
        &[w.req("a=1", &body)],
        false,
        Duration::from_secs(20),
    );
    let r = &replies[0];
    assert_eq!(r.protocol_status, Some(ProtocolStatus::RequestComplete));
    let (head, resp) = r.split();
    assert!(head.contains("X-Method: POST"), "{head}");
    let want = b"query=a=1\nx-test=wrapped\n";
    assert!(
        resp.starts_with(want),
        "{:?}",
        String::from_utf8_lossy(&resp[..60.min(resp.len())])
    );
    assert_eq!(&resp[want.len()..], &body[..]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("to-stderr"));
}

#[test]
fn sequential_connections() {
    let Some(w) = Wrap::start() else { return };
    for i in 0..5 {
        let body = pattern(i * 700);
        let mut conn = ServerConn::new(Limits::default());
        let replies = run_requests(
            w.connect(),
            &mut conn,
            &[w.req("", &body)],
            false,
            Duration::from_secs(20),
        );
        let (_, resp) = replies[0].split();
        assert!(resp.ends_with(&body));
    }
}
