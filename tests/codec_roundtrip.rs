//! Packetize → (loss, reorder, duplication) → depacketize, for every codec, seeded.

use std::time::{Duration, Instant};

use bytes::Bytes;
use camlink::codec::G711Law;
use camlink::codec::aac::{AacDepacketizer, AacPacketizer, AuHeaderLayout};
use camlink::codec::g711::{G711Depacketizer, G711Packetizer};
use camlink::codec::h264::{H264Depacketizer, H264Packetizer, NalFormat};
use camlink::codec::h265::{H265Depacketizer, H265Packetizer};
use camlink::codec::jpeg::{self, JpegDepacketizer, JpegPacketizer, JpegParams};
use camlink::codec::metadata::{MetadataDepacketizer, MetadataPacketizer};
use camlink::codec::{Depacketizer, Frame, Packetizer, PacketizerConfig};
use camlink::rtp::{ReorderBuffer, RtpPacket};

/// A small deterministic generator (xorshift64*), so runs are reproducible without a crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What happens to packets between sender and receiver.
#[derive(Clone, Copy, Debug)]
struct Network {
    loss_pct: u64,
    dup_pct: u64,
    reorder_pct: u64,
}

const CLEAN: Network = Network {
    loss_pct: 0,
    dup_pct: 0,
    reorder_pct: 0,
};

/// Applies loss, duplication and local swaps, deterministically.
fn impair(packets: Vec<Bytes>, net: Network, rng: &mut Rng) -> (Vec<Bytes>, usize) {
    let mut out = Vec::new();
    let mut lost = 0;
    for p in packets {
        if rng.below(100) < net.loss_pct {
            lost += 1;
            continue;
        }
        if rng.below(100) < net.dup_pct {
            out.push(p.clone());
        }
        out.push(p);
    }
    for i in 1..out.len() {
        if rng.below(100) < net.reorder_pct {
            out.swap(i - 1, i);
        }
    }
    (out, lost)
}

/// Runs packets through a reorder buffer into a depacketizer; returns the frames.
fn receive(d: &mut dyn Depacketizer, packets: Vec<Bytes>) -> Vec<Frame> {
    let t0 = Instant::now();
    let mut rb = ReorderBuffer::new(8, Duration::from_millis(100));
    let mut frames = Vec::new();
    for (i, p) in packets.into_iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64);
        rb.push(RtpPacket::parse(p).expect("our packets parse"), now);
        while let Some(r) = rb.pop(now) {
            let _ = d.push(&r.packet);
            frames.extend(std::iter::from_fn(|| d.pull()));
        }
    }
    let end = t0 + Duration::from_secs(3600);
    while let Some(r) = rb.pop(end) {
        let _ = d.push(&r.packet);
    }
    d.flush();
    frames.extend(std::iter::from_fn(|| d.pull()));
    frames
}

/// Checks what a user relies on: frames out are a subsequence of frames in, each byte-exact
/// (or, when flagged with a loss before it, at worst missing its head) and at its own timestamp; with a clean network all arrive and no loss is reported; with
/// loss, the loss is reported.
fn check(sent: &[(u32, Vec<u8>)], got: &[Frame], lost_packets: usize, net: Network) {
    let mut idx = 0;
    for f in got {
        let Some(pos) = sent[idx..]
            .iter()
            .position(|(ts, _)| *ts == f.rtp_timestamp)
        else {
            panic!("frame at ts {} not sent or out of order", f.rtp_timestamp);
        };
        idx += pos;
        if f.loss_before == 0 {
            assert_eq!(
                &f.payload.to_vec()[..],
                &sent[idx].1[..],
                "frame at ts {} differs ({net:?})",
                f.rtp_timestamp
            );
        } else {
            // After a loss between frames, the lost packets may have been this frame's first
            // ones: the frame is flagged, and then can only miss a head, never hold wrong bytes.
            assert!(
                sent[idx].1.ends_with(&f.payload.to_vec()),
                "frame at ts {} corrupt ({net:?})",
                f.rtp_timestamp
            );
        }
        idx += 1;
    }
    if lost_packets == 0 {
        assert_eq!(got.len(), sent.len(), "{net:?}");
        assert!(got.iter().all(|f| f.loss_before == 0), "{net:?}");
    } else {
        let reported: u64 = got.iter().map(|f| f.loss_before).sum();
        assert!(
            reported > 0 || got.len() < sent.len(),
            "loss not reported ({net:?})"
        );
        assert!(got.len() < sent.len() || reported > 0);
    }
}

fn networks() -> [Network; 4] {
    [
        CLEAN,
        Network {
            loss_pct: 0,
            dup_pct: 10,
            reorder_pct: 20,
        },
        Network {
            loss_pct: 5,
            dup_pct: 0,
            reorder_pct: 0,
        },
        Network {
            loss_pct: 3,
            dup_pct: 5,
            reorder_pct: 10,
        },
    ]
}

fn h264_stream(rng: &mut Rng, format: NalFormat) -> Vec<(u32, Vec<u8>)> {
    let mut frames = Vec::new();
    for i in 0..60u32 {
        let mut nals: Vec<Vec<u8>> = Vec::new();
        if i % 25 == 0 {
            nals.push(vec![0x67, 0x42, 0xc0, 0x1f, 0xda]);
            nals.push(vec![0x68, 0xce, 0x3c, 0x80]);
        }
        let size = if i % 25 == 0 {
            9000
        } else {
            50 + rng.below(3000) as usize
        };
        let mut slice = vec![if i % 25 == 0 { 0x65 } else { 0x41 }];
        // Avoid zero bytes so no accidental start codes appear inside the slice.
        slice.extend((0..size).map(|_| 1 + rng.below(255) as u8));
        nals.push(slice);
        let mut au = Vec::new();
        for n in nals {
            match format {
                NalFormat::AnnexB => au.extend_from_slice(&[0, 0, 0, 1]),
                NalFormat::LengthPrefixed => au.extend_from_slice(&(n.len() as u32).to_be_bytes()),
            }
            au.extend_from_slice(&n);
        }
        frames.push((i.wrapping_mul(3000).wrapping_add(u32::MAX - 30_000), au));
    }
    frames
}

#[test]
fn h264_round_trip_with_and_without_impairments() {
    for format in [NalFormat::AnnexB, NalFormat::LengthPrefixed] {
        for (n, net) in networks().into_iter().enumerate() {
            let mut rng = Rng(0x5eed + n as u64);
            let sent = h264_stream(&mut rng, format);
            let mut tx = H264Packetizer::new(
                PacketizerConfig::new(96, 42).initial_sequence(65_500),
                format,
            )
            .unwrap();
            let mut packets = Vec::new();
            for (ts, au) in &sent {
                tx.packetize(au, *ts, &mut packets).unwrap();
            }
            let (packets, lost) = impair(packets, net, &mut rng);
            let mut rx = H264Depacketizer::new(format).with_payload_type(96);
            let got = receive(&mut rx, packets);
            check(&sent, &got, lost, net);
            for f in &got {
                let i = sent
                    .iter()
                    .position(|(ts, _)| *ts == f.rtp_timestamp)
                    .unwrap();
                assert_eq!(f.keyframe, i % 25 == 0, "keyframe flag of frame {i}");
            }
            // Timestamps are extended across the 32-bit wrap.
            assert!(got.windows(2).all(|w| w[1].timestamp > w[0].timestamp));
        }
    }
}

/// Packetizes `sent` with `tx`, impairs, depacketizes with `rx`, checks.
fn round_trip(
    name: &str,
    sent: &[(u32, Vec<u8>)],
    tx: &mut dyn FnMut() -> Box<dyn Packetizer>,
    rx: &mut dyn FnMut() -> Box<dyn Depacketizer>,
) {
    for (n, net) in networks().into_iter().enumerate() {
        let mut rng = Rng(0xc0de + n as u64);
        let mut t = tx();
        let mut packets = Vec::new();
        for (ts, f) in sent {
            t.packetize(f, *ts, &mut packets)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let (packets, lost) = impair(packets, net, &mut rng);
        let mut r = rx();
        let got = receive(r.as_mut(), packets);
        check(sent, &got, lost, net);
        assert!(got.iter().all(|f| f.keyframe), "{name}");
    }
}

fn h265_stream(rng: &mut Rng) -> Vec<(u32, Vec<u8>)> {
    (0..40u32)
        .map(|i| {
            let mut au = Vec::new();
            let mut nals: Vec<Vec<u8>> = Vec::new();
            if i % 20 == 0 {
                nals.push(vec![0x40, 0x01, 0x0c, 0x01]); // VPS
                nals.push(vec![0x42, 0x01, 0x01, 0x01]); // SPS
                nals.push(vec![0x44, 0x01, 0xc1, 0x72]); // PPS
            }
            let (h0, size) = if i % 20 == 0 {
                (19 << 1, 6000)
            } else {
                (1 << 1, 30 + rng.below(2500) as usize)
            };
            let mut slice = vec![h0, 0x01];
            slice.extend((0..size).map(|_| 1 + rng.below(255) as u8));
            nals.push(slice);
            for n in nals {
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(&n);
            }
            (i * 3000, au)
        })
        .collect()
}

#[test]
fn h265_round_trip_with_and_without_impairments() {
    let mut rng = Rng(7);
    let sent = h265_stream(&mut rng);
    for net in networks() {
        let mut tx = H265Packetizer::new(
            PacketizerConfig::new(98, 1).initial_sequence(65_000),
            NalFormat::AnnexB,
        )
        .unwrap();
        let mut packets = Vec::new();
        for (ts, au) in &sent {
            tx.packetize(au, *ts, &mut packets).unwrap();
        }
        let (packets, lost) = impair(packets, net, &mut rng);
        let mut rx = H265Depacketizer::new(NalFormat::AnnexB).with_payload_type(98);
        let got = receive(&mut rx, packets);
        check(&sent, &got, lost, net);
        for f in &got {
            let i = sent
                .iter()
                .position(|(ts, _)| *ts == f.rtp_timestamp)
                .unwrap();
            assert_eq!(f.keyframe, i % 20 == 0);
        }
    }
}

#[test]
fn aac_round_trip_with_fragmented_aus() {
    let mut rng = Rng(11);
    // Mostly small AUs, every 7th bigger than one packet.
    let sent: Vec<(u32, Vec<u8>)> = (0..80u32)
        .map(|i| {
            let len = if i % 7 == 0 {
                1500 + rng.below(1500) as usize
            } else {
                100 + rng.below(500) as usize
            };
            (i * 1024, (0..len).map(|_| rng.below(256) as u8).collect())
        })
        .collect();
    round_trip(
        "aac",
        &sent,
        &mut || Box::new(AacPacketizer::new(PacketizerConfig::new(97, 2)).unwrap()),
        &mut || {
            Box::new(
                AacDepacketizer::new(48_000, AuHeaderLayout::AAC_HBR)
                    .unwrap()
                    .with_payload_type(97),
            )
        },
    );
}

#[test]
fn g711_round_trip() {
    let mut rng = Rng(13);
    let sent: Vec<(u32, Vec<u8>)> = (0..100u32)
        .map(|i| (i * 160, (0..160).map(|_| rng.below(256) as u8).collect()))
        .collect();
    for law in [G711Law::MuLaw, G711Law::ALaw] {
        let pt = if law == G711Law::MuLaw { 0 } else { 8 };
        round_trip(
            "g711",
            &sent,
            &mut || Box::new(G711Packetizer::new(PacketizerConfig::new(pt, 3)).unwrap()),
            &mut || Box::new(G711Depacketizer::new(law)),
        );
    }
}

#[test]
fn metadata_round_trip() {
    let sent: Vec<(u32, Vec<u8>)> = (0..30u32)
        .map(|i| {
            let mut doc = String::from(r#"<?xml version="1.0"?><tt:MetadataStream xmlns:tt="http://www.onvif.org/ver10/schema">"#);
            for k in 0..(1 + i * 7 % 40) {
                doc.push_str(&format!(r#"<tt:Event><tt:Data><tt:SimpleItem Name="State" Value="{k}"/></tt:Data></tt:Event>"#));
            }
            doc.push_str("</tt:MetadataStream>");
            (i * 9000, doc.into_bytes())
        })
        .collect();
    round_trip(
        "metadata",
        &sent,
        &mut || Box::new(MetadataPacketizer::new(PacketizerConfig::new(107, 4)).unwrap()),
        &mut || Box::new(MetadataDepacketizer::new().with_payload_type(107)),
    );
}

#[test]
fn jpeg_round_trip_q_tables_and_restart_markers() {
    let mut rng = Rng(17);
    let sent: Vec<(u32, Vec<u8>)> = (0..20u32)
        .map(|i| {
            let [l, c] = jpeg::tables_for_q(30 + i as u8);
            let params = JpegParams {
                kind: if i % 2 == 0 { 1 } else { 64 },
                width: 320,
                height: 240,
                restart_interval: if i % 2 == 0 { 0 } else { 10 },
                tables: Bytes::from([l, c].concat()),
                precision: 0,
            };
            // Entropy-coded data never has 0xff without a stuffed 0x00 or a restart marker.
            let scan: Vec<u8> = (0..3000 + rng.below(6000))
                .map(|_| rng.below(255) as u8)
                .collect();
            let mut out = bytes::BytesMut::new();
            jpeg::build_jfif(&params, &scan, &mut out).unwrap();
            (i * 3600, out.to_vec())
        })
        .collect();
    round_trip(
        "jpeg",
        &sent,
        &mut || Box::new(JpegPacketizer::new(PacketizerConfig::new(26, 5)).unwrap()),
        &mut || Box::new(JpegDepacketizer::new().with_payload_type(26)),
    );
}
