//! Every bound that peer bytes can push against: exceeding it gives the documented error, and
//! the memory allocated on the way stays near the bound (a counting allocator measures the
//! peak). The table of bounds is in the crate docs ("Limits").
//!
//! Each measurement counts what its own thread allocates (the async cases run on a
//! current-thread runtime, so the camera or server task in the test counts too); the
//! measurements also run one at a time.

#![cfg(feature = "mock")]

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use camlink::ErrorKind;
use camlink::codec::{Depacketizer, MAX_FRAME_LEN};
use camlink::rtp::RtpPacket;
use camlink::rtsp::framing::{DEFAULT_MAX_BODY, DEFAULT_MAX_HEAD, Framer, Item, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` alone and returns its result and the most bytes its thread had allocated at once
/// beyond what was live when it started.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    counting_alloc::reset_thread_peak();
    let out = f();
    let peak = counting_alloc::thread_peak();
    (out, peak)
}

/// Runs an async test body on a current-thread runtime, measured.
fn measured_async<T, F: std::future::Future<Output = T>>(f: impl FnOnce() -> F) -> (T, usize) {
    measured(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async { tokio::time::timeout(Duration::from_secs(20), f()).await })
            .expect("test timed out")
    })
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const FOUR_GIB: u64 = 4 * 1024 * 1024 * 1024;

/// A TCP server on loopback that reads one request head per answer and writes `answer` to
/// each, then keeps writing `tail` (if any) until the peer goes away or `tail_limit` bytes.
async fn raw_server(answer: Vec<u8>, tail: Vec<u8>, tail_limit: usize) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let answer = answer.clone();
            let tail = tail.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * KIB];
                let mut seen = Vec::new();
                // Read up to the end of a request head.
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                if s.write_all(&answer).await.is_err() {
                    return;
                }
                let mut sent = 0;
                while !tail.is_empty() && sent < tail_limit {
                    if s.write_all(&tail).await.is_err() {
                        return;
                    }
                    sent += tail.len();
                }
                // Hold the connection open a little so the client sees the bytes, not an EOF.
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    addr
}

// ---- RTSP framing (pure) ----

#[test]
fn rtsp_head_block_is_capped() {
    let (res, peak) = measured(|| {
        let mut f = Framer::default();
        let mut head = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n".to_vec();
        while head.len() < 2 * DEFAULT_MAX_HEAD {
            head.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let mut out = Ok(None);
        for chunk in head.chunks(1000) {
            f.push(chunk).expect("push");
            out = f.next_item();
            if out.is_err() {
                break;
            }
        }
        out
    });
    let err = res.expect_err("a head above the cap must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    assert!(
        peak < 256 * KIB,
        "peak {peak} bytes for a {DEFAULT_MAX_HEAD}-byte cap"
    );
}

#[test]
fn rtsp_body_of_4_gib_is_refused_without_allocating_it() {
    let (res, peak) = measured(|| {
        let mut f = Framer::default();
        f.push(b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 4294967296\r\n\r\nv=0\r\n")
            .expect("push");
        f.next_item()
    });
    let err = res.expect_err("a 4 GiB body must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    assert!(
        // The framer's read buffer starts at 64 KiB; nothing grows for the announced body.
        peak < 128 * KIB,
        "peak {peak} bytes while refusing a 4 GiB body"
    );
}

#[test]
fn rtsp_body_just_above_the_cap_is_refused_and_at_the_cap_accepted() {
    for (len, ok) in [(DEFAULT_MAX_BODY, true), (DEFAULT_MAX_BODY + 1, false)] {
        let (res, peak) = measured(|| {
            let mut f = Framer::default();
            f.push(
                format!("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
            )
            .expect("push");
            let chunk = vec![b'a'; 64 * KIB];
            let mut left = len;
            loop {
                match f.next_item() {
                    Ok(Some(item)) => return Ok(Some(item)),
                    Err(e) => return Err(e),
                    Ok(None) if left == 0 => return Ok(None),
                    Ok(None) => {}
                }
                let n = left.min(chunk.len());
                f.push(&chunk[..n]).expect("push");
                left -= n;
            }
        });
        if ok {
            match res {
                Ok(Some(Item::Message(m))) => assert_eq!(m.body().len(), len),
                other => panic!("a body of exactly the cap must pass: {other:?}"),
            }
            assert!(peak < 3 * DEFAULT_MAX_BODY, "peak {peak}");
        } else {
            let err = res.expect_err("one byte above the cap must be refused");
            assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
            assert!(peak < 256 * KIB, "peak {peak} bytes refusing the body");
        }
    }
}

#[test]
fn buffered_bytes_are_capped_and_interleaved_frames_are_at_most_64_kib() {
    // An interleaved frame's length is 16 bits: the largest one passes.
    let mut f = Framer::default();
    let mut frame = vec![b'$', 0, 0xff, 0xff];
    frame.extend(std::iter::repeat_n(0x80, 0xffff));
    f.push(&frame).expect("push");
    match f.next_item() {
        Ok(Some(Item::Data {
            channel: 0,
            payload,
        })) => assert_eq!(payload.len(), 0xffff),
        other => panic!("largest interleaved frame: {other:?}"),
    }
    // A caller's smaller buffer cap refuses what does not fit, and says so.
    let mut f = Framer::new(Limits {
        max_buffered: 1000,
        ..Limits::default()
    });
    // The bytes are refused as they are pushed, before any framing.
    let err = f.push(&frame[..5000]).expect_err("above max_buffered");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
}

// ---- RTSP client against a camera that lies ----

/// DESCRIBE against a server on loopback, with default options.
async fn describe(addr: std::net::SocketAddr) -> camlink::Result<()> {
    camlink::rtsp::client::Session::describe(
        &format!("rtsp://{addr}/stream"),
        camlink::rtsp::client::SessionOptions::new(),
    )
    .await
    .map(|_| ())
}

/// The client's read buffer plus its framer's cap: nothing near what a lying camera announces.
const CLIENT_BOUND: usize =
    camlink::rtsp::client::READ_CHUNK + camlink::rtsp::framing::DEFAULT_MAX_BUFFERED;

#[test]
fn rtsp_camera_announcing_4_gib_describe_body() {
    let (res, peak) = measured_async(|| async {
        let answer = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: 4294967296\r\n\r\n".to_vec();
        let addr = raw_server(answer, vec![b'v'; 64 * KIB], 64 * MIB).await;
        describe(addr).await
    });
    let err = res.expect_err("a 4 GiB DESCRIBE body must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    assert!(
        peak < CLIENT_BOUND,
        "peak {peak} bytes, bound {CLIENT_BOUND}"
    );
}

#[test]
fn rtsp_camera_sending_an_endless_head() {
    let (res, peak) = measured_async(|| async {
        let answer = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n".to_vec();
        let addr = raw_server(
            answer,
            b"X-Endless: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(1000),
            64 * MIB,
        )
        .await;
        describe(addr).await
    });
    let err = res.expect_err("an endless head must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    assert!(
        peak < CLIENT_BOUND,
        "peak {peak} bytes, bound {CLIENT_BOUND}"
    );
}

#[test]
fn rtsp_requests_from_the_camera_while_a_response_is_pending_are_bounded() {
    use camlink::rtsp::client::MAX_MESSAGES_PER_RESPONSE;
    let (res, peak) = measured_async(|| async {
        // The camera never answers DESCRIBE; it sends requests of its own instead.
        let mut flood = Vec::new();
        for cseq in 1..=(MAX_MESSAGES_PER_RESPONSE + 10) {
            flood.extend_from_slice(
                format!("OPTIONS * RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n").as_bytes(),
            );
        }
        let addr = raw_server(flood, Vec::new(), 0).await;
        describe(addr).await
    });
    let err = res.expect_err("a response that never comes must end in an error");
    assert_eq!(err.kind(), &ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("unrelated messages"), "{err}");
    let bound = camlink::rtsp::client::READ_CHUNK + MIB;
    assert!(peak < bound, "peak {peak} bytes, bound {bound}");
}

// ---- ONVIF: SOAP response size ----

fn onvif_options() -> camlink::onvif::client::OnvifOptions {
    camlink::onvif::client::OnvifOptions {
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

#[test]
fn soap_response_announcing_4_gib() {
    let (res, peak) = measured_async(|| async {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: {FOUR_GIB}\r\n\r\n<?xml"
        )
        .into_bytes();
        let addr = raw_server(answer, vec![b' '; 64 * KIB], 64 * MIB).await;
        let client =
            camlink::onvif::client::OnvifClient::new(&format!("http://{addr}"), onvif_options())?;
        client.device_information().await.map(|_| ())
    });
    let err = res.expect_err("a 4 GiB SOAP answer must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    assert!(peak < 2 * MIB, "peak {peak} bytes refusing a 4 GiB answer");
}

#[test]
fn soap_response_chunked_without_end() {
    let cap = camlink::onvif::xml::MAX_DOCUMENT_BYTES;
    let (res, peak) = measured_async(|| async {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut chunk = format!("{:x}\r\n", 32 * KIB).into_bytes();
        chunk.extend(std::iter::repeat_n(b' ', 32 * KIB));
        chunk.extend_from_slice(b"\r\n");
        let addr = raw_server(answer, chunk, 64 * MIB).await;
        let client =
            camlink::onvif::client::OnvifClient::new(&format!("http://{addr}"), onvif_options())?;
        client.device_information().await.map(|_| ())
    });
    let err = res.expect_err("an endless SOAP answer must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    // The body is kept up to the cap and not beyond (no doubling past it).
    assert!(
        peak < cap + 2 * MIB,
        "peak {peak} bytes for a {cap}-byte cap"
    );
}

// ---- Access units ----

/// FU-A fragments of one H.264 access unit that never ends.
fn fu_a(seq: u16, start: bool, payload_len: usize) -> RtpPacket {
    let mut p = vec![
        0x80,
        96,
        (seq >> 8) as u8,
        seq as u8,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        7,
    ];
    p.push(28 | 0x60); // FU indicator: NRI 3, type 28
    p.push(if start { 0x80 | 5 } else { 5 }); // FU header: IDR slice
    p.extend(std::iter::repeat_n(0x55, payload_len));
    RtpPacket::parse(Bytes::from(p)).expect("rtp")
}

#[test]
fn access_unit_size_is_capped() {
    let (res, peak) = measured(|| {
        let mut d =
            camlink::codec::h264::H264Depacketizer::new(camlink::codec::nal::NalFormat::AnnexB);
        let per = 1400;
        let packets = MAX_FRAME_LEN / per + 100;
        let mut first_err = None;
        for i in 0..packets {
            if let Err(e) = d.push(&fu_a(i as u16, i == 0, per)) {
                first_err = Some(e);
                break;
            }
            while d.pull().is_some() {}
        }
        first_err
    });
    let err = res.expect("an access unit above MAX_FRAME_LEN must be refused");
    assert_eq!(err.kind(), &ErrorKind::LimitExceeded, "{err}");
    assert!(
        peak < MAX_FRAME_LEN + 2 * MIB,
        "peak {peak} bytes for a {MAX_FRAME_LEN}-byte cap"
    );
}

// ---- Reordering ----

#[test]
fn reorder_buffer_depth_is_capped() {
    use camlink::rtp::reorder::{MAX_DEPTH, ReorderBuffer};
    let (held, peak) = measured(|| {
        let now = std::time::Instant::now();
        // Asked for more than the cap: clamped.
        let mut r = ReorderBuffer::new(MAX_DEPTH * 10, Duration::from_secs(3600));
        let mut most = 0;
        r.push(packet(0), now);
        while r.pop(now).is_some() {}
        // Sequence 1 never comes: everything after it waits, up to the depth.
        for seq in 2..(MAX_DEPTH as u16 * 3) {
            r.push(packet(seq), now);
            while r.pop(now).is_some() {}
            most = most.max(r.len());
        }
        (most, r.lost())
    });
    let (most, lost) = held;
    assert!(most <= MAX_DEPTH, "held {most} packets, cap {MAX_DEPTH}");
    assert!(lost >= 1, "the missing packet is reported lost");
    assert!(peak < 2 * MIB, "peak {peak} bytes");
}

fn packet(seq: u16) -> RtpPacket {
    let p = vec![
        0x80,
        96,
        (seq >> 8) as u8,
        seq as u8,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        7,
        0xAB,
    ];
    RtpPacket::parse(Bytes::from(p)).expect("rtp")
}

// ---- The mock camera as a server: what others send it is bounded too ----

#[test]
fn mock_http_refuses_a_4_gib_request_body() {
    let (status, peak) = measured_async(|| async {
        let cam = camlink::mock::MockCamera::builder()
            .start()
            .await
            .expect("mock");
        let mut s = tokio::net::TcpStream::connect((cam.bind_addr(), cam.ports().http))
            .await
            .expect("connect");
        let req = format!(
            "POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\nContent-Length: {FOUR_GIB}\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let _ = s.write_all(&vec![b' '; 256 * KIB]).await;
        let mut answer = vec![0u8; 4 * KIB];
        let n = s.read(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer[..n]).into_owned()
    });
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let bound = camlink::mock::http::MAX_REQUEST_BODY + MIB;
    assert!(peak < bound, "peak {peak} bytes, bound {bound}");
}

#[test]
fn mock_rtsp_refuses_a_4_gib_request_body() {
    let (answer, peak) = measured_async(|| async {
        let cam = camlink::mock::MockCamera::builder()
            .start()
            .await
            .expect("mock");
        let mut s = tokio::net::TcpStream::connect((cam.bind_addr(), cam.ports().rtsp))
            .await
            .expect("connect");
        let req = format!(
            "ANNOUNCE {} RTSP/1.0\r\nCSeq: 1\r\nContent-Length: {FOUR_GIB}\r\n\r\n",
            cam.rtsp_url("main")
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let _ = s.write_all(&vec![b' '; 256 * KIB]).await;
        let mut answer = vec![0u8; 4 * KIB];
        // The mock answers with an error status or closes: either way it must not buffer 4 GiB.
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer)).await {
            Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n]).into_owned(),
            Ok(Err(_)) => String::new(),
            Err(_) => "no answer".into(),
        }
    });
    // A request it cannot take is answered 400 (no CSeq can be trusted in it).
    assert!(answer.starts_with("RTSP/1.0 4"), "{answer:?}");
    let bound = 2 * camlink::rtsp::framing::DEFAULT_MAX_BUFFERED;
    assert!(peak < bound, "peak {peak} bytes, bound {bound}");
}
