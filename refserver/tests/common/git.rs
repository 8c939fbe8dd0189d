//! git smart HTTP against a server: a bare repository, and the clone, push and fetch
//! round trip the CGI and FastCGI gateways are both proven with.

use super::{body_of, have, run_bounded};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A bare repository `root/repo.git` accepting pushes, and a clean `HOME` for git.
pub struct Fixture {
    pub tmp: PathBuf,
    /// `GIT_PROJECT_ROOT`.
    pub root: PathBuf,
    pub bare: PathBuf,
    pub home: PathBuf,
    /// The git-http-backend program.
    pub backend: PathBuf,
}

impl Fixture {
    /// `None` (after SKIP) without git or git-http-backend, unless `CI=true`.
    pub fn new(name: &str) -> Option<Self> {
        if !have("git") {
            return None;
        }
        let backend = git_http_backend();
        if !backend.is_file() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "git-http-backend is required in CI"
            );
            eprintln!("SKIP: no git-http-backend");
            return None;
        }
        let tmp = super::temp_dir(name);
        let root = tmp.join("srv");
        let home = tmp.join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let bare = root.join("repo.git");
        let fixture = Self {
            tmp,
            root,
            bare,
            home,
            backend,
        };
        let bare = fixture.bare.to_str().unwrap().to_owned();
        fixture.git(None, &["init", "--bare", "-q", &bare]);
        fixture.git(Some(&fixture.bare), &["config", "http.receivepack", "true"]);
        Some(fixture)
    }

    /// git with a clean configuration, no proxy, no prompt; `dir` for `-C`.
    pub fn command(&self, dir: Option<&Path>, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        if let Some(dir) = dir {
            cmd.arg("-C").arg(dir);
        }
        cmd.args([
            "-c",
            "user.name=refserver it",
            "-c",
            "user.email=it@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("HOME", &self.home)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_PROXY", "*")
        .env("no_proxy", "*");
        for name in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_PROTOCOL",
            "http_proxy",
            "HTTP_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            cmd.env_remove(name);
        }
        cmd
    }

    /// Runs git (bounded in time, must succeed) and returns its trimmed stdout.
    pub fn git(&self, dir: Option<&Path>, args: &[&str]) -> String {
        let out = run_bounded(&mut self.command(dir, args), Duration::from_secs(20));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Two clones of the empty repository at `url`, a chunked push of a 300 KB file, a
    /// fetch and a push from the other clone, a v2 fetch, and `ls-remote` in both
    /// protocol versions: each step checked on the server's side.
    pub fn clone_push_fetch(&self, url: &str) {
        let work1 = self.tmp.join("work1");
        let work2 = self.tmp.join("work2");
        let (w1, w2) = (work1.to_str().unwrap(), work2.to_str().unwrap());

        // Two clones of the empty repository: protocol v2, and git's default.
        self.git(None, &["-c", "protocol.version=2", "clone", "-q", url, w1]);
        self.git(None, &["clone", "-q", url, w2]);

        // A push of an incompressible 300 KB file with a small post buffer: git sends the
        // pack chunked, so the server spools it and gives git-http-backend CONTENT_LENGTH.
        std::fs::write(work1.join("big.bin"), body_of(300 * 1024)).unwrap();
        self.git(Some(&work1), &["symbolic-ref", "HEAD", "refs/heads/main"]);
        self.git(Some(&work1), &["add", "big.bin"]);
        self.git(Some(&work1), &["commit", "-q", "-m", "first via http"]);
        let push = run_bounded(
            self.command(
                Some(&work1),
                &[
                    "-c",
                    "http.postBuffer=65536",
                    "push",
                    "-q",
                    "origin",
                    "HEAD:refs/heads/main",
                ],
            )
            .env("GIT_TRACE_CURL", "1")
            .env("GIT_TRACE_CURL_NO_DATA", "1"),
            Duration::from_secs(20),
        );
        let trace = String::from_utf8_lossy(&push.stderr);
        assert!(
            trace.contains("Transfer-Encoding: chunked"),
            "the push was not sent chunked, so the spool is not exercised:\n{trace}"
        );
        assert_eq!(
            self.git(Some(&self.bare), &["log", "--format=%s", "main"]),
            "first via http"
        );

        // The other clone fetches it (default protocol), commits on top and pushes.
        self.git(Some(&work2), &["fetch", "-q", "origin"]);
        assert_eq!(
            self.git(Some(&work2), &["log", "--format=%s", "origin/main"]),
            "first via http"
        );
        self.git(
            Some(&work2),
            &["checkout", "-q", "-B", "main", "origin/main"],
        );
        std::fs::write(work2.join("small.txt"), "second\n").unwrap();
        self.git(Some(&work2), &["add", "small.txt"]);
        self.git(Some(&work2), &["commit", "-q", "-m", "second via http"]);
        self.git(
            Some(&work2),
            &["push", "-q", "origin", "HEAD:refs/heads/main"],
        );
        assert_eq!(
            self.git(Some(&self.bare), &["log", "--format=%s", "main"]),
            "second via http\nfirst via http"
        );

        // The first clone fetches it with protocol v2; both protocols list the same ref.
        self.git(
            Some(&work1),
            &["-c", "protocol.version=2", "fetch", "-q", "origin"],
        );
        assert_eq!(
            self.git(Some(&work1), &["log", "--format=%s", "origin/main"]),
            "second via http\nfirst via http"
        );
        let head = self.git(Some(&self.bare), &["rev-parse", "main"]);
        for version in ["protocol.version=0", "protocol.version=2"] {
            let listed = self.git(None, &["-c", version, "ls-remote", url, "refs/heads/main"]);
            assert_eq!(listed, format!("{head}\trefs/heads/main"), "{version}");
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// The git-http-backend of the `git` on PATH, else the Debian one.
fn git_http_backend() -> PathBuf {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    exec_path
        .map(|p| p.join("git-http-backend"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/lib/git-core/git-http-backend"))
}
