//! RFC 3875 CGI for servers: the request meta-variables, script resolution and the
//! CGI response parser, shared by a CGI gateway (child processes) and a FastCGI gateway
//! (whose `PARAMS` are the same variables and whose responders answer in the same
//! format).
//!
//! Sans-IO: nothing here spawns a process or touches a socket. The only I/O is the
//! metadata the [`ScriptResolver`] reads while walking a directory tree.
//!
//! | job | file | entry points |
//! |---|---|---|
//! | which script a URL path names | `resolve.rs` | [`ScriptResolver`], [`ScriptResolution`] |
//! | the meta-variables | `meta_vars.rs` | [`Environment::build`], [`CgiRequest`], [`split_request_target`] |
//! | the ISINDEX command line | `isindex.rs` | [`isindex_words`] |
//! | the script's output | `response.rs` | [`ResponseParser`], [`ResponseEvent`], [`CgiResponse`], [`ResponseKind`] |
//! | bounds | `limits.rs` | [`Limits`] |
//! | faults | `error.rs` | [`Error`] |
//!
//! # Example: one request through a CGI gateway
//!
//! ```
//! use cgi_env::{
//!     split_request_target, CgiRequest, Environment, Limits, ResponseEvent, ResponseKind,
//!     ResponseParser, ScriptResolver,
//! };
//!
//! // Once, at start-up: URL paths under /git run git-http-backend.
//! let resolver = ScriptResolver::single_program(b"/git", "/usr/lib/git-core/git-http-backend")
//!     .with_document_root("/srv/git");
//!
//! // Per request: resolve the path, build the environment.
//! let target = b"/git/demo.git/info/refs?service=git-upload-pack";
//! let (path, _query) = split_request_target(target);
//! let script = resolver.resolve(path).unwrap();
//! let request = CgiRequest {
//!     request_target: target,
//!     remote_addr: "192.0.2.7:50312".parse().unwrap(),
//!     server_addr: "192.0.2.1:80".parse().unwrap(),
//!     ..CgiRequest::default()
//! };
//! let headers: [(&[u8], &[u8]); 2] = [(b"Host", b"example.org"), (b"Accept", b"*/*")];
//! let mut env = Environment::build(&request, &script, headers).unwrap();
//! env.set("GIT_HTTP_EXPORT_ALL", "1").unwrap();
//! assert_eq!(env.get(b"PATH_INFO"), Some(&b"/demo.git/info/refs"[..]));
//! assert_eq!(env.get(b"QUERY_STRING"), Some(&b"service=git-upload-pack"[..]));
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
pub use meta_vars::{CgiRequest, Environment, http_variable_name, split_request_target};
pub use resolve::{ScriptResolution, ScriptResolver};
pub use response::{CgiResponse, ResponseEvent, ResponseKind, ResponseParser};
