//! /proc: the processes tests look for (children, groups, zombies, descriptors).

/// One process, from `/proc/PID/stat` and `/proc/PID/cmdline`.
#[derive(Debug)]
pub struct Process {
    pub pid: u32,
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// Arguments joined with spaces.
    pub cmdline: String,
}

/// Every process visible now (those that vanish while being read are left out).
pub fn processes() -> Vec<Process> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
            continue;
        };
        let fields: Vec<&str> = after.split(' ').collect();
        let (Some(state), Some(ppid), Some(pgrp)) = (
            fields.first().and_then(|s| s.chars().next()),
            fields.get(1).and_then(|s| s.parse().ok()),
            fields.get(2).and_then(|s| s.parse().ok()),
        ) else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|raw| {
                let raw = raw.strip_suffix(&[0]).unwrap_or(&raw);
                raw.split(|&b| b == 0)
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        out.push(Process {
            pid,
            state,
            ppid,
            pgrp,
            cmdline,
        });
    }
    out
}

/// Processes (other than this test) whose command line holds `marker`.
pub fn marked(marker: &str) -> Vec<Process> {
    let me = std::process::id();
    processes()
        .into_iter()
        .filter(|p| p.pid != me && p.cmdline.contains(marker))
        .collect()
}

/// Processes in process group `pgrp`.
pub fn in_group(pgrp: u32) -> Vec<Process> {
    processes().into_iter().filter(|p| p.pgrp == pgrp).collect()
}

/// Zombie children of `pid`.
pub fn zombie_children(pid: u32) -> Vec<Process> {
    processes()
        .into_iter()
        .filter(|p| p.ppid == pid && p.state == 'Z')
        .collect()
}

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}
