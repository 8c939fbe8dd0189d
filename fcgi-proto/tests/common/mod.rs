//! Shared test support: proptest strategies, the split-anywhere helper, and
//! the real-peer harness. Not every test file uses every item.
#![allow(dead_code, unreachable_pub)]

pub mod peer;
pub mod split;
pub mod strategies;
