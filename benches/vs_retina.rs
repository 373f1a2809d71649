//! camlink against retina 0.4.21 on the same bytes (issue 9). Built only by the separate
//! workspace `benches/vs-retina/`; see `benches/README.md` for the command and what each case
//! measures.
//!
//! The input is `camlink::mock::synthetic::SyntheticH264::default()`: 4 Mbit/s H.264, 25 fps,
//! an IDR every 2 s, RTP packets of at most 1400 bytes (mostly FU-A), generated here.
//!
//! After criterion's output, one line per case:
//! `RATIO case=<name> camlink_over_retina=<x.xx>` (throughput ratio, > 1: camlink faster), and
//! `RATIO case=tcp_vs_plain_reader camlink_over_plain=<x.xx>`.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use camlink::codec::Depacketizer as _;
use camlink::codec::h264::{H264Depacketizer, NalFormat};
use camlink::mock::synthetic::{PAYLOAD_TYPE, SyntheticH264, interleave};
use camlink::rtp::RtpPacket;
use criterion::{Criterion, Throughput};
use futures::StreamExt as _;
use tokio::io::AsyncReadExt as _;

/// Seconds of stream for the in-memory case.
const MEMORY_SECONDS: u32 = 10;
/// Seconds of stream sent per loopback session.
const TCP_SECONDS: u32 = 20;

/// Seconds of stream per loopback session: [`TCP_SECONDS`], or `VS_RETINA_TCP_SECONDS` with
/// `VS_RETINA_PROFILE` (two lengths split a session's fixed cost from its cost per byte).
fn tcp_seconds() -> u32 {
    std::env::var("VS_RETINA_PROFILE")
        .ok()
        .and(std::env::var("VS_RETINA_TCP_SECONDS").ok())
        .and_then(|s| s.parse().ok())
        .filter(|&s| s > 0)
        .unwrap_or(TCP_SECONDS)
}
/// Alternating runs per library for the RATIO lines (medians are compared).
const RATIO_RUNS_MEMORY: usize = 31;
const RATIO_RUNS_TCP: usize = 15;

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we own; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// ---------------------------------------------------------------- (a) depacketize from memory

/// camlink: RTP parse (zero-copy slices of the packet) and H.264 depacketizing.
fn camlink_depacketize(s: &SyntheticH264, packets: &[Bytes]) -> usize {
    let (sps, pps) = (s.sps(), s.pps());
    let mut d = H264Depacketizer::new(NalFormat::LengthPrefixed)
        .with_payload_type(PAYLOAD_TYPE)
        .with_parameter_sets([&sps[..], &pps[..]]);
    let mut frames = 0;
    for p in packets {
        let pkt = RtpPacket::parse(p.clone()).expect("valid RTP");
        d.push(&pkt).expect("depacketizes");
        while let Some(f) = d.pull() {
            black_box(&f.payload);
            frames += 1;
        }
    }
    frames
}

/// retina: the path of its own `depacketize` bench (header validation, in-order parser,
/// timeline, the depacketizer fed through its ring buffer), `FrameFormat::MP4`
/// (length-prefixed, like camlink's here).
fn retina_depacketize(s: &SyntheticH264, fmtp: &str, packets: &[Bytes]) -> usize {
    use retina::client::{SessionOptions, Timeline, UnknownRtcpSsrcPolicy, rtp::InorderParser};
    use retina::codec::{CodecItem, Depacketizer, FrameFormat};
    let mut d = Depacketizer::new("video", "h264", 90_000, None, Some(fmtp)).expect("fmtp");
    d.set_frame_format(FrameFormat::MP4);
    let mut timeline = Timeline::new(Some(s.initial_timestamp()), 90_000, None).expect("timeline");
    let mut parser = InorderParser::new(
        Some(s.ssrc()),
        Some(s.initial_sequence()),
        UnknownRtcpSsrcPolicy::Default,
    );
    let mut buf = retina::testutil::DepacketizeBuf::new(65536);
    let opts = SessionOptions::default();
    let conn_ctx = retina::ConnectionContext::dummy();
    let stream_ctx = retina::StreamContext::dummy();
    let pkt_ctx = retina::PacketContext::dummy();
    let mut frames = 0;
    for p in packets {
        let (header, range) = retina::rtp::PacketHeader::validate(&p[..]).expect("valid RTP");
        let meta = parser
            .rtp(
                &opts,
                &stream_ctx,
                None,
                &conn_ctx,
                &pkt_ctx,
                &mut timeline,
                0,
                &header,
            )
            .expect("in order")
            .expect("a packet");
        let payload = &p[usize::from(range.start)..usize::from(range.end)];
        buf.push(&mut d, meta, payload).expect("depacketizes");
        while let Some(item) = d.pull() {
            if let CodecItem::VideoFrame(f) = item.expect("frame") {
                black_box(f.data());
                frames += 1;
            }
        }
    }
    frames
}

// ------------------------------------------- (b) framing + depacketize of the byte stream

/// Size of one "read" of the interleaved byte stream.
const READ_SIZE: usize = 64 * 1024;

/// camlink: the client's path without the socket: each read appended to the framer's buffer,
/// the run of complete interleaved frames taken out of it as one `Bytes` (zero-copy), RTP
/// parse of each frame where it lies, depacketize (frames refer to the run); before the next
/// read, the unfinished frame lets go of the buffer, as the client does before it waits.
fn camlink_framing(s: &SyntheticH264, stream: &[u8]) -> usize {
    use camlink::codec::Depacketizer as _;
    use camlink::rtp::RtpPacketRef;
    use camlink::rtsp::framing::Framer;
    let (sps, pps) = (s.sps(), s.pps());
    let mut d = H264Depacketizer::new(NalFormat::LengthPrefixed)
        .with_payload_type(PAYLOAD_TYPE)
        .with_parameter_sets([&sps[..], &pps[..]]);
    let mut framer = Framer::default();
    let mut frames = 0;
    for chunk in stream.chunks(READ_SIZE) {
        d.release_buffers();
        framer.push(chunk).expect("buffered");
        let mut end = 0;
        while let Some((_, payload)) = framer.peek_data_at(end) {
            end += 4 + payload.len();
        }
        let run = framer.take_peeked(end);
        let mut at = 0;
        while let Some(&[_, channel, hi, lo]) = run.get(at..at + 4) {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            let payload = &run[at + 4..at + 4 + len];
            at += 4 + len;
            if channel != 0 {
                continue;
            }
            d.push_shared(&RtpPacketRef::parse(payload).expect("valid RTP"), &run)
                .expect("depacketizes");
            while let Some(f) = d.pull() {
                black_box(&f.payload);
                frames += 1;
            }
        }
    }
    frames
}

/// retina: the closest path to its client's without a socket, through the interfaces it
/// exposes for fuzzing and benchmarks (`retina::rtsp::parse::Parser` for framing, then as in
/// [`retina_depacketize`]). Each read is appended to a buffer, as its client reads into its
/// ring; unlike its client, the payload is then copied once more into the depacketizer's ring
/// (`DepacketizeBuf`, its only public entry to the depacketizer).
fn retina_framing(s: &SyntheticH264, fmtp: &str, stream: &[u8]) -> usize {
    use retina::client::{SessionOptions, Timeline, UnknownRtcpSsrcPolicy, rtp::InorderParser};
    use retina::codec::{CodecItem, Depacketizer, FrameFormat};
    use retina::rtsp::msg::Message;
    use retina::rtsp::parse::{FeedError, Parser};
    let mut d = Depacketizer::new("video", "h264", 90_000, None, Some(fmtp)).expect("fmtp");
    d.set_frame_format(FrameFormat::MP4);
    let mut timeline = Timeline::new(Some(s.initial_timestamp()), 90_000, None).expect("timeline");
    let mut rtp = InorderParser::new(
        Some(s.ssrc()),
        Some(s.initial_sequence()),
        UnknownRtcpSsrcPolicy::Default,
    );
    let mut dbuf = retina::testutil::DepacketizeBuf::new(65536);
    let opts = SessionOptions::default();
    let conn_ctx = retina::ConnectionContext::dummy();
    let stream_ctx = retina::StreamContext::dummy();
    let pkt_ctx = retina::PacketContext::dummy();
    let mut parser = Parser::default();
    let mut buf: Vec<u8> = Vec::with_capacity(2 * READ_SIZE);
    let mut pos = 0usize;
    let mut frames = 0;
    for chunk in stream.chunks(READ_SIZE) {
        buf.drain(..pos);
        pos = 0;
        buf.extend_from_slice(chunk);
        loop {
            let mut input: &[u8] = &buf[pos..];
            let before = input.len();
            let r = parser.feed(&mut input);
            let consumed = before - input.len();
            match r {
                Ok(Some((Message::Data(data), body))) if data.channel_id == 0 => {
                    let (header, range) =
                        retina::rtp::PacketHeader::validate(body).expect("valid RTP");
                    let meta = rtp
                        .rtp(
                            &opts,
                            &stream_ctx,
                            None,
                            &conn_ctx,
                            &pkt_ctx,
                            &mut timeline,
                            0,
                            &header,
                        )
                        .expect("in order")
                        .expect("a packet");
                    let payload = &body[usize::from(range.start)..usize::from(range.end)];
                    dbuf.push(&mut d, meta, payload).expect("depacketizes");
                    while let Some(item) = d.pull() {
                        if let CodecItem::VideoFrame(f) = item.expect("frame") {
                            black_box(f.data());
                            frames += 1;
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(FeedError::Incomplete(_)) => {
                    pos += consumed;
                    break;
                }
                Err(e) => panic!("retina framing: {e}"),
            }
            pos += consumed;
        }
    }
    frames
}

// ------------------------------------------------------------ the canned loopback RTSP server

/// Serves the pre-built interleaved stream: after an OPTIONS / DESCRIBE / SETUP / PLAY dialogue
/// (answers with the request's CSeq), or at once for the plain reader (first byte read: `R`).
struct CannedServer {
    addr: SocketAddr,
}

fn read_head(r: &mut BufReader<TcpStream>) -> Option<(String, u32)> {
    let mut method = String::new();
    let mut cseq = 0;
    let mut content_length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            if method.is_empty() {
                continue;
            }
            break;
        }
        if method.is_empty() {
            method = l.split(' ').next().unwrap_or_default().to_owned();
        } else if let Some((k, v)) = l.split_once(':') {
            let v = v.trim();
            if k.eq_ignore_ascii_case("cseq") {
                cseq = v.parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("content-length") {
                content_length = v.parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; content_length];
    r.read_exact(&mut body).ok()?;
    Some((method, cseq))
}

/// CPUs for the loopback cases: the sender's threads on one, the client's on the other, so
/// that the client's CPU time never depends on whether the scheduler put both on one CPU (the
/// plain reader's figure moved between 6.4 and 10.3 GB/s with that). `VS_RETINA_PIN=0`
/// leaves placement to the scheduler.
const SENDER_CPU: usize = 0;
const CLIENT_CPU: usize = 1;

/// Pins the calling thread to `cpu` (best effort: not with `VS_RETINA_PIN=0`, nor on a
/// machine with fewer than two CPUs).
fn pin_to(cpu: usize) {
    if std::env::var("VS_RETINA_PIN").is_ok_and(|v| v == "0")
        || std::thread::available_parallelism().map_or(true, |n| n.get() < 2)
    {
        return;
    }
    // SAFETY: `set` is a plain bit set, zeroed then filled by the libc macros; the call only
    // reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn serve_connection(conn: TcpStream, s: SyntheticH264, sdp: Arc<String>, data: Bytes) {
    pin_to(SENDER_CPU);
    let _ = conn.set_nodelay(true);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut w = conn.try_clone().expect("clone");
    let mut r = BufReader::new(conn);
    // The plain reader announces itself with one byte.
    if r.fill_buf()
        .map(|b| b.first() == Some(&b'R'))
        .unwrap_or(false)
    {
        r.consume(1);
        let _ = w.write_all(&data);
        let _ = w.shutdown(Shutdown::Write);
        return;
    }
    let base = format!("rtsp://{}/synth/", w.local_addr().expect("addr"));
    while let Some((method, cseq)) = read_head(&mut r) {
        let head = |extra: &str| format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}\r\n");
        let resp = match method.as_str() {
            "OPTIONS" => {
                head("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n")
            }
            "DESCRIBE" => format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Base: {base}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            ),
            "SETUP" => head(&format!(
                "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc={:08X}\r\nSession: 12345678;timeout=60\r\n",
                s.ssrc()
            )),
            "PLAY" => head(&format!(
                "Session: 12345678\r\nRTP-Info: url={base}trackID=1;seq={};rtptime={}\r\n",
                s.initial_sequence(),
                s.initial_timestamp()
            )),
            _ => head("Session: 12345678\r\n"),
        };
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
        if method == "PLAY" {
            let _ = w.write_all(&data);
            let _ = w.shutdown(Shutdown::Write);
            // Drain whatever the client still sends (keepalive, TEARDOWN) until it closes.
            let mut sink = [0u8; 4096];
            while matches!(r.read(&mut sink), Ok(n) if n > 0) {}
            return;
        }
    }
}

impl CannedServer {
    fn start(s: SyntheticH264, data: Bytes) -> CannedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let sdp = Arc::new(s.sdp());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (sdp, data) = (sdp.clone(), data.clone());
                std::thread::spawn(move || serve_connection(conn, s, sdp, data));
            }
        });
        CannedServer { addr }
    }

    fn url(&self) -> String {
        format!("rtsp://{}/synth", self.addr)
    }
}

// ------------------------------------------------------------------------- loopback clients

/// Runs `f` on a fresh thread with a current-thread runtime; returns its result and the
/// thread's CPU time (the client's whole cost: syscalls, framing, RTP, depacketizing).
fn on_client_thread<F, Fut>(f: F) -> (usize, Duration, Duration)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = usize>,
{
    // Named so that profiles can single the client out (`perf report --comms client`).
    std::thread::Builder::new()
        .name("client".into())
        .spawn(move || {
            pin_to(CLIENT_CPU);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let wall = Instant::now();
            let cpu = thread_cpu();
            let n = rt.block_on(f());
            let cpu = thread_cpu() - cpu;
            (n, cpu, wall.elapsed())
        })
        .expect("client thread")
        .join()
        .expect("client thread")
}

async fn camlink_session(url: String) -> usize {
    use camlink::rtsp::client::{Item, Session, SessionOptions};
    let opts = SessionOptions::new().nal_format(NalFormat::LengthPrefixed);
    let mut session = Session::open(&url, opts).await.expect("camlink session");
    let mut frames = 0;
    while let Some(item) = session.next().await {
        match item {
            Ok(Item::Video(f)) => {
                black_box(&f.frame.payload);
                frames += 1;
            }
            Ok(_) => {}
            Err(_) => break, // end of stream: the server closed
        }
    }
    frames
}

async fn retina_session(url: String) -> usize {
    use retina::client::{PlayOptions, Session, SessionOptions, SetupOptions, TeardownPolicy};
    use retina::codec::{CodecItem, FrameFormat};
    let url = url::Url::parse(&url).expect("url");
    let opts = SessionOptions::default().teardown(TeardownPolicy::Never);
    let mut session = Session::describe(url, opts).await.expect("retina describe");
    session
        .setup(0, SetupOptions::default().frame_format(FrameFormat::MP4))
        .await
        .expect("retina setup");
    let session = session
        .play(PlayOptions::default())
        .await
        .expect("retina play")
        .demuxed()
        .expect("demuxed");
    tokio::pin!(session);
    let mut frames = 0;
    while let Some(item) = session.next().await {
        match item {
            Ok(CodecItem::VideoFrame(f)) => {
                black_box(f.data());
                frames += 1;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    frames
}

/// Reads and discards the same interleaved bytes (no RTSP dialogue), in 256 KiB reads.
async fn plain_reader(addr: SocketAddr) -> usize {
    use tokio::io::AsyncWriteExt as _;
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"R").await.expect("hello");
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    loop {
        match c.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

// ------------------------------------------------------------------------------------ main

struct Inputs {
    stream: SyntheticH264,
    fmtp: String,
    memory_packets: Vec<Bytes>,
    memory_stream: Bytes,
    memory_frames: usize,
    tcp_bytes: usize,
    tcp_frames: usize,
    server: CannedServer,
}

fn inputs() -> Inputs {
    let stream = SyntheticH264::default();
    let memory_packets = stream.rtp_packets(MEMORY_SECONDS).expect("packets");
    let memory_stream = interleave(&memory_packets, 0).expect("frames");
    let tcp_seconds = tcp_seconds();
    let tcp = interleave(&stream.rtp_packets(tcp_seconds).expect("packets"), 0).expect("frames");
    let tcp_bytes = tcp.len();
    let inputs = Inputs {
        fmtp: stream.fmtp(),
        memory_frames: stream.frames_in(MEMORY_SECONDS) as usize,
        tcp_frames: stream.frames_in(tcp_seconds) as usize,
        server: CannedServer::start(stream, tcp),
        stream,
        memory_packets,
        memory_stream,
        tcp_bytes,
    };
    // Both libraries get every access unit back, or the comparison means nothing.
    assert_eq!(
        camlink_depacketize(&inputs.stream, &inputs.memory_packets),
        inputs.memory_frames
    );
    assert_eq!(
        retina_depacketize(&inputs.stream, &inputs.fmtp, &inputs.memory_packets),
        inputs.memory_frames
    );
    assert_eq!(
        camlink_framing(&inputs.stream, &inputs.memory_stream),
        inputs.memory_frames
    );
    assert_eq!(
        retina_framing(&inputs.stream, &inputs.fmtp, &inputs.memory_stream),
        inputs.memory_frames
    );
    let url = inputs.server.url();
    assert_eq!(
        on_client_thread(move || camlink_session(url)).0,
        inputs.tcp_frames
    );
    let url = inputs.server.url();
    assert_eq!(
        on_client_thread(move || retina_session(url)).0,
        inputs.tcp_frames
    );
    let addr = inputs.server.addr;
    assert_eq!(
        on_client_thread(move || plain_reader(addr)).0,
        inputs.tcp_bytes
    );
    inputs
}

fn criterion_cases(c: &mut Criterion, i: &Inputs) {
    let bytes: usize = i.memory_packets.iter().map(Bytes::len).sum();
    let mut g = c.benchmark_group("depacketize");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("camlink", |b| {
        b.iter(|| camlink_depacketize(&i.stream, &i.memory_packets))
    });
    g.bench_function("retina", |b| {
        b.iter(|| retina_depacketize(&i.stream, &i.fmtp, &i.memory_packets))
    });
    g.finish();

    let mut g = c.benchmark_group("framing_depacketize");
    g.throughput(Throughput::Bytes(i.memory_stream.len() as u64));
    g.bench_function("camlink", |b| {
        b.iter(|| camlink_framing(&i.stream, &i.memory_stream))
    });
    g.bench_function("retina", |b| {
        b.iter(|| retina_framing(&i.stream, &i.fmtp, &i.memory_stream))
    });
    g.finish();

    // (c) runs a whole loopback session per iteration; the time is the client thread's CPU.
    let mut g = c.benchmark_group("tcp_end_to_end_cpu");
    g.throughput(Throughput::Bytes(i.tcp_bytes as u64));
    for (name, which) in [("camlink", 0), ("retina", 1), ("plain_reader", 2)] {
        g.bench_function(name, |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| match which {
                        0 => tcp_run(i, true).1,
                        1 => tcp_run(i, false).1,
                        _ => plain_run(i).1,
                    })
                    .sum::<Duration>()
            })
        });
    }
    g.finish();
}

/// One loopback session: (frames, client CPU, wall).
fn tcp_run(i: &Inputs, camlink: bool) -> (usize, Duration, Duration) {
    let url = i.server.url();
    let r = if camlink {
        on_client_thread(move || camlink_session(url))
    } else {
        on_client_thread(move || retina_session(url))
    };
    assert_eq!(r.0, i.tcp_frames);
    r
}

fn plain_run(i: &Inputs) -> (usize, Duration, Duration) {
    let addr = i.server.addr;
    let r = on_client_thread(move || plain_reader(addr));
    assert_eq!(r.0, i.tcp_bytes);
    r
}

/// Alternating runs, median per library; the ratio of throughputs (time of the other over
/// camlink's).
fn ratios(i: &Inputs) {
    let mut cam = Vec::new();
    let mut ret = Vec::new();
    for _ in 0..RATIO_RUNS_MEMORY {
        let t = thread_cpu();
        black_box(camlink_depacketize(&i.stream, &i.memory_packets));
        cam.push(thread_cpu() - t);
        let t = thread_cpu();
        black_box(retina_depacketize(&i.stream, &i.fmtp, &i.memory_packets));
        ret.push(thread_cpu() - t);
    }
    let (cam_a, ret_a) = (median(cam), median(ret));
    let mut cam = Vec::new();
    let mut ret = Vec::new();
    for _ in 0..RATIO_RUNS_MEMORY {
        let t = thread_cpu();
        black_box(camlink_framing(&i.stream, &i.memory_stream));
        cam.push(thread_cpu() - t);
        let t = thread_cpu();
        black_box(retina_framing(&i.stream, &i.fmtp, &i.memory_stream));
        ret.push(thread_cpu() - t);
    }
    let (cam_b, ret_b) = (median(cam), median(ret));
    let (mut cam_cpu, mut ret_cpu, mut plain_cpu) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RATIO_RUNS_TCP {
        cam_cpu.push(tcp_run(i, true).1);
        ret_cpu.push(tcp_run(i, false).1);
        plain_cpu.push(plain_run(i).1);
    }
    let (cam_c, ret_c, plain_c) = (median(cam_cpu), median(ret_cpu), median(plain_cpu));
    let packets = i.memory_packets.len() as f64;
    let mb = i.tcp_bytes as f64 / 1e6;
    println!();
    println!(
        "depacketize: camlink {:.0} ns/packet, retina {:.0} ns/packet ({} packets, CPU time, median of {RATIO_RUNS_MEMORY})",
        cam_a.as_nanos() as f64 / packets,
        ret_a.as_nanos() as f64 / packets,
        i.memory_packets.len()
    );
    let stream_mb = i.memory_stream.len() as f64 / 1e6;
    println!(
        "framing_depacketize ({READ_SIZE}-byte reads, CPU time): camlink {:.0} MB/s, retina {:.0} MB/s",
        stream_mb / cam_b.as_secs_f64(),
        stream_mb / ret_b.as_secs_f64()
    );
    println!(
        "tcp_end_to_end (per client CPU-second): camlink {:.0} MB/s, retina {:.0} MB/s, plain reader {:.0} MB/s",
        mb / cam_c.as_secs_f64(),
        mb / ret_c.as_secs_f64(),
        mb / plain_c.as_secs_f64()
    );
    let ratio = |other: Duration, mine: Duration| other.as_secs_f64() / mine.as_secs_f64();
    println!(
        "RATIO case=depacketize camlink_over_retina={:.2}",
        ratio(ret_a, cam_a)
    );
    println!(
        "RATIO case=framing_depacketize camlink_over_retina={:.2}",
        ratio(ret_b, cam_b)
    );
    println!(
        "RATIO case=tcp_end_to_end camlink_over_retina={:.2}",
        ratio(ret_c, cam_c)
    );
    println!(
        "RATIO case=tcp_vs_plain_reader camlink_over_plain={:.2}",
        ratio(plain_c, cam_c)
    );
}

/// `VS_RETINA_PROFILE=<case>`: runs only that case `VS_RETINA_PROFILE_RUNS` times (default 20)
/// and exits (for callgrind or perf), printing the median CPU time of a run.
fn profile(i: &Inputs, case: &str) {
    let runs = std::env::var("VS_RETINA_PROFILE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    // CPU of each run: the client thread's for the loopback cases, this thread's otherwise.
    let mut cpu = Vec::new();
    for _ in 0..runs {
        let t = thread_cpu();
        let client = match case {
            "camlink_depacketize" => {
                black_box(camlink_depacketize(&i.stream, &i.memory_packets));
                None
            }
            "retina_depacketize" => {
                black_box(retina_depacketize(&i.stream, &i.fmtp, &i.memory_packets));
                None
            }
            "camlink_framing" => {
                black_box(camlink_framing(&i.stream, &i.memory_stream));
                None
            }
            "retina_framing" => {
                black_box(retina_framing(&i.stream, &i.fmtp, &i.memory_stream));
                None
            }
            "camlink_tcp" => Some(tcp_run(i, true).1),
            "retina_tcp" => Some(tcp_run(i, false).1),
            "plain_reader" => Some(plain_run(i).1),
            other => panic!("unknown case {other}"),
        };
        cpu.push(client.unwrap_or_else(|| thread_cpu() - t));
    }
    println!("{case}: median CPU {:?} of {runs} runs", median(cpu));
}

fn main() {
    let i = inputs();
    if let Ok(case) = std::env::var("VS_RETINA_PROFILE") {
        profile(&i, &case);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_cases(&mut c, &i);
    c.final_summary();
    // `cargo bench -- --list` or a filter that selects nothing still ends cleanly.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    ratios(&i);
}
