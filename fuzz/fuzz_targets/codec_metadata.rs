#![no_main]
//! The ONVIF metadata depacketizer under the shared packet-stream harness (`codec_common.rs`).
use libfuzzer_sys::fuzz_target;

#[path = "codec_common.rs"]
mod codec_common;

fuzz_target!(|data: &[u8]| {
    let mut d = camlink::codec::metadata::MetadataDepacketizer::new();
    codec_common::run(&mut d, data);
});
