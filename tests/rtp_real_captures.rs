//! The RTP/RTCP parsers and depacketizers over the real captures in `../shared/real-cameras/rtp/`
//! (read in place, never copied). Skipped when CAMLINK_REAL_CAPTURES is unset; CI sets it.

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use camlink::codec::aac::{AacDepacketizer, AuHeaderLayout};
use camlink::codec::h264::{self, H264Depacketizer};
use camlink::codec::h265::{self, H265Depacketizer};
use camlink::codec::nal::{NalFormat, split_length_prefixed};
use camlink::codec::{Depacketizer, Frame};
use camlink::rtp::rtcp::{self, RtcpPacket};
use camlink::rtp::{RtpPacket, SequenceTracker};

/// Splits a raw RTSP-over-TCP byte stream that holds only `$`-framed data into
/// (channel, payload). (Test-only: the real framing lives in `rtsp`.)
fn interleaved(data: &[u8]) -> Vec<(u8, Bytes)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = data.get(pos..pos + 4) {
        assert_eq!(h[0], b'$', "at byte {pos}");
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let Some(body) = data.get(pos + 4..pos + 4 + len) else {
            break;
        };
        out.push((h[1], Bytes::copy_from_slice(body)));
        pos += 4 + len;
    }
    out
}

/// UDP payloads of an Ethernet/IPv4 little-endian pcap.
fn pcap_udp_payloads(data: &[u8]) -> Vec<Bytes> {
    assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    assert_eq!(
        u32::from_le_bytes(data[20..24].try_into().unwrap()),
        1,
        "Ethernet link type"
    );
    let mut out = Vec::new();
    let mut pos = 24;
    while let Some(rec) = data.get(pos..pos + 16) {
        let incl = u32::from_le_bytes(rec[8..12].try_into().unwrap()) as usize;
        let frame = &data[pos + 16..pos + 16 + incl];
        pos += 16 + incl;
        if frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 17 {
            continue; // not IPv4 / UDP
        }
        let ihl = usize::from(frame[14] & 0x0f) * 4;
        out.push(Bytes::copy_from_slice(&frame[14 + ihl + 8..]));
    }
    out
}

fn drain(d: &mut dyn Depacketizer, frames: &mut Vec<Frame>) {
    frames.extend(std::iter::from_fn(|| d.pull()));
}

#[test]
fn wowza_interleaved_h264_aac_and_rtcp() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let data = std::fs::read(dir.join("rtp/wowza-server_bunny_interleaved.rtsp")).unwrap();
    let chunks = interleaved(&data);
    let mut by_channel: BTreeMap<u8, usize> = BTreeMap::new();
    for (c, _) in &chunks {
        *by_channel.entry(*c).or_default() += 1;
    }
    // Video RTP on channel 2, audio RTP on 0 (RTCP would be on the odd channels).
    let mut video = H264Depacketizer::new(NalFormat::LengthPrefixed);
    let mut audio = AacDepacketizer::new(12_000, AuHeaderLayout::AAC_HBR).unwrap();
    let (mut vf, mut af) = (Vec::new(), Vec::new());
    let mut seq = SequenceTracker::new();
    let mut rtp_ssrcs = Vec::new();
    let mut sr_ssrcs = Vec::new();
    for (channel, body) in chunks {
        if channel % 2 == 1 {
            for p in rtcp::parse_compound(&body).expect("the server's RTCP parses") {
                if let RtcpPacket::SenderReport(sr) = p {
                    sr_ssrcs.push(sr.ssrc);
                    if channel == 3 {
                        video.on_sender_report(sr.ntp, sr.rtp_timestamp);
                    }
                }
            }
            continue;
        }
        let pkt = RtpPacket::parse(body).expect("the server's RTP parses");
        rtp_ssrcs.push(pkt.ssrc());
        if channel == 2 {
            seq.on_packet(pkt.sequence_number());
            video.push(&pkt).expect("H.264 payload accepted");
            drain(&mut video, &mut vf);
        } else {
            audio.push(&pkt).expect("AAC payload accepted");
            drain(&mut audio, &mut af);
        }
    }
    eprintln!(
        "channels {by_channel:?}: {} video frames, {} audio frames",
        vf.len(),
        af.len()
    );
    assert!(
        vf.len() > 20 && af.len() > 20,
        "{} video, {} audio frames",
        vf.len(),
        af.len()
    );
    assert_eq!(seq.lost(), 0);
    assert!(vf.iter().all(|f| f.loss_before == 0) && af.iter().all(|f| f.loss_before == 0));
    // The stream opens with a keyframe whose SPS and PPS came in-band (STAP-A).
    assert!(vf[0].keyframe);
    assert_eq!(video.sps().map(|s| h264::nal_type(s[0])), Some(7));
    assert_eq!(video.pps().map(|s| h264::nal_type(s[0])), Some(8));
    for f in &vf {
        let bytes = f.payload.to_bytes();
        let nals = split_length_prefixed(&bytes).expect("well-formed AVCC");
        assert!(
            nals.iter().any(|n| (1..=5).contains(&h264::nal_type(n[0]))),
            "a slice in each frame"
        );
    }
    assert!(vf.windows(2).all(|w| w[1].timestamp > w[0].timestamp));
    // The capture holds RTP only (channels 0 and 2); should RTCP appear, its SRs name RTP sources.
    assert_eq!(by_channel.keys().copied().collect::<Vec<_>>(), [0, 2]);
    assert!(sr_ssrcs.iter().all(|s| rtp_ssrcs.contains(s)));
    if vf.iter().any(|f| f.wall_clock.is_some()) {
        let t: Vec<_> = vf.iter().filter_map(|f| f.wall_clock).collect();
        assert!(
            t.windows(2).all(|w| w[1] >= w[0]),
            "wall clock runs forward"
        );
    }
}

#[test]
fn unknown_source_h265_pcap() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let data = std::fs::read(dir.join("rtp/unknown-source_h265_rtp_pt104.pcap")).unwrap();
    let payloads = pcap_udp_payloads(&data);
    assert_eq!(payloads.len(), 407);
    let mut d = H265Depacketizer::new(NalFormat::AnnexB).with_payload_type(104);
    let mut seq = SequenceTracker::new();
    let mut frames = Vec::new();
    let mut errors = 0;
    for p in payloads {
        let pkt = RtpPacket::parse(p).expect("RTP parses");
        assert_eq!(pkt.payload_type(), 104);
        seq.on_packet(pkt.sequence_number());
        if d.push(&pkt).is_err() {
            errors += 1;
        }
        drain(&mut d, &mut frames);
    }
    d.flush();
    drain(&mut d, &mut frames);
    eprintln!(
        "{} frames, {} keyframes, {} packets lost, {} errors",
        frames.len(),
        frames.iter().filter(|f| f.keyframe).count(),
        seq.lost(),
        errors
    );
    assert_eq!(errors, 0);
    assert!(frames.len() > 50, "{} frames", frames.len());
    assert!(frames.iter().any(|f| f.keyframe));
    assert!(d.vps().is_some() && d.sps().is_some() && d.pps().is_some());
    assert_eq!(d.sps().map(|s| h265::nal_type(s[0])), Some(33));
    // Loss seen by the sequence tracker shows up on the frames, never silently.
    let reported: u64 = frames.iter().map(|f| f.loss_before).sum();
    assert_eq!(seq.lost() > 0, reported > 0);
}
