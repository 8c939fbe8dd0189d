//! The processes loadbench starts: each server (and each application behind one) runs as
//! the leader of its own process group, in its own CPU-accounting cgroup when the machine
//! lets us make one, and is stopped with its whole group when dropped, when loadbench
//! panics, and on Ctrl-C.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Process groups (and cgroups) alive now, for the Ctrl-C handler.
static LIVE: Mutex<Vec<(i32, Option<PathBuf>)>> = Mutex::new(Vec::new());

/// Directories to remove on Ctrl-C (the site's temporary directory).
static TEMP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Has `stop_everything` remove `dir` too.
pub(crate) fn remove_on_interrupt(dir: &Path) {
    TEMP_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(dir.to_path_buf());
}

/// Stops every process group still running and removes their cgroups and the temporary
/// directories: the Ctrl-C path.
pub(crate) fn stop_everything() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for (pgid, _) in &live {
        let _ = killpg(Pid::from_raw(*pgid), Signal::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(200));
    for (_, cgroup) in &live {
        if let Some(dir) = cgroup {
            let _ = fs::remove_dir(dir);
        }
    }
    for dir in TEMP_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
    {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Where CPU time of a whole group of processes is counted, exited ones included: a cgroup
/// (v1 `cpuacct`, or v2 `cpu.stat`). Without one, the group's processes are summed from
/// /proc, which misses children their parent never reaps (fcgiwrap ignores SIGCHLD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CgroupKind {
    V1,
    V2,
}

fn cgroup_root() -> Option<(CgroupKind, &'static Path)> {
    let v1 = Path::new("/sys/fs/cgroup/cpuacct");
    if v1.join("cpuacct.usage").exists() && writable(v1) {
        return Some((CgroupKind::V1, v1));
    }
    let v2 = Path::new("/sys/fs/cgroup");
    (v2.join("cgroup.controllers").exists() && writable(v2)).then_some((CgroupKind::V2, v2))
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!("loadbench.{}.probe", std::process::id()));
    fs::create_dir(&probe).is_ok() && fs::remove_dir(&probe).is_ok()
}

/// One started program and everything it forks.
#[derive(Debug)]
pub(crate) struct Group {
    name: String,
    child: Child,
    cgroup: Option<(CgroupKind, PathBuf)>,
}

impl Group {
    /// Starts `program args...` as a new process group, output to `log` (appended).
    pub(crate) fn start(
        name: &str,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> io::Result<Group> {
        let cgroup = cgroup_root().and_then(|(kind, root)| {
            let dir = root.join(format!("loadbench.{}.{name}", std::process::id()));
            fs::create_dir(&dir).ok().map(|()| (kind, dir))
        });
        let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
        // The shell moves itself into the cgroup, then becomes the program (same pid), so
        // everything the program forks is counted there from its first instruction.
        let mut cmd = match &cgroup {
            Some((_, dir)) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg("echo $$ > \"$0/cgroup.procs\" && exec \"$@\"")
                    .arg(dir)
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| {
            if let Some((_, dir)) = &cgroup {
                let _ = fs::remove_dir(dir);
            }
            io::Error::new(e.kind(), format!("{}: {e}", program.display()))
        })?;
        let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((pgid, cgroup.as_ref().map(|(_, d)| d.clone())));
        Ok(Group {
            name: name.to_owned(),
            child,
            cgroup,
        })
    }

    /// The group's name, as reports show it.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn pgid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(i32::MAX)
    }

    /// Whether the leader is still running.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Whether CPU time is counted by a cgroup (every process, reaped or not).
    pub(crate) fn counts_every_process(&self) -> bool {
        self.cgroup.is_some()
    }

    /// CPU time used so far by the group, in microseconds.
    pub(crate) fn cpu_us(&self) -> u64 {
        match &self.cgroup {
            Some((CgroupKind::V1, dir)) => fs::read_to_string(dir.join("cpuacct.usage"))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map_or(0, |ns| ns / 1000),
            Some((CgroupKind::V2, dir)) => fs::read_to_string(dir.join("cpu.stat"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse().ok())
                })
                .unwrap_or(0),
            None => self.members().iter().map(|p| p.cpu_us).sum(),
        }
    }

    /// Resident memory of every process in the group now, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.members().iter().map(|p| p.rss_kib).sum()
    }

    fn members(&self) -> Vec<ProcStat> {
        let pgid = self.pgid();
        let Ok(dir) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(ProcStat::read)
            .filter(|p| p.pgrp == pgid)
            .collect()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = Pid::from_raw(self.pgid());
        let _ = killpg(pgid, Signal::SIGTERM);
        // Bounded: two seconds for a clean exit, then SIGKILL to whatever is left.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && killpg(pgid, None).is_ok() {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.child.wait();
        if let Some((_, dir)) = &self.cgroup {
            for _ in 0..50 {
                if fs::remove_dir(dir).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(p, _)| *p != pgid.as_raw());
    }
}

/// What /proc says of one process.
struct ProcStat {
    pgrp: i32,
    /// utime + stime + cutime + cstime (its reaped children).
    cpu_us: u64,
    rss_kib: u64,
}

impl ProcStat {
    fn read(pid: u32) -> Option<ProcStat> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which may itself hold spaces and parentheses.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let pgrp = f.get(2)?.parse().ok()?;
        let ticks: u64 = (11..15).filter_map(|i| f.get(i)?.parse::<u64>().ok()).sum();
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rss_kib = status
            .lines()
            .find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        Some(ProcStat {
            pgrp,
            cpu_us: ticks * 1_000_000 / clock_ticks(),
            rss_kib,
        })
    }
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(100)
}
