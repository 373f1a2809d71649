#![no_main]
//! The H.264 (Annex B out) depacketizer under the shared packet-stream harness (`codec_common.rs`).
use libfuzzer_sys::fuzz_target;

#[path = "codec_common.rs"]
mod codec_common;

fuzz_target!(|data: &[u8]| {
    let mut d = camlink::codec::h264::H264Depacketizer::new(camlink::codec::nal::NalFormat::AnnexB);
    codec_common::run(&mut d, data);
});
