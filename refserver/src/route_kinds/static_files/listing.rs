//! Directory listings (nginx's `autoindex`): a directory without an index file, as HTML
//! for people or JSON for scripts (nginx's `autoindex_format json` fields).
//!
//! Directories come first, then files, each group sorted by name (byte order), as
//! nginx lists them. Names are HTML-escaped for the text and percent-encoded for the
//! links ([`percent_encode_path`]), so any file name gives a safe link that names it.
//! Dot-files are left out unless the route shows them.

use crate::route_kinds::reply::Reply;
use http_proto::RequestHead;
use http_proto::semantics::{media_type_quality, percent_encode_path};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// One listed entry.
#[derive(Debug)]
struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: u64,
    mtime: SystemTime,
}

/// The listing of `dir`, whose URL path is `url_path` (decoded, ending in `/`), in the
/// form `head` asks for: JSON for `?format=json` or an `Accept` preferring
/// `application/json` to `text/html`, else HTML.
pub(super) fn listing(dir: &Path, url_path: &[u8], show_hidden: bool, head: &RequestHead) -> Reply {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Reply::error(403);
    };
    let mut entries: Vec<Entry> = read
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().as_bytes().to_vec();
            if name.starts_with(b".") && !show_hidden {
                return None;
            }
            // Follows symlinks, as a request for the name would; a dangling one is left out.
            let meta = std::fs::metadata(e.path()).ok()?;
            Some(Entry {
                name,
                is_dir: meta.is_dir(),
                size: meta.len(),
                mtime: meta.modified().unwrap_or(UNIX_EPOCH),
            })
        })
        .collect();
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let reply = if wants_json(head) {
        Reply::bytes(200, b"application/json", json(&entries))
    } else {
        Reply::bytes(200, b"text/html; charset=utf-8", html(&entries, url_path))
    };
    reply.with_header(b"vary", "Accept")
}

fn wants_json(head: &RequestHead) -> bool {
    let asked = head
        .query()
        .is_some_and(|q| q.split(|&b| b == b'&').any(|pair| pair == b"format=json"));
    let accept: Vec<&[u8]> = head.headers().get_all("accept").collect();
    asked
        || media_type_quality(accept.iter().copied(), "application/json")
            > media_type_quality(accept.iter().copied(), "text/html")
}

fn json(entries: &[Entry]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let mut v = serde_json::json!({
                "name": String::from_utf8_lossy(&e.name),
                "type": if e.is_dir { "directory" } else { "file" },
                "mtime": httpdate::fmt_http_date(e.mtime),
            });
            if !e.is_dir {
                v["size"] = e.size.into();
            }
            v
        })
        .collect();
    let mut out = serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec());
    out.push(b'\n');
    out
}

fn html(entries: &[Entry], url_path: &[u8]) -> Vec<u8> {
    use std::fmt::Write;
    let title = escape(&String::from_utf8_lossy(url_path));
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n"
    );
    if url_path != b"/" {
        out.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td>-</td></tr>\n");
    }
    for e in entries {
        let slash = if e.is_dir { "/" } else { "" };
        let href = percent_encode_path(&e.name);
        let name = escape(&String::from_utf8_lossy(&e.name));
        let size = if e.is_dir {
            "-".to_owned()
        } else {
            e.size.to_string()
        };
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{href}{slash}\">{name}{slash}</a></td><td>{}</td><td>{size}</td></tr>",
            httpdate::fmt_http_date(e.mtime)
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out.into_bytes()
}

/// Text as HTML content or a double-quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_names_and_percent_encodes_links() {
        let entries = [Entry {
            name: b"<b>&\"x\".txt".to_vec(),
            is_dir: false,
            size: 3,
            mtime: UNIX_EPOCH,
        }];
        let page = String::from_utf8(html(&entries, b"/d/")).unwrap();
        assert!(
            page.contains("<a href=\"%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a>"),
            "{page}"
        );
        assert!(page.contains("<a href=\"../\">"));
        assert!(!String::from_utf8(html(&[], b"/")).unwrap().contains("../"));
    }
}
