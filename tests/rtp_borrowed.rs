//! The borrowed-packet path (`RtpPacketRef`, `Depacketizer::push_ref`) and the shared-buffer
//! path (`Depacketizer::push_shared`, frames referring to the buffer, with
//! `Depacketizer::release_buffers` between runs as the RTSP client does before it waits) give
//! exactly what the owned path (`RtpPacket`, `Depacketizer::push`) gives: same parse results,
//! same frames, same loss counts, same errors.

mod common;

use bytes::Bytes;
use camlink::codec::G711Law;
use camlink::codec::aac::{AacDepacketizer, AuHeaderLayout};
use camlink::codec::g711::G711Depacketizer;
use camlink::codec::h264::{H264Depacketizer, NalFormat};
use camlink::codec::h265::H265Depacketizer;
use camlink::codec::jpeg::JpegDepacketizer;
use camlink::codec::metadata::MetadataDepacketizer;
use camlink::codec::{Depacketizer, Frame};
use camlink::mock::synthetic::SyntheticH264;
use camlink::rtp::{RtpPacket, RtpPacketBuilder, RtpPacketRef};
use proptest::prelude::*;

/// Every depacketizer.
fn depacketizers() -> Vec<Box<dyn Depacketizer>> {
    vec![
        Box::new(H264Depacketizer::new(NalFormat::AnnexB)),
        Box::new(H264Depacketizer::new(NalFormat::LengthPrefixed)),
        Box::new(H265Depacketizer::new(NalFormat::AnnexB)),
        Box::new(AacDepacketizer::new(48_000, AuHeaderLayout::AAC_HBR).unwrap()),
        Box::new(G711Depacketizer::new(G711Law::MuLaw).with_payload_type(96)),
        Box::new(JpegDepacketizer::new()),
        Box::new(MetadataDepacketizer::new()),
    ]
}

/// What a depacketizer made of a packet sequence: per packet the push outcome (error kind)
/// and the frames pulled after it; then the frames of a final flush.
type Outcome = (Vec<(Option<camlink::ErrorKind>, Vec<Frame>)>, Vec<Frame>);

fn pull_all(d: &mut dyn Depacketizer) -> Vec<Frame> {
    std::iter::from_fn(|| d.pull()).collect()
}

fn run_owned(d: &mut dyn Depacketizer, packets: &[Bytes]) -> Outcome {
    let mut steps = Vec::new();
    for p in packets {
        let Ok(pkt) = RtpPacket::parse(p.clone()) else {
            continue;
        };
        let r = d.push(&pkt).err().map(|e| e.kind().clone());
        steps.push((r, pull_all(d)));
    }
    d.flush();
    (steps, pull_all(d))
}

fn run_borrowed(d: &mut dyn Depacketizer, packets: &[Bytes]) -> Outcome {
    let mut steps = Vec::new();
    for p in packets {
        let Ok(pkt) = RtpPacketRef::parse(p) else {
            continue;
        };
        let r = d.push_ref(&pkt).err().map(|e| e.kind().clone());
        steps.push((r, pull_all(d)));
    }
    d.flush();
    (steps, pull_all(d))
}

fn assert_same_parse(data: &[u8]) {
    let owned = RtpPacket::parse(Bytes::copy_from_slice(data));
    let borrowed = RtpPacketRef::parse(data);
    match (owned, borrowed) {
        (Ok(o), Ok(b)) => {
            assert_eq!(o.marker(), b.marker());
            assert_eq!(o.payload_type(), b.payload_type());
            assert_eq!(o.sequence_number(), b.sequence_number());
            assert_eq!(o.timestamp(), b.timestamp());
            assert_eq!(o.ssrc(), b.ssrc());
            assert_eq!(o.csrcs().collect::<Vec<_>>(), b.csrcs().collect::<Vec<_>>());
            assert_eq!(o.extension(), b.extension());
            assert_eq!(o.padding_len(), b.padding_len());
            assert_eq!(o.payload(), b.payload());
            assert_eq!(&o.raw()[..], b.raw());
            assert_eq!(o.as_packet_ref(), b);
            assert_eq!(b.to_packet(), o);
        }
        (Err(o), Err(b)) => assert_eq!(o.kind(), b.kind(), "{data:?}"),
        (o, b) => panic!("owned {o:?} vs borrowed {b:?} for {data:?}"),
    }
}

#[test]
fn borrowed_parse_matches_owned_on_header_variants() {
    let built = [
        RtpPacketBuilder::new(96, 1, 2, 3).build(b"x").unwrap(),
        RtpPacketBuilder::new(8, 65535, 7, 9)
            .marker(true)
            .csrcs(&[0xaabb_ccdd, 0x1122_3344])
            .extension(0xbede, &[1, 2, 3, 4, 5])
            .padding(3)
            .build(b"hello")
            .unwrap(),
        RtpPacketBuilder::new(0, 0, 0, 0)
            .padding(4)
            .build(b"")
            .unwrap(),
    ];
    for b in &built {
        assert_same_parse(b);
        // Every truncation too (most are malformed).
        for n in 0..b.len() {
            assert_same_parse(&b[..n]);
        }
    }
    assert!(RtpPacketRef::parse(&vec![0x80; camlink::rtp::packet::MAX_PACKET_LEN + 1]).is_err());
}
/// The packets laid out back to back in shared buffers ("runs", as the RTSP client takes them
/// out of its read buffer), a new run wherever `cut` says so (the client then releases the
/// buffers first, as before each wait); each packet pushed where it lies.
fn run_shared(d: &mut dyn Depacketizer, packets: &[Bytes], cut: &[bool]) -> Outcome {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < packets.len() {
        let mut end = i + 1;
        while end < packets.len() && !cut.get(end).copied().unwrap_or(false) {
            end += 1;
        }
        let mut run = Vec::new();
        let mut ranges = Vec::new();
        for p in &packets[i..end] {
            ranges.push(run.len()..run.len() + p.len());
            run.extend_from_slice(p);
        }
        let run = Bytes::from(run);
        d.release_buffers();
        for r in ranges {
            let Ok(pkt) = RtpPacketRef::parse(&run[r]) else {
                continue;
            };
            let res = d.push_shared(&pkt, &run).err().map(|e| e.kind().clone());
            steps.push((res, pull_all(d)));
        }
        i = end;
    }
    d.flush();
    (steps, pull_all(d))
}

/// Synthetic H.264 (STAP-A, FU-A) with losses, a duplicate and a reordered pair: the borrowed
/// path gives the same access units and the same loss counts.
#[test]
fn synthetic_h264_with_loss_same_frames_both_ways() {
    let synth = SyntheticH264::default();
    let mut packets = synth.rtp_packets(4).unwrap();
    assert!(packets.len() > 1000);
    packets.remove(500);
    packets.remove(120);
    packets.swap(300, 301);
    let dup = packets[700].clone();
    packets.insert(701, dup);
    let mut a = H264Depacketizer::new(NalFormat::LengthPrefixed).with_payload_type(96);
    let mut b = H264Depacketizer::new(NalFormat::LengthPrefixed).with_payload_type(96);
    let owned = run_owned(&mut a, &packets);
    let borrowed = run_borrowed(&mut b, &packets);
    assert_eq!(owned, borrowed);
    // Shared runs of 37 packets (cuts fall mid-frame): the frames come in pieces, the same
    // bytes.
    let cut: Vec<bool> = (0..packets.len()).map(|i| i % 37 == 0).collect();
    let mut c = H264Depacketizer::new(NalFormat::LengthPrefixed).with_payload_type(96);
    let shared = run_shared(&mut c, &packets, &cut);
    assert_eq!(owned, shared);
    let pieces: usize = shared
        .0
        .iter()
        .flat_map(|(_, f)| f)
        .map(|f| f.payload.chunk_count())
        .sum();
    assert!(
        pieces > 10 * 95,
        "frames refer to the packets: {pieces} pieces"
    );
    let frames: Vec<&Frame> = owned.0.iter().flat_map(|(_, f)| f).collect();
    let loss: u64 = frames.iter().map(|f| f.loss_before).sum();
    assert!(loss >= 2, "losses reported: {loss}");
    assert!(
        frames.len() > 90 && frames.len() < 100,
        "{} frames",
        frames.len()
    );
}

/// The real H.265 capture, both ways.
#[test]
fn real_h265_capture_same_frames_both_ways() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let data = std::fs::read(dir.join("rtp/unknown-source_h265_rtp_pt104.pcap")).unwrap();
    // UDP payloads of the Ethernet/IPv4 pcap (14 + 20 + 8 bytes of headers per record).
    let mut packets = Vec::new();
    let mut pos = 24;
    while let Some(h) = data.get(pos..pos + 16) {
        let len = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
        let rec = &data[pos + 16..pos + 16 + len];
        let ihl = usize::from(rec[14] & 0x0f) * 4;
        packets.push(Bytes::copy_from_slice(&rec[14 + ihl + 8..]));
        pos += 16 + len;
    }
    assert_eq!(packets.len(), 407);
    let mut a = H265Depacketizer::new(NalFormat::AnnexB).with_payload_type(104);
    let mut b = H265Depacketizer::new(NalFormat::AnnexB).with_payload_type(104);
    let owned = run_owned(&mut a, &packets);
    assert!(owned.0.iter().map(|(_, f)| f.len()).sum::<usize>() > 50);
    assert_eq!(owned, run_borrowed(&mut b, &packets));
    let mut c = H265Depacketizer::new(NalFormat::AnnexB).with_payload_type(104);
    let cut: Vec<bool> = (0..packets.len()).map(|i| i % 5 == 0).collect();
    assert_eq!(owned, run_shared(&mut c, &packets, &cut));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn borrowed_parse_never_panics_and_matches_owned(
        data in proptest::collection::vec(any::<u8>(), 0..200)
    ) {
        assert_same_parse(&data);
    }

    #[test]
    fn every_depacketizer_same_outcome_every_way(
        payloads in proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 0..64),
                any::<bool>(),
                0u16..4,
                0u32..3,
                any::<bool>(),
            ),
            1..40,
        )
    ) {
        let mut seq = 0u16;
        let mut packets = Vec::new();
        let cut: Vec<bool> = payloads.iter().map(|p| p.4).collect();
        for (payload, marker, step, ts, _) in &payloads {
            // Step 0 repeats the sequence number (a duplicate), 2 and 3 lose packets.
            seq = seq.wrapping_add(*step);
            packets.push(
                RtpPacketBuilder::new(96, seq, ts * 3000, 1)
                    .marker(*marker)
                    .build(payload)
                    .unwrap(),
            );
        }
        for ((mut a, mut b), mut c) in depacketizers().into_iter().zip(depacketizers()).zip(depacketizers()) {
            let owned = run_owned(a.as_mut(), &packets);
            prop_assert_eq!(&owned, &run_borrowed(b.as_mut(), &packets));
            prop_assert_eq!(&owned, &run_shared(c.as_mut(), &packets, &cut));
        }
    }
}
