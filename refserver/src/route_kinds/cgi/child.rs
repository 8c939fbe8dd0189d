//! Starting one CGI child: argv only (no shell), the environment cgi-env built and only
//! that (plus the variables the route passes on), its own process group, the route's
//! user, group and resource limits; and killing the whole group when the exchange ends
//! early. Reaping is tokio's: a dropped child is reaped in the background, so no failure
//! leaves a zombie.

use crate::config::CgiLimitsConfig;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Who a route's children run as, and with which limits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    /// `setuid` to this (the server must be root).
    pub(crate) uid: Option<u32>,
    /// `setgid` to this.
    pub(crate) gid: Option<u32>,
    /// `setrlimit` values.
    pub(crate) limits: CgiLimitsConfig,
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

    pub(crate) fn has_limits(&self) -> bool {
        let l = &self.limits;
        l.cpu_secs.is_some()
            || l.address_space_bytes.is_some()
            || l.open_files.is_some()
            || l.processes.is_some()
    }
}

/// What to run.
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) cwd: PathBuf,
    pub(crate) stdin: Stdio,
}

/// Starts the child with piped stdout and stderr.
pub(crate) fn spawn(launch: Launch, policy: &Policy) -> io::Result<Child> {
    let mut cmd = Command::new(&launch.program);
    cmd.args(launch.args.iter().map(|a| std::ffi::OsStr::from_bytes(a)))
        .env_clear()
        .envs(launch.env)
        .current_dir(launch.cwd)
        .stdin(launch.stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout or a disconnect kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(gid) = policy.gid {
        cmd.gid(gid);
    }
    if let Some(uid) = policy.uid {
        // std drops the supplementary groups too (setgroups(0)) when root changes uid.
        cmd.uid(uid);
    }
    if policy.has_limits() {
        let limits = policy.limits;
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe calls are allowed: it makes nothing but setrlimit(2) calls
        // (no allocation, no lock), on values copied in before the fork.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(move || apply_limits(&limits));
        }
    }
    cmd.spawn()
}

pub(crate) fn apply_limits(limits: &CgiLimitsConfig) -> io::Result<()> {
    let set = |resource, value: Option<u64>| match value {
        Some(v) => setrlimit(resource, v, v).map_err(io::Error::from),
        None => Ok(()),
    };
    set(Resource::RLIMIT_CPU, limits.cpu_secs)?;
    set(Resource::RLIMIT_AS, limits.address_space_bytes)?;
    set(Resource::RLIMIT_NOFILE, limits.open_files)?;
    set(Resource::RLIMIT_NPROC, limits.processes)?;
    Ok(())
}

/// Kills the child's whole process group: the script and whatever it left running.
///
/// Only while the child is not reaped (`id()` is `None` once it is): until then its pid,
/// and so the group id, cannot belong to anyone else, even if the script has exited and
/// only its background processes are left in the group. tokio reaps it afterwards.
pub(crate) fn kill_group(child: &Child) {
    if let Some(pid) = child.id()
        && let Ok(pid) = i32::try_from(pid)
    {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}
