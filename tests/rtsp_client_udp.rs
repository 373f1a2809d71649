//! The RTSP client over UDP against the scripted server, whose SETUP answer names the ports of
//! two sockets of the test: hole punching, datagrams of every size, reorder deadlines, and
//! read coalescing (sockets drained on a clock that follows their receive buffers' fill).
//! Each behaviour shared by both ways of reading is checked with and without coalescing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camlink::codec::Frame;
use camlink::rtp::RtpPacketBuilder;
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};
use camlink::rtsp::message::Method;
use tokio::net::UdpSocket;

mod scripted;
use scripted::*;

/// A UDP session (with `opts`) against a scripted server whose SETUP answer names the ports of
/// two sockets of the test (RTP, RTCP): what the client sends there is seen, and what the test
/// sends from there is what the server would stream.
async fn udp_session_with_server_sockets(
    opts: SessionOptions,
) -> (UdpSocket, UdpSocket, Server, Session) {
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtcp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ports = (
        rtp.local_addr().unwrap().port(),
        rtcp.local_addr().unwrap().port(),
    );
    let srv = start(Script {
        silent_udp: true,
        udp_ports: Some(ports),
        ..Script::default()
    })
    .await;
    let s = Session::open(&srv.url, opts.transport(TransportMode::Udp))
        .await
        .unwrap();
    (rtp, rtcp, srv, s)
}

/// The two ways of reading UDP: at each datagram, and coalesced.
fn both_ways() -> [SessionOptions; 2] {
    [
        SessionOptions::new(),
        SessionOptions::new().read_coalescing(Duration::from_millis(100)),
    ]
}

fn client_rtp(s: &Session) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], s.local_udp_ports()[0]))
}

fn packet(seq: u16, body: &[u8]) -> bytes::Bytes {
    RtpPacketBuilder::new(0, seq, u32::from(seq) * 160, 0x5151)
        .build(body)
        .unwrap()
}

/// The next audio frame, within `limit`.
async fn next_audio(s: &mut Session, limit: Duration) -> Frame {
    tokio::time::timeout(limit, async {
        loop {
            if let Item::Audio(f) = s.next().await.unwrap().unwrap() {
                break f.frame;
            }
        }
    })
    .await
    .expect("an audio frame in time")
}

#[tokio::test]
async fn udp_setup_punches_holes_towards_the_server_ports() {
    for opts in both_ways() {
        let (rtp, rtcp, srv, s) = udp_session_with_server_sockets(opts).await;
        let mut buf = [0u8; 2048];
        let (n, from) = tokio::time::timeout(Duration::from_secs(2), rtp.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 12, "an RTP header without payload");
        assert_eq!(buf[0] >> 6, 2);
        assert_eq!(from.port(), s.local_udp_ports()[0]);
        let (n, from) = tokio::time::timeout(Duration::from_secs(2), rtcp.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(buf[1], 201, "a receiver report");
        assert!(n >= 8);
        assert_eq!(from.port(), s.local_udp_ports()[0] + 1);
        // UDP session dropped: TEARDOWN goes out (the server would keep sending otherwise).
        drop(s);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(requests(&srv, Method::Teardown).len(), 1);
    }
}

/// Datagrams of every size up to nearly the largest UDP payload, in bursts the client reads
/// several at a time (one `recvmmsg` on Linux), arrive whole, in order, with no loss.
#[tokio::test]
async fn udp_datagrams_of_every_size_arrive_whole_and_in_order() {
    for opts in both_ways() {
        let (rtp, _rtcp, _srv, mut s) = udp_session_with_server_sockets(opts).await;
        let to = client_rtp(&s);
        // Under the default receive buffer of a Linux socket (208 KiB) per burst.
        const SIZES: [usize; 6] = [160, 60_000, 1_400, 9_000, 65_000, 1];
        let mut seq = 500u16;
        for burst in 0..8usize {
            let mut sent = Vec::new();
            for (i, &len) in SIZES.iter().enumerate() {
                let body: Vec<u8> = (0..len).map(|b| (b + burst * 7 + i) as u8).collect();
                rtp.send_to(&packet(seq, &body), to).await.unwrap();
                sent.push((u32::from(seq) * 160, body));
                seq = seq.wrapping_add(1);
            }
            for (ts, body) in sent {
                let f = next_audio(&mut s, Duration::from_secs(5)).await;
                assert_eq!(f.rtp_timestamp, ts, "in order");
                assert_eq!(f.loss_before, 0);
                assert_eq!(f.payload.len(), body.len());
                assert!(f.payload == body[..], "whole");
            }
        }
    }
}

/// A packet that never comes is given up after the reorder delay even when nothing else
/// arrives: the packet behind the gap comes out (with the loss counted) at the reorder
/// deadline, not only when a later datagram wakes the session.
#[tokio::test]
async fn a_gap_is_given_up_at_the_reorder_deadline_when_the_stream_then_stops() {
    for mut opts in both_ways() {
        opts.reorder_delay = Duration::from_millis(50);
        let (rtp, _rtcp, _srv, mut s) = udp_session_with_server_sockets(opts).await;
        let to = client_rtp(&s);
        rtp.send_to(&packet(100, &[1; 160]), to).await.unwrap();
        let f = next_audio(&mut s, Duration::from_secs(2)).await;
        assert_eq!(f.rtp_timestamp, 100 * 160);
        // 101 is lost; 102 waits for it, then the stream stops.
        rtp.send_to(&packet(102, &[2; 160]), to).await.unwrap();
        let t = Instant::now();
        let f = next_audio(&mut s, Duration::from_secs(3)).await;
        assert_eq!(f.rtp_timestamp, 102 * 160);
        assert_eq!(f.loss_before, 1);
        assert!(
            t.elapsed() < Duration::from_millis(800),
            "held {:?}",
            t.elapsed()
        );
    }
}

/// Sends `runs` of `(count, gap)` packets from `rtp` to `to` with 160-byte payloads, logging
/// each packet's RTP timestamp and send time.
fn send_paced(
    rtp: UdpSocket,
    to: SocketAddr,
    runs: Vec<(usize, Duration)>,
    body: usize,
) -> Arc<Mutex<Vec<(u32, Instant)>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let lg = log.clone();
    tokio::spawn(async move {
        let mut seq = 1000u16;
        for (n, gap) in runs {
            for _ in 0..n {
                tokio::time::sleep(gap).await;
                rtp.send_to(&packet(seq, &vec![0x55; body]), to)
                    .await
                    .unwrap();
                lg.lock()
                    .unwrap()
                    .push((u32::from(seq) * 160, Instant::now()));
                seq += 1;
            }
        }
        // Kept open until the test ends (a closed socket could draw ICMP errors).
        std::future::pending::<()>().await;
    });
    log
}

/// Read coalescing over UDP: a fast run comes out in batches (the socket is drained on a
/// clock instead of at each datagram), and packets of a slow run are still delivered within
/// about one interval of being sent, in order, none lost.
#[tokio::test]
async fn udp_read_coalescing_batches_a_fast_run_and_bounds_the_wait_of_a_slow_one() {
    let interval = Duration::from_millis(100);
    let (rtp, _rtcp, _srv, mut s) =
        udp_session_with_server_sockets(SessionOptions::new().read_coalescing(interval)).await;
    let to = client_rtp(&s);
    let sent = send_paced(
        rtp,
        to,
        vec![
            (150, Duration::from_millis(2)),
            (5, Duration::from_millis(300)),
        ],
        160,
    );
    let mut got: Vec<(u32, Instant)> = Vec::new();
    while got.len() < 155 {
        let f = next_audio(&mut s, Duration::from_secs(10)).await;
        assert_eq!(f.loss_before, 0);
        got.push((f.rtp_timestamp, Instant::now()));
    }
    let sent = sent.lock().unwrap().clone();
    // Every packet, fast or slow, within about one interval (the drain clock's tick).
    check_coalesced(&got, &sent, interval, 0);
}

/// Read coalescing with a small receive buffer and a stream that would overflow it many times
/// over in one interval: the drain clock follows the buffer's fill and nothing is lost.
#[tokio::test]
async fn udp_read_coalescing_drains_a_small_buffer_before_it_overflows() {
    let mut opts = SessionOptions::new().read_coalescing(Duration::from_secs(1));
    // Linux keeps twice this (128 KiB); one interval of the stream below is about 2 MB.
    opts.udp_receive_buffer = 64 * 1024;
    let (rtp, _rtcp, _srv, mut s) = udp_session_with_server_sockets(opts).await;
    let to = client_rtp(&s);
    // 1000-byte packets, 5 every 5 ms: about 1 MB/s of payload, for 2 s.
    const N: usize = 2000;
    let runs = vec![(1, Duration::from_millis(5)); N / 5]
        .into_iter()
        .flat_map(|r| [r, (4, Duration::ZERO)])
        .collect();
    let _sent = send_paced(rtp, to, runs, 1000);
    for k in 0..N {
        let f = next_audio(&mut s, Duration::from_secs(5)).await;
        assert_eq!(f.rtp_timestamp, (1000 + k as u32) * 160, "packet {k}");
        assert_eq!(f.loss_before, 0, "packet {k}");
    }
}
