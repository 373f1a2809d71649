#![no_main]
//! The AAC depacketizer under the shared packet-stream harness (`codec_common.rs`).
use libfuzzer_sys::fuzz_target;

#[path = "codec_common.rs"]
mod codec_common;

fuzz_target!(|data: &[u8]| {
    let mut d = camlink::codec::aac::AacDepacketizer::new(
        48_000,
        camlink::codec::aac::AuHeaderLayout::AAC_HBR,
    )
    .expect("valid layout");
    codec_common::run(&mut d, data);
});
