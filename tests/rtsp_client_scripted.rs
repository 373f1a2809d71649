//! The RTSP client against a small scripted server written here: ONVIF backchannel and replay
//! headers, redirects, the Auto transport's fallback to TCP when UDP stays silent, TEARDOWN
//! policies, keepalive method fallback, and answers to requests from the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use camlink::codec::g711::G711Packetizer;
use camlink::codec::{Packetizer, PacketizerConfig};
use camlink::rtsp::client::{
    BACKCHANNEL_REQUIRE, Item, Replay, Session, SessionOptions, TeardownPolicy, Timeouts,
    TransportMode,
};
use camlink::rtsp::framing::{Framer, Item as Framed, Limits, write_data};
use camlink::rtsp::headers::{LowerTransport, Range, Transport};
use camlink::rtsp::message::{Message, Method, Request, Response};
use camlink::rtsp::session::KeepaliveMethod;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A camera SDP: one PCMU receive stream, and (for the backchannel) one sendonly PCMU stream.
fn sdp(backchannel: bool) -> String {
    let mut s = String::from(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=scripted\r\nt=0 0\r\na=control:*\r\n\
         m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:track1\r\na=recvonly\r\n",
    );
    if backchannel {
        s.push_str(
            "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:back\r\na=sendonly\r\n",
        );
    }
    s
}

#[derive(Clone, Default)]
struct Script {
    backchannel: bool,
    /// Answer DESCRIBE with 302 to this URL.
    redirect_to: Option<String>,
    /// Answer DESCRIBE with 302 to the same URL.
    redirect_self: bool,
    /// Accept UDP SETUP but never send over UDP.
    silent_udp: bool,
    /// `Server` header.
    server: Option<&'static str>,
    /// Statuses for keepalive methods (default 200).
    refuse_options_after_first: bool,
    session_timeout: u32,
    /// Send a GET_PARAMETER request to the client after PLAY.
    server_request: bool,
    /// Answer DESCRIBE with an endless header line.
    endless_head: bool,
    /// Interleaved packets sent before the PLAY answer.
    early_packets: usize,
    /// Bytes sent after the PLAY answer (instead of the PCMU packets).
    garbage: Option<Vec<u8>>,
    /// UDP SETUP answers with the ports of this UDP socket pair (datagrams are logged).
    udp_ports: Option<(u16, u16)>,
    /// After the PLAY answer (instead of the 20 packets at once): PCMU packets paced as
    /// `(count, gap)` runs, each packet's RTP timestamp and write time logged.
    paced: Vec<(usize, Duration)>,
}

#[derive(Default)]
struct Log {
    requests: Vec<Request>,
    /// Interleaved data from the client: (channel, payload).
    data: Vec<(u8, Bytes)>,
    responses_from_client: Vec<Response>,
    /// Paced packets: RTP timestamp, when written.
    sent: Vec<(u32, std::time::Instant)>,
}

struct Server {
    url: String,
    log: Arc<Mutex<Log>>,
}

async fn start(script: Script) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtsp://{}/cam", l.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Log::default()));
    let lg = log.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(serve(s, script.clone(), lg.clone()));
        }
    });
    Server { url, log }
}

fn pcmu_packets(n: usize, seq0: u16) -> Vec<Bytes> {
    let mut p =
        G711Packetizer::new(PacketizerConfig::new(0, 0x1234).initial_sequence(seq0)).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        p.packetize(&[0x55u8; 160], (i * 160) as u32, &mut out)
            .unwrap();
    }
    out
}

async fn serve(mut s: TcpStream, script: Script, log: Arc<Mutex<Log>>) {
    let mut framer = Framer::new(Limits::default());
    let mut options_seen = 0;
    let mut channel = 0u8;
    loop {
        let item = match framer.next_item() {
            Ok(i) => i,
            Err(_) => return,
        };
        let req = match item {
            None => {
                match tokio::time::timeout(Duration::from_secs(30), s.read_buf(framer.read_buf()))
                    .await
                {
                    Ok(Ok(n)) if n > 0 => continue,
                    _ => return,
                }
            }
            Some(Framed::Data { channel, payload }) => {
                log.lock().unwrap().data.push((channel, payload));
                continue;
            }
            Some(Framed::Message(Message::Response(r))) => {
                log.lock().unwrap().responses_from_client.push(r);
                continue;
            }
            Some(Framed::Message(Message::Request(r))) => r,
        };
        log.lock().unwrap().requests.push(req.clone());
        let cseq = req.headers.cseq().unwrap_or(0);
        let mut b = Response::builder(200).cseq(cseq);
        if let Some(sv) = script.server {
            b = b.header("Server", sv);
        }
        let session = format!("SCRIPTED;timeout={}", script.session_timeout.max(1));
        let mut after: Vec<Bytes> = Vec::new();
        let resp = match req.method {
            Method::Options => {
                options_seen += 1;
                if script.refuse_options_after_first && options_seen > 1 {
                    Response::builder(405).cseq(cseq).build().unwrap()
                } else {
                    b.header(
                        "Public",
                        "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER",
                    )
                    .build()
                    .unwrap()
                }
            }
            Method::Describe => {
                if script.endless_head {
                    let _ = s.write_all(b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nX-Junk: ").await;
                    let chunk = vec![b'a'; 64 * 1024];
                    for _ in 0..256 {
                        if s.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                    return;
                }
                let to = if script.redirect_self {
                    Some(req.url.clone())
                } else {
                    script.redirect_to.clone()
                };
                if let Some(to) = to {
                    Response::builder(302)
                        .cseq(cseq)
                        .header("Location", to)
                        .build()
                        .unwrap()
                } else {
                    b.header(
                        "Content-Base",
                        format!("{}/", req.url.trim_end_matches('/')),
                    )
                    .header("Content-Type", "application/sdp")
                    .body(sdp(script.backchannel))
                    .build()
                    .unwrap()
                }
            }
            Method::Setup => {
                let t = Transport::parse_list(req.headers.get("Transport").unwrap_or(""));
                let t = t.into_iter().next().unwrap_or_default();
                let reply = if t.lower == LowerTransport::Tcp {
                    channel = t.interleaved.map_or(0, |c| c.0);
                    Transport::tcp_interleaved(channel)
                } else {
                    let mut r = Transport::udp_unicast(t.client_port.map_or(0, |c| c.0));
                    let (a, b) = script.udp_ports.unwrap_or((9, 9));
                    r.server_port = Some((a, Some(b)));
                    r
                };
                b.header("Transport", reply.to_string())
                    .header("Session", session)
                    .build()
                    .unwrap()
            }
            Method::Play => {
                let tcp = log.lock().unwrap().requests.iter().any(|r| {
                    r.method == Method::Setup
                        && r.headers
                            .get("Transport")
                            .is_some_and(|t| t.contains("TCP"))
                });
                if let Some(g) = &script.garbage {
                    after.push(Bytes::from(g.clone()));
                } else if !script.paced.is_empty() {
                    // Written below, after the answer.
                } else if tcp || !script.silent_udp {
                    for p in pcmu_packets(20, 100) {
                        let mut out = bytes::BytesMut::new();
                        write_data(&mut out, channel, &p).unwrap();
                        after.push(out.freeze());
                    }
                }
                if script.server_request {
                    let r = Request::builder(Method::GetParameter, "rtsp://client/")
                        .cseq(77)
                        .build()
                        .unwrap();
                    after.push(r.to_bytes());
                }
                b.header("Session", "SCRIPTED").build().unwrap()
            }
            _ => b.build().unwrap(),
        };
        if req.method == Method::Play && script.early_packets > 0 {
            let n = script.early_packets;
            let mut out = bytes::BytesMut::new();
            for p in pcmu_packets(n, 100u16.wrapping_sub(n as u16)) {
                write_data(&mut out, channel, &p).unwrap();
            }
            if s.write_all(&out).await.is_err() {
                return;
            }
        }
        if s.write_all(&resp.to_bytes()).await.is_err() {
            return;
        }
        for a in after {
            if s.write_all(&a).await.is_err() {
                return;
            }
        }
        if req.method == Method::Play && !script.paced.is_empty() {
            let total = script.paced.iter().map(|r| r.0).sum();
            let mut pkts = pcmu_packets(total, 100).into_iter().enumerate();
            for &(n, gap) in &script.paced {
                for (i, p) in pkts.by_ref().take(n) {
                    tokio::time::sleep(gap).await;
                    let mut out = bytes::BytesMut::new();
                    write_data(&mut out, channel, &p).unwrap();
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                    let ts = (i * 160) as u32;
                    log.lock()
                        .unwrap()
                        .sent
                        .push((ts, std::time::Instant::now()));
                }
            }
        }
    }
}

fn requests(s: &Server, m: Method) -> Vec<Request> {
    s.log
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.method == m)
        .cloned()
        .collect()
}

async fn audio_frames(s: &mut Session, n: usize) -> usize {
    let mut got = 0;
    tokio::time::timeout(Duration::from_secs(10), async {
        while got < n {
            if let Item::Audio(_) = s.next().await.unwrap().unwrap() {
                got += 1;
            }
        }
    })
    .await
    .unwrap();
    got
}

#[tokio::test]
async fn backchannel_requires_the_header_everywhere_and_sends_g711() {
    let srv = start(Script {
        backchannel: true,
        ..Script::default()
    })
    .await;
    let mut s = Session::describe(&srv.url, SessionOptions::new().backchannel(true))
        .await
        .unwrap();
    let back = s.streams().iter().find(|i| i.backchannel).unwrap().index;
    assert_eq!(back, 1);
    s.setup_all().await.unwrap(); // the receive stream only
    s.setup(back).await.unwrap();
    s.play().await.unwrap();
    assert_eq!(audio_frames(&mut s, 5).await, 5);
    let packets = pcmu_packets(3, 7);
    s.send_backchannel(back, &packets).await.unwrap();
    s.teardown().await.unwrap();
    for m in [
        Method::Describe,
        Method::Setup,
        Method::Play,
        Method::Teardown,
    ] {
        for r in requests(&srv, m.clone()) {
            assert_eq!(r.headers.get("Require"), Some(BACKCHANNEL_REQUIRE), "{m:?}");
        }
    }
    let setups = requests(&srv, Method::Setup);
    assert_eq!(setups.len(), 2);
    assert!(setups[1].url.ends_with("/back"), "{}", setups[1].url);
    let data = srv.log.lock().unwrap().data.clone();
    let ch = Transport::parse(setups[1].headers.get("Transport").unwrap())
        .interleaved
        .unwrap()
        .0;
    let sent: Vec<&Bytes> = data
        .iter()
        .filter(|(c, _)| *c == ch)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0], &packets[0]);
}

#[tokio::test]
async fn replay_headers_go_on_play() {
    let srv = start(Script::default()).await;
    let replay = Replay {
        range: Range::parse("clock=20240101T000000Z-"),
        scale: Some(2.0),
        rate_control_off: true,
        immediate: true,
    };
    let mut s = Session::open(&srv.url, SessionOptions::new().replay(replay))
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 3).await, 3);
    let play = requests(&srv, Method::Play).pop().unwrap();
    assert_eq!(play.headers.get("Range"), Some("clock=20240101T000000Z-"));
    assert_eq!(play.headers.get("Scale"), Some("2.0"));
    assert_eq!(play.headers.get("Rate-Control"), Some("no"));
    assert_eq!(play.headers.get("Immediate"), Some("yes"));
    // Live PLAY (no replay) asks for npt=0.000-.
    let mut s = Session::open(&srv.url, SessionOptions::new())
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 1).await, 1);
    let play = requests(&srv, Method::Play).pop().unwrap();
    assert_eq!(play.headers.get("Range"), Some("npt=0.000-"));
    assert!(play.headers.get("Scale").is_none());
}

#[tokio::test]
async fn redirects_are_followed_to_another_server() {
    let target = start(Script::default()).await;
    let front = start(Script {
        redirect_to: Some(target.url.clone()),
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&front.url, SessionOptions::new())
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 3).await, 3);
    assert_eq!(requests(&target, Method::Play).len(), 1);
    assert!(requests(&front, Method::Setup).is_empty());
}

#[tokio::test]
async fn redirect_loops_end_in_a_protocol_error() {
    let srv = start(Script {
        redirect_self: true,
        ..Script::default()
    })
    .await;
    let e = Session::describe(&srv.url, SessionOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &camlink::ErrorKind::Protocol, "{e}");
    // Bounded: the first DESCRIBE plus MAX_REDIRECTS more.
    let n = requests(&srv, Method::Describe).len() as u32;
    assert_eq!(n, camlink::rtsp::session::MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn auto_falls_back_to_tcp_when_udp_stays_silent() {
    let srv = start(Script {
        silent_udp: true,
        ..Script::default()
    })
    .await;
    let opts = SessionOptions::new()
        .transport(TransportMode::Auto)
        .timeouts(Timeouts {
            first_packet: Duration::from_millis(500),
            ..Timeouts::default()
        });
    let mut s = Session::open(&srv.url, opts).await.unwrap();
    assert_eq!(s.transport(), Some(LowerTransport::Tcp));
    assert_eq!(audio_frames(&mut s, 10).await, 10);
    let setups = requests(&srv, Method::Setup);
    assert_eq!(setups.len(), 2);
    assert!(!setups[0].headers.get("Transport").unwrap().contains("TCP"));
    assert!(setups[1].headers.get("Transport").unwrap().contains("TCP"));
    // The UDP session was torn down before the TCP one was set up.
    assert_eq!(requests(&srv, Method::Teardown).len(), 1);
}

async fn teardowns_after_drop(script: Script, opts: SessionOptions) -> usize {
    let srv = start(script).await;
    let mut s = Session::open(&srv.url, opts).await.unwrap();
    assert!(audio_frames(&mut s, 1).await == 1);
    drop(s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    requests(&srv, Method::Teardown).len()
}

#[tokio::test]
async fn teardown_on_drop_follows_the_policy() {
    // TCP, a modern server: closing the connection is enough.
    assert_eq!(
        teardowns_after_drop(Script::default(), SessionOptions::new()).await,
        0
    );
    // TCP, old live555 that keeps streaming to stale sessions: TEARDOWN.
    let old = Script {
        server: Some("LIVE555 Streaming Media v2016.11.28"),
        ..Script::default()
    };
    assert_eq!(teardowns_after_drop(old, SessionOptions::new()).await, 1);
    let new = Script {
        server: Some("LIVE555 Streaming Media v2020.01.01"),
        ..Script::default()
    };
    assert_eq!(teardowns_after_drop(new, SessionOptions::new()).await, 0);
    // Always / Never.
    assert_eq!(
        teardowns_after_drop(
            Script::default(),
            SessionOptions::new().teardown(TeardownPolicy::Always)
        )
        .await,
        1
    );
    let old = Script {
        server: Some("LIVE555 Streaming Media v2016.11.28"),
        ..Script::default()
    };
    assert_eq!(
        teardowns_after_drop(old, SessionOptions::new().teardown(TeardownPolicy::Never)).await,
        0
    );
}

#[tokio::test]
async fn keepalive_moves_to_get_parameter_when_options_is_refused() {
    let srv = start(Script {
        refuse_options_after_first: true,
        session_timeout: 2,
        ..Script::default()
    })
    .await;
    let mut s = Session::open(
        &srv.url,
        SessionOptions::new().keepalive(KeepaliveMethod::Auto),
    )
    .await
    .unwrap();
    assert_eq!(audio_frames(&mut s, 20).await, 20);
    // No more media: keep calling next until keepalives went out (1 s interval).
    let _ = tokio::time::timeout(Duration::from_millis(3500), async {
        loop {
            if s.next().await.is_none() {
                break;
            }
        }
    })
    .await;
    assert!(requests(&srv, Method::Options).len() >= 2);
    assert!(!requests(&srv, Method::GetParameter).is_empty());
}

#[tokio::test]
async fn requests_from_the_server_are_answered() {
    let srv = start(Script {
        server_request: true,
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&srv.url, SessionOptions::new())
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 20).await, 20);
    let _ = tokio::time::timeout(Duration::from_millis(300), s.next()).await;
    let answers = srv.log.lock().unwrap().responses_from_client.clone();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[0].headers.cseq(), Some(77));
}

#[tokio::test]
async fn an_endless_response_head_is_a_bounded_error() {
    let srv = start(Script {
        endless_head: true,
        ..Script::default()
    })
    .await;
    let e = Session::describe(&srv.url, SessionOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            camlink::ErrorKind::LimitExceeded | camlink::ErrorKind::Malformed
        ),
        "{e}"
    );
}

#[tokio::test]
async fn receiver_reports_go_out_over_tcp() {
    let srv = start(Script::default()).await;
    let mut s = Session::open(
        &srv.url,
        SessionOptions::new().receiver_report_interval(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    assert_eq!(audio_frames(&mut s, 20).await, 20);
    let _ = tokio::time::timeout(Duration::from_millis(700), async {
        while s.next().await.is_some() {}
    })
    .await;
    let data = srv.log.lock().unwrap().data.clone();
    // Channel 1 is the RTCP channel of the stream on channel 0; an RR has PT 201.
    let rr = data.iter().find(|(c, p)| *c == 1 && p.get(1) == Some(&201));
    let (_, rr) = rr.expect("no receiver report on the RTCP channel");
    let pkts = camlink::rtp::rtcp::parse_compound(rr).unwrap();
    match &pkts[0] {
        camlink::rtp::rtcp::RtcpPacket::ReceiverReport(r) => {
            assert_eq!(r.reports.len(), 1);
            assert_eq!(r.reports[0].ssrc, 0x1234);
            assert_eq!(r.reports[0].cumulative_lost, 0);
        }
        other => panic!("{other:?}"),
    }
}

/// A UDP session against a scripted server whose SETUP answer names the ports of two sockets
/// of the test (RTP, RTCP): what the client sends there is seen, and what the test sends from
/// there is what the server would stream.
async fn udp_session_with_server_sockets() -> (
    tokio::net::UdpSocket,
    tokio::net::UdpSocket,
    Server,
    Session,
) {
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtcp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
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
    let s = Session::open(
        &srv.url,
        SessionOptions::new().transport(TransportMode::Udp),
    )
    .await
    .unwrap();
    (rtp, rtcp, srv, s)
}

#[tokio::test]
async fn udp_setup_punches_holes_towards_the_server_ports() {
    let (rtp, rtcp, srv, s) = udp_session_with_server_sockets().await;
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

/// Datagrams of every size up to nearly the largest UDP payload, in bursts the client reads
/// several at a time (one `recvmmsg` on Linux), arrive whole, in order, with no loss.
#[tokio::test]
async fn udp_datagrams_of_every_size_arrive_whole_and_in_order() {
    let (rtp, _rtcp, _srv, mut s) = udp_session_with_server_sockets().await;
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], s.local_udp_ports()[0]));
    // Under the default receive buffer of a Linux socket (208 KiB) per burst.
    const SIZES: [usize; 6] = [160, 60_000, 1_400, 9_000, 65_000, 1];
    let mut seq = 500u16;
    for burst in 0..8usize {
        let mut sent = Vec::new();
        for (i, &len) in SIZES.iter().enumerate() {
            let body: Vec<u8> = (0..len).map(|b| (b + burst * 7 + i) as u8).collect();
            let ts = u32::from(seq) * 160;
            let pkt = camlink::rtp::RtpPacketBuilder::new(0, seq, ts, 0x5151)
                .build(&body)
                .unwrap();
            rtp.send_to(&pkt, to).await.unwrap();
            sent.push((ts, body));
            seq = seq.wrapping_add(1);
        }
        for (ts, body) in sent {
            let f = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    if let Item::Audio(f) = s.next().await.unwrap().unwrap() {
                        break f.frame;
                    }
                }
            })
            .await
            .expect("every datagram arrives");
            assert_eq!(f.rtp_timestamp, ts, "in order");
            assert_eq!(f.loss_before, 0);
            assert_eq!(f.payload.len(), body.len());
            assert!(f.payload == body[..], "whole");
        }
    }
}

/// Arbitrary bytes (and arbitrary interleaved frames) from the server after PLAY never panic
/// the client: it hands out items, an error, or nothing, within its timeouts.
mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn run(garbage: Vec<u8>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let srv = start(Script {
                garbage: Some(garbage),
                ..Script::default()
            })
            .await;
            let opts = SessionOptions::new().timeouts(Timeouts {
                no_data: Duration::from_millis(200),
                first_packet: Duration::from_millis(200),
                ..Timeouts::default()
            });
            let Ok(mut s) = Session::open(&srv.url, opts).await else {
                return;
            };
            let r = tokio::time::timeout(Duration::from_secs(5), async {
                let mut n = 0;
                while let Some(r) = s.next().await {
                    n += 1;
                    if r.is_err() || n > 10_000 {
                        break;
                    }
                }
            })
            .await;
            assert!(r.is_ok(), "the client neither ended nor failed");
        });
    }

    fn frames() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            (0u8..4, proptest::collection::vec(any::<u8>(), 0..300)),
            0..40,
        )
        .prop_map(|fs| {
            let mut out = Vec::new();
            for (ch, p) in fs {
                out.push(b'$');
                out.push(ch);
                out.extend_from_slice(&(p.len() as u16).to_be_bytes());
                if p.len() >= 2 {
                    // Mostly RTP version 2 headers, to get past the first check.
                    let mut p = p;
                    p[0] = 0x80 | (p[0] & 0x3f);
                    out.extend_from_slice(&p);
                } else {
                    out.extend_from_slice(&p);
                }
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_bytes(garbage in proptest::collection::vec(any::<u8>(), 0..4096)) {
            run(garbage);
        }

        #[test]
        fn arbitrary_interleaved_frames(garbage in frames()) {
            run(garbage);
        }
    }
}

#[tokio::test]
async fn packets_before_the_play_answer_are_kept_up_to_a_bound() {
    let n = camlink::rtsp::client::MAX_EARLY_PACKETS + 100;
    let srv = start(Script {
        early_packets: n,
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&srv.url, SessionOptions::new())
        .await
        .unwrap();
    let (mut audio, mut loss) = (0, 0);
    tokio::time::timeout(Duration::from_secs(10), async {
        while audio < camlink::rtsp::client::MAX_EARLY_PACKETS + 20 {
            match s.next().await.unwrap().unwrap() {
                Item::Audio(_) => audio += 1,
                Item::Loss { stream, packets } => {
                    assert_eq!(stream, 0);
                    loss += packets;
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(loss, 100);
}

/// Read coalescing over TCP: a fast run raises the socket's low-water mark, then packets come
/// one at a time, each far smaller than the mark; each is still delivered within about one
/// interval (the coalescing deadline reads what is there), not held until more data comes,
/// and the TEARDOWN answer is not held back either.
#[tokio::test]
async fn read_coalescing_batches_a_fast_run_and_bounds_the_wait_of_a_slow_one() {
    let interval = Duration::from_millis(100);
    let srv = start(Script {
        paced: vec![
            (150, Duration::from_millis(2)),
            (5, Duration::from_millis(300)),
        ],
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&srv.url, SessionOptions::new().read_coalescing(interval))
        .await
        .unwrap();
    let mut got: Vec<(u32, std::time::Instant)> = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while got.len() < 155 {
            if let Item::Audio(f) = s.next().await.unwrap().unwrap() {
                got.push((f.frame.rtp_timestamp, std::time::Instant::now()));
            }
        }
    })
    .await
    .expect("every paced packet within 10 s");
    let sent = srv.log.lock().unwrap().sent.clone();
    assert_eq!(sent.len(), 155);
    for (k, ((ts, at), (sts, sent_at))) in got.iter().zip(&sent).enumerate() {
        assert_eq!(ts, sts, "packet {k} out of order");
        if k >= 150 {
            // Slow run: delivered within the interval (plus room for a busy machine).
            let wait = at.saturating_duration_since(*sent_at);
            assert!(
                wait < interval + Duration::from_millis(400),
                "packet {k} waited {wait:?}"
            );
        }
    }
    // Fast run: most packets come out together with the one before (read in batches),
    // instead of one per wake-up 2 ms apart.
    let together = got[1..150]
        .windows(2)
        .filter(|w| w[1].1.duration_since(w[0].1) < Duration::from_micros(500))
        .count();
    assert!(
        together > 100,
        "only {together} of 148 packets came out in batches"
    );
    let t = std::time::Instant::now();
    s.teardown().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "TEARDOWN took {:?}",
        t.elapsed()
    );
    assert_eq!(requests(&srv, Method::Teardown).len(), 1);
}
