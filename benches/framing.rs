//! Throughput of the RTSP framer on a synthetic interleaved stream: 1400-byte RTP packets in
//! `$` frames on channels 0 and 2, an RTCP frame now and then, and an RTSP response mixed in.
//! A plain copy of the same bytes is measured in the same run as the reference.

use camlink::rtsp::framing::{Framer, Item};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn stream() -> Vec<u8> {
    let mut out = Vec::new();
    let packet: Vec<u8> = (0..1400u32).map(|i| (i * 31) as u8).collect();
    for i in 0..2000u32 {
        let channel = if i % 5 == 0 { 2 } else { 0 };
        out.push(b'$');
        out.push(channel);
        out.extend_from_slice(&1400u16.to_be_bytes());
        out.extend_from_slice(&packet);
        if i % 100 == 99 {
            out.extend_from_slice(b"$\x01\x00\x1c");
            out.extend_from_slice(&[0x80; 28]);
        }
        if i == 1000 {
            out.extend_from_slice(
                b"RTSP/1.0 200 OK\r\nCSeq: 7\r\nSession: 12345678\r\nContent-Length: 0\r\n\r\n",
            );
        }
    }
    out
}

/// Frames `input` read in 16 KiB chunks, as a socket would deliver it.
fn frame(input: &[u8]) -> usize {
    let mut framer = Framer::default();
    let mut n = 0;
    for chunk in input.chunks(16 * 1024) {
        framer.read_buf().extend_from_slice(chunk);
        while let Ok(Some(item)) = framer.next_item() {
            match item {
                Item::Data { payload, .. } => n += payload.len(),
                Item::Message(_) => n += 1,
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let input = stream();
    let mut g = c.benchmark_group("rtsp_framing");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(2));
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.bench_function("framer_16k_reads", |b| b.iter(|| frame(black_box(&input))));
    g.bench_function("reference_copy_16k_reads", |b| {
        b.iter(|| {
            let mut buf = bytes::BytesMut::with_capacity(64 * 1024);
            let mut n = 0;
            for chunk in black_box(&input).chunks(16 * 1024) {
                buf.extend_from_slice(chunk);
                n += buf.len();
                buf.clear();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
