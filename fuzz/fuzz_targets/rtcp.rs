#![no_main]
//! RTCP compound packet parsing.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = camlink::rtp::rtcp::parse_compound(data);
});
