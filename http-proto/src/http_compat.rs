//! Conversions to and from the `http` crate's types (feature `http`), so code written for
//! hyper or axum handlers can sit on this crate's connections.

use crate::conn::ServerConn;
use crate::error::Error;
use crate::head::{RequestHead, ResponseHead, Version};
use crate::write::Response;
use bytes::BytesMut;

impl From<Version> for http::Version {
    fn from(v: Version) -> Self {
        match v {
            Version::Http10 => http::Version::HTTP_10,
            Version::Http11 => http::Version::HTTP_11,
        }
    }
}

impl RequestHead {
    /// The head as an `http::Request<()>` (method, URI, version, fields in order).
    ///
    /// The target and the field values are zero-copy views of the head's bytes (`http`
    /// checks them again); fails only if `http` rejects a value this crate accepted (its
    /// URI parser is stricter about a few characters).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_proto::{Limits, RequestHead};
    /// let raw = Bytes::from_static(b"GET /x?y HTTP/1.1\r\nHost: a\r\n\r\n");
    /// let (head, _) = RequestHead::parse(&raw, &Limits::default()).unwrap().unwrap();
    /// let req = head.to_http().unwrap();
    /// assert_eq!(req.uri().path(), "/x");
    /// assert_eq!(req.headers()["host"], "a");
    /// ```
    pub fn to_http(&self) -> Result<http::Request<()>, http::Error> {
        // Built in place, not with `http::request::Builder`: the builder threads a
        // `Result` through every field, several hundred instructions a request here.
        let mut request = http::Request::new(());
        *request.method_mut() = http::Method::from_bytes(self.method_bytes())?;
        *request.uri_mut() = http::Uri::from_maybe_shared(self.target_bytes())?;
        *request.version_mut() = self.version().into();
        let fields = &self.headers;
        let map = request.headers_mut();
        map.reserve(fields.len());
        for field in &fields.fields {
            let name = http::HeaderName::from_bytes(field.name.of(&fields.buf))?;
            let value = fields
                .buf
                .slice(field.value.start as usize..field.value.end as usize);
            map.append(name, http::HeaderValue::from_maybe_shared(value)?);
        }
        Ok(request)
    }
}

impl ResponseHead {
    /// The head as an `http::Response<()>`.
    pub fn to_http(&self) -> Result<http::Response<()>, http::Error> {
        let mut builder = http::Response::builder()
            .status(self.status())
            .version(self.version().into());
        for (name, value) in self.headers().iter() {
            builder = builder.header(
                http::HeaderName::from_bytes(name)?,
                http::HeaderValue::from_bytes(value)?,
            );
        }
        builder.body(())
    }
}

impl ServerConn {
    /// Sends the head of an `http::Response`, with the same rules as
    /// [`send_response`](Self::send_response): framing fields in `parts` are refused,
    /// the framing comes from `body_len`.
    pub fn send_http_response(
        &mut self,
        parts: &http::response::Parts,
        body_len: Option<u64>,
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        let fields: smallvec::SmallVec<[(&[u8], &[u8]); 16]> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
            .collect();
        let mut response = Response::new(parts.status.as_u16()).headers(&fields);
        response.body_len = body_len;
        self.send_response(&response, out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Limits, ServerConn, ServerEvent};
    use bytes::BytesMut;

    #[test]
    fn an_http_response_goes_out_through_the_connection() {
        let mut conn = ServerConn::new(Limits::default());
        conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let Ok(ServerEvent::Request(req)) = conn.poll_event() else {
            panic!("request")
        };
        assert_eq!(req.to_http().unwrap().method(), http::Method::GET);
        let (parts, ()) = http::Response::builder()
            .status(404)
            .header("x-a", "b")
            .body(())
            .unwrap()
            .into_parts();
        let mut out = BytesMut::new();
        conn.send_http_response(&parts, Some(0), &mut out).unwrap();
        assert_eq!(
            &out[..],
            b"HTTP/1.1 404 Not Found\r\nx-a: b\r\ncontent-length: 0\r\n\r\n"
        );
    }
}
