//! Message bodies: decoders that hand out data as it arrives, and encoders for each framing.

mod chunked;
mod encode;

pub use chunked::ChunkedDecoder;
pub use encode::BodyEncoder;
pub(crate) use encode::{SEND_DATA, SEND_END};

use crate::error::{Error, ErrorKind};
use crate::framing::Framing;
use crate::head::Headers;
use crate::limits::Limits;
use bytes::{Bytes, BytesMut};

/// What a body decoder produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes, a zero-copy piece of the input buffer.
    Data(Bytes),
    /// The body is complete; chunked bodies may carry trailer fields.
    End(Option<Box<Headers>>),
    /// Every byte of the buffer has been used; call again after appending more.
    NeedData,
}

/// Decodes a body of any framing, without buffering it: each call hands out what has arrived.
///
/// ```
/// use bytes::BytesMut;
/// use http_proto::{BodyDecoder, BodyEvent, Framing, Limits};
///
/// let limits = Limits::default();
/// let mut body = BodyDecoder::new(Framing::Chunked);
/// let mut buf = BytesMut::from(&b"5\r\nhello\r\n0\r\n\r\n"[..]);
/// assert_eq!(body.decode(&mut buf, &limits)?, BodyEvent::Data("hello".into()));
/// assert!(matches!(body.decode(&mut buf, &limits)?, BodyEvent::End(_)));
/// # Ok::<(), http_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    kind: Kind,
    received: u64,
}

#[derive(Debug, Clone)]
enum Kind {
    Length(u64),
    Chunked(ChunkedDecoder),
    Close,
    Done,
}

impl BodyDecoder {
    /// A decoder for a body with this framing.
    #[must_use]
    pub fn new(framing: Framing) -> Self {
        let kind = match framing {
            Framing::None | Framing::Length(0) => Kind::Done,
            Framing::Length(n) => Kind::Length(n),
            Framing::Chunked => Kind::Chunked(ChunkedDecoder::new()),
            Framing::CloseDelimited => Kind::Close,
        };
        Self { kind, received: 0 }
    }

    /// Body bytes handed out so far.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the body has ended.
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }

    /// Decodes from the front of `buf`, splitting off what it uses.
    ///
    /// `limits.max_body_len` bounds the decoded size of chunked and close-delimited bodies
    /// (a Content-Length is checked against it by the connection when the head arrives).
    pub fn decode(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<BodyEvent, Error> {
        let event = match &mut self.kind {
            Kind::Done => return Ok(BodyEvent::End(None)),
            Kind::Length(remaining) => {
                // Refused before any byte is handed out, so every split of the input
                // gives the same events.
                if *remaining > limits.max_body_len.saturating_sub(self.received) {
                    return Err(Error::new(
                        ErrorKind::BodyTooLarge,
                        usize::try_from(self.received).unwrap_or(usize::MAX),
                    ));
                }
                if buf.is_empty() {
                    return Ok(BodyEvent::NeedData);
                }
                let take = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                *remaining -= take as u64;
                let data = buf.split_to(take).freeze();
                if *remaining == 0 {
                    self.kind = Kind::Done;
                }
                BodyEvent::Data(data)
            }
            Kind::Chunked(chunked) => {
                let event = chunked.decode(buf, limits)?;
                if matches!(event, BodyEvent::End(_)) {
                    self.kind = Kind::Done;
                }
                event
            }
            Kind::Close => {
                if buf.is_empty() {
                    return Ok(BodyEvent::NeedData);
                }
                // Hand out bytes up to the limit, then refuse: the same events for every
                // split of the input.
                let allowance = limits.max_body_len.saturating_sub(self.received);
                if allowance == 0 {
                    return Err(Error::new(
                        ErrorKind::BodyTooLarge,
                        usize::try_from(self.received).unwrap_or(usize::MAX),
                    ));
                }
                let take = usize::try_from(allowance).map_or(buf.len(), |a| a.min(buf.len()));
                BodyEvent::Data(buf.split_to(take).freeze())
            }
        };
        if let BodyEvent::Data(data) = &event {
            self.received += data.len() as u64;
            if self.received > limits.max_body_len {
                return Err(Error::new(
                    ErrorKind::BodyTooLarge,
                    usize::try_from(self.received).unwrap_or(usize::MAX),
                ));
            }
        }
        Ok(event)
    }

    /// The peer closed the connection: a close-delimited body ends here, any other body
    /// that has not ended is incomplete.
    pub fn decode_eof(&mut self) -> Result<BodyEvent, Error> {
        match self.kind {
            Kind::Done => Ok(BodyEvent::End(None)),
            Kind::Close => {
                self.kind = Kind::Done;
                Ok(BodyEvent::End(None))
            }
            Kind::Length(_) | Kind::Chunked(_) => Err(Error::new(
                ErrorKind::IncompleteMessage,
                usize::try_from(self.received).unwrap_or(usize::MAX),
            )),
        }
    }
}
