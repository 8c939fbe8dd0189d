//! The record layer (FastCGI 1.0 §3.3, §5): headers, typed fixed-size bodies, the
//! incremental [`RecordDecoder`] and the encoders that pad to 8 and split at 65535.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;

/// Length of every record header (§3.3).
pub const HEADER_LEN: usize = 8;

/// The only protocol version there is: `FCGI_VERSION_1` (§8).
pub const VERSION_1: u8 = 1;

/// Largest content one record can carry: `contentLength` is a `u16` (§3.3).
pub const MAX_CONTENT_LEN: usize = 65535;

/// Largest record on the wire: header, content and the largest padding.
pub const MAX_RECORD_LEN: usize = HEADER_LEN + MAX_CONTENT_LEN + 255;

/// `requestId` 0 marks a management record (§3.3).
pub const MANAGEMENT_REQUEST_ID: u16 = 0;

/// The type byte of a record (§8). Types this crate does not know stay
/// representable as [`RecordType::Other`] so a peer can be answered with
/// `FCGI_UNKNOWN_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// `FCGI_BEGIN_REQUEST` (1): web server starts a request.
    BeginRequest,
    /// `FCGI_ABORT_REQUEST` (2): web server aborts a request.
    AbortRequest,
    /// `FCGI_END_REQUEST` (3): application ends a request.
    EndRequest,
    /// `FCGI_PARAMS` (4): name-value pair stream to the application.
    Params,
    /// `FCGI_STDIN` (5): request body stream to the application.
    Stdin,
    /// `FCGI_STDOUT` (6): response stream to the web server.
    Stdout,
    /// `FCGI_STDERR` (7): error stream to the web server.
    Stderr,
    /// `FCGI_DATA` (8): the Filter role's file data stream.
    Data,
    /// `FCGI_GET_VALUES` (9): management query.
    GetValues,
    /// `FCGI_GET_VALUES_RESULT` (10): management answer.
    GetValuesResult,
    /// `FCGI_UNKNOWN_TYPE` (11): answer to an unknown management record.
    UnknownType,
    /// Any other type byte.
    Other(u8),
}

impl RecordType {
    /// Maps a wire type byte to a record type.
    #[must_use]
    pub fn from_u8(b: u8) -> Self {
        match b {
            1 => Self::BeginRequest,
            2 => Self::AbortRequest,
            3 => Self::EndRequest,
            4 => Self::Params,
            5 => Self::Stdin,
            6 => Self::Stdout,
            7 => Self::Stderr,
            8 => Self::Data,
            9 => Self::GetValues,
            10 => Self::GetValuesResult,
            11 => Self::UnknownType,
            other => Self::Other(other),
        }
    }

    /// The wire type byte.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::BeginRequest => 1,
            Self::AbortRequest => 2,
            Self::EndRequest => 3,
            Self::Params => 4,
            Self::Stdin => 5,
            Self::Stdout => 6,
            Self::Stderr => 7,
            Self::Data => 8,
            Self::GetValues => 9,
            Self::GetValuesResult => 10,
            Self::UnknownType => 11,
            Self::Other(b) => b,
        }
    }
}

/// A record header (§3.3) with its type decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Protocol version; [`VERSION_1`] on every valid record.
    pub version: u8,
    /// Record type.
    pub record_type: RecordType,
    /// Request id; [`MANAGEMENT_REQUEST_ID`] for management records.
    pub request_id: u16,
    /// Bytes of content that follow the header.
    pub content_length: u16,
    /// Bytes of padding after the content.
    pub padding_length: u8,
}

impl RecordHeader {
    /// Decodes a header from its 8 wire bytes. Never fails: checking the
    /// version is the [`RecordDecoder`]'s job.
    #[must_use]
    pub fn decode(b: [u8; HEADER_LEN]) -> Self {
        Self {
            version: b[0],
            record_type: RecordType::from_u8(b[1]),
            request_id: u16::from_be_bytes([b[2], b[3]]),
            content_length: u16::from_be_bytes([b[4], b[5]]),
            padding_length: b[6],
        }
    }

    /// The header of a version-1 record of `content_length` bytes, padded to a multiple
    /// of 8.
    fn padded(record_type: RecordType, request_id: u16, content_length: u16) -> Self {
        Self {
            version: VERSION_1,
            record_type,
            request_id,
            content_length,
            padding_length: padding_for(usize::from(content_length)),
        }
    }

    /// Encodes the header into its 8 wire bytes (the reserved byte is zero).
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let id = self.request_id.to_be_bytes();
        let len = self.content_length.to_be_bytes();
        [
            self.version,
            self.record_type.as_u8(),
            id[0],
            id[1],
            len[0],
            len[1],
            self.padding_length,
            0,
        ]
    }
}

/// One decoded record: its header and its content (padding dropped). The
/// content is a zero-copy view of the bytes that were fed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record type.
    pub record_type: RecordType,
    /// Request id; 0 for management records.
    pub request_id: u16,
    /// Content bytes; empty for a stream's end record.
    pub content: Bytes,
}

/// The role a request asks the application to play (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `FCGI_RESPONDER` (1): produce the response, like CGI.
    Responder,
    /// `FCGI_AUTHORIZER` (2): decide whether a request is allowed.
    Authorizer,
    /// `FCGI_FILTER` (3): transform the file sent on the data stream.
    Filter,
    /// A role number this crate does not know; the application side answers it
    /// with [`ProtocolStatus::UnknownRole`].
    Other(u16),
}

impl Role {
    /// Maps the wire role number.
    #[must_use]
    pub fn from_u16(n: u16) -> Self {
        match n {
            1 => Self::Responder,
            2 => Self::Authorizer,
            3 => Self::Filter,
            other => Self::Other(other),
        }
    }

    /// The wire role number.
    #[must_use]
    pub fn as_u16(self) -> u16 {
        match self {
            Self::Responder => 1,
            Self::Authorizer => 2,
            Self::Filter => 3,
            Self::Other(n) => n,
        }
    }
}

/// `protocolStatus` of an `FCGI_END_REQUEST` body (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolStatus {
    /// `FCGI_REQUEST_COMPLETE` (0): normal end.
    RequestComplete,
    /// `FCGI_CANT_MPX_CONN` (1): the application does not multiplex this connection.
    CantMpxConn,
    /// `FCGI_OVERLOADED` (2): the application is out of some resource.
    Overloaded,
    /// `FCGI_UNKNOWN_ROLE` (3): the application does not play the asked role.
    UnknownRole,
    /// Any other status byte.
    Other(u8),
}

impl ProtocolStatus {
    /// Maps the wire status byte.
    #[must_use]
    pub fn from_u8(b: u8) -> Self {
        match b {
            0 => Self::RequestComplete,
            1 => Self::CantMpxConn,
            2 => Self::Overloaded,
            3 => Self::UnknownRole,
            other => Self::Other(other),
        }
    }

    /// The wire status byte.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::RequestComplete => 0,
            Self::CantMpxConn => 1,
            Self::Overloaded => 2,
            Self::UnknownRole => 3,
            Self::Other(b) => b,
        }
    }
}

/// `FCGI_KEEP_CONN` in the `flags` byte of `FCGI_BEGIN_REQUEST` (§5.1).
const FLAG_KEEP_CONN: u8 = 1;

/// The body of `FCGI_BEGIN_REQUEST` (§5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeginRequestBody {
    /// The role asked for.
    pub role: Role,
    /// `FCGI_KEEP_CONN`: the application must not close the connection after
    /// ending this request.
    pub keep_conn: bool,
}

impl BeginRequestBody {
    /// Decodes the 8-byte body; any other length is [`Error::InvalidBodyLength`].
    ///
    /// # Errors
    /// [`Error::InvalidBodyLength`] when `content` is not 8 bytes long.
    pub fn decode(content: &[u8]) -> Result<Self, Error> {
        let b: [u8; 8] = fixed_body(RecordType::BeginRequest, content)?;
        Ok(Self {
            role: Role::from_u16(u16::from_be_bytes([b[0], b[1]])),
            keep_conn: b[2] & FLAG_KEEP_CONN != 0,
        })
    }

    /// Encodes the 8-byte body.
    #[must_use]
    pub fn encode(&self) -> [u8; 8] {
        let r = self.role.as_u16().to_be_bytes();
        let flags = if self.keep_conn { FLAG_KEEP_CONN } else { 0 };
        [r[0], r[1], flags, 0, 0, 0, 0, 0]
    }
}

/// The body of `FCGI_END_REQUEST` (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndRequestBody {
    /// The application's exit status (what a CGI program would `exit` with).
    pub app_status: u32,
    /// How the request ended at the protocol level.
    pub protocol_status: ProtocolStatus,
}

impl EndRequestBody {
    /// Decodes the 8-byte body.
    ///
    /// # Errors
    /// [`Error::InvalidBodyLength`] when `content` is not 8 bytes long.
    pub fn decode(content: &[u8]) -> Result<Self, Error> {
        let b: [u8; 8] = fixed_body(RecordType::EndRequest, content)?;
        Ok(Self {
            app_status: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            protocol_status: ProtocolStatus::from_u8(b[4]),
        })
    }

    /// Encodes the 8-byte body.
    #[must_use]
    pub fn encode(&self) -> [u8; 8] {
        let s = self.app_status.to_be_bytes();
        [
            s[0],
            s[1],
            s[2],
            s[3],
            self.protocol_status.as_u8(),
            0,
            0,
            0,
        ]
    }
}

/// The body of `FCGI_UNKNOWN_TYPE` (§4.2): the type byte that was not understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownTypeBody {
    /// The record type the application did not understand.
    pub record_type: u8,
}

impl UnknownTypeBody {
    /// Decodes the 8-byte body.
    ///
    /// # Errors
    /// [`Error::InvalidBodyLength`] when `content` is not 8 bytes long.
    pub fn decode(content: &[u8]) -> Result<Self, Error> {
        let b: [u8; 8] = fixed_body(RecordType::UnknownType, content)?;
        Ok(Self { record_type: b[0] })
    }

    /// Encodes the 8-byte body.
    #[must_use]
    pub fn encode(&self) -> [u8; 8] {
        [self.record_type, 0, 0, 0, 0, 0, 0, 0]
    }
}

fn fixed_body(record_type: RecordType, content: &[u8]) -> Result<[u8; 8], Error> {
    content.try_into().map_err(|_| Error::InvalidBodyLength {
        record_type,
        length: content.len(),
    })
}

/// Padding that brings `content_len` up to a multiple of 8 (§3.3 recommends
/// 8-byte alignment).
fn padding_for(content_len: usize) -> u8 {
    // (8 - len % 8) % 8 is at most 7: the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation)]
    let pad = ((8 - content_len % 8) % 8) as u8;
    pad
}

const ZEROS: [u8; 8] = [0; 8];

/// Appends one record to `out`, padded to a multiple of 8 bytes.
///
/// # Errors
/// [`Error::ContentTooLong`] when `content` exceeds [`MAX_CONTENT_LEN`]; use
/// [`encode_stream`] to split larger content.
pub fn encode_record(
    out: &mut BytesMut,
    record_type: RecordType,
    request_id: u16,
    content: &[u8],
) -> Result<(), Error> {
    let content_length = u16::try_from(content.len()).map_err(|_| Error::ContentTooLong {
        length: content.len(),
    })?;
    let header = RecordHeader::padded(record_type, request_id, content_length);
    let padding_length = header.padding_length;
    out.reserve(HEADER_LEN + content.len() + usize::from(padding_length));
    out.put_slice(&header.encode());
    out.put_slice(content);
    out.put_slice(&ZEROS[..usize::from(padding_length)]);
    Ok(())
}

/// Appends `content` to `out` as records of one stream type, each at most
/// [`MAX_CONTENT_LEN`] bytes long. Empty `content` writes nothing: an empty
/// record would end the stream, which only [`encode_stream_end`] does.
pub fn encode_stream(out: &mut BytesMut, record_type: RecordType, request_id: u16, content: &[u8]) {
    // Reserve once: growing per record would copy everything queued so far.
    let records = content.len().div_ceil(MAX_CONTENT_LEN);
    out.reserve(content.len() + records * (HEADER_LEN + 7));
    for chunk in content.chunks(MAX_CONTENT_LEN) {
        // Each chunk is at most MAX_CONTENT_LEN long, so this cannot fail.
        let _ = encode_record(out, record_type, request_id, chunk);
    }
}

/// Appends the stream content `fill` writes to `out` as records of one stream type, as
/// [`encode_stream`] does, but written in place: the content goes straight after a
/// header filled in once its length is known, with no buffer in between. Content past
/// [`MAX_CONTENT_LEN`] is split into records afterwards (one copy, for the rare stream
/// that large). On an error from `fill`, `out` is left as it was.
pub(crate) fn encode_stream_in_place(
    out: &mut BytesMut,
    record_type: RecordType,
    request_id: u16,
    fill: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = out.len();
    out.put_slice(&[0; HEADER_LEN]);
    if let Err(e) = fill(out) {
        out.truncate(start);
        return Err(e);
    }
    let content_len = out.len() - start - HEADER_LEN;
    match u16::try_from(content_len) {
        Ok(0) => out.truncate(start),
        Ok(content_length) => {
            let header = RecordHeader::padded(record_type, request_id, content_length);
            out[start..start + HEADER_LEN].copy_from_slice(&header.encode());
            out.put_slice(&ZEROS[..usize::from(header.padding_length)]);
        }
        Err(_) => {
            let content = out.split_off(start + HEADER_LEN);
            out.truncate(start);
            encode_stream(out, record_type, request_id, &content);
        }
    }
    Ok(())
}

/// Appends the empty record that ends a stream (§3.3: "a stream ends with a
/// record of the stream's type with contentLength 0").
pub fn encode_stream_end(out: &mut BytesMut, record_type: RecordType, request_id: u16) {
    let _ = encode_record(out, record_type, request_id, &[]);
}

/// Incremental record decoder: feed bytes split anywhere, take whole records out.
///
/// Holds at most one partial record beyond what was fed and not yet taken
/// ([`MAX_RECORD_LEN`] bytes), so a peer cannot make it allocate without bound
/// as long as the caller takes records out before feeding more.
///
/// ```
/// use fcgi_proto::record::{encode_record, RecordDecoder, RecordType};
/// let mut wire = bytes::BytesMut::new();
/// encode_record(&mut wire, RecordType::Stdout, 1, b"hello").unwrap();
/// let mut dec = RecordDecoder::new();
/// dec.feed(&wire[..3]);
/// assert!(dec.decode().unwrap().is_none()); // need more bytes
/// dec.feed(&wire[3..]);
/// let rec = dec.decode().unwrap().unwrap();
/// assert_eq!((rec.record_type, rec.request_id, &rec.content[..]), (RecordType::Stdout, 1, &b"hello"[..]));
/// ```
#[derive(Debug, Default)]
pub struct RecordDecoder {
    buf: BytesMut,
    failed: Option<Error>,
}

impl RecordDecoder {
    /// A decoder with an empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes. Call [`decode`](Self::decode) until it returns
    /// `Ok(None)` before feeding more, to keep the buffer bounded.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer itself, for a driver that reads straight into it
    /// (e.g. tokio's `read_buf`), saving the copy [`feed`](Self::feed) makes.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes fed and not yet decoded into records.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next whole record out of the buffer: `Ok(None)` means "feed more".
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] for a header whose version is not 1. The
    /// stream cannot be resynchronised after it, so every later call returns
    /// the same error.
    pub fn decode(&mut self) -> Result<Option<Record>, Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(head) = self.buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let mut raw = [0u8; HEADER_LEN];
        raw.copy_from_slice(head);
        let header = RecordHeader::decode(raw);
        if header.version != VERSION_1 {
            let e = Error::UnsupportedVersion {
                version: header.version,
            };
            self.failed = Some(e.clone());
            return Err(e);
        }
        let content_len = usize::from(header.content_length);
        let total = HEADER_LEN + content_len + usize::from(header.padding_length);
        if self.buf.len() < total {
            // Reserve once for the whole record so feeding it in pieces does not
            // reallocate repeatedly; bounded by MAX_RECORD_LEN.
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        let mut rec = self.buf.split_to(total);
        let _ = rec.split_to(HEADER_LEN);
        rec.truncate(content_len);
        Ok(Some(Record {
            record_type: header.record_type,
            request_id: header.request_id,
            content: rec.freeze(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_written_in_place_is_the_stream_encoded() {
        for len in [0usize, 1, 7, 8, 2048, 65_535, 65_536, 65_537, 200_000] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251).to_le_bytes()[0]).collect();
            let mut expected = BytesMut::from(&b"queued"[..]);
            encode_stream(&mut expected, RecordType::Params, 3, &content);
            let mut out = BytesMut::from(&b"queued"[..]);
            encode_stream_in_place(&mut out, RecordType::Params, 3, |out| {
                out.extend_from_slice(&content);
                Ok(())
            })
            .unwrap();
            assert_eq!(out, expected, "{len} bytes");
        }
        let mut out = BytesMut::from(&b"queued"[..]);
        let failed = encode_stream_in_place(&mut out, RecordType::Params, 3, |out| {
            out.extend_from_slice(b"half a pair");
            Err(Error::ParamTooLong { length: 1 << 31 })
        });
        assert!(failed.is_err());
        assert_eq!(&out[..], b"queued", "a failed stream leaves nothing behind");
    }

    #[test]
    fn header_round_trips_big_endian() {
        let h = RecordHeader {
            version: 1,
            record_type: RecordType::Stdout,
            request_id: 0x0102,
            content_length: 0xfffe,
            padding_length: 2,
        };
        let wire = h.encode();
        assert_eq!(wire, [1, 6, 1, 2, 0xff, 0xfe, 2, 0]);
        assert_eq!(RecordHeader::decode(wire), h);
    }

    #[test]
    fn record_types_round_trip_all_bytes() {
        for b in 0..=255u8 {
            assert_eq!(RecordType::from_u8(b).as_u8(), b);
            assert_eq!(ProtocolStatus::from_u8(b).as_u8(), b);
        }
        for n in [0u16, 1, 2, 3, 4, 0xffff] {
            assert_eq!(Role::from_u16(n).as_u16(), n);
        }
    }

    #[test]
    fn writes_pad_to_eight() {
        for len in 0..=17usize {
            let mut out = BytesMut::new();
            encode_record(&mut out, RecordType::Stdin, 3, &vec![b'x'; len]).unwrap();
            assert_eq!(out.len() % 8, 0, "len {len}");
            assert_eq!(usize::from(out[6]), out.len() - HEADER_LEN - len);
        }
    }

    #[test]
    fn reads_any_padding() {
        // 3 bytes of content with 200 bytes of padding: legal (§3.3 only recommends alignment).
        let mut wire = vec![1, 6, 0, 1, 0, 3, 200, 0, b'a', b'b', b'c'];
        wire.extend(std::iter::repeat_n(0xaa, 200));
        wire.extend([1, 6, 0, 1, 0, 0, 0, 0]);
        let mut dec = RecordDecoder::new();
        dec.feed(&wire);
        assert_eq!(&dec.decode().unwrap().unwrap().content[..], b"abc");
        assert!(dec.decode().unwrap().unwrap().content.is_empty());
        assert!(dec.decode().unwrap().is_none());
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn bad_version_is_sticky() {
        let mut dec = RecordDecoder::new();
        dec.feed(&[2, 6, 0, 1, 0, 0, 0, 0]);
        assert_eq!(dec.decode(), Err(Error::UnsupportedVersion { version: 2 }));
        dec.feed(&[1, 6, 0, 1, 0, 0, 0, 0]);
        assert_eq!(dec.decode(), Err(Error::UnsupportedVersion { version: 2 }));
    }

    #[test]
    fn content_limit_and_split() {
        let mut out = BytesMut::new();
        let big = vec![7u8; MAX_CONTENT_LEN + 1];
        assert_eq!(
            encode_record(&mut out, RecordType::Stdout, 1, &big),
            Err(Error::ContentTooLong {
                length: MAX_CONTENT_LEN + 1
            })
        );
        encode_record(&mut out, RecordType::Stdout, 1, &big[..MAX_CONTENT_LEN]).unwrap();
        out.clear();
        encode_stream(&mut out, RecordType::Stdout, 1, &big);
        let mut dec = RecordDecoder::new();
        dec.feed(&out);
        assert_eq!(
            dec.decode().unwrap().unwrap().content.len(),
            MAX_CONTENT_LEN
        );
        assert_eq!(dec.decode().unwrap().unwrap().content.len(), 1);
        assert!(dec.decode().unwrap().is_none());
    }

    #[test]
    fn empty_stream_writes_nothing_and_end_writes_empty_record() {
        let mut out = BytesMut::new();
        encode_stream(&mut out, RecordType::Stdin, 1, &[]);
        assert!(out.is_empty());
        encode_stream_end(&mut out, RecordType::Stdin, 1);
        assert_eq!(&out[..], &[1, 5, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn fixed_bodies() {
        let b = BeginRequestBody {
            role: Role::Filter,
            keep_conn: true,
        };
        assert_eq!(b.encode(), [0, 3, 1, 0, 0, 0, 0, 0]);
        assert_eq!(BeginRequestBody::decode(&b.encode()), Ok(b));
        assert!(matches!(
            BeginRequestBody::decode(&[0; 7]),
            Err(Error::InvalidBodyLength { length: 7, .. })
        ));
        let e = EndRequestBody {
            app_status: 0x0102_0304,
            protocol_status: ProtocolStatus::Overloaded,
        };
        assert_eq!(e.encode(), [1, 2, 3, 4, 2, 0, 0, 0]);
        assert_eq!(EndRequestBody::decode(&e.encode()), Ok(e));
        assert!(EndRequestBody::decode(&[0; 9]).is_err());
        let u = UnknownTypeBody { record_type: 42 };
        assert_eq!(UnknownTypeBody::decode(&u.encode()), Ok(u));
    }
}
