//! Packetize → (loss, reorder, duplication) → depacketize, for every codec, seeded.

use std::time::{Duration, Instant};

use bytes::Bytes;
use camlink::codec::h264::{H264Depacketizer, H264Packetizer, NalFormat};
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
/// and at its own timestamp; with a clean network all arrive and no loss is reported; with
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
        assert_eq!(
            &f.payload[..],
            &sent[idx].1[..],
            "frame at ts {} differs ({net:?})",
            f.rtp_timestamp
        );
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
