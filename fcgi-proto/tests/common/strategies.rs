//! proptest strategies for FastCGI values.

use fcgi_proto::RecordType;
use proptest::prelude::*;

/// Any record type byte, known or not.
pub fn record_type() -> impl Strategy<Value = RecordType> {
    any::<u8>().prop_map(RecordType::from_u8)
}

/// Content of any length a record may carry, biased to small with some large.
pub fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 65530..=65535),
    ]
}

/// A name or value: mostly short, sometimes over the 127-byte one-byte form.
pub fn param_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..20),
        2 => proptest::collection::vec(any::<u8>(), 120..140),
        1 => proptest::collection::vec(any::<u8>(), 1000..1100),
    ]
}

/// A list of name-value pairs.
pub fn params() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    proptest::collection::vec((param_bytes(), param_bytes()), 0..12)
}

/// Cut points for splitting a byte string.
pub fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..6)
}
