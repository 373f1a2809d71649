//! The client's steady-state hot path (TCP interleaved → framer → RTP → H.264 FU-A
//! reassembly → item) allocates per frame, not per packet: a counting allocator checks it over
//! hundreds of access units of 15 packets each, streamed over loopback by a plain-thread server
//! that writes pre-built bytes. The same run prints the packet rate (a rough figure only; the
//! benchmark proper belongs to issue 9).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use camlink::codec::h264::H264Packetizer;
use camlink::codec::nal::NalFormat;
use camlink::codec::{Packetizer, PacketizerConfig};
use camlink::rtsp::client::{Item, Session, SessionOptions};
use camlink::rtsp::framing::{Framer, Item as Framed, Limits, write_data};
use camlink::rtsp::message::{Message, Method, Response};
use camlink::rtsp::sdp::{Media, SessionDescription};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

const FRAMES: usize = 1500;
const SPS: &[u8] = &[0x67, 0x42, 0x00, 0x1f, 0xe9, 0x02, 0x80, 0xb6, 0x40];
const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

/// Interleaved bytes of `FRAMES` access units (one IDR every 50), and the packet count.
fn stream() -> (Vec<u8>, usize) {
    let mut p = H264Packetizer::new(PacketizerConfig::new(96, 0x42), NalFormat::AnnexB).unwrap();
    let mut out = BytesMut::new();
    let mut pkts = Vec::new();
    let mut n = 0;
    for i in 0..FRAMES {
        let mut au = Vec::with_capacity(20_000);
        if i % 50 == 0 {
            for ps in [SPS, PPS] {
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(ps);
            }
            au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
        } else {
            au.extend_from_slice(&[0, 0, 0, 1, 0x41]);
        }
        au.extend((0..19_000).map(|k| ((k + i) % 251 + 2) as u8));
        pkts.clear();
        p.packetize(&au, (i * 3600) as u32, &mut pkts).unwrap();
        for pkt in &pkts {
            write_data(&mut out, 0, pkt).unwrap();
            n += 1;
        }
    }
    (out.to_vec(), n)
}

/// A blocking one-connection RTSP server on a plain thread: answers the handshake, then writes
/// the pre-built stream.
fn serve(listener: std::net::TcpListener, media: Vec<u8>) {
    let Ok((mut s, _)) = listener.accept() else {
        return;
    };
    let mut framer = Framer::new(Limits::default());
    let mut buf = vec![0u8; 65536];
    loop {
        let item = match framer.next_item() {
            Ok(Some(i)) => i,
            Ok(None) => {
                match s.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = framer.push(&buf[..n]);
                    }
                    _ => return,
                }
                continue;
            }
            Err(_) => return,
        };
        let Framed::Message(Message::Request(req)) = item else {
            continue;
        };
        let cseq = req.headers.cseq().unwrap_or(0);
        let b = Response::builder(200).cseq(cseq);
        let resp = match req.method {
            Method::Describe => {
                let mut sdp = SessionDescription::new(1, "127.0.0.1", "alloc");
                sdp.media = vec![Media::h264(96, SPS, PPS, "track1")];
                b.header("Content-Type", "application/sdp")
                    .body(sdp.to_string())
                    .build()
            }
            Method::Setup => b
                .header("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
                .header("Session", "ALLOC;timeout=60")
                .build(),
            _ => b.header("Session", "ALLOC").build(),
        }
        .unwrap();
        if s.write_all(&resp.to_bytes()).is_err() {
            return;
        }
        if req.method == Method::Play {
            let _ = s.write_all(&media);
            // Keep the connection open until the client is done.
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.read(&mut buf);
            return;
        }
    }
}

#[test]
fn steady_state_allocations_are_per_frame_not_per_packet() {
    let (media, packets) = stream();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtsp://{}/alloc", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || serve(listener, media));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = Session::open(&url, SessionOptions::new()).await.unwrap();
        let mut frames = 0;
        let mut bytes = 0usize;
        let (mut a0, mut a1) = (0, 0);
        let mut t0 = Instant::now();
        let mut t1 = t0;
        while frames < FRAMES {
            let item = tokio::time::timeout(Duration::from_secs(20), s.next())
                .await
                .expect("bounded")
                .expect("not ended")
                .expect("no error");
            if let Item::Video(f) = item {
                assert_eq!(f.frame.loss_before, 0);
                frames += 1;
                bytes += f.frame.payload.len();
                if frames == 200 {
                    a0 = counting_alloc::calls();
                    t0 = Instant::now();
                }
                if frames == 1200 {
                    a1 = counting_alloc::calls();
                    t1 = Instant::now();
                }
            }
        }
        let per_frame = (a1 - a0) as f64 / 1000.0;
        let packets_per_frame = packets as f64 / FRAMES as f64;
        let rate = 1000.0 * packets_per_frame / (t1 - t0).as_secs_f64();
        eprintln!(
            "steady state: {per_frame:.2} allocations per frame ({packets_per_frame:.1} packets per frame), \
             {rate:.0} packets/s, {} MB of frames ({} build)",
            bytes / 1_000_000,
            if cfg!(debug_assertions) { "debug" } else { "release" }
        );
        assert!(packets_per_frame > 10.0);
        // At most the frame's own buffer (the depacketizer mostly reuses one); never one per
        // packet.
        assert!(per_frame <= 1.0, "{per_frame} allocations per frame");
        drop(s);
    });
    server.join().unwrap();
}
