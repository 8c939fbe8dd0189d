//! Maps keyed by request id. SipHash, std's default, guards against keys an attacker
//! picks; a request id is a number below 65536 chosen by the connection's two ends, so a
//! multiplicative hash is enough, and it costs a few instructions instead of a hundred.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from request ids.
pub(crate) type IdMap<V> = HashMap<u16, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of one `u16`: consecutive ids land in different buckets, and the
/// high bits hashbrown uses as tags are well mixed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u16` is called for a `u16` key; this keeps other keys correct.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, id: u16) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_apart() {
        let mut map = IdMap::default();
        for id in 0..=u16::MAX {
            map.insert(id, u32::from(id) * 3);
        }
        assert_eq!(map.len(), 65536);
        assert!((0..=u16::MAX).all(|id| map[&id] == u32::from(id) * 3));
    }
}
