//! Starting one CGI child: argv only (no shell), the environment cgi-env built and only
//! that (plus the variables the route passes on), its own process group, the route's
//! user, group and resource limits; killing the whole group when the exchange ends
//! early; and reaping it, so no failure leaves a zombie.
//!
//! Children start with `clone(CLONE_VM | CLONE_VFORK)`, as glibc's `posix_spawn` does,
//! but without its fixed costs, measured on a trivial sh script: glibc's child resets
//! every signal (about 125 `rt_sigaction` calls, 25-30 µs of CPU per child, ~5% of the
//! script's whole cost) where the child here resets only those that have a handler; and
//! std's `Command` falls back to `fork` (the server's page tables copied) as soon as a
//! route sets `user`, `group` or limits, where here the same vfork path serves them with
//! raw `set*id` syscalls. Reaping is `waitid` on the pid once stdout is closed, or a
//! pidfd for a child killed early: no `SIGCHLD` handler, so no signal per child exit.

use crate::config::CgiLimitsConfig;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg, pthread_sigmask};
use nix::unistd::Pid;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use rustix::fs::OFlags;
use rustix::pipe::PipeFlags;
use rustix::process::{WaitId, WaitIdOptions};
use std::cell::RefCell;
use std::ffi::{CString, c_char, c_int};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

/// The vfork child's stack: it runs a few syscalls and `execve`, far below this.
const CHILD_STACK: usize = 64 * 1024;

/// Who a route's children run as, and with which limits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    /// `setuid` to this (the server must be root).
    pub(crate) uid: Option<u32>,
    /// `setgid` to this.
    pub(crate) gid: Option<u32>,
    /// `setrlimit` values.
    pub(crate) limits: CgiLimitsConfig,
    /// Signals the child sets back to `SIG_DFL` before it unblocks signals: see
    /// [`caught_signals`].
    reset_signals: u64,
}

impl Policy {
    /// Resolves `user` and `group` (names or numbers) now, at start-up.
    pub(crate) fn new(
        user: Option<&str>,
        group: Option<&str>,
        limits: CgiLimitsConfig,
    ) -> Result<Self, String> {
        let mut policy = Self {
            limits,
            reset_signals: caught_signals(),
            ..Self::default()
        };
        if let Some(user) = user {
            let found = match user.parse::<u32>() {
                Ok(uid) => nix::unistd::User::from_uid(uid.into()),
                Err(_) => nix::unistd::User::from_name(user),
            }
            .map_err(|e| format!("user `{user}`: {e}"))?
            .ok_or_else(|| format!("user `{user}` does not exist"))?;
            policy.uid = Some(found.uid.as_raw());
            policy.gid = Some(found.gid.as_raw());
        }
        if let Some(group) = group {
            let found = match group.parse::<u32>() {
                Ok(gid) => nix::unistd::Group::from_gid(gid.into()),
                Err(_) => nix::unistd::Group::from_name(group),
            }
            .map_err(|e| format!("group `{group}`: {e}"))?
            .ok_or_else(|| format!("group `{group}` does not exist"))?;
            policy.gid = Some(found.gid.as_raw());
        }
        if (policy.uid.is_some() || policy.gid.is_some()) && !nix::unistd::geteuid().is_root() {
            return Err("user/group need the server to run as root".to_owned());
        }
        Ok(policy)
    }
}

/// The signals to reset in the child: those with a handler when the route is built (std's
/// SIGSEGV/SIGBUS, tokio's SIGHUP/SIGINT/SIGTERM, any other), plus those std and tokio
/// may catch later or ignore (SIGCHLD, SIGPIPE: a child gets SIGPIPE's default, as
/// std's `Command` gives it). `execve` resets handled signals anyway; resetting first
/// means a signal that reaches the child between unblocking and `execve` cannot run one
/// of the server's handlers in the child, which shares the server's memory until then.
/// Ignored signals stay ignored across `execve`, as with `posix_spawn`.
fn caught_signals() -> u64 {
    let bit = |sig: Signal| 1u64 << (sig as c_int - 1);
    let mut set = [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGCHLD,
        Signal::SIGPIPE,
        Signal::SIGSEGV,
        Signal::SIGBUS,
    ]
    .into_iter()
    .fold(0, |set, sig| set | bit(sig));
    for sig in 1..=64 {
        // glibc's own two real-time signals: its sigaction refuses them.
        if (32..libc::SIGRTMIN()).contains(&sig) {
            continue;
        }
        // SAFETY: a query only (no new action); `old` is a plain C struct that
        // sigaction fills in, and all-zero bytes are a valid value of it.
        #[allow(unsafe_code)]
        let handler = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            (libc::sigaction(sig, std::ptr::null(), &raw mut old) == 0).then_some(old.sa_sigaction)
        };
        if handler.is_some_and(|h| h != libc::SIG_DFL && h != libc::SIG_IGN) {
            set |= 1 << (sig - 1);
        }
    }
    set
}

/// The child's stdin.
pub(crate) enum Stdin {
    /// `/dev/null`: a request without a body.
    Null,
    /// A pipe the exchange writes the body into.
    Piped,
    /// A spooled body.
    File(std::fs::File),
}

/// The child's environment, `NAME=value\0` entries end to end, as `execve` takes them.
#[derive(Debug, Default)]
pub(crate) struct EnvBlock(Vec<u8>);

impl EnvBlock {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self(Vec::with_capacity(bytes))
    }

    /// Appends one variable; the caller has checked that neither part holds a NUL and
    /// the name no `=` (cgi-env's `Environment` and the route's checks do).
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) {
        self.0.reserve(name.len() + value.len() + 2);
        self.0.extend_from_slice(name);
        self.0.push(b'=');
        self.0.extend_from_slice(value);
        self.0.push(0);
    }

    /// Appends entries already in this form.
    pub(crate) fn extend(&mut self, other: &Self) {
        self.0.extend_from_slice(&other.0);
    }
}

/// What to run.
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: EnvBlock,
    pub(crate) cwd: PathBuf,
    pub(crate) stdin: Stdin,
}

/// A started child and the parent's (non-blocking) ends of its pipes.
pub(crate) struct Spawned {
    pub(crate) process: ChildProcess,
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
}

/// Starts the child with piped stdout and stderr. Blocks the calling thread until the
/// child has exec'd (or failed to): the vfork.
pub(crate) fn spawn(launch: Launch, policy: &Policy) -> io::Result<Spawned> {
    let program = CString::new(launch.program.into_os_string().into_vec())?;
    let cwd = CString::new(launch.cwd.into_os_string().into_vec())?;
    let args = launch
        .args
        .into_iter()
        .map(CString::new)
        .collect::<Result<Vec<_>, _>>()?;
    let mut argv: Vec<*const c_char> = Vec::with_capacity(args.len() + 2);
    argv.push(program.as_ptr());
    argv.extend(args.iter().map(|a| a.as_ptr()));
    argv.push(std::ptr::null());
    let mut envp: Vec<*const c_char> = launch
        .env
        .0
        .split_inclusive(|&b| b == 0)
        .map(|entry| entry.as_ptr().cast())
        .collect();
    envp.push(std::ptr::null());

    // Pipes: close-on-exec, the parent's end non-blocking (the child's stays blocking).
    let (stdout, stdout_child) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    rustix::fs::fcntl_setfl(&stdout, OFlags::RDONLY | OFlags::NONBLOCK)?;
    let (stderr, stderr_child) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    rustix::fs::fcntl_setfl(&stderr, OFlags::RDONLY | OFlags::NONBLOCK)?;
    let (stdin, stdin_child): (Option<OwnedFd>, Option<OwnedFd>) = match &launch.stdin {
        Stdin::Piped => {
            let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
            rustix::fs::fcntl_setfl(&write, OFlags::WRONLY | OFlags::NONBLOCK)?;
            (Some(write), Some(read))
        }
        Stdin::Null | Stdin::File(_) => (None, None),
    };
    let stdin_source = match (&launch.stdin, &stdin_child) {
        (Stdin::File(file), _) => file.as_fd(),
        (_, Some(read)) => read.as_fd(),
        _ => dev_null()?,
    };
    // dup2 onto 0-2 must not clobber a source: a server started with a standard fd
    // closed gets pipes there.
    let stdin_source = above_stdio(stdin_source)?;
    let stdout_source = above_stdio(stdout_child.as_fd())?;
    let stderr_source = above_stdio(stderr_child.as_fd())?;

    let limits = &policy.limits;
    let context = ChildContext {
        program: program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: cwd.as_ptr(),
        stdio: [
            stdin_source.as_fd().as_raw_fd(),
            stdout_source.as_fd().as_raw_fd(),
            stderr_source.as_fd().as_raw_fd(),
        ],
        uid: policy.uid,
        gid: policy.gid,
        limits: rlimits(limits),
        reset_signals: policy.reset_signals,
    };
    let error = AtomicI32::new(0);

    // Every signal blocked in this thread, so in the child from its first instruction,
    // until it has reset the handlers it inherited.
    let mut old_mask = SigSet::empty();
    pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old_mask),
    )?;
    let cloned = STACK.with_borrow_mut(|stack| {
        // SAFETY: CLONE_VM | CLONE_VFORK is posix_spawn's way: the child runs on `stack`
        // in this process's memory while this thread is suspended, until it execs or
        // exits, so everything it reads (`context`, the argv/envp arrays and the strings
        // they point to) stays alive and unchanged. The child allocates nothing, takes no
        // lock, and does not unwind: `run` makes raw syscalls through libc's thin wrappers
        // only (set*id as raw syscalls: glibc's wrappers would signal this process's
        // threads); `error` is an atomic the parent reads after the child is gone from
        // this memory; `_exit` skips atexit handlers and stdio flushing.
        #[allow(unsafe_code)]
        unsafe {
            nix::sched::clone(
                Box::new(|| {
                    error.store(context.run(), Ordering::Relaxed);
                    libc::_exit(127)
                }),
                stack,
                CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK,
                Some(libc::SIGCHLD),
            )
        }
    });
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None);
    drop((stdin_source, stdout_source, stderr_source));
    drop((stdin_child, stdout_child, stderr_child));
    let mut process = ChildProcess {
        pid: cloned?.as_raw(),
        reaped: false,
    };
    match error.load(Ordering::Relaxed) {
        0 => Ok(Spawned {
            process,
            stdin,
            stdout,
            stderr,
        }),
        errno => {
            // It has exited (127): reaped now.
            process.try_reap();
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

thread_local! {
    static STACK: RefCell<Box<[u8]>> = RefCell::new(vec![0; CHILD_STACK].into_boxed_slice());
}

/// `/dev/null`, opened once.
fn dev_null() -> io::Result<BorrowedFd<'static>> {
    static DEV_NULL: OnceLock<OwnedFd> = OnceLock::new();
    if let Some(fd) = DEV_NULL.get() {
        return Ok(fd.as_fd());
    }
    let file = std::fs::File::open("/dev/null")?;
    Ok(DEV_NULL.get_or_init(|| file.into()).as_fd())
}

/// `fd`, or a duplicate of it numbered 3 or more.
fn above_stdio(fd: BorrowedFd<'_>) -> io::Result<MaybeOwned<'_>> {
    if fd.as_raw_fd() > 2 {
        Ok(MaybeOwned::Borrowed(fd))
    } else {
        Ok(MaybeOwned::Owned(rustix::io::fcntl_dupfd_cloexec(fd, 3)?))
    }
}

enum MaybeOwned<'a> {
    Borrowed(BorrowedFd<'a>),
    Owned(OwnedFd),
}

impl AsFd for MaybeOwned<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Borrowed(fd) => *fd,
            Self::Owned(fd) => fd.as_fd(),
        }
    }
}

/// What the vfork child reads, prepared by the parent: nothing in it allocates.
struct ChildContext {
    program: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    /// Sources for fds 0, 1, 2, each 3 or more.
    stdio: [RawFd; 3],
    uid: Option<u32>,
    gid: Option<u32>,
    limits: [(libc::__rlimit_resource_t, Option<u64>); 4],
    reset_signals: u64,
}

impl ChildContext {
    /// The child's side, std's order: stdio, group, user, directory, process group,
    /// signals, limits, exec. Returns the errno of what failed; `execve` does not return
    /// otherwise.
    ///
    /// # Safety
    ///
    /// Only in the vfork child of [`spawn`], with every signal blocked.
    #[allow(unsafe_code)]
    unsafe fn run(&self) -> i32 {
        let fail = || nix::errno::Errno::last_raw();
        // SAFETY: see `spawn`: raw syscalls on values prepared by the parent.
        unsafe {
            for (target, source) in [(0, self.stdio[0]), (1, self.stdio[1]), (2, self.stdio[2])] {
                if libc::dup2(source, target) < 0 {
                    return fail();
                }
            }
            if let Some(gid) = self.gid
                && libc::syscall(libc::SYS_setgid, gid) != 0
            {
                return fail();
            }
            if let Some(uid) = self.uid {
                // Root dropping to a user drops the supplementary groups too, as std does.
                if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
                    || libc::syscall(libc::SYS_setuid, uid) != 0
                {
                    return fail();
                }
            }
            if libc::chdir(self.cwd) != 0 {
                return fail();
            }
            // Its own group, so a timeout or a disconnect kills what it started too.
            if libc::setpgid(0, 0) != 0 {
                return fail();
            }
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            for sig in 1..=64 {
                if self.reset_signals & (1 << (sig - 1)) != 0 {
                    libc::sigaction(sig, &raw const default, std::ptr::null_mut());
                }
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut());
            for (resource, value) in self.limits {
                if let Some(v) = value {
                    let limit = libc::rlimit {
                        rlim_cur: v,
                        rlim_max: v,
                    };
                    if libc::setrlimit(resource, &raw const limit) != 0 {
                        return fail();
                    }
                }
            }
            libc::execve(self.program, self.argv, self.envp);
            fail()
        }
    }
}

/// A started child until it is reaped. Dropped unreaped, it kills the child's process
/// group and reaps the child in the background: never a zombie.
pub(crate) struct ChildProcess {
    pid: i32,
    reaped: bool,
}

impl ChildProcess {
    /// Reaps the child if it has exited; true once it is reaped.
    pub(crate) fn try_reap(&mut self) -> bool {
        if !self.reaped {
            self.reaped = match rustix::process::Pid::from_raw(self.pid) {
                Some(pid) => !matches!(
                    rustix::process::waitid(
                        WaitId::Pid(pid),
                        WaitIdOptions::EXITED | WaitIdOptions::NOHANG
                    ),
                    Ok(None) | Err(rustix::io::Errno::INTR)
                ),
                None => true,
            };
        }
        self.reaped
    }

    /// Kills the child's whole process group: the script and whatever it left running.
    ///
    /// Only while the child is not reaped: until then its pid, and so the group id,
    /// cannot belong to anyone else, even if the script has exited and only its
    /// background processes are left in the group.
    pub(crate) fn kill_group(&self) {
        if !self.reaped {
            let _ = killpg(Pid::from_raw(self.pid), Signal::SIGKILL);
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        self.kill_group();
        if !self.try_reap() {
            reap_later(self.pid);
        }
    }
}

/// Waits for a killed child on the runtime (a pidfd), else on a thread of its own.
fn reap_later(pid: i32) {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return;
    };
    let wait = move || {
        let _ = rustix::process::waitid(WaitId::Pid(pid), WaitIdOptions::EXITED);
    };
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        let _ = std::thread::Builder::new()
            .name("cgi-reap".to_owned())
            .spawn(wait);
        return;
    };
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::NONBLOCK)
        .map_err(io::Error::from)
        .and_then(|fd| {
            // SAFETY: the AsyncFd owns the OwnedFd, which stays open, and the same fd,
            // for as long as the AsyncFd lives.
            #[allow(unsafe_code)]
            unsafe {
                tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
            }
            .map_err(io::Error::from)
        });
    let Ok(pidfd) = pidfd else {
        handle.spawn_blocking(wait);
        return;
    };
    handle.spawn(async move {
        // A pidfd is readable once its process has exited.
        while let Ok(mut ready) = pidfd.readable().await {
            let exited = rustix::process::waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
            );
            if !matches!(exited, Ok(None) | Err(rustix::io::Errno::INTR)) {
                return;
            }
            ready.clear_ready();
        }
    });
}

/// The `setrlimit` resources a route's `limits` set, one table for every child the server
/// starts (CGI here, spawned FastCGI applications in `fastcgi/spawn.rs`).
pub(crate) fn rlimits(limits: &CgiLimitsConfig) -> [(libc::__rlimit_resource_t, Option<u64>); 4] {
    [
        (libc::RLIMIT_CPU, limits.cpu_secs),
        (libc::RLIMIT_AS, limits.address_space_bytes),
        (libc::RLIMIT_NOFILE, limits.open_files),
        (libc::RLIMIT_NPROC, limits.processes),
    ]
}

impl Policy {
    /// Whether the route sets any resource limit.
    pub(crate) fn has_limits(&self) -> bool {
        rlimits(&self.limits).iter().any(|(_, v)| v.is_some())
    }
}

/// Applies `limits` to the calling process (a forked child, before exec): setrlimit(2)
/// calls only, no allocation, so it may run where only async-signal-safe calls are allowed.
pub(crate) fn apply_limits(limits: &CgiLimitsConfig) -> io::Result<()> {
    for (resource, value) in rlimits(limits) {
        if let Some(v) = value {
            let limit = libc::rlimit {
                rlim_cur: v,
                rlim_max: v,
            };
            // SAFETY: setrlimit reads the struct it is given and nothing else.
            #[allow(unsafe_code)]
            if unsafe { libc::setrlimit(resource, &raw const limit) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}
