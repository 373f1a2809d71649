//! H.264 depacketization throughput from memory: a synthetic 4 Mbit/s, 25 fps stream of
//! 1400-byte FU-A packets with a keyframe every 2 s, generated deterministically here.
//!
//! Run: `cargo bench --bench depacketize`. Reports bytes/s and packets/s; the `memcpy` line is
//! a reference measured in the same run (copying every payload once), for ratios across
//! machines.

use bytes::Bytes;
use camlink::codec::h264::{H264Depacketizer, H264Packetizer, NalFormat};
use camlink::codec::{Depacketizer, Packetizer, PacketizerConfig};
use camlink::rtp::RtpPacket;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const FPS: u32 = 25;
const BITRATE: usize = 4_000_000;
const SECONDS: u32 = 4;

/// Packets of `SECONDS` of video; keyframes (every 2 s) are 8x a P frame, averaging 4 Mbit/s.
fn stream() -> Vec<Bytes> {
    let gop = (2 * FPS) as usize;
    let bytes_per_gop = BITRATE / 8 * 2;
    let p_size = bytes_per_gop / (gop - 1 + 8);
    let mut seed = 0x1234_5678_u32;
    let mut tx =
        H264Packetizer::new(PacketizerConfig::new(96, 1).mtu(1400), NalFormat::AnnexB).unwrap();
    let mut packets = Vec::new();
    for i in 0..(SECONDS * FPS) as usize {
        let key = i % gop == 0;
        let size = if key { p_size * 8 } else { p_size };
        let mut au = Vec::with_capacity(size + 32);
        if key {
            au.extend_from_slice(&[
                0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xac, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80,
            ]);
        }
        au.extend_from_slice(&[0, 0, 0, 1, if key { 0x65 } else { 0x41 }]);
        au.extend((0..size).map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed % 255) as u8 + 1
        }));
        tx.packetize(&au, i as u32 * 3600, &mut packets).unwrap();
    }
    packets
}

fn depacketize(packets: &[Bytes]) -> usize {
    let mut d = H264Depacketizer::new(NalFormat::AnnexB).with_payload_type(96);
    let mut total = 0;
    for p in packets {
        let pkt = RtpPacket::parse(p.clone()).unwrap();
        d.push(&pkt).unwrap();
        while let Some(f) = d.pull() {
            total += f.payload.len();
        }
    }
    total
}

fn bench(c: &mut Criterion) {
    let packets = stream();
    let bytes: usize = packets.iter().map(|p| p.len()).sum();
    let fu_a = packets.iter().filter(|p| p.len() == 1400).count();
    eprintln!(
        "stream: {} packets ({} of 1400 bytes), {} bytes, {:.2} Mbit/s",
        packets.len(),
        fu_a,
        bytes,
        bytes as f64 * 8.0 / f64::from(SECONDS) / 1e6
    );
    let mut g = c.benchmark_group("h264_fu_a_4mbps");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("depacketize_bytes", |b| {
        b.iter(|| black_box(depacketize(black_box(&packets))))
    });
    g.bench_function("memcpy_reference", |b| {
        b.iter(|| {
            let mut v = Vec::with_capacity(bytes);
            for p in &packets {
                v.extend_from_slice(p);
            }
            black_box(v.len())
        })
    });
    g.throughput(Throughput::Elements(packets.len() as u64));
    g.bench_function("depacketize_packets", |b| {
        b.iter(|| black_box(depacketize(black_box(&packets))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
