#![no_main]
//! RTP packet parsing; a parsed packet re-serialized parses to the same fields.
use camlink::rtp::{RtpPacket, RtpPacketBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data.to_vec().into()) {
        let _ = (p.csrcs().count(), p.extension(), p.payload_bytes());
        let again = RtpPacketBuilder::new(
            p.payload_type(),
            p.sequence_number(),
            p.timestamp(),
            p.ssrc(),
        )
        .marker(p.marker())
        .build(p.payload())
        .expect("a parsed packet rebuilds");
        let q = RtpPacket::parse(again).expect("a rebuilt packet parses");
        assert_eq!(q.payload(), p.payload());
    }
});
