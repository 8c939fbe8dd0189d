//! Script resolution: which file a URL path names, and what is left over as PATH_INFO.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Error, Limits};

/// Where a URL path led: the values behind `SCRIPT_NAME`, `PATH_INFO`,
/// `SCRIPT_FILENAME`, `PATH_TRANSLATED` and `DOCUMENT_ROOT`.
///
/// Built by [`ScriptResolver::resolve`]; the fields are public so a gateway with its own
/// routing (a FastCGI upstream serving PHP files, say) can fill one in by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResolution {
    /// `SCRIPT_NAME`: the decoded, normalised URL path that names the script, `""` or
    /// starting with `/` (RFC 3875 §4.1.13).
    pub script_name: Vec<u8>,
    /// `PATH_INFO`: the decoded remainder after `script_name`, `""` or starting with `/`
    /// (RFC 3875 §4.1.5). A trailing `/` in the request is kept (`/` alone is a single
    /// void segment).
    pub path_info: Vec<u8>,
    /// `SCRIPT_FILENAME`: the file to execute (or hand to a FastCGI application).
    pub script_filename: PathBuf,
    /// `PATH_TRANSLATED`: `path_info` mapped onto `document_root` as if it were a request
    /// URI of its own (RFC 3875 §4.1.6); `None` when `path_info` is empty, which the RFC
    /// requires.
    pub path_translated: Option<PathBuf>,
    /// `DOCUMENT_ROOT`: the directory `PATH_TRANSLATED` is computed against.
    pub document_root: PathBuf,
}

impl ScriptResolution {
    /// Whether the script is a "non-parsed header" script by the naming convention
    /// servers use for RFC 3875 §5 (its name starts with `nph-`): its output, status line
    /// included, goes to the client as it is.
    ///
    /// ```
    /// let r = cgi_env::ScriptResolution::new(b"/cgi-bin/nph-raw".to_vec(), b"/x".to_vec(),
    ///     "/srv/cgi-bin/nph-raw".into(), "/srv".into());
    /// assert!(r.is_nph());
    /// ```
    #[must_use]
    pub fn is_nph(&self) -> bool {
        let name = self
            .script_name
            .rsplit(|&b| b == b'/')
            .next()
            .unwrap_or_default();
        name.starts_with(b"nph-")
    }

    /// A resolution for a script the caller located itself; computes `path_translated`
    /// from `path_info` and `document_root` with the same rule the resolver uses.
    ///
    /// `path_info` must be `""` or start with `/`; the caller is responsible for having
    /// checked it (it comes from the caller's own routing).
    #[must_use]
    pub fn new(
        script_name: Vec<u8>,
        path_info: Vec<u8>,
        script_filename: PathBuf,
        document_root: PathBuf,
    ) -> Self {
        let path_translated = translate(&document_root, &path_info);
        Self {
            script_name,
            path_info,
            script_filename,
            path_translated,
            document_root,
        }
    }
}

#[derive(Debug, Clone)]
enum Mode {
    /// Walk the filesystem under this canonical directory.
    Directory { root: PathBuf },
    /// Always this program.
    SingleProgram { program: PathBuf },
}

/// Maps URL paths under a prefix to scripts: either by walking a directory tree
/// ([`directory`](Self::directory)) or to one program ([`single_program`](Self::single_program)).
///
/// RFC 3875 §3.3 splits the Script-URI's path into `SCRIPT_NAME` (the part that
/// identifies the script) and `PATH_INFO` (the rest, handed to the script). How the
/// split is found is the server's business; this resolver does what Apache's `mod_cgi`
/// and lighttpd do: walk the filesystem from the mapped root, one segment at a time,
/// until the first regular file. That file is the script; everything after it is
/// `PATH_INFO`.
///
/// The other form, [`ScriptResolver::single_program`], maps a URL prefix to one program
/// (Apache's `ScriptAlias /git/ /usr/lib/git-core/git-http-backend/`): the prefix is
/// `SCRIPT_NAME`, everything after it is `PATH_INFO`, and no filesystem walk happens.
///
/// The path it takes is the one http-proto decoded, not the raw target: cgi-env does not
/// decode a path again (a second decoding would turn `%252e` into `.`), so the router
/// and the resolver agree on what a path names. Safety rules, in the order they apply:
///
/// 1. Decoding is http-proto's, with the policy scripts need:
///    [`normalize_path_with(head.path(), EncodedSlash::Refuse)`](http_proto::semantics::normalize_path_with)
///    decodes once, removes dot-segments, merges slashes, and refuses a `..` above the
///    root, a NUL and an encoded `/` (`%2F`: RFC 3875 §4.1.5 lets a server refuse it,
///    because decoding it loses the difference between `a%2Fb` and `a/b`; all 400).
/// 2. The resolver checks that what it got is in that form and fails closed if not: a
///    NUL ([`Error::NulInPath`]) or an empty, `.` or `..` segment
///    ([`Error::NotNormalized`], the gateway skipped step 1) is refused, so neither
///    `SCRIPT_NAME`, `PATH_INFO` nor `PATH_TRANSLATED` ever holds a `..`. The path must
///    lie under the resolver's prefix, whole segments matched.
/// 3. While walking, a symbolic link is followed only if its target (fully
///    canonicalised) is inside the canonical root, unless
///    [`ScriptResolver::allow_symlinks_outside_root`] says otherwise.
///
/// The resolver reads file metadata; it opens no file, touches no socket and spawns
/// nothing. A file can change between resolution and execution (a time-of-check race);
/// a gateway that cares runs scripts with the privileges the root deserves.
///
/// Build one per configured CGI location when the server starts and call
/// [`resolve`](Self::resolve) per request; it holds no per-request state.
///
/// ```
/// use cgi_env::ScriptResolver;
/// use http_proto::semantics::{EncodedSlash, normalize_path_with};
///
/// let git = ScriptResolver::single_program(b"/git", "/usr/lib/git-core/git-http-backend")
///     .with_document_root("/srv/git");
/// // `path` would be `head.path()` of the request.
/// let path = normalize_path_with(b"/git/./project.git/info//refs", EncodedSlash::Refuse).unwrap();
/// let r = git.resolve(&path).unwrap();
/// assert_eq!(r.script_name, b"/git");
/// assert_eq!(r.path_info, b"/project.git/info/refs");
/// assert_eq!(
///     r.path_translated.as_deref(),
///     Some(std::path::Path::new("/srv/git/project.git/info/refs"))
/// );
/// ```
#[derive(Debug, Clone)]
pub struct ScriptResolver {
    /// Prefix segments, compared with the segments of the (decoded) path.
    prefix: Vec<Vec<u8>>,
    mode: Mode,
    document_root: PathBuf,
    require_executable: bool,
    allow_symlinks_outside_root: bool,
    script_suffix: Option<Vec<u8>>,
    index: Option<Vec<u8>>,
    limits: Limits,
}

/// What [`ScriptResolver::walk`] found, with the script's file path it built on the way.
enum Found {
    /// The first `n` segments name the script file.
    File(usize, PathBuf),
    /// All segments are directories; the index file in the last one is the script.
    Index(PathBuf),
}

impl ScriptResolver {
    /// Scripts live under `root`, reached through URL paths under `url_prefix` (e.g.
    /// `b"/cgi-bin"` for `/usr/lib/cgi-bin`, or `b"/"` for a whole site).
    ///
    /// `url_prefix` is matched against decoded paths, whole segments at a time, so it is
    /// written decoded, like a route prefix (`/my scripts`, not `/my%20scripts`); a
    /// trailing `/` and repeated slashes do not matter. `root` is canonicalised now, so it
    /// must exist and be a directory. The document root (for `PATH_TRANSLATED` and
    /// `DOCUMENT_ROOT`) defaults to the canonical `root`; scripts must be executable by
    /// default.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `root` cannot be canonicalised or is not a directory;
    /// [`Error::NotAbsolutePath`], [`Error::NulInPath`] or [`Error::NotNormalized`] (a `.`
    /// or `..` segment) when `url_prefix` is malformed.
    pub fn directory(url_prefix: &[u8], root: impl AsRef<Path>) -> Result<Self, Error> {
        let root = fs::canonicalize(root.as_ref()).map_err(|e| Error::Io(e.kind()))?;
        if !root.is_dir() {
            return Err(Error::Io(std::io::ErrorKind::NotADirectory));
        }
        let limits = Limits::default();
        let prefix = prefix_segments(url_prefix)?;
        Ok(Self {
            prefix,
            document_root: root.clone(),
            mode: Mode::Directory { root },
            require_executable: true,
            allow_symlinks_outside_root: false,
            script_suffix: None,
            index: None,
            limits,
        })
    }

    /// Every URL path equal to `url_prefix` or below it runs `program`, with the rest of
    /// the path as `PATH_INFO` (the form git-http-backend needs).
    ///
    /// The program is not checked here (the gateway finds out when it spawns it). The
    /// document root defaults to the program's directory; set the directory the
    /// program expects `PATH_TRANSLATED` under with
    /// [`with_document_root`](Self::with_document_root).
    ///
    /// `url_prefix` is written decoded, as for [`directory`](Self::directory). A
    /// malformed one (with a `.` or `..` segment) is kept as `/`-separated literal
    /// segments, which no normalized path matches.
    #[must_use]
    pub fn single_program(url_prefix: &[u8], program: impl Into<PathBuf>) -> Self {
        let program = program.into();
        let limits = Limits::default();
        let prefix = prefix_segments(url_prefix).unwrap_or_else(|_| {
            url_prefix
                .split(|&b| b == b'/')
                .filter(|s| !s.is_empty())
                .map(<[u8]>::to_vec)
                .collect()
        });
        let document_root = program
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        Self {
            prefix,
            mode: Mode::SingleProgram { program },
            document_root,
            require_executable: true,
            allow_symlinks_outside_root: false,
            script_suffix: None,
            index: None,
            limits,
        }
    }

    /// Sets the directory `PATH_TRANSLATED` and `DOCUMENT_ROOT` refer to (RFC 3875
    /// §4.1.6: the server's document root, or the directory a single program serves).
    #[must_use]
    pub fn with_document_root(mut self, document_root: impl Into<PathBuf>) -> Self {
        self.document_root = document_root.into();
        self
    }

    /// Whether the script file must have an execute bit (default `true`). A FastCGI
    /// location serving PHP files turns this off: php-fpm reads the file, nobody
    /// executes it. Has no effect on [`single_program`](Self::single_program).
    #[must_use]
    pub fn require_executable(mut self, yes: bool) -> Self {
        self.require_executable = yes;
        self
    }

    /// Whether symbolic links may lead outside the root (default `false`, Apache's
    /// `Options -FollowSymLinks`-like safety). Links that stay inside are always followed.
    #[must_use]
    pub fn allow_symlinks_outside_root(mut self, yes: bool) -> Self {
        self.allow_symlinks_outside_root = yes;
        self
    }

    /// Scripts must be files whose name ends in `suffix` (e.g. `b".php"`); has no effect
    /// on [`single_program`](Self::single_program). The walk stops at the first regular
    /// file as always, and if that file lacks the suffix the path names no script
    /// ([`Error::ScriptNotFound`]): `/upload.jpg/x.php` does not hand `upload.jpg` to
    /// PHP with `PATH_INFO=/x.php`, the trick `cgi.fix_pathinfo` once allowed.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("cgi-env-doc-suffix-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # std::fs::write(dir.join("upload.jpg"), b"<?php evil();").unwrap();
    /// # std::fs::write(dir.join("app.php"), b"<?php").unwrap();
    /// use cgi_env::{Error, ScriptResolver};
    /// let php = ScriptResolver::directory(b"/", &dir).unwrap()
    ///     .require_executable(false)
    ///     .with_script_suffix(b".php");
    /// assert_eq!(php.resolve(b"/app.php/users/7").unwrap().path_info, b"/users/7");
    /// assert_eq!(php.resolve(b"/upload.jpg/x.php"), Err(Error::ScriptNotFound));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    #[must_use]
    pub fn with_script_suffix(mut self, suffix: &[u8]) -> Self {
        self.script_suffix = Some(suffix.to_vec());
        self
    }

    /// When every segment of the path is a directory, the file `name` in the last one is
    /// the script (nginx's `fastcgi_index`, Apache's `DirectoryIndex`): `/blog/` runs
    /// `blog/index.php` with `SCRIPT_NAME=/blog/index.php` and an empty `PATH_INFO`. It
    /// must satisfy the same rules as any script (suffix, execute bit when required).
    /// Has no effect on [`single_program`](Self::single_program).
    #[must_use]
    pub fn with_index(mut self, name: &[u8]) -> Self {
        self.index = Some(name.to_vec());
        self
    }

    /// Replaces the limits (only `max_path_segments` applies here).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The canonical root directory of a [`directory`](Self::directory) resolver, or the
    /// program of a [`single_program`](Self::single_program) one.
    #[must_use]
    pub fn root(&self) -> &Path {
        match &self.mode {
            Mode::Directory { root } => root,
            Mode::SingleProgram { program } => program,
        }
    }

    /// Resolves the script a request names: its path normalized by http-proto with the
    /// policy scripts need ([`EncodedSlash::Refuse`](http_proto::semantics::EncodedSlash):
    /// RFC 3875 §4.1.5 lets a server refuse `%2F`, whose decoding would lose where one
    /// segment ends), then [`resolve`](Self::resolve). The way for a gateway to call the
    /// resolver: the policy cannot be forgotten.
    ///
    /// # Errors
    ///
    /// [`Error::RefusedPath`] when http-proto refuses the path (400), else those of
    /// [`resolve`](Self::resolve).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use cgi_env::{Error, ScriptResolver};
    /// use http_proto::{ErrorKind, Limits, RequestHead};
    ///
    /// let git = ScriptResolver::single_program(b"/git", "/usr/lib/git-core/git-http-backend");
    /// let head = |target: &str| {
    ///     let raw = Bytes::from(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"));
    ///     RequestHead::parse(&raw, &Limits::default()).unwrap().unwrap().0
    /// };
    /// let r = git.resolve_request(&head("/git/%64emo.git/./info/refs?service=x")).unwrap();
    /// assert_eq!(r.path_info, b"/demo.git/info/refs");
    /// assert_eq!(
    ///     git.resolve_request(&head("/git/a%2Fb")),
    ///     Err(Error::RefusedPath(ErrorKind::PathEncodedSlash))
    /// );
    /// ```
    pub fn resolve_request(
        &self,
        head: &http_proto::RequestHead,
    ) -> Result<ScriptResolution, Error> {
        let path = http_proto::semantics::normalize_path_with(
            head.path(),
            http_proto::semantics::EncodedSlash::Refuse,
        )
        .map_err(|e| Error::RefusedPath(e.kind()))?;
        self.resolve(&path)
    }

    /// Splits `url_path` into the script and its `PATH_INFO`.
    ///
    /// `url_path` is the request's path as http-proto normalized it for scripts:
    /// [`normalize_path_with(head.path(), EncodedSlash::Refuse)`](http_proto::semantics::normalize_path_with)
    /// (decoded once, dot-segments removed, slashes merged, `%2F` refused), where `head` is
    /// the [`http_proto::RequestHead`]; its refusals are http-proto errors that answer 400.
    /// It is not decoded again here: `SCRIPT_NAME` and `PATH_INFO` are pieces of it, so
    /// `SCRIPT_NAME` followed by `PATH_INFO` is exactly that path.
    ///
    /// Call once per request. For a directory resolver this reads file metadata along
    /// the path: at most one `symlink_metadata` per segment, plus a `canonicalize` per
    /// symbolic link met.
    ///
    /// # Errors
    ///
    /// [`Error::NotAbsolutePath`] (the path of an asterisk- or authority-form target),
    /// [`Error::NulInPath`] and [`Error::NotNormalized`] (not http-proto's normal form),
    /// [`Error::TooManySegments`], [`Error::PrefixMismatch`] when the path is not under
    /// the prefix, and for directory resolvers [`Error::ScriptNotFound`],
    /// [`Error::NotExecutable`], [`Error::SymlinkOutsideRoot`] or [`Error::Io`].
    pub fn resolve(&self, url_path: &[u8]) -> Result<ScriptResolution, Error> {
        let path = split_normalized(url_path, &self.limits)?;
        let prefix_len = self.prefix.len();
        let under_prefix = path.segments.len() >= prefix_len
            && path
                .segments
                .iter()
                .zip(&self.prefix)
                .all(|(segment, prefix)| *segment == prefix.as_slice());
        if !under_prefix {
            return Err(Error::PrefixMismatch);
        }
        let rest = &path.segments[prefix_len..];
        match &self.mode {
            Mode::SingleProgram { program } => {
                let script_name = join(self.prefix.iter().map(Vec::as_slice), false);
                let path_info = join(rest.iter().copied(), path.trailing_slash);
                Ok(ScriptResolution::new(
                    script_name,
                    path_info,
                    program.clone(),
                    self.document_root.clone(),
                ))
            }
            Mode::Directory { root } => {
                let (script_end, index, script_filename) = match self.walk(root, rest)? {
                    Found::File(n, file) => (prefix_len + n, None, file),
                    Found::Index(file) => (path.segments.len(), self.index.as_deref(), file),
                };
                let script_segments = path.segments[..script_end].iter().copied();
                let script_name = join(script_segments.chain(index), false);
                let after = &path.segments[script_end..];
                let trailing_slash = path.trailing_slash && index.is_none();
                let path_info = join(after.iter().copied(), trailing_slash);
                Ok(ScriptResolution::new(
                    script_name,
                    path_info,
                    script_filename,
                    self.document_root.clone(),
                ))
            }
        }
    }

    /// Walks `segments` under `root` to the script.
    fn walk(&self, root: &Path, segments: &[&[u8]]) -> Result<Found, Error> {
        // Sized once for the longest path the walk can build.
        let longest = root.as_os_str().len()
            + segments.iter().map(|s| s.len() + 1).sum::<usize>()
            + self.index.as_ref().map_or(0, |i| i.len() + 1);
        let mut current = PathBuf::with_capacity(longest);
        current.push(root);
        for (index, segment) in segments.iter().enumerate() {
            current.push(os_segment(segment));
            if !self.is_dir_or_script(root, &current)? {
                return Ok(Found::File(index + 1, current));
            }
        }
        let Some(index) = &self.index else {
            return Err(Error::ScriptNotFound);
        };
        current.push(os_segment(index));
        if self.is_dir_or_script(root, &current)? {
            return Err(Error::ScriptNotFound);
        }
        Ok(Found::Index(current))
    }

    /// `true` for a directory, `false` for a file that may be the script, an error for
    /// anything else: a missing file, a link leaving the root, a FIFO, socket or device, a
    /// file without the script suffix or the execute bit it needs.
    fn is_dir_or_script(&self, root: &Path, current: &Path) -> Result<bool, Error> {
        let link = fs::symlink_metadata(current).map_err(not_found_or_io)?;
        let meta = if link.file_type().is_symlink() {
            let target = fs::canonicalize(current).map_err(not_found_or_io)?;
            if !self.allow_symlinks_outside_root && !target.starts_with(root) {
                return Err(Error::SymlinkOutsideRoot);
            }
            fs::metadata(&target).map_err(not_found_or_io)?
        } else {
            link
        };
        if meta.is_dir() {
            return Ok(true);
        }
        if !meta.is_file() {
            return Err(Error::ScriptNotFound);
        }
        if let Some(suffix) = &self.script_suffix
            && !current.as_os_str().as_encoded_bytes().ends_with(suffix)
        {
            return Err(Error::ScriptNotFound);
        }
        if self.require_executable && !is_executable(&meta) {
            return Err(Error::NotExecutable);
        }
        Ok(false)
    }
}

#[allow(clippy::needless_pass_by_value)] // Used as `map_err(not_found_or_io)`.
fn not_found_or_io(e: std::io::Error) -> Error {
    match e.kind() {
        // A segment longer than the filesystem allows (ENAMETOOLONG) names no file either.
        std::io::ErrorKind::NotFound
        | std::io::ErrorKind::NotADirectory
        | std::io::ErrorKind::InvalidFilename => Error::ScriptNotFound,
        kind => Error::Io(kind),
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    true
}

#[cfg(unix)]
fn os_segment(segment: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(segment)
}

#[cfg(not(unix))]
fn os_segment(segment: &[u8]) -> std::borrow::Cow<'_, std::ffi::OsStr> {
    match String::from_utf8_lossy(segment) {
        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(std::ffi::OsStr::new(s)),
        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into()),
    }
}

/// `PATH_TRANSLATED` (RFC 3875 §4.1.6): `path_info` parsed as a local URI and mapped onto
/// the document root; NULL (`None`) when `path_info` is.
pub(crate) fn translate(document_root: &Path, path_info: &[u8]) -> Option<PathBuf> {
    if path_info.is_empty() {
        return None;
    }
    let mut out = document_root.as_os_str().to_owned();
    let info = if out.as_encoded_bytes().ends_with(b"/") {
        path_info.strip_prefix(b"/").unwrap_or(path_info)
    } else {
        path_info
    };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        out.push(std::ffi::OsStr::from_bytes(info));
    }
    #[cfg(not(unix))]
    out.push(String::from_utf8_lossy(info).as_ref());
    Some(PathBuf::from(out))
}

/// A path in http-proto's normal form, cut into its segments (borrowed from it).
struct Segments<'p> {
    segments: Vec<&'p [u8]>,
    /// The path ended in `/`.
    trailing_slash: bool,
}

/// Cuts a normalized path into segments, checking that it is in normal form: it starts
/// with `/`, holds no NUL, and no empty (but a last), `.` or `..` segment. It decodes
/// nothing; the decoding was http-proto's.
fn split_normalized<'p>(url_path: &'p [u8], limits: &Limits) -> Result<Segments<'p>, Error> {
    let Some(body) = url_path.strip_prefix(b"/") else {
        return Err(Error::NotAbsolutePath);
    };
    if let Some(offset) = memchr::memchr(0, url_path) {
        return Err(Error::NulInPath { offset });
    }
    let mut segments = Vec::with_capacity(memchr::memchr_iter(b'/', url_path).count());
    let mut trailing_slash = false;
    let mut offset = 1;
    for segment in body.split(|&b| b == b'/') {
        match segment {
            b"" if offset == url_path.len() => trailing_slash = true,
            b"" | b"." | b".." => return Err(Error::NotNormalized { offset }),
            _ if segments.len() >= limits.max_path_segments => {
                return Err(Error::TooManySegments {
                    limit: limits.max_path_segments,
                });
            }
            _ => segments.push(segment),
        }
        offset += segment.len() + 1;
    }
    Ok(Segments {
        segments,
        trailing_slash,
    })
}

/// A configured URL prefix's segments: absolute, no NUL, no `.` or `..`; empty segments
/// (a trailing `/`, `//`) are skipped, so `/cgi-bin`, `/cgi-bin/` and `//cgi-bin` agree.
fn prefix_segments(url_prefix: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let Some(body) = url_prefix.strip_prefix(b"/") else {
        return Err(Error::NotAbsolutePath);
    };
    if let Some(offset) = memchr::memchr(0, url_prefix) {
        return Err(Error::NulInPath { offset });
    }
    let mut segments = Vec::new();
    let mut offset = 1;
    for segment in body.split(|&b| b == b'/') {
        match segment {
            b"" => {}
            b"." | b".." => return Err(Error::NotNormalized { offset }),
            _ => segments.push(segment.to_vec()),
        }
        offset += segment.len() + 1;
    }
    Ok(segments)
}

/// `/a/b` from `[a, b]`; `""` from `[]` unless `trailing_slash` (then `/`).
fn join<'s>(segments: impl Iterator<Item = &'s [u8]> + Clone, trailing_slash: bool) -> Vec<u8> {
    let len = segments.clone().map(|s| s.len() + 1).sum::<usize>() + usize::from(trailing_slash);
    let mut out = Vec::with_capacity(len);
    for segment in segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing_slash {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(path: &[u8]) -> Result<(Vec<u8>, bool), Error> {
        split_normalized(path, &Limits::default())
            .map(|n| (join(n.segments.into_iter(), false), n.trailing_slash))
    }

    #[test]
    #[allow(clippy::type_complexity)] // A table literal reads best inline.
    fn only_normal_form_is_taken() {
        let table: &[(&[u8], Result<(&[u8], bool), Error>)] = &[
            (b"/", Ok((b"", true))),
            (b"/a/b", Ok((b"/a/b", false))),
            (b"/a/b/", Ok((b"/a/b", true))),
            // Nothing is decoded: these are names, as http-proto left them.
            (b"/a%2e%2E/x", Ok((b"/a%2e%2E/x", false))),
            (b"/%2e%2e", Ok((b"/%2e%2e", false))),
            (b"/a%2Fb", Ok((b"/a%2Fb", false))),
            (b"/a b/c?d", Ok((b"/a b/c?d", false))),
            (b"/..a/b..", Ok((b"/..a/b..", false))),
            // Not normal form: a gateway skipped http-proto's normalization.
            (b"/a//b", Err(Error::NotNormalized { offset: 3 })),
            (b"//a", Err(Error::NotNormalized { offset: 1 })),
            (b"/a/./b", Err(Error::NotNormalized { offset: 3 })),
            (b"/a/..", Err(Error::NotNormalized { offset: 3 })),
            (b"/..", Err(Error::NotNormalized { offset: 1 })),
            (b"/.", Err(Error::NotNormalized { offset: 1 })),
            (b"/a\0", Err(Error::NulInPath { offset: 2 })),
            (b"a/b", Err(Error::NotAbsolutePath)),
            (b"", Err(Error::NotAbsolutePath)),
            (b"*", Err(Error::NotAbsolutePath)),
        ];
        for (input, expected) in table {
            let got = split(input);
            let expected = expected.clone().map(|(p, t)| (p.to_vec(), t));
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    #[allow(clippy::type_complexity)] // A table literal reads best inline.
    fn prefixes_are_literal_segments() {
        let table: &[(&[u8], Result<Vec<&[u8]>, Error>)] = &[
            (b"/", Ok(vec![])),
            (b"/cgi-bin", Ok(vec![b"cgi-bin"])),
            (b"/cgi-bin/", Ok(vec![b"cgi-bin"])),
            (b"//a//b/", Ok(vec![b"a", b"b"])),
            (b"/my%20cgi", Ok(vec![b"my%20cgi"])),
            (b"/a/../b", Err(Error::NotNormalized { offset: 3 })),
            (b"cgi-bin", Err(Error::NotAbsolutePath)),
        ];
        for (prefix, expected) in table {
            let expected = expected
                .clone()
                .map(|v| v.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
            assert_eq!(prefix_segments(prefix), expected);
        }
    }

    #[test]
    fn segment_limit() {
        let limits = Limits {
            max_path_segments: 3,
            ..Limits::default()
        };
        assert!(split_normalized(b"/a/b/c", &limits).is_ok());
        assert!(split_normalized(b"/a/b/c/", &limits).is_ok());
        assert_eq!(
            split_normalized(b"/a/b/c/d", &limits).err(),
            Some(Error::TooManySegments { limit: 3 })
        );
    }

    #[test]
    fn path_translated_rules() {
        let root = Path::new("/srv/www");
        assert_eq!(translate(root, b""), None);
        assert_eq!(translate(root, b"/"), Some(PathBuf::from("/srv/www/")));
        assert_eq!(
            translate(root, b"/a/b"),
            Some(PathBuf::from("/srv/www/a/b"))
        );
        assert_eq!(
            translate(Path::new("/srv/www/"), b"/a"),
            Some(PathBuf::from("/srv/www/a"))
        );
    }
}
