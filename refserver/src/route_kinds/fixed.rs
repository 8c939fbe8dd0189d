//! The `respond` route kind: one fixed response, prepared at start-up (the benchmark
//! route, `/plaintext`).

use crate::config::{ConfigError, RespondConfig};
use crate::exchange::{Exchange, ExchangeError, Request, Started};
use crate::response::ResponseSink;
use bytes::Bytes;
use std::task::{Context, Poll};

/// A `respond` route's prepared answer.
#[derive(Debug)]
pub(crate) struct FixedResponse {
    /// Status code.
    pub(crate) status: u16,
    /// `Content-Type`, if any.
    pub(crate) content_type: Option<Box<[u8]>>,
    /// The body.
    pub(crate) body: Bytes,
}

impl FixedResponse {
    /// Compiles route `n`'s `respond` table. A status that cannot have a body (204, 304)
    /// with a body is refused: the client would never see it.
    pub(crate) fn new(n: usize, config: &RespondConfig) -> Result<Self, ConfigError> {
        if !(200..=599).contains(&config.status) {
            return Err(ConfigError::new(format!(
                "route {n}: respond.status {} is not a final status (200..=599)",
                config.status
            )));
        }
        if !config.body.is_empty() && !http_proto::response_has_body(false, false, config.status) {
            return Err(ConfigError::new(format!(
                "route {n}: respond.status {} has no body, but respond.body is set",
                config.status
            )));
        }
        Ok(Self {
            status: config.status,
            content_type: config.content_type.as_deref().map(|t| t.as_bytes().into()),
            body: Bytes::from(config.body.clone().into_bytes()),
        })
    }

    /// Starts the exchange for a request on this route.
    pub(crate) fn start(&'static self, _request: &Request<'_>) -> Started {
        Started::Fixed(FixedExchange(self))
    }
}

/// Sends a [`FixedResponse`] in one go; the request body is refused.
pub(crate) struct FixedExchange(&'static FixedResponse);

impl Exchange for FixedExchange {
    fn poll_response(
        &mut self,
        _cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        let fixed = self.0;
        let content_type = fixed.content_type.as_deref().unwrap_or_default();
        let fields: &[(&[u8], &[u8])] = &[(b"content-type", content_type)];
        let fields = if fixed.content_type.is_some() {
            fields
        } else {
            &[]
        };
        Poll::Ready(sink.whole(fixed.status, fields, &fixed.body))
    }
}
