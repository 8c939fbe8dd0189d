//! Driving wrk and reading what it prints.

use std::io;
use std::path::PathBuf;
use std::process::Command;

/// One wrk invocation's shape.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    /// Open connections.
    pub(crate) conns: usize,
    /// wrk threads.
    pub(crate) threads: usize,
    /// Seconds of load.
    pub(crate) secs: u64,
    /// Request target.
    pub(crate) path: String,
    /// A Lua script (the pipelining one), if any.
    pub(crate) script: Option<PathBuf>,
    /// Extra request fields, `Name: value`.
    pub(crate) headers: Vec<String>,
    /// Over TLS (`https://localhost:port`).
    pub(crate) tls: bool,
}

impl Load {
    /// Keep-alive GETs of `path` on `conns` connections from one wrk thread.
    pub(crate) fn keep_alive(path: &str, conns: usize, secs: u64) -> Load {
        Load {
            conns,
            threads: 1,
            secs,
            path: path.to_owned(),
            script: None,
            headers: Vec::new(),
            tls: false,
        }
    }

    /// How the report names it.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("wrk -t{} -c{} -d{}s", self.threads, self.conns, self.secs);
        if self.script.is_some() {
            s.push_str(" (pipelined 16 deep)");
        }
        for h in &self.headers {
            // A cookie's value says nothing to a reader of the report.
            let shown = match h.split_once(": ") {
                Some(("Cookie", _)) => "Cookie: (a session's)",
                _ => h,
            };
            s.push_str(&format!(" -H '{shown}'"));
        }
        s
    }
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Measured {
    /// Responses received.
    pub(crate) requests: u64,
    /// Responses per second.
    pub(crate) rps: f64,
    /// Latency percentiles 50, 75, 90, 99, and the maximum, in microseconds.
    pub(crate) latency_us: [f64; 5],
    /// Non-2xx/3xx responses plus socket errors (connect, read, write, timeout).
    pub(crate) errors: u64,
}

/// Runs wrk against 127.0.0.1:`port`.
pub(crate) fn run(port: u16, load: &Load) -> io::Result<Measured> {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.conns))
        .arg(format!("-d{}s", load.secs))
        .arg("--latency")
        .arg("--timeout")
        .arg("10s");
    if let Some(script) = &load.script {
        cmd.arg("-s").arg(script);
    }
    for h in &load.headers {
        cmd.arg("-H").arg(h);
    }
    cmd.arg(if load.tls {
        format!("https://localhost:{port}{}", load.path)
    } else {
        format!("http://127.0.0.1:{port}{}", load.path)
    });
    let out = cmd.output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| {
        io::Error::other(format!(
            "wrk printed no result: {}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    })
}

/// Reads wrk's `--latency` report.
pub(crate) fn parse(text: &str) -> Option<Measured> {
    let mut m = Measured::default();
    let mut found = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Latency", _avg, _stdev, max, ..] => m.latency_us[4] = duration_us(max)?,
            [pct @ ("50%" | "75%" | "90%" | "99%"), value] => {
                let i = ["50%", "75%", "90%", "99%"].iter().position(|p| p == pct)?;
                m.latency_us[i] = duration_us(value)?;
            }
            [n, "requests", "in", ..] => {
                m.requests = n.parse().ok()?;
                found = true;
            }
            ["Requests/sec:", r] => m.rps = r.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => m.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                m.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    found.then_some(m)
}

/// `812.00us`, `1.20ms`, `2.00s`, `1.00m` in microseconds.
fn duration_us(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(n * scale)
}

/// wrk's Lua for 16 requests written back to back on each connection.
pub(crate) const PIPELINE_LUA: &str = r#"
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, wrk.path) end
  req = table.concat(r)
end
request = function() return req end
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_latency_report() {
        let text = "Running 2s test @ http://127.0.0.1:8080/plaintext
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   312.45us  101.10us   4.51ms   90.00%
    Req/Sec   150.12k     5.01k  160.00k    80.00%
  Latency Distribution
     50%  300.00us
     75%  350.00us
     90%  410.00us
     99%    1.02ms
  300000 requests in 2.00s, 40.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 150000.00
Transfer/sec:     20.00MB
";
        let m = parse(text).unwrap();
        assert_eq!(m.requests, 300_000);
        assert!((m.rps - 150_000.0).abs() < 1e-6);
        assert_eq!(m.latency_us, [300.0, 350.0, 410.0, 1020.0, 4510.0]);
        assert_eq!(m.errors, 7);
    }

    #[test]
    fn no_summary_is_no_result() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_none());
    }
}
