//! Sans-IO FastCGI 1.0.
//!
//! Placeholder: only the record header exists yet (issue 5 builds the rest).
#![forbid(unsafe_code)]

/// Length of every FastCGI record header (FastCGI spec §3.3).
pub const HEADER_LEN: usize = 8;

/// A FastCGI record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Protocol version; 1 for FastCGI 1.0.
    pub version: u8,
    /// Record type.
    pub kind: u8,
    /// Request id; 0 for management records.
    pub request_id: u16,
    /// Bytes of content that follow the header.
    pub content_length: u16,
    /// Bytes of padding after the content.
    pub padding_length: u8,
}

impl RecordHeader {
    /// Decodes a header from its 8 wire bytes.
    #[must_use]
    pub fn decode(b: [u8; HEADER_LEN]) -> Self {
        Self {
            version: b[0],
            kind: b[1],
            request_id: u16::from_be_bytes([b[2], b[3]]),
            content_length: u16::from_be_bytes([b[4], b[5]]),
            padding_length: b[6],
        }
    }

    /// Encodes the header into its 8 wire bytes (the reserved byte is zero).
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let id = self.request_id.to_be_bytes();
        let len = self.content_length.to_be_bytes();
        [
            self.version,
            self.kind,
            id[0],
            id[1],
            len[0],
            len[1],
            self.padding_length,
            0,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::RecordHeader;

    #[test]
    fn header_round_trips_big_endian() {
        let h = RecordHeader {
            version: 1,
            kind: 6,
            request_id: 0x0102,
            content_length: 0xfffe,
            padding_length: 2,
        };
        let wire = h.encode();
        assert_eq!(wire, [1, 6, 1, 2, 0xff, 0xfe, 2, 0]);
        assert_eq!(RecordHeader::decode(wire), h);
    }
}
