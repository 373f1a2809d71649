#![no_main]
//! The H.265 (length-prefixed out) depacketizer under the shared packet-stream harness (`codec_common.rs`).
use libfuzzer_sys::fuzz_target;

#[path = "codec_common.rs"]
mod codec_common;

fuzz_target!(|data: &[u8]| {
    let mut d =
        camlink::codec::h265::H265Depacketizer::new(camlink::codec::nal::NalFormat::LengthPrefixed);
    codec_common::run(&mut d, data);
});
