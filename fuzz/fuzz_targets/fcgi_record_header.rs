#![no_main]
//! Any 8 bytes decode to a header that encodes back to the same bytes (reserved byte aside).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|wire: [u8; 8]| {
    let header = fcgi_proto::record::RecordHeader::decode(wire);
    let mut expected = wire;
    expected[7] = 0;
    assert_eq!(header.encode(), expected);
});
