//! HTTP semantics a server applies after parsing (RFC 9110, RFC 3986): the rules that
//! decide *what* to answer, not how the bytes are framed.
//!
//! Each rule lives in its own file and is a pure function of field values (and, where the
//! rule needs one, facts the caller supplies such as a representation's length or
//! validators). Nothing here reads a file, a socket or a clock; the server asks and acts.
//!
//! | rule | RFC | entry point |
//! |---|---|---|
//! | conditional requests | RFC 9110 §13 | [`Preconditions::evaluate`], [`if_range_allows`], [`EntityTag`] |
//! | byte ranges | RFC 9110 §14 | [`parse_range`] → [`RangeOutcome`]; several: [`parse_range_set`] → [`RangeSet`] |
//! | the body of a several-range 206 | RFC 9110 §14.6, RFC 2046 §5.1.1 | [`MultipartByteranges`] |
//! | which coding a client accepts, and prefers; which media type | RFC 9110 §12.5.3, §12.5.1 | [`coding_quality`], [`preferred_coding`], [`media_type_quality`] |
//! | request path normal form, the one decoding of a path (routes and scripts both use it) | RFC 3986 §2.1, §5.2.4 | [`normalize_path`] |
//! | what `%2F` means: a separator (routing, files) or a refusal (CGI scripts) | RFC 3875 §4.1.5 | [`normalize_path_with`], [`EncodedSlash`] |
//! | a request-target's path, query and effective host, for all four forms (checked at parse time) | RFC 9112 §3.2, §3.3, RFC 9110 §4.2 | [`RequestHead::path`](crate::RequestHead::path), [`query`](crate::RequestHead::query), [`authority`](crate::RequestHead::authority) |
//! | `Host` without its port | RFC 9110 §7.2, RFC 3986 §3.2.2 | [`host_without_port`], [`split_host_port`] |
//! | the user of `Basic` credentials (`$remote_user`) | RFC 7617 §2 | [`basic_credentials`] |
//!
//! # Example: a static file's answer
//!
//! ```
//! use http_proto::semantics::{
//!     normalize_path, parse_range, Precondition, Preconditions, RangeOutcome, Validators,
//! };
//! use http_proto::Method;
//!
//! let path = normalize_path(b"/docs/./a%20b.txt").unwrap();
//! assert_eq!(&path[..], b"/docs/a b.txt");
//!
//! let validators = Validators::new(Some(b"\"v1\""), None);
//! let pre = Preconditions { if_none_match: Some(b"\"v0\""), ..Preconditions::default() };
//! assert_eq!(pre.evaluate(Method::Get, &validators), Precondition::Proceed);
//!
//! assert_eq!(parse_range(b"bytes=-3", 10), RangeOutcome::Partial { start: 7, end: 9 });
//! ```

mod conditional;
mod content_coding;
mod credentials;
mod host;
mod multipart;
mod path;
mod range;

pub use conditional::{
    EntityTag, Precondition, Preconditions, Validators, if_match_matches, if_none_match_matches,
    if_range_allows, parse_http_date_secs,
};
pub use content_coding::{coding_quality, media_type_quality, preferred_coding};
pub use credentials::basic_credentials;
pub use host::{host_without_port, split_host_port};
pub use multipart::MultipartByteranges;
pub use path::{EncodedSlash, normalize_path, normalize_path_with, percent_encode_path};
pub use range::{ByteRange, RangeOutcome, RangeSet, parse_range, parse_range_set};
