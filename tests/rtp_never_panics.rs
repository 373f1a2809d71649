//! Arbitrary bytes never panic the RTP / RTCP parsers or any depacketizer.

use bytes::Bytes;
use camlink::codec::Depacketizer;
use camlink::codec::G711Law;
use camlink::codec::aac::{AacDepacketizer, AuHeaderLayout};
use camlink::codec::g711::G711Depacketizer;
use camlink::codec::h264::{H264Depacketizer, NalFormat};
use camlink::codec::h265::H265Depacketizer;
use camlink::codec::jpeg::JpegDepacketizer;
use camlink::codec::metadata::MetadataDepacketizer;
use camlink::rtp::{RtpPacket, RtpPacketBuilder, rtcp};
use proptest::prelude::*;

/// Every depacketizer, fed the same packets.
fn depacketizers() -> Vec<Box<dyn Depacketizer>> {
    vec![
        Box::new(H264Depacketizer::new(NalFormat::AnnexB)),
        Box::new(H264Depacketizer::new(NalFormat::LengthPrefixed)),
        Box::new(H265Depacketizer::new(NalFormat::AnnexB)),
        Box::new(AacDepacketizer::new(48_000, AuHeaderLayout::AAC_HBR).unwrap()),
        Box::new(AacDepacketizer::new(16_000, AuHeaderLayout::AAC_LBR).unwrap()),
        Box::new(G711Depacketizer::new(G711Law::MuLaw).with_payload_type(96)),
        Box::new(JpegDepacketizer::new()),
        Box::new(MetadataDepacketizer::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rtp_and_rtcp_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = RtpPacket::parse(Bytes::from(data.clone())) {
            prop_assert!(p.payload().len() <= data.len());
            let _ = (p.extension(), p.csrcs().count());
        }
        let _ = rtcp::parse_compound(&data);
    }

    #[test]
    fn depacketizers_never_panic(
        payloads in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..64), any::<bool>(), 0u16..4, 0u32..3),
            1..40,
        )
    ) {
        let mut ds = depacketizers();
        let mut seq = 0u16;
        for (payload, marker, skip, ts) in &payloads {
            seq = seq.wrapping_add(1 + skip);
            let wire = RtpPacketBuilder::new(96, seq, ts * 3000, 1).marker(*marker).build(payload).unwrap();
            let pkt = RtpPacket::parse(wire).unwrap();
            for d in ds.iter_mut() {
                let _ = d.push(&pkt);
                while let Some(f) = d.pull() {
                    prop_assert!(!f.payload.is_empty());
                }
            }
        }
        for d in ds.iter_mut() {
            d.flush();
            while d.pull().is_some() {}
        }
    }
}
