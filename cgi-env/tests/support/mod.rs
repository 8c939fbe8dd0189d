//! Shared by the integration tests: the split-anywhere helper and the fixture tree.
#![allow(dead_code, unreachable_pub)] // Each test crate uses a different part.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cgi_env::{CgiResponse, Error, Limits, ResponseEvent, ResponseParser};

/// Everything a parser run produced, with the body concatenated (chunking differs
/// between splits; the bytes must not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub head: Option<CgiResponse>,
    pub body: Vec<u8>,
    pub ended: bool,
    pub error: Option<Error>,
}

/// Feeds `chunks` one by one, polling after each until `NeedData`, then `feed_eof`
/// and polls to the end.
pub fn run_chunks(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = ResponseParser::new(limits);
    let mut out = Outcome {
        head: None,
        body: Vec::new(),
        ended: false,
        error: None,
    };
    let drain = |parser: &mut ResponseParser, out: &mut Outcome| {
        loop {
            match parser.poll_event() {
                Ok(ResponseEvent::Head(head)) => {
                    assert!(out.head.is_none(), "two heads");
                    out.head = Some(head);
                }
                Ok(ResponseEvent::Body(bytes)) => {
                    assert!(!bytes.is_empty(), "empty body event");
                    assert!(out.head.is_some(), "body before head");
                    out.body.extend_from_slice(&bytes);
                }
                Ok(ResponseEvent::End) => {
                    out.ended = true;
                    return false;
                }
                Ok(ResponseEvent::NeedData) => return true,
                Err(e) => {
                    // Sticky: the same error again.
                    assert_eq!(parser.poll_event(), Err(e.clone()));
                    out.error = Some(e);
                    return false;
                }
            }
        }
    };
    for chunk in chunks {
        parser.feed(chunk);
        if !drain(&mut parser, &mut out) {
            return out;
        }
    }
    parser.feed_eof();
    drain(&mut parser, &mut out);
    out
}

/// Parses `input` whole, then split at every position, then byte by byte, and (for
/// inputs up to 120 bytes) split at every pair of positions; asserts every run gives
/// the same outcome and returns it.
pub fn assert_split_anywhere(input: &[u8], limits: Limits) -> Outcome {
    assert_split_anywhere_upto(input, limits, 120)
}

/// [`assert_split_anywhere`], with the every-pair-of-positions pass only for inputs
/// of at most `pairwise_max` bytes (it is quadratic).
pub fn assert_split_anywhere_upto(input: &[u8], limits: Limits, pairwise_max: usize) -> Outcome {
    let whole = run_chunks(&[input], limits);
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run_chunks(&[a, b], limits), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run_chunks(&bytes, limits), whole, "byte by byte");
    if input.len() <= pairwise_max {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let parts = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(run_chunks(&parts, limits), whole, "split at {i} and {j}");
            }
        }
    }
    whole
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory tree for resolution tests, removed on drop:
///
/// ```text
/// <dir>/root/hello.cgi            0755
/// <dir>/root/plain.txt            0644
/// <dir>/root/docs/index.html      0644
/// <dir>/root/cgi-bin/env.cgi      0755
/// <dir>/root/cgi-bin/sub/deep.cgi 0755
/// <dir>/root/cgi-bin/we ird%.cgi  0755
/// <dir>/root/link-in    -> cgi-bin            (stays inside)
/// <dir>/root/link-hello.cgi -> hello.cgi      (stays inside)
/// <dir>/root/link-out   -> ../outside         (leaves)
/// <dir>/root/link-out.cgi -> ../outside/evil.cgi (leaves)
/// <dir>/root/loop       -> loop               (ELOOP)
/// <dir>/outside/evil.cgi          0755
/// ```
pub struct Fixture {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub outside: PathBuf,
}

impl Fixture {
    pub fn new(name: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("cgi-env-test-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let root = dir.join("root");
        let outside = dir.join("outside");
        build_tree(&root, &outside);
        let root = fs::canonicalize(&root).expect("fixture root");
        let outside = fs::canonicalize(&outside).expect("fixture outside");
        Self { dir, root, outside }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write(path: &Path, mode: u32) {
    fs::write(path, b"#!/bin/sh\necho 'Content-Type: text/plain'\necho\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

pub fn build_tree(root: &Path, outside: &Path) {
    fs::create_dir_all(root.join("docs")).expect("mkdir");
    fs::create_dir_all(root.join("cgi-bin/sub")).expect("mkdir");
    fs::create_dir_all(outside).expect("mkdir");
    write(&root.join("hello.cgi"), 0o755);
    write(&root.join("plain.txt"), 0o644);
    write(&root.join("docs/index.html"), 0o644);
    write(&root.join("cgi-bin/env.cgi"), 0o755);
    write(&root.join("cgi-bin/sub/deep.cgi"), 0o755);
    write(&root.join("cgi-bin/we ird%.cgi"), 0o755);
    write(&outside.join("evil.cgi"), 0o755);
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let _ = symlink("cgi-bin", root.join("link-in"));
        let _ = symlink("hello.cgi", root.join("link-hello.cgi"));
        let _ = symlink("../outside", root.join("link-out"));
        let _ = symlink("../outside/evil.cgi", root.join("link-out.cgi"));
        let _ = symlink("loop", root.join("loop"));
    }
}
