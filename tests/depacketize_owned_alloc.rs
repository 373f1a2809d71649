//! The depacketizer fed owned packets (each in a `Bytes` of its own, as RTP over UDP arrives)
//! allocates nothing per frame in steady state: the frame's list of packet buffers, like its
//! piece list, is reused from the frames dropped before it. Checked with a counting allocator
//! over hundreds of access units of about 15 packets each (keyframes of about 100).

use bytes::{Bytes, BytesMut};
use camlink::codec::h264::{H264Depacketizer, H264Packetizer};
use camlink::codec::nal::NalFormat;
use camlink::codec::{Depacketizer as _, Packetizer as _, PacketizerConfig};
use camlink::rtp::RtpPacket;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

const FRAMES: usize = 1000;
const SPS: &[u8] = &[0x67, 0x42, 0x00, 0x1f, 0xe9, 0x02, 0x80, 0xb6, 0x40];
const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

/// The RTP packets of `FRAMES` access units (an IDR of 8× the size every 50), one `Bytes` each.
fn packets() -> Vec<Vec<Bytes>> {
    let mut p = H264Packetizer::new(PacketizerConfig::new(96, 0x42), NalFormat::AnnexB).unwrap();
    (0..FRAMES)
        .map(|i| {
            let key = i % 50 == 0;
            let mut au = Vec::new();
            if key {
                for ps in [SPS, PPS] {
                    au.extend_from_slice(&[0, 0, 0, 1]);
                    au.extend_from_slice(ps);
                }
                au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
            } else {
                au.extend_from_slice(&[0, 0, 0, 1, 0x41]);
            }
            let body = if key { 150_000 } else { 19_000 };
            au.extend((0..body).map(|k| ((k + i) % 251 + 2) as u8));
            let mut out = Vec::new();
            p.packetize(&au, (i * 3600) as u32, &mut out).unwrap();
            // Each packet a `Bytes` of its own split off a read buffer, as the UDP client hands
            // datagrams over (a clone is a reference count, not an allocation).
            let mut buf = BytesMut::with_capacity(out.iter().map(Bytes::len).sum());
            out.iter()
                .map(|b| {
                    buf.extend_from_slice(b);
                    buf.split().freeze()
                })
                .collect()
        })
        .collect()
}

#[test]
fn owned_packets_cost_no_allocation_per_frame() {
    let frames = packets();
    let mut d = H264Depacketizer::new(NalFormat::LengthPrefixed).with_payload_type(96);
    let (mut a0, mut a1) = (0, 0);
    let mut out = 0;
    let mut max_packets = 0;
    for (i, f) in frames.iter().enumerate() {
        if i == 200 {
            a0 = counting_alloc::calls();
        }
        if i == 900 {
            a1 = counting_alloc::calls();
        }
        max_packets = max_packets.max(f.len());
        for b in f {
            let pkt = RtpPacket::parse(b.clone()).unwrap();
            d.push(&pkt).unwrap();
            while let Some(frame) = d.pull() {
                assert!(frame.payload.len() > 1000);
                out += 1;
                // Dropped here: its lists go back for the next frames.
            }
        }
    }
    assert!(out >= FRAMES - 1, "{out} frames");
    assert!(max_packets > 100, "keyframes span {max_packets} packets");
    let per_frame = (a1 - a0) as f64 / 700.0;
    eprintln!("{per_frame:.3} allocations per frame over 700 frames");
    // Before the buffer lists were reused: three or four growths of the list per frame.
    assert!(per_frame < 0.2, "{per_frame} allocations per frame");
}
