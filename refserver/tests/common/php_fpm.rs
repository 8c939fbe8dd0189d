//! A php-fpm pool of our own, on a Unix socket in a temporary directory, serving the
//! scripts in `tests/php/`; killed with its children when dropped.

use super::{TempDir, eventually};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running php-fpm master and its `children` workers.
pub struct PhpFpm {
    child: Child,
    pub socket: PathBuf,
    pub dir: TempDir,
}

/// The php-fpm binary: Debian names it by version.
fn binary() -> Option<PathBuf> {
    let found = ["8.4", "8.3", "8.2", "8.1"]
        .iter()
        .map(|v| PathBuf::from(format!("/usr/sbin/php-fpm{v}")))
        .chain([PathBuf::from("/usr/sbin/php-fpm")])
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "php-fpm is required in CI (Debian package php-fpm)"
        );
        eprintln!("SKIP: php-fpm not found");
    }
    found
}

/// The PHP scripts the tests run.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php")
}

impl PhpFpm {
    /// `None` (after SKIP) when php-fpm is not installed, unless `CI=true`.
    pub fn start(name: &str, children: usize) -> Option<Self> {
        let bin = binary()?;
        let dir = TempDir::new(name);
        let socket = dir.0.join("fpm.sock");
        let root = nix_is_root();
        let conf = format!(
            "[global]\nerror_log = {log}\ndaemonize = no\n\n[www]\n{user}listen = {sock}\n\
             pm = static\npm.max_children = {children}\ncatch_workers_output = yes\n\
             php_admin_value[session.save_path] = {sessions}\n\
             php_admin_value[post_max_size] = 64M\nphp_admin_value[memory_limit] = 256M\n",
            log = dir.0.join("fpm.log").display(),
            user = if root {
                "user = root\ngroup = root\n"
            } else {
                ""
            },
            sock = socket.display(),
            sessions = dir.0.display(),
        );
        let conf_path = dir.0.join("fpm.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(["-n", "-F", "-y"])
            .arg(&conf_path)
            .arg("-p")
            .arg(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if root {
            cmd.arg("-R");
        }
        let child = cmd.spawn().unwrap();
        let sock = socket.clone();
        assert!(
            eventually(Duration::from_secs(10), || UnixStream::connect(&sock)
                .is_ok()),
            "php-fpm did not listen on {}",
            socket.display()
        );
        Some(Self { child, socket, dir })
    }
}

impl Drop for PhpFpm {
    fn drop(&mut self) {
        // The master and its workers share the process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}
