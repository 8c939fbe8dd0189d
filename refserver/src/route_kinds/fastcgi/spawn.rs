//! Spawned FastCGI applications, supervised as lighttpd and spawn-fcgi do it.
//!
//! | job | where |
//! |---|---|
//! | the `spawn = { .. }` table and what `--check` can check | [`SpawnConfig`], [`SpawnConfig::validate`] |
//! | the running set, kept across reloads | [`Apps::reconcile`], [`Apps::stop_all`] |
//! | the listening socket the server owns | `bind_listener` |
//! | one process slot: start, reap, back-off, restart | `App::supervise` |
//! | the child: argv, env, cwd, group, user, limits, fd 0 | `App::spawn_child` |
//! | its stdout and stderr to the error log, rate-limited | `forward_output`, `LogBudget` |
//! | stopping: SIGTERM, grace, SIGKILL, reap, socket removed | `App::signal_stop`, `App::wait_stopped` |
//!
//! The server binds each application's unix socket and hands it to every process as
//! fd 0 (`FCGI_LISTENSOCK_FILENO`, FastCGI spec §2.2); the processes all accept on it,
//! so connections wait in the backlog while one restarts. In the server the socket is
//! close-on-exec: only the app's own children get it, as fd 0.
//!
//! Each process slot has one thread (`fcgi-app-<app>.<slot>`) blocking in `waitid`, so
//! every child is reaped and no tokio runtime is needed. The thread sees the exit with
//! `WNOWAIT` first: while the child is a zombie its pid cannot be reused, so that is the
//! only window in which signalling its process group is safe, and the stopper signals
//! only pids the slot still holds under the lock. In that window the slot also kills
//! what is left of the group, so an app that dies leaves no orphans behind.

use crate::config::CgiLimitsConfig;
use crate::route_kinds::cgi::child::{Policy, apply_limits};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufRead, BufReader, PipeReader};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// First wait before restarting a process that exited.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The wait doubles up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A process that ran this long was healthy: its restart waits [`BACKOFF_MIN`] again.
const HEALTHY_RUN: Duration = Duration::from_secs(10);
/// Between SIGTERM and SIGKILL when an application is stopped.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// After SIGKILL, how long to wait for the reaping threads before giving up on them.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How long a slot waits for its output to drain after the process is reaped.
const LOG_DRAIN: Duration = Duration::from_secs(1);
/// Output lines logged per application per second; the rest are counted.
const LOG_LINES_PER_SEC: u32 = 50;
/// Longer output lines are cut here.
const LOG_LINE_MAX: usize = 4096;
/// A typo guard: each process costs a supervising thread.
const MAX_PROCESSES: usize = 1024;
/// `sun_path` is 108 bytes with its NUL; the temporary name adds [`TMP_SUFFIX`].
const SUN_PATH_MAX: usize = 107;
const TMP_SUFFIX: &str = ".new";

/// `spawn = { command = ["/usr/sbin/fcgiwrap"], processes = 2, user = "www-data", group = "www-data",
///            limits = { cpu_secs = 60 }, env = { A = "1" }, inherit_env = ["PATH"], cwd = "/srv",
///            socket = "/run/x.sock", backlog = 1024 }`
///
/// Two equal tables are one application: a reload keeps it running untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpawnConfig {
    /// The program and its arguments (no shell); `command[0]` is a path.
    pub(crate) command: Vec<String>,
    /// Processes accepting on the socket.
    #[serde(default = "default_processes")]
    pub(crate) processes: usize,
    /// Run the processes as this user (name or uid); needs the server to run as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    /// Run them in this group (name or gid; default: the user's primary group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group: Option<String>,
    /// Resource limits of each process (`setrlimit`).
    #[serde(default)]
    pub(crate) limits: CgiLimitsConfig,
    /// Variables set for the processes (over inherited ones of the same name).
    #[serde(default)]
    pub(crate) env: BTreeMap<String, String>,
    /// Variables of the server's own environment passed on (nothing else is).
    #[serde(default = "default_inherit_env")]
    pub(crate) inherit_env: Vec<String>,
    /// The processes' working directory (default: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cwd: Option<PathBuf>,
    /// The unix socket the server binds (replacing a stale socket there, nothing else);
    /// default: a fresh path in a private directory of the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) socket: Option<PathBuf>,
    /// `listen(2)` backlog: connections waiting while every process is busy or restarting.
    #[serde(default = "default_backlog")]
    pub(crate) backlog: u32,
}

fn default_processes() -> usize {
    1
}
fn default_inherit_env() -> Vec<String> {
    vec!["PATH".to_owned()]
}
fn default_backlog() -> u32 {
    1024
}

impl SpawnConfig {
    /// Checks what --check can check without starting anything: command[0] exists and is
    /// executable, processes >= 1, user/group resolve (and root when set), env names valid.
    /// Err is a message without the route prefix.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.settings()?;
        let program = Path::new(&self.command[0]);
        let meta = std::fs::metadata(program)
            .map_err(|e| format!("command `{}`: {e}", program.display()))?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "command `{}` is not an executable file",
                program.display()
            ));
        }
        if let Some(cwd) = &self.cwd
            && !cwd.is_dir()
        {
            return Err(format!("cwd `{}` is not a directory", cwd.display()));
        }
        if let Some(socket) = &self.socket
            && let Ok(meta) = std::fs::symlink_metadata(socket)
            && !meta.file_type().is_socket()
        {
            return Err(format!(
                "socket `{}` exists and is not a socket",
                socket.display()
            ));
        }
        Ok(())
    }

    /// The checks that hold whatever the file system says, and the policy they yield:
    /// also made when an application starts.
    fn settings(&self) -> Result<Policy, String> {
        let Some(program) = self.command.first() else {
            return Err("command is empty".to_owned());
        };
        if program.is_empty() {
            return Err("command[0] is empty".to_owned());
        }
        if let Some(arg) = self.command.iter().find(|a| a.contains('\0')) {
            return Err(format!(
                "command: `{}` contains a NUL byte",
                arg.escape_debug()
            ));
        }
        if !(1..=MAX_PROCESSES).contains(&self.processes) {
            return Err(format!("processes must be between 1 and {MAX_PROCESSES}"));
        }
        for (name, value) in &self.env {
            if !is_env_name(name) || value.contains('\0') {
                return Err(format!("env `{name}`: not a variable name and value"));
            }
        }
        if let Some(name) = self.inherit_env.iter().find(|n| !is_env_name(n)) {
            return Err(format!("inherit_env `{name}`: not a variable name"));
        }
        if let Some(socket) = &self.socket {
            if socket.file_name().is_none() {
                return Err(format!("socket `{}` names no file", socket.display()));
            }
            if socket.as_os_str().len() + TMP_SUFFIX.len() + 1 > SUN_PATH_MAX {
                return Err(format!(
                    "socket `{}` is too long for a unix socket ({} bytes at most)",
                    socket.display(),
                    SUN_PATH_MAX - TMP_SUFFIX.len() - 1
                ));
            }
        }
        Policy::new(self.user.as_deref(), self.group.as_deref(), self.limits)
    }

    fn command_line(&self) -> String {
        self.command.join(" ")
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

/// Every spawned application of the server. One per `Server`, alive for the process.
pub(crate) struct Apps {
    inner: Mutex<Running>,
    grace: Duration,
}

#[derive(Default)]
struct Running {
    apps: Vec<Arc<App>>,
    /// Threads finishing the stop of apps a reload removed.
    stopping: Vec<JoinHandle<()>>,
    /// Where default sockets go; made on first use.
    runtime_dir: Option<tempfile::TempDir>,
    next_id: usize,
}

impl fmt::Debug for Apps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("Apps").field("apps", &inner.apps).finish()
    }
}

impl Default for Apps {
    fn default() -> Self {
        Self::new()
    }
}

impl Apps {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Running::default()),
            grace: STOP_GRACE,
        }
    }

    /// Makes the running set match `wanted` (called at start-up and on every SIGHUP
    /// reload, from a plain thread or from inside an async fn: it binds sockets and
    /// starts threads, and waits for nothing): an app whose [`SpawnConfig`] equals a
    /// running one's is kept untouched (same processes, same listening socket, so a
    /// reload drops nothing); new specs are started; running apps no longer wanted are
    /// signalled now (no restart happens from here on) and finish stopping in the
    /// background (SIGTERM to each process group, SIGKILL after the grace, all reaped,
    /// socket removed). A changed spec on the same `socket` path binds the new socket
    /// and renames it over the old one, so new connections go to the new processes and
    /// the old ones finish what their backlog holds.
    ///
    /// Returns, for each entry of `wanted` in order, its App (equal entries share one),
    /// or why it could not be set up (socket bind failure, bad user, a `socket` path
    /// another entry uses). A program that fails to exec or exits is not an error
    /// here: it is logged and restarted with back-off.
    pub(crate) fn reconcile(&self, wanted: &[SpawnConfig]) -> Vec<Result<Arc<App>, String>> {
        let mut inner = lock(&self.inner);
        let mut kept: Vec<Arc<App>> = Vec::new();
        let mut results = Vec::with_capacity(wanted.len());
        for (i, spec) in wanted.iter().enumerate() {
            if let Some(app) = kept
                .iter()
                .chain(inner.apps.iter())
                .find(|a| a.config == *spec)
            {
                let app = Arc::clone(app);
                if !kept.iter().any(|k| Arc::ptr_eq(k, &app)) {
                    kept.push(Arc::clone(&app));
                }
                results.push(Ok(app));
                continue;
            }
            if let Some(path) = &spec.socket
                && wanted[..i]
                    .iter()
                    .any(|w| w.socket.as_ref() == Some(path) && w != spec)
            {
                results.push(Err(format!(
                    "socket `{}` is already another spawned application's",
                    path.display()
                )));
                continue;
            }
            let id = inner.next_id;
            inner.next_id += 1;
            let path = match &spec.socket {
                Some(path) => path.clone(),
                None => match inner.runtime_dir() {
                    Ok(dir) => dir.join(format!("app-{id}.sock")),
                    Err(e) => {
                        results.push(Err(e));
                        continue;
                    }
                },
            };
            let started = App::start(id, spec, path, &inner.apps);
            if let Ok(app) = &started {
                kept.push(Arc::clone(app));
            }
            results.push(started);
        }
        let old = std::mem::replace(&mut inner.apps, kept);
        inner.stopping.retain(|t| !t.is_finished());
        for app in old {
            if inner.apps.iter().any(|k| Arc::ptr_eq(k, &app)) {
                continue;
            }
            app.signal_stop();
            let grace = self.grace;
            let stopper = Arc::clone(&app);
            match std::thread::Builder::new()
                .name(format!("fcgi-stop-{}", app.id))
                .spawn(move || stopper.wait_stopped(Instant::now() + grace))
            {
                Ok(handle) => inner.stopping.push(handle),
                Err(e) => {
                    tracing::warn!("fastcgi app `{}`: stopping inline: {e}", app.name);
                    app.wait_stopped(Instant::now() + grace);
                }
            }
        }
        results
    }

    /// Each running app's counters, for the status page.
    pub(crate) fn snapshot(&self) -> Vec<AppSnapshot> {
        lock(&self.inner)
            .apps
            .iter()
            .map(|a| a.snapshot())
            .collect()
    }

    /// Stops every app (at server exit); returns once all processes are reaped or after a
    /// bounded grace (SIGTERM, [`STOP_GRACE`], SIGKILL, up to [`KILL_WAIT`] per app).
    pub(crate) fn stop_all(&self) {
        let (apps, stopping, runtime_dir) = {
            let mut inner = lock(&self.inner);
            (
                std::mem::take(&mut inner.apps),
                std::mem::take(&mut inner.stopping),
                inner.runtime_dir.take(),
            )
        };
        for app in &apps {
            app.signal_stop();
        }
        let deadline = Instant::now() + self.grace;
        for app in &apps {
            app.wait_stopped(deadline);
        }
        for handle in stopping {
            let _ = handle.join();
        }
        drop(runtime_dir);
    }

    #[cfg(test)]
    fn with_grace(grace: Duration) -> Self {
        Self {
            inner: Mutex::new(Running::default()),
            grace,
        }
    }

    /// Waits for the background stops of apps a reload removed.
    #[cfg(test)]
    fn join_stopping(&self) {
        let stopping = std::mem::take(&mut lock(&self.inner).stopping);
        for handle in stopping {
            let _ = handle.join();
        }
    }
}

impl Drop for Apps {
    fn drop(&mut self) {
        self.stop_all();
    }
}

impl Running {
    /// A private directory for default sockets: random name, ours, mode 0711 so an app
    /// running as another user can still reach its socket by path.
    fn runtime_dir(&mut self) -> Result<&Path, String> {
        if self.runtime_dir.is_none() {
            let dir = tempfile::Builder::new()
                .prefix(&format!("refserver-{}-", std::process::id()))
                .tempdir()
                .map_err(|e| format!("runtime directory: {e}"))?;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
                .map_err(|e| format!("runtime directory: {e}"))?;
            self.runtime_dir = Some(dir);
        }
        match &self.runtime_dir {
            Some(dir) => Ok(dir.path()),
            None => Err("runtime directory: not made".to_owned()),
        }
    }
}

/// One spawned application: its socket and its supervised processes.
pub(crate) struct App {
    id: usize,
    config: SpawnConfig,
    /// `command[0]`'s file name, for log lines.
    name: String,
    socket_path: PathBuf,
    /// (device, inode) of the socket file we bound: removed at stop only if still ours.
    socket_file: (u64, u64),
    /// Close-on-exec here; each child gets a duplicate as fd 0.
    listener: UnixListener,
    policy: Policy,
    env: Vec<(OsString, OsString)>,
    state: Mutex<State>,
    changed: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Shared by the app's processes: the rate limit is per app.
    log: Arc<Mutex<LogBudget>>,
}

struct State {
    stopping: bool,
    /// The pid each slot's process has, while it is not yet reaped.
    pids: Vec<Option<Pid>>,
    /// Supervising threads still running.
    live: usize,
    restarts: u64,
    last_exit: Option<String>,
}

/// For the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AppSnapshot {
    /// The argv, space-separated.
    pub(crate) command: String,
    /// Processes running now.
    pub(crate) running: usize,
    /// Processes configured.
    pub(crate) processes: usize,
    /// Processes started again after one exited (or could not start).
    pub(crate) restarts: u64,
    /// How the last process to end ended, e.g. `exit status: 1` or `cannot start: ...`.
    pub(crate) last_exit: Option<String>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("id", &self.id)
            .field("command", &self.config.command)
            .field("socket", &self.socket_path)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Where the server connects to reach this application.
    pub(crate) fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// For the status page.
    pub(crate) fn snapshot(&self) -> AppSnapshot {
        let state = lock(&self.state);
        AppSnapshot {
            command: self.config.command_line(),
            running: state.pids.iter().flatten().count(),
            processes: self.config.processes,
            restarts: state.restarts,
            last_exit: state.last_exit.clone(),
        }
    }

    /// Binds the socket and starts one supervising thread per process.
    fn start(
        id: usize,
        spec: &SpawnConfig,
        socket_path: PathBuf,
        running: &[Arc<App>],
    ) -> Result<Arc<Self>, String> {
        let policy = spec.settings()?;
        let mut env: Vec<(OsString, OsString)> = spec
            .inherit_env
            .iter()
            .filter(|name| !spec.env.contains_key(*name))
            .filter_map(|name| Some((OsString::from(name), std::env::var_os(name)?)))
            .collect();
        env.extend(
            spec.env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        let ours = |meta: &std::fs::Metadata| {
            running
                .iter()
                .any(|a| a.socket_file == (meta.dev(), meta.ino()))
        };
        let (listener, socket_file) = bind_listener(&socket_path, spec.backlog, &policy, ours)
            .map_err(|e| format!("socket `{}`: {e}", socket_path.display()))?;
        let name = Path::new(&spec.command[0]).file_name().map_or_else(
            || spec.command[0].clone(),
            |n| n.to_string_lossy().into_owned(),
        );
        let app = Arc::new(Self {
            id,
            config: spec.clone(),
            name,
            socket_path,
            socket_file,
            listener,
            policy,
            env,
            state: Mutex::new(State {
                stopping: false,
                pids: vec![None; spec.processes],
                live: 0,
                restarts: 0,
                last_exit: None,
            }),
            changed: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            log: Arc::new(Mutex::new(LogBudget::default())),
        });
        for slot in 0..spec.processes {
            let worker = Arc::clone(&app);
            lock(&app.state).live += 1;
            let spawned = std::thread::Builder::new()
                .name(format!("fcgi-app-{id}.{slot}"))
                .spawn(move || worker.supervise(slot));
            match spawned {
                Ok(handle) => lock(&app.threads).push(handle),
                Err(e) => {
                    lock(&app.state).live -= 1;
                    app.signal_stop();
                    app.wait_stopped(Instant::now() + STOP_GRACE);
                    return Err(format!("cannot start a supervising thread: {e}"));
                }
            }
        }
        tracing::info!(
            "fastcgi app `{}`: {} process(es) on {}",
            app.config.command_line(),
            spec.processes,
            app.socket_path.display()
        );
        Ok(app)
    }

    /// One process slot, until the app stops: start, wait, log the exit, back off, again.
    fn supervise(self: Arc<Self>, slot: usize) {
        let mut backoff = BACKOFF_MIN;
        let mut first = true;
        loop {
            let started = Instant::now();
            let spawned = {
                let mut state = lock(&self.state);
                if state.stopping {
                    break;
                }
                if !first {
                    state.restarts += 1;
                }
                first = false;
                // Under the lock, so a stop either prevents this start or sees the pid.
                match self.spawn_child() {
                    Ok((child, output)) => match i32::try_from(child.id()) {
                        Ok(pid) => {
                            state.pids[slot] = Some(Pid::from_raw(pid));
                            Ok((child, output))
                        }
                        Err(_) => Err(io::Error::other("pid out of range")),
                    },
                    Err(e) => Err(e),
                }
            };
            match spawned {
                Ok((child, output)) => self.run_child(slot, child, output),
                Err(e) => {
                    tracing::warn!("fastcgi app `{}`: cannot start: {e}", self.name);
                    lock(&self.state).last_exit = Some(format!("cannot start: {e}"));
                }
            }
            if started.elapsed() >= HEALTHY_RUN {
                backoff = BACKOFF_MIN;
            }
            let state = lock(&self.state);
            let (state, _) = self
                .changed
                .wait_timeout_while(state, backoff, |s| !s.stopping)
                .unwrap_or_else(PoisonError::into_inner);
            if state.stopping {
                break;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        let mut state = lock(&self.state);
        state.live -= 1;
        self.changed.notify_all();
    }

    /// Logs the child's output until it is reaped, and records how it ended.
    fn run_child(&self, slot: usize, mut child: Child, output: PipeReader) {
        let pid = child.id();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let forwarder = std::thread::Builder::new()
            .name(format!("fcgi-log-{}.{slot}", self.id))
            .spawn({
                let log = LogSink {
                    name: self.name.clone(),
                    pid,
                    budget: Arc::clone(&self.log),
                };
                move || {
                    forward_output(&log, output);
                    drop(done_tx);
                }
            });
        if let Err(e) = &forwarder {
            tracing::warn!("fastcgi app `{}`: output not logged: {e}", self.name);
        }
        let status = self.reap(slot, &mut child);
        if forwarder.is_ok() {
            let _ = done_rx.recv_timeout(LOG_DRAIN);
        }
        let ended = match &status {
            Ok(status) => status.to_string(),
            Err(e) => format!("wait failed: {e}"),
        };
        let mut state = lock(&self.state);
        if state.stopping {
            tracing::info!("fastcgi app `{}` [{pid}] stopped: {ended}", self.name);
        } else {
            tracing::warn!(
                "fastcgi app `{}` [{pid}] exited ({ended}); restarting",
                self.name
            );
        }
        state.last_exit = Some(ended);
    }

    /// Waits for the child to exit, kills what is left of its process group while its
    /// zombie still holds the group id, then reaps it.
    fn reap(&self, slot: usize, child: &mut Child) -> io::Result<ExitStatus> {
        if let Ok(raw) = i32::try_from(child.id()) {
            let pid = Pid::from_raw(raw);
            while let Err(nix::errno::Errno::EINTR) =
                waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
            {}
            let mut state = lock(&self.state);
            let _ = killpg(pid, Signal::SIGKILL);
            state.pids[slot] = None;
        }
        child.wait()
    }

    /// The child, with fd 0 the listening socket and fds 1 and 2 one pipe to us.
    fn spawn_child(&self) -> io::Result<(Child, PipeReader)> {
        let (reader, writer) = io::pipe()?;
        let socket: OwnedFd = self.listener.as_fd().try_clone_to_owned()?;
        let mut cmd = Command::new(&self.config.command[0]);
        cmd.args(&self.config.command[1..])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::from(socket))
            .stdout(Stdio::from(writer.try_clone()?))
            .stderr(Stdio::from(writer))
            // Its own group, so a stop reaches whatever it started too.
            .process_group(0);
        if let Some(cwd) = &self.config.cwd {
            cmd.current_dir(cwd);
        }
        self.policy.apply_to(&mut cmd);
        let limits = self.policy.has_limits().then_some(self.policy.limits);
        let server = nix::unistd::getpid();
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe calls are allowed: it makes nothing but close_range(2),
        // prctl(2), getppid(2) and setrlimit(2) system calls (no allocation, no lock), on
        // values copied in before the fork.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(move || {
                mark_inherited_fds_cloexec();
                // The application goes with the server, even one killed with SIGKILL
                // (nothing is left to stop it then): SIGTERM when this slot's thread, the
                // one that forks it and waits for it, ends. A server already gone by now
                // is caught by its pid.
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(io::Error::from)?;
                if nix::unistd::getppid() != server {
                    return Err(io::Error::other("the server exited"));
                }
                limits.as_ref().map_or(Ok(()), apply_limits)
            });
        }
        // The Command holds the parent's copies of the socket and the pipe's write end:
        // dropped with it, right after the fork.
        let child = cmd.spawn()?;
        Ok((child, reader))
    }

    /// Marks the app stopping (no restart happens from now on) and sends SIGTERM to
    /// every process group it has.
    fn signal_stop(&self) {
        let mut state = lock(&self.state);
        if !state.stopping {
            state.stopping = true;
            for pid in state.pids.iter().flatten() {
                let _ = killpg(*pid, Signal::SIGTERM);
            }
        }
        self.changed.notify_all();
    }

    /// After [`App::signal_stop`]: waits until `deadline` for every process to be
    /// reaped, then SIGKILLs what is left and waits [`KILL_WAIT`] more; removes the
    /// socket file if it is still the one this app bound.
    fn wait_stopped(&self, deadline: Instant) {
        let state = lock(&self.state);
        let grace = deadline.saturating_duration_since(Instant::now());
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, grace, |s| s.live > 0)
            .unwrap_or_else(PoisonError::into_inner);
        if state.live > 0 {
            tracing::warn!(
                "fastcgi app `{}`: still running after the grace; SIGKILL",
                self.name
            );
            for pid in state.pids.iter().flatten() {
                let _ = killpg(*pid, Signal::SIGKILL);
            }
            state = self
                .changed
                .wait_timeout_while(state, KILL_WAIT, |s| s.live > 0)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let all_reaped = state.live == 0;
        drop(state);
        if all_reaped {
            for handle in std::mem::take(&mut *lock(&self.threads)) {
                let _ = handle.join();
            }
        } else {
            tracing::warn!(
                "fastcgi app `{}`: processes not reaped after SIGKILL; leaving them",
                self.name
            );
        }
        if let Ok(meta) = std::fs::symlink_metadata(&self.socket_path)
            && (meta.dev(), meta.ino()) == self.socket_file
        {
            let _ = std::fs::remove_file(&self.socket_path);
        }
    }

    /// Pids of the processes running now, by slot.
    #[cfg(test)]
    fn pids(&self) -> Vec<Option<i32>> {
        lock(&self.state)
            .pids
            .iter()
            .map(|p| p.map(Pid::as_raw))
            .collect()
    }
}

impl Policy {
    /// Sets user and group on a spawned application's command.
    fn apply_to(&self, cmd: &mut Command) {
        if let Some(gid) = self.gid {
            cmd.gid(gid);
        }
        if let Some(uid) = self.uid {
            // std drops the supplementary groups too (setgroups(0)) when root changes uid.
            cmd.uid(uid);
        }
    }
}

/// In the forked child: marks every fd above 2 close-on-exec, so fds the server itself
/// inherited without the flag (from a shell, a supervisor) do not reach the app. Ours
/// all have it already. An old kernel without close_range(2) leaves them as they are.
#[allow(unsafe_code)]
fn mark_inherited_fds_cloexec() {
    // SAFETY: a raw system call with integer arguments, no memory passed; it only sets
    // flags on descriptors of this (child) process.
    let _ = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

/// Binds `path` as a listening socket: at a temporary name first, owned by the policy's
/// user with mode 0660 and listening, then renamed over `path`, so the path never
/// names a socket that refuses connections. Something at `path` that is not a socket
/// is left alone (an error); a socket that accepts connections is replaced only if
/// `ours` says one of our apps bound it.
fn bind_listener(
    path: &Path,
    backlog: u32,
    policy: &Policy,
    ours: impl Fn(&std::fs::Metadata) -> bool,
) -> io::Result<(UnixListener, (u64, u64))> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket; not replacing it",
            ));
        }
        Ok(meta) if !ours(&meta) && accepts(path) => {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another process is listening on it",
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let Some(file_name) = path.file_name() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "names no file"));
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(TMP_SUFFIX);
    let tmp = path.with_file_name(tmp_name);
    if std::fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_socket()) {
        std::fs::remove_file(&tmp)?;
    }
    // socket2 opens it close-on-exec.
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    socket.bind(&socket2::SockAddr::unix(&tmp)?)?;
    let finish = || -> io::Result<(u64, u64)> {
        if policy.uid.is_some() || policy.gid.is_some() {
            std::os::unix::fs::chown(&tmp, policy.uid, policy.gid)?;
        }
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o660))?;
        socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        let meta = std::fs::symlink_metadata(&tmp)?;
        std::fs::rename(&tmp, path)?;
        Ok((meta.dev(), meta.ino()))
    };
    match finish() {
        Ok(file) => Ok((UnixListener::from(OwnedFd::from(socket)), file)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Whether something listens on the unix socket at `path` (a non-blocking connect, so
/// a full backlog counts as listening rather than blocking us).
fn accepts(path: &Path) -> bool {
    let Ok(addr) = socket2::SockAddr::unix(path) else {
        return false;
    };
    let Ok(probe) = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None) else {
        return false;
    };
    if probe.set_nonblocking(true).is_err() {
        return false;
    }
    match probe.connect(&addr) {
        Ok(()) => true,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
        ),
    }
}

/// Where one process's output lines go.
struct LogSink {
    name: String,
    pid: u32,
    budget: Arc<Mutex<LogBudget>>,
}

/// At most [`LOG_LINES_PER_SEC`] lines a second; what is over is counted and reported.
#[derive(Debug, Default)]
struct LogBudget {
    window: Option<Instant>,
    lines: u32,
    dropped: u64,
}

impl LogBudget {
    /// Whether a line arriving at `now` is logged, and how many were dropped in the
    /// window that just ended (to report before it).
    fn admit(&mut self, now: Instant) -> (bool, u64) {
        let mut ended = 0;
        let fresh = self
            .window
            .is_none_or(|w| now.saturating_duration_since(w) >= Duration::from_secs(1));
        if fresh {
            ended = std::mem::take(&mut self.dropped);
            self.window = Some(now);
            self.lines = 0;
        }
        if self.lines >= LOG_LINES_PER_SEC {
            self.dropped += 1;
            return (false, ended);
        }
        self.lines += 1;
        (true, ended)
    }
}

impl LogSink {
    fn line(&self, line: &[u8]) {
        let (log, dropped) = lock(&self.budget).admit(Instant::now());
        self.report_dropped(dropped);
        if log {
            let text = String::from_utf8_lossy(line);
            tracing::warn!(
                "fastcgi app `{}` [{}]: {}",
                self.name,
                self.pid,
                text.trim_end_matches('\r')
            );
        }
    }

    fn report_dropped(&self, dropped: u64) {
        if dropped > 0 {
            tracing::warn!(
                "fastcgi app `{}` [{}]: {dropped} output lines dropped (over {LOG_LINES_PER_SEC} a second)",
                self.name,
                self.pid
            );
        }
    }
}

/// Logs `output` until every writer closed it, then what the rate limit dropped.
fn forward_output(sink: &LogSink, output: PipeReader) {
    split_lines(output, |line| sink.line(line));
    let dropped = std::mem::take(&mut lock(&sink.budget).dropped);
    sink.report_dropped(dropped);
}

/// Calls `line` for each line of `input` (without its `\n`, cut at [`LOG_LINE_MAX`]
/// bytes), and for a last line without one; holds at most one line.
fn split_lines(input: impl io::Read, mut line: impl FnMut(&[u8])) {
    let mut reader = BufReader::new(input);
    let mut current = Vec::new();
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => break,
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let (used, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let text = &buf[..used - usize::from(end)];
        let room = LOG_LINE_MAX.saturating_sub(current.len());
        current.extend_from_slice(&text[..text.len().min(room)]);
        reader.consume(used);
        if end {
            line(&current);
            current.clear();
        }
    }
    if !current.is_empty() {
        line(&current);
    }
}

/// A poisoned lock still guards consistent data here (every update is one assignment).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcgi_proto::{Limits, Role, ServerConn, ServerEvent};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    const FCGIWRAP: &str = "/usr/sbin/fcgiwrap";
    /// A CGI script that names the fcgiwrap process that ran it (its parent).
    const SCRIPT: &str =
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nprintf 'ppid=%s\\n' \"$PPID\"\n";

    /// A directory with the script, readable by anyone (the `nobody` test runs it).
    struct Site {
        dir: tempfile::TempDir,
    }

    impl Site {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod dir");
            let script = dir.path().join("pid.sh");
            std::fs::write(&script, SCRIPT).expect("write script");
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod script");
            Self { dir }
        }

        fn script(&self) -> String {
            self.dir.path().join("pid.sh").display().to_string()
        }

        /// Which fcgiwrap process answered a request sent to `app`.
        fn ask(&self, app: &App) -> io::Result<i32> {
            let script = self.script();
            let out = request(
                app.socket_path(),
                &[
                    ("GATEWAY_INTERFACE", "CGI/1.1"),
                    ("REQUEST_METHOD", "GET"),
                    ("SCRIPT_FILENAME", &script),
                    ("SCRIPT_NAME", "/pid.sh"),
                    ("DOCUMENT_ROOT", "/"),
                ],
            )?;
            let text = String::from_utf8_lossy(&out);
            text.split("ppid=")
                .nth(1)
                .and_then(|rest| rest.trim().parse().ok())
                .ok_or_else(|| io::Error::other(format!("unexpected answer {text:?}")))
        }

        /// Asks until an answer comes (the processes are starting).
        fn ask_until_up(&self, app: &App) -> i32 {
            let end = Instant::now() + Duration::from_secs(10);
            loop {
                match self.ask(app) {
                    Ok(pid) => return pid,
                    Err(e) => assert!(Instant::now() < end, "no answer within 10 s: {e}"),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// One Responder request over a fresh connection; the STDOUT it got back.
    fn request(path: &Path, params: &[(&str, &str)]) -> io::Result<Vec<u8>> {
        let proto = |e: fcgi_proto::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let mut sock = UnixStream::connect(path)?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        sock.set_write_timeout(Some(Duration::from_secs(10)))?;
        let mut conn = ServerConn::new(Limits::default());
        let id = conn.begin_request(Role::Responder, false).map_err(proto)?;
        conn.send_params(id, params.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
            .map_err(proto)?;
        conn.end_params(id).map_err(proto)?;
        conn.end_stdin(id).map_err(proto)?;
        while let Some(bytes) = conn.poll_transmit() {
            sock.write_all(&bytes)?;
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            while let Some(event) = conn.poll_event().map_err(proto)? {
                match event {
                    ServerEvent::Stdout { data, .. } => out.extend_from_slice(&data),
                    ServerEvent::EndRequest { .. } => return Ok(out),
                    _ => {}
                }
            }
            let n = sock.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            conn.feed(&buf[..n]);
        }
    }

    fn spec(command: &[&str]) -> SpawnConfig {
        toml::from_str::<SpawnConfig>(&format!("command = {command:?}")).expect("spec")
    }

    fn fcgiwrap(processes: usize) -> SpawnConfig {
        SpawnConfig {
            processes,
            ..spec(&[FCGIWRAP])
        }
    }

    fn start(apps: &Apps, specs: &[SpawnConfig]) -> Vec<Arc<App>> {
        apps.reconcile(specs)
            .into_iter()
            .map(|r| r.expect("app starts"))
            .collect()
    }

    /// Waits until every slot of `app` has a process, and returns their pids.
    fn running_pids(app: &App) -> Vec<i32> {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let pids: Vec<i32> = app.pids().into_iter().flatten().collect();
            if pids.len() == app.config.processes {
                return pids;
            }
            assert!(Instant::now() < end, "processes not up: {:?}", app.pids());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILLs `pid` and waits until its slot saw it exit.
    fn kill_and_wait_dead(app: &App, pid: i32) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        let end = Instant::now() + Duration::from_secs(5);
        while app.pids().contains(&Some(pid)) {
            assert!(Instant::now() < end, "{pid} did not die");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Not our child any more: reaped (no /proc entry), or the pid reused by a stranger.
    fn reaped(pid: i32) -> bool {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return true;
        };
        let ours = format!("PPid:\t{}\n", std::process::id());
        !status.contains(&ours)
    }

    /// A process's open fds, by number, with what each refers to.
    fn fds_of(pid: &str) -> Vec<(u32, String)> {
        let mut fds: Vec<(u32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fds")
            .filter_map(|e| {
                let e = e.ok()?;
                let n = e.file_name().to_str()?.parse().ok()?;
                Some((n, std::fs::read_link(e.path()).ok()?.display().to_string()))
            })
            .collect();
        fds.sort();
        fds
    }

    fn status_field(pid: i32, field: &str) -> String {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn a_table_parses_with_its_defaults() {
        let c: SpawnConfig = toml::from_str("command = [\"/bin/true\", \"-x\"]").expect("parse");
        assert_eq!(c.processes, 1);
        assert_eq!(c.inherit_env, ["PATH"]);
        assert_eq!(c.backlog, 1024);
        assert_eq!((c.user, c.socket, c.cwd), (None, None, None));
        assert!(toml::from_str::<SpawnConfig>("command = [\"/bin/true\"]\nprocess = 2").is_err());
    }

    #[test]
    fn validate_refuses_what_cannot_run() {
        let ok = spec(&["/bin/true"]);
        assert_eq!(ok.validate(), Ok(()));
        let cases = [
            (spec(&["/nonexistent/app"]), "command `/nonexistent/app`"),
            (spec(&["/etc"]), "not an executable file"),
            (spec(&[]), "command is empty"),
            (
                SpawnConfig {
                    processes: 0,
                    ..ok.clone()
                },
                "processes",
            ),
            (
                SpawnConfig {
                    user: Some("no-such-user-here".to_owned()),
                    ..ok.clone()
                },
                "does not exist",
            ),
            (
                SpawnConfig {
                    env: [("A=B".to_owned(), "1".to_owned())].into(),
                    ..ok.clone()
                },
                "env `A=B`",
            ),
            (
                SpawnConfig {
                    cwd: Some("/nonexistent".into()),
                    ..ok.clone()
                },
                "cwd",
            ),
            (
                SpawnConfig {
                    socket: Some("/etc/hostname".into()),
                    ..ok.clone()
                },
                "is not a socket",
            ),
            (
                SpawnConfig {
                    socket: Some(PathBuf::from(format!("/tmp/{}", "x".repeat(120)))),
                    ..ok.clone()
                },
                "too long",
            ),
        ];
        for (c, want) in cases {
            let got = c.validate();
            assert!(
                got.as_ref().is_err_and(|e| e.contains(want)),
                "{:?}: {got:?}",
                c.command
            );
        }
    }

    #[test]
    fn processes_start_accept_on_the_shared_socket_and_answer() {
        let site = Site::new();
        let apps = Apps::with_grace(Duration::from_secs(2));
        let [app] = &start(&apps, &[fcgiwrap(2)])[..] else {
            unreachable!()
        };
        let pids = running_pids(app);
        for _ in 0..20 {
            let answered_by = site.ask_until_up(app);
            assert!(pids.contains(&answered_by), "{answered_by} not in {pids:?}");
        }
        let snap = app.snapshot();
        assert_eq!((snap.running, snap.processes, snap.restarts), (2, 2, 0));
        assert_eq!(snap.command, FCGIWRAP);
        // fd 0 is the socket, and nothing else of the server's is open in the child
        // (fcgiwrap opens fds of its own, such as the connection it last accepted).
        let ours: Vec<String> = fds_of("self").into_iter().map(|(_, l)| l).collect();
        for pid in &pids {
            let fds = fds_of(&pid.to_string());
            assert!(fds[0].0 == 0 && fds[0].1.starts_with("socket:"), "{fds:?}");
            let leaked: Vec<_> = fds
                .iter()
                .filter(|(n, l)| *n > 2 && ours.contains(l))
                .collect();
            assert!(
                leaked.is_empty(),
                "fcgiwrap {pid} has the server's {leaked:?}"
            );
        }
    }

    #[test]
    fn a_killed_process_is_restarted_and_requests_wait_in_the_backlog() {
        let site = Site::new();
        let apps = Apps::with_grace(Duration::from_secs(2));
        let [app] = &start(&apps, &[fcgiwrap(2)])[..] else {
            unreachable!()
        };
        let before = running_pids(app);
        site.ask_until_up(app);
        // One killed: the other keeps answering meanwhile. (A connection a process
        // accepts in the instant it is killed is lost with it, so ask once it is dead.)
        kill_and_wait_dead(app, before[0]);
        for _ in 0..10 {
            site.ask(app).expect("answered while one restarts");
        }
        // Both killed: a request waits in the backlog for the restarted processes.
        let now = running_pids(app);
        for pid in &now {
            kill_and_wait_dead(app, *pid);
        }
        let answered_by = site.ask(app).expect("answered after the restart");
        let after = running_pids(app);
        assert!(after.contains(&answered_by));
        assert!(
            after.iter().all(|p| !before.contains(p)),
            "{before:?} {after:?}"
        );
        let snap = app.snapshot();
        assert!(snap.restarts >= 3, "{snap:?}");
        assert!(
            snap.last_exit
                .as_deref()
                .is_some_and(|e| e.contains("SIGKILL")),
            "{snap:?}"
        );
        for pid in before.iter().chain(&now) {
            assert!(reaped(*pid), "{pid} not reaped");
        }
    }

    #[test]
    fn a_reload_keeps_an_unchanged_app_and_restarts_a_changed_one() {
        let site = Site::new();
        let apps = Apps::with_grace(Duration::from_secs(2));
        let kept = fcgiwrap(1);
        let mut changed = fcgiwrap(2);
        changed.env.insert("GENERATION".to_owned(), "1".to_owned());
        let first = start(&apps, &[kept.clone(), changed.clone()]);
        let kept_pids = running_pids(&first[0]);
        let old_pids = running_pids(&first[1]);
        let old_socket = first[1].socket_path().to_owned();
        changed.env.insert("GENERATION".to_owned(), "2".to_owned());
        let second = start(&apps, &[kept, changed]);
        assert!(Arc::ptr_eq(&first[0], &second[0]));
        assert!(!Arc::ptr_eq(&first[1], &second[1]));
        assert_eq!(running_pids(&second[0]), kept_pids);
        let new_pids = running_pids(&second[1]);
        assert!(new_pids.iter().all(|p| !old_pids.contains(p)));
        site.ask_until_up(&second[0]);
        site.ask_until_up(&second[1]);
        apps.join_stopping();
        assert!(old_pids.iter().all(|p| reaped(*p)), "{old_pids:?}");
        assert!(!old_socket.exists());
        assert_eq!(first[1].snapshot().running, 0);
    }

    #[test]
    fn a_changed_app_on_the_same_socket_path_takes_it_over() {
        let site = Site::new();
        let apps = Apps::with_grace(Duration::from_secs(2));
        let socket = site.dir.path().join("app.sock");
        let mut c = SpawnConfig {
            socket: Some(socket.clone()),
            ..fcgiwrap(1)
        };
        let first = start(&apps, std::slice::from_ref(&c));
        let old = running_pids(&first[0]);
        c.processes = 2;
        let second = start(&apps, &[c]);
        let answered_by = site.ask_until_up(&second[0]);
        assert!(!old.contains(&answered_by));
        apps.join_stopping();
        // The old app left the new app's socket file in place.
        assert!(std::fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket()));
        site.ask(&second[0]).expect("still answers");
    }

    #[test]
    fn a_removed_app_is_stopped_reaped_and_its_socket_removed() {
        let apps = Apps::with_grace(Duration::from_secs(2));
        let first = start(&apps, &[fcgiwrap(3)]);
        let pids = running_pids(&first[0]);
        let socket = first[0].socket_path().to_owned();
        assert!(socket.exists());
        assert!(apps.reconcile(&[]).is_empty());
        // No restart once the reload returned.
        apps.join_stopping();
        assert!(pids.iter().all(|p| reaped(*p)), "{pids:?}");
        assert!(!socket.exists());
        let snap = first[0].snapshot();
        assert_eq!((snap.running, snap.restarts), (0, 0));
    }

    #[test]
    fn a_process_ignoring_sigterm_is_killed_after_the_grace() {
        let apps = Apps::with_grace(Duration::from_millis(300));
        let c = spec(&["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]);
        let [app] = &start(&apps, &[c])[..] else {
            unreachable!()
        };
        let pid = running_pids(app)[0];
        // Let the shell install its trap.
        std::thread::sleep(Duration::from_millis(200));
        let began = Instant::now();
        apps.stop_all();
        assert!(
            began.elapsed() < Duration::from_secs(3),
            "{:?}",
            began.elapsed()
        );
        assert!(reaped(pid));
        assert!(
            app.snapshot()
                .last_exit
                .is_some_and(|e| e.contains("SIGKILL"))
        );
    }

    #[test]
    fn children_run_as_the_configured_user() {
        let site = Site::new();
        let nobody = nix::unistd::User::from_name("nobody")
            .expect("passwd")
            .expect("nobody exists");
        let apps = Apps::with_grace(Duration::from_secs(2));
        let c = SpawnConfig {
            user: Some("nobody".to_owned()),
            ..fcgiwrap(1)
        };
        let [app] = &start(&apps, &[c])[..] else {
            unreachable!()
        };
        let pid = running_pids(app)[0];
        let uid = nobody.uid.as_raw().to_string();
        let gid = nobody.gid.as_raw().to_string();
        assert_eq!(status_field(pid, "Uid:"), [&uid[..]; 4].join("\t"));
        assert_eq!(status_field(pid, "Gid:"), [&gid[..]; 4].join("\t"));
        assert_eq!(status_field(pid, "Groups:"), "");
        let meta = std::fs::metadata(app.socket_path()).expect("socket");
        assert_eq!(
            (meta.uid(), meta.mode() & 0o777),
            (nobody.uid.as_raw(), 0o660)
        );
        assert_eq!(site.ask_until_up(app), pid);
    }

    #[test]
    fn a_child_gets_only_its_env_and_its_cwd_group_and_limits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let apps = Apps::with_grace(Duration::from_secs(2));
        let c = SpawnConfig {
            env: [("APP_MODE".to_owned(), "test".to_owned())].into(),
            inherit_env: vec!["PATH".to_owned(), "REFSERVER_SURELY_UNSET".to_owned()],
            cwd: Some(dir.path().to_owned()),
            limits: CgiLimitsConfig {
                open_files: Some(64),
                ..CgiLimitsConfig::default()
            },
            ..spec(&["/bin/sleep", "30"])
        };
        let [app] = &start(&apps, &[c])[..] else {
            unreachable!()
        };
        let pid = running_pids(app)[0];
        let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
        let mut names: Vec<String> = environ
            .split(|&b| b == 0)
            .filter(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        names.sort();
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(names, ["APP_MODE=test".to_owned(), format!("PATH={path}")]);
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd");
        assert_eq!(cwd, dir.path().canonicalize().expect("canonical"));
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let pgid = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(2));
        assert_eq!(pgid, Some(&pid.to_string()[..]), "its own process group");
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
        let nofile = limits.lines().find(|l| l.starts_with("Max open files"));
        assert!(
            nofile.is_some_and(|l| l.split_whitespace().nth(3) == Some("64")),
            "{nofile:?}"
        );
    }

    #[test]
    fn a_program_that_exits_at_once_is_restarted_with_back_off() {
        let apps = Apps::with_grace(Duration::from_secs(2));
        let exits = spec(&["/bin/false"]);
        let missing = spec(&["/nonexistent/app"]);
        let started = start(&apps, &[exits, missing]);
        std::thread::sleep(Duration::from_millis(2000));
        // 100 + 200 + 400 + 800 ms of back-off fit in 2 s: four restarts, not thousands.
        for app in &started {
            let snap = app.snapshot();
            assert!((2..=6).contains(&snap.restarts), "{snap:?}");
        }
        let exited = started[0].snapshot().last_exit.unwrap_or_default();
        assert!(exited.contains("exit status: 1"), "{exited}");
        let missing = started[1].snapshot().last_exit.unwrap_or_default();
        assert!(missing.starts_with("cannot start"), "{missing}");
    }

    #[test]
    fn a_socket_path_holding_something_else_is_refused_and_a_stale_socket_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("file");
        std::fs::write(&file, "keep me").expect("write");
        let stale = dir.path().join("stale.sock");
        drop(UnixListener::bind(&stale).expect("bind"));
        let live = dir.path().join("live.sock");
        let _other = UnixListener::bind(&live).expect("bind");
        let apps = Apps::with_grace(Duration::from_secs(2));
        let with = |p: &Path| SpawnConfig {
            socket: Some(p.to_owned()),
            ..spec(&["/bin/sleep", "30"])
        };
        let got = apps.reconcile(&[with(&file), with(&stale), with(&live)]);
        assert!(got[0].as_ref().is_err_and(|e| e.contains("not a socket")));
        assert_eq!(
            std::fs::read_to_string(&file).ok().as_deref(),
            Some("keep me")
        );
        assert!(got[1].is_ok(), "{:?}", got[1]);
        assert!(got[2].as_ref().is_err_and(|e| e.contains("listening")));
        // Two different apps cannot share one socket path.
        let clash = [
            with(&stale),
            SpawnConfig {
                processes: 2,
                ..with(&stale)
            },
        ];
        let got = apps.reconcile(&clash);
        assert!(got[0].is_ok() && got[1].as_ref().is_err_and(|e| e.contains("another")));
    }

    /// The fd check runs alone in a child test process: a count of /proc/self/fd is
    /// only meaningful when no other test opens files meanwhile.
    #[test]
    fn a_start_and_stop_leaves_no_fd_open_in_the_server() {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = Command::new(exe)
            .args([
                "--exact",
                "route_kinds::fastcgi::spawn::tests::fd_count_after_a_start_and_stop",
                "--ignored",
                "--test-threads=1",
            ])
            .env("REFSERVER_SPAWN_FD_TEST", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the test binary");
        let end = Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("try_wait").is_none() {
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                panic!("fd test did not finish within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    #[ignore = "run alone by a_start_and_stop_leaves_no_fd_open_in_the_server"]
    fn fd_count_after_a_start_and_stop() {
        if std::env::var_os("REFSERVER_SPAWN_FD_TEST").is_none() {
            return;
        }
        let fds = || {
            fds_of("self")
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        };
        let before = fds();
        let apps = Apps::with_grace(Duration::from_secs(2));
        let started = start(&apps, &[fcgiwrap(2), spec(&["/bin/sleep", "30"])]);
        for app in &started {
            running_pids(app);
        }
        assert!(
            fds().len() > before.len(),
            "the listeners and pipes are open"
        );
        // The child has its socket and its output pipe, and nothing else: not the other
        // app's socket, not what the server inherited.
        let sleep = running_pids(&started[1])[0].to_string();
        let child = fds_of(&sleep);
        let numbers: Vec<u32> = child.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [0, 1, 2], "{child:?}");
        assert!(child[0].1.starts_with("socket:") && child[1].1.starts_with("pipe:"));
        apps.stop_all();
        drop(started);
        assert_eq!(fds(), before);
    }

    #[test]
    fn output_is_split_into_bounded_lines() {
        let long = "x".repeat(LOG_LINE_MAX + 1000);
        let input = format!("one\ntwo\r\n\n{long}\nlast");
        let mut lines = Vec::new();
        split_lines(input.as_bytes(), |l| {
            lines.push(String::from_utf8_lossy(l).into_owned());
        });
        assert_eq!(lines, ["one", "two\r", "", &long[..LOG_LINE_MAX], "last"]);
    }

    #[test]
    fn output_is_rate_limited_per_second() {
        let mut budget = LogBudget::default();
        let t0 = Instant::now();
        let logged = (0..LOG_LINES_PER_SEC + 10)
            .filter(|_| budget.admit(t0).0)
            .count();
        assert_eq!(logged, LOG_LINES_PER_SEC as usize);
        // The next window reports what the last one dropped, and logs again.
        assert_eq!(budget.admit(t0 + Duration::from_secs(1)), (true, 10));
        assert_eq!(budget.admit(t0 + Duration::from_secs(1)), (true, 0));
    }
}
