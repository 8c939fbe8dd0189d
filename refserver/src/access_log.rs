//! The access log in Combined Log Format, written off the hot path.
//!
//! Session tasks hand an [`Entry`] (a few `Bytes` views of the request head, no
//! formatting) to a bounded channel with `try_send`; one writer thread formats and writes
//! them in batches, flushing when the channel runs dry and then pausing 10 ms so the next
//! batch gathers without a wake-up per entry. When the writer falls behind and
//! the channel is full, entries are dropped and counted rather than slowing requests down;
//! the count is reported in the error log. A thread rather than a task: it does blocking
//! writes, and it serves every worker runtime alike.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

/// Entries the channel holds before new ones are dropped.
const CHANNEL_CAPACITY: usize = 16 * 1024;

/// The writer's pause after each batch (so 16 Ki entries absorb 1.6 M requests per second).
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// One finished request, as logged.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Client address; `None` on a Unix socket.
    pub(crate) remote: Option<IpAddr>,
    /// When the response was sent.
    pub(crate) time: SystemTime,
    /// The request-line, without CRLF.
    pub(crate) request_line: Bytes,
    /// Response status.
    pub(crate) status: u16,
    /// Response body bytes sent.
    pub(crate) bytes: u64,
    /// `Referer` field.
    pub(crate) referer: Option<Bytes>,
    /// `User-Agent` field.
    pub(crate) user_agent: Option<Bytes>,
    /// The user of `Authorization: Basic` credentials (`$remote_user`).
    pub(crate) user: Option<Bytes>,
    /// On a TLS connection: the protocol version and cipher suite (`$ssl_protocol`,
    /// `$ssl_cipher`).
    pub(crate) tls: Option<(&'static str, &'static str)>,
}

/// How lines are written: `access_log_format`, `access_log_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogFormat {
    /// The Combined Log Format (Apache's and nginx's default).
    #[default]
    Combined,
    /// The Combined Log Format and two more quoted fields: the TLS protocol and cipher
    /// suite (`"TLSv1.3" "TLS13_AES_256_GCM_SHA384"`; `"-" "-"` on plain connections), as
    /// nginx's `$ssl_protocol $ssl_cipher` appended to `combined`.
    CombinedTls,
    /// One JSON object per line.
    Json,
}

/// The clock of the access log's timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogTime {
    /// The server's local time zone (nginx's `$time_local`).
    #[default]
    Local,
    /// UTC.
    Utc,
}

impl Entry {
    /// The request-line of a head: everything before its first CRLF.
    pub(crate) fn request_line_of(head: &http_proto::RequestHead) -> Bytes {
        let all = head.as_bytes();
        let end = all.iter().position(|&b| b == b'\r').unwrap_or(all.len());
        all.slice(..end)
    }
}

enum Message {
    Entry(Box<Entry>),
    Reopen(Box<dyn Write + Send>, LogFormat, LogTime),
    Stop,
}

/// The logging side shared by all sessions; cheap to call when logging is off.
///
/// The writer thread runs even when logging is off, so a reload
/// ([`reopen`](Self::reopen)) can turn it on, switch files, or reopen a rotated file.
#[derive(Debug)]
pub(crate) struct AccessLog {
    tx: SyncSender<Message>,
    enabled: AtomicBool,
    dropped: AtomicU64,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

/// Whether `target` can be opened for appending (created if missing, as at start).
pub(crate) fn check_target(target: &str) -> io::Result<()> {
    open_sink(target).map(drop)
}

/// The sink for a target: `None` for `"off"`.
fn open_sink(target: &str) -> io::Result<Option<Box<dyn Write + Send>>> {
    Ok(match target {
        "off" => None,
        "stdout" => Some(Box::new(io::stdout())),
        path => Some(Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        )),
    })
}

impl AccessLog {
    /// Starts the writer for `target`: `"stdout"`, `"off"`, or a file path (appended to).
    pub(crate) fn start(target: &str, format: LogFormat, time: LogTime) -> io::Result<Self> {
        let sink = open_sink(target)?;
        let enabled = AtomicBool::new(sink.is_some());
        let (tx, rx) = sync_channel(CHANNEL_CAPACITY);
        let writer = std::thread::Builder::new()
            .name("access-log".to_owned())
            .spawn(move || write_entries(&rx, sink, format, time))?;
        Ok(Self {
            tx,
            enabled,
            dropped: AtomicU64::new(0),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Switches to `target` (also reopens the same file, after log rotation) in `format`
    /// and `time`. Entries queued before the switch go to the old sink.
    pub(crate) fn reopen(&self, target: &str, format: LogFormat, time: LogTime) -> io::Result<()> {
        let sink = open_sink(target)?;
        let on = sink.is_some();
        if let Some(sink) = sink {
            self.tx
                .send(Message::Reopen(sink, format, time))
                .map_err(|_| io::Error::other("access log writer is gone"))?;
        }
        self.enabled.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Whether entries are written at all (callers skip building them when not).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Queues an entry without waiting; drops it if the writer is behind.
    pub(crate) fn log(&self, entry: Entry) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Message::Entry(Box::new(entry)))
            && self
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(10_000)
        {
            tracing::warn!("access log: writer behind, dropping entries");
        }
    }

    /// Entries dropped because the writer was behind.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued, stops the writer and waits for it.
    pub(crate) fn stop(&self) {
        let _ = self.tx.send(Message::Stop);
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

fn write_entries(
    rx: &Receiver<Message>,
    sink: Option<Box<dyn Write + Send>>,
    mut format: LogFormat,
    time: LogTime,
) {
    let mut out = sink.map(|s| io::BufWriter::with_capacity(64 * 1024, s));
    let mut line = Vec::with_capacity(512);
    let mut clock = LogClock::new(time);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Entry(entry) => {
                    if let Some(out) = &mut out {
                        line.clear();
                        match format {
                            LogFormat::Combined => format_entry(&entry, &mut clock, &mut line),
                            LogFormat::CombinedTls => {
                                format_entry(&entry, &mut clock, &mut line);
                                append_tls(&entry, &mut line);
                            }
                            LogFormat::Json => format_json(&entry, &mut clock, &mut line),
                        }
                        if let Err(e) = out.write_all(&line) {
                            tracing::error!("access log: write failed: {e}");
                        }
                    }
                }
                Message::Reopen(sink, new_format, new_time) => {
                    if let Some(old) = &mut out {
                        let _ = old.flush();
                    }
                    out = Some(io::BufWriter::with_capacity(64 * 1024, sink));
                    format = new_format;
                    clock = LogClock::new(new_time);
                }
                Message::Stop => {
                    if let Some(out) = &mut out {
                        let _ = out.flush();
                    }
                    return;
                }
            }
            next = rx.try_recv().ok();
        }
        if let Some(out) = &mut out {
            let _ = out.flush();
        }
        // Let entries gather before blocking again: a writer parked in `recv` must be woken
        // (a futex call and a context switch) for every entry, which under load costs more
        // than formatting it. Lines appear at most this much later.
        std::thread::sleep(BATCH_PAUSE);
    }
}

/// `host - user [day/Mon/year:HH:MM:SS +zone] "request" status bytes "referer" "agent"\n`.
///
/// Formats straight into `out` (no intermediate strings); the timestamp is formatted once
/// per second through `clock`.
pub(crate) fn format_entry(e: &Entry, clock: &mut LogClock, out: &mut Vec<u8>) {
    use std::io::Write as _;
    match e.remote {
        Some(ip) => {
            let _ = write!(out, "{ip}");
        }
        None => out.push(b'-'),
    }
    out.extend_from_slice(b" - ");
    match &e.user {
        Some(user) => escape_into(user, out),
        None => out.push(b'-'),
    }
    out.extend_from_slice(b" [");
    out.extend_from_slice(clock.clf(e.time));
    out.extend_from_slice(b"] \"");
    escape_into(&e.request_line, out);
    let _ = write!(out, "\" {} ", e.status);
    if e.bytes == 0 {
        out.push(b'-');
    } else {
        let _ = write!(out, "{}", e.bytes);
    }
    for field in [&e.referer, &e.user_agent] {
        out.extend_from_slice(b" \"");
        match field {
            Some(v) => escape_into(v, out),
            None => out.push(b'-'),
        }
        out.push(b'"');
    }
    out.push(b'\n');
}

/// ` "TLSv1.3" "TLS13_AES_256_GCM_SHA384"` before the line's end (`"-" "-"` without TLS).
fn append_tls(e: &Entry, out: &mut Vec<u8>) {
    out.pop(); // the newline
    let (protocol, cipher) = e.tls.unwrap_or(("-", "-"));
    for field in [protocol, cipher] {
        out.extend_from_slice(b" \"");
        out.extend_from_slice(field.as_bytes());
        out.push(b'"');
    }
    out.push(b'\n');
}

/// Quotes, backslashes and bytes outside printable ASCII become `\xHH` (as nginx does),
/// so a request cannot forge log lines.
fn escape_into(value: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let plain = |b: u8| b != b'"' && b != b'\\' && (0x20..0x7f).contains(&b);
    if value.iter().all(|&b| plain(b)) {
        out.extend_from_slice(value);
        return;
    }
    for &b in value {
        if plain(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
}

/// The timestamps of the current second, formatted once per second: the CLF form
/// (`10/Oct/2000:13:55:36 -0700`) and RFC 3339 (`2000-10-10T13:55:36-07:00`), in local time
/// (nginx's `$time_local`) or UTC.
#[derive(Debug, Default)]
pub(crate) struct LogClock {
    utc: bool,
    second: Option<u64>,
    clf: Vec<u8>,
    iso: String,
}

impl LogClock {
    fn new(time: LogTime) -> Self {
        Self {
            utc: time == LogTime::Utc,
            ..Self::default()
        }
    }

    fn tick(&mut self, time: SystemTime) {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if self.second == Some(secs) {
            return;
        }
        self.second = Some(secs);
        let (clf, iso) = if self.utc {
            let t = chrono::DateTime::<chrono::Utc>::from(time);
            (
                t.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            )
        } else {
            let t = chrono::DateTime::<chrono::Local>::from(time);
            (
                t.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            )
        };
        self.clf = clf.into_bytes();
        self.iso = iso;
    }

    fn clf(&mut self, time: SystemTime) -> &[u8] {
        self.tick(time);
        &self.clf
    }

    fn iso(&mut self, time: SystemTime) -> &str {
        self.tick(time);
        &self.iso
    }
}

/// One JSON object per line: the combined format's fields, named as nginx's variables.
pub(crate) fn format_json(e: &Entry, clock: &mut LogClock, out: &mut Vec<u8>) {
    let text = |b: &Option<Bytes>| b.as_ref().map(|v| String::from_utf8_lossy(v).into_owned());
    let value = serde_json::json!({
        "time": clock.iso(e.time),
        "remote_addr": e.remote.map(|ip| ip.to_string()),
        "remote_user": text(&e.user),
        "request": String::from_utf8_lossy(&e.request_line),
        "status": e.status,
        "body_bytes_sent": e.bytes,
        "http_referer": text(&e.referer),
        "http_user_agent": text(&e.user_agent),
        "ssl_protocol": e.tls.map(|(protocol, _)| protocol),
        "ssl_cipher": e.tls.map(|(_, cipher)| cipher),
    });
    let _ = serde_json::to_writer(&mut *out, &value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry() -> Entry {
        Entry {
            remote: Some("127.0.0.1".parse().unwrap()),
            time: UNIX_EPOCH + Duration::from_secs(971_185_336),
            request_line: Bytes::from_static(b"GET /apache_pb.gif HTTP/1.0"),
            status: 200,
            bytes: 2326,
            referer: Some(Bytes::from_static(b"http://www.example.com/start.html")),
            user_agent: Some(Bytes::from_static(b"Mozilla/4.08 [en] (Win98; I ;Nav)")),
            user: Some(Bytes::from_static(b"frank")),
            tls: None,
        }
    }

    #[test]
    fn combined_tls_adds_the_protocol_and_cipher() {
        let mut e = entry();
        let mut out = Vec::new();
        format_entry(&e, &mut utc(), &mut out);
        append_tls(&e, &mut out);
        assert!(out.ends_with(b"(Win98; I ;Nav)\" \"-\" \"-\"\n"));
        e.tls = Some(("TLSv1.3", "TLS13_AES_128_GCM_SHA256"));
        out.clear();
        format_entry(&e, &mut utc(), &mut out);
        append_tls(&e, &mut out);
        assert!(out.ends_with(b"\" \"TLSv1.3\" \"TLS13_AES_128_GCM_SHA256\"\n"));
        out.clear();
        format_json(&e, &mut utc(), &mut out);
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["ssl_protocol"], "TLSv1.3");
    }

    fn utc() -> LogClock {
        LogClock::new(LogTime::Utc)
    }

    #[test]
    fn lines_follow_the_combined_log_format() {
        let mut out = Vec::new();
        format_entry(&entry(), &mut utc(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.1 - frank [10/Oct/2000:13:42:16 +0000] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"\n"
        );
    }

    #[test]
    fn missing_fields_are_dashes_and_quotes_are_escaped() {
        let mut e = entry();
        e.remote = None;
        e.bytes = 0;
        e.referer = None;
        e.user_agent = Some(Bytes::from_static(b"evil\" \n"));
        e.user = None;
        let mut out = Vec::new();
        format_entry(&e, &mut utc(), &mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(line.starts_with("- - - ["), "{line}");
        assert!(
            line.ends_with(" 200 - \"-\" \"evil\\x22 \\x0A\"\n"),
            "{line}"
        );
    }

    #[test]
    fn json_lines_carry_the_same_fields() {
        let mut out = Vec::new();
        format_json(&entry(), &mut utc(), &mut out);
        assert!(out.ends_with(b"\n"));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["time"], "2000-10-10T13:42:16+00:00");
        assert_eq!(v["remote_addr"], "127.0.0.1");
        assert_eq!(v["remote_user"], "frank");
        assert_eq!(v["request"], "GET /apache_pb.gif HTTP/1.0");
        assert_eq!(v["status"], 200);
        assert_eq!(v["body_bytes_sent"], 2326);
        assert_eq!(v["http_referer"], "http://www.example.com/start.html");
    }

    #[test]
    fn dates_are_right_across_leap_years() {
        let mut clock = utc();
        let day = |d: u64| UNIX_EPOCH + Duration::from_secs(d * 86_400);
        assert_eq!(clock.clf(day(0)), b"01/Jan/1970:00:00:00 +0000");
        assert_eq!(clock.clf(day(11_016)), b"29/Feb/2000:00:00:00 +0000");
        assert_eq!(clock.iso(day(20_598)), "2026-05-25T00:00:00+00:00");
    }

    #[test]
    fn a_file_log_gets_every_entry_by_stop() {
        let path = std::env::temp_dir().join(format!("refserver-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log =
            AccessLog::start(path.to_str().unwrap(), LogFormat::Combined, LogTime::Utc).unwrap();
        for _ in 0..100 {
            log.log(entry());
        }
        log.stop();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 100);
        assert_eq!(log.dropped(), 0);
        let _ = std::fs::remove_file(&path);
        let off = AccessLog::start("off", LogFormat::Combined, LogTime::Utc).unwrap();
        assert!(!off.enabled());
        // A reload can turn it on, in another format.
        off.reopen(path.to_str().unwrap(), LogFormat::Json, LogTime::Local)
            .unwrap();
        assert!(off.enabled());
        off.log(entry());
        off.stop();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        let _ = std::fs::remove_file(&path);
    }
}
