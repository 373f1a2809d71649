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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Packetizers refuse bad frames with an error, never a panic, at any MTU.
    #[test]
    fn packetizers_never_panic(frame in proptest::collection::vec(any::<u8>(), 0..3000), mtu in 0usize..2000) {
        use camlink::codec::{Packetizer, PacketizerConfig};
        let cfg = PacketizerConfig::new(96, 1).mtu(mtu);
        let mut out = Vec::new();
        let mut ps: Vec<Box<dyn Packetizer>> = Vec::new();
        if let Ok(p) = camlink::codec::h264::H264Packetizer::new(cfg, NalFormat::AnnexB) { ps.push(Box::new(p)); }
        if let Ok(p) = camlink::codec::h265::H265Packetizer::new(cfg, NalFormat::LengthPrefixed) { ps.push(Box::new(p)); }
        if let Ok(p) = camlink::codec::aac::AacPacketizer::new(cfg) { ps.push(Box::new(p)); }
        if let Ok(p) = camlink::codec::g711::G711Packetizer::new(cfg) { ps.push(Box::new(p)); }
        if let Ok(p) = camlink::codec::jpeg::JpegPacketizer::new(cfg) { ps.push(Box::new(p)); }
        if let Ok(p) = camlink::codec::metadata::MetadataPacketizer::new(cfg) { ps.push(Box::new(p)); }
        for p in ps.iter_mut() {
            let _ = p.packetize(&frame, 0, &mut out);
        }
        prop_assert!(out.iter().all(|p| p.len() <= mtu));
    }

    /// A JPEG-looking input (SOI then arbitrary segments) never panics the JFIF parser.
    #[test]
    fn jfif_parser_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut jpeg = vec![0xff, 0xd8];
        jpeg.extend_from_slice(&tail);
        let _ = camlink::codec::jpeg::parse_jfif(&jpeg);
    }
}
