//! RFC 3875 CGI for servers: the request meta-variables, script resolution and the
//! CGI response parser, shared by a CGI gateway (child processes) and a FastCGI gateway
//! (whose `PARAMS` are the same variables and whose responders answer in the same
//! format).
//!
//! Sans-IO: nothing here spawns a process or touches a socket. The only I/O is the
//! metadata the [`ScriptResolver`] reads while walking a directory tree.
//!
//! The request-target is http-proto's: its path, query and effective host come from
//! [`http_proto::RequestHead`] (`path()`, `query()`, `authority()`), and the path is
//! decoded once, by [`http_proto::semantics::normalize_path_with`] with
//! [`EncodedSlash::Refuse`](http_proto::semantics::EncodedSlash::Refuse) (scripts refuse
//! `%2F`), which [`ScriptResolver::resolve_request`] applies itself. cgi-env decodes
//! nothing again, so a router and the resolver agree on what a path names.
//!
//! | job | file | entry points |
//! |---|---|---|
//! | which script a (normalized) URL path names | `resolve.rs` | [`ScriptResolver`], [`ScriptResolution`] |
//! | the meta-variables | `meta_vars.rs` | [`Environment::build`], [`CgiRequest`], [`CgiRequest::from_head`] |
//! | the ISINDEX command line | `isindex.rs` | [`isindex_words`] |
//! | the script's output | `response.rs` | [`ResponseParser`], [`ResponseEvent`], [`CgiResponse`], [`ResponseKind`] |
//! | bounds | `limits.rs` | [`Limits`] |
//! | faults | `error.rs` | [`Error`] |
//!
//! # Example: one request through a CGI gateway
//!
//! ```
//! use bytes::Bytes;
//! use cgi_env::{
//!     CgiRequest, Environment, Limits, ResponseEvent, ResponseKind, ResponseParser,
//!     ScriptResolver,
//! };
//! use http_proto::RequestHead;
//!
//! // Once, at start-up: URL paths under /git run git-http-backend.
//! let resolver = ScriptResolver::single_program(b"/git", "/usr/lib/git-core/git-http-backend")
//!     .with_document_root("/srv/git");
//!
//! // Per request: the head http-proto parsed ...
//! let raw = Bytes::from_static(
//!     b"GET /git/demo.git/info/refs?service=git-upload-pack HTTP/1.1\r\n\
//!       Host: example.org\r\nAccept: */*\r\n\r\n",
//! );
//! let (head, _) = RequestHead::parse(&raw, &http_proto::Limits::default())?.expect("complete");
//! // ... its path, decoded once by http-proto with the policy for scripts, names the
//! // script (a cgi_env::Error knows its status: 400, 404, 403, ...) ...
//! let script = resolver.resolve_request(&head)?;
//! // ... and the environment takes the rest of what http-proto read.
//! let request = CgiRequest {
//!     remote_addr: "192.0.2.7:50312".parse()?,
//!     server_addr: "192.0.2.1:80".parse()?,
//!     ..CgiRequest::from_head(&head)
//! };
//! let mut env = Environment::build(&request, &script, head.headers().iter())?;
//! env.set("GIT_HTTP_EXPORT_ALL", "1")?;
//! assert_eq!(env.get(b"PATH_INFO"), Some(&b"/demo.git/info/refs"[..]));
//! assert_eq!(env.get(b"QUERY_STRING"), Some(&b"service=git-upload-pack"[..]));
//! assert_eq!(env.get(b"SERVER_NAME"), Some(&b"example.org"[..]));
//! assert_eq!(env.get(b"HTTP_ACCEPT"), Some(&b"*/*"[..]));
//!
//! // ... spawn the program with `env.iter()`, then feed what it writes:
//! let mut parser = ResponseParser::new(Limits::default());
//! parser.feed(b"Content-Type: application/x-git-upload-pack-advertisement\r\n");
//! parser.feed(b"Cache-Control: no-cache\r\n\r\n001e# service=git-upload-pack\n");
//! parser.feed_eof();
//! let ResponseEvent::Head(head) = parser.poll_event().unwrap() else { unreachable!() };
//! assert_eq!((head.kind, head.status), (ResponseKind::Document, 200));
//! assert_eq!(head.headers.len(), 2);
//! assert!(matches!(parser.poll_event(), Ok(ResponseEvent::Body(_))));
//! assert_eq!(parser.poll_event(), Ok(ResponseEvent::End));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod error;
mod isindex;
mod limits;
mod meta_vars;
mod resolve;
mod response;

pub use error::Error;
pub use isindex::isindex_words;
pub use limits::Limits;
pub use meta_vars::{CgiRequest, Environment, http_variable_name};
pub use resolve::{ScriptResolution, ScriptResolver};
pub use response::{CgiResponse, ResponseEvent, ResponseKind, ResponseParser};
