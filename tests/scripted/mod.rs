//! A small scripted RTSP server for the client's tests: one PCMU stream (and an optional
//! backchannel), with quirks chosen per test ([`Script`]), logging what the client sends.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use camlink::codec::g711::G711Packetizer;
use camlink::codec::{Packetizer, PacketizerConfig};
use camlink::rtsp::client::{Item, Session};
use camlink::rtsp::framing::{Framer, Item as Framed, Limits, write_data};
use camlink::rtsp::headers::{LowerTransport, Transport};
use camlink::rtsp::message::{Message, Method, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A camera SDP: one PCMU receive stream, and (for the backchannel) one sendonly PCMU stream.
pub fn sdp(backchannel: bool) -> String {
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
pub struct Script {
    pub backchannel: bool,
    /// Answer DESCRIBE with 302 to this URL.
    pub redirect_to: Option<String>,
    /// Answer DESCRIBE with 302 to the same URL.
    pub redirect_self: bool,
    /// Accept UDP SETUP but never send over UDP.
    pub silent_udp: bool,
    /// `Server` header.
    pub server: Option<&'static str>,
    /// Statuses for keepalive methods (default 200).
    pub refuse_options_after_first: bool,
    pub session_timeout: u32,
    /// Send a GET_PARAMETER request to the client after PLAY.
    pub server_request: bool,
    /// Answer DESCRIBE with an endless header line.
    pub endless_head: bool,
    /// Interleaved packets sent before the PLAY answer.
    pub early_packets: usize,
    /// Bytes sent after the PLAY answer (instead of the PCMU packets).
    pub garbage: Option<Vec<u8>>,
    /// UDP SETUP answers with the ports of this UDP socket pair (datagrams are logged).
    pub udp_ports: Option<(u16, u16)>,
    /// After the PLAY answer (instead of the 20 packets at once): PCMU packets paced as
    /// `(count, gap)` runs, each packet's RTP timestamp and write time logged.
    pub paced: Vec<(usize, Duration)>,
}

#[derive(Default)]
pub struct Log {
    pub requests: Vec<Request>,
    /// Interleaved data from the client: (channel, payload).
    pub data: Vec<(u8, Bytes)>,
    pub responses_from_client: Vec<Response>,
    /// Paced packets: RTP timestamp, when written.
    pub sent: Vec<(u32, std::time::Instant)>,
}

pub struct Server {
    pub url: String,
    pub log: Arc<Mutex<Log>>,
}

pub async fn start(script: Script) -> Server {
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

pub fn pcmu_packets(n: usize, seq0: u16) -> Vec<Bytes> {
    let mut p =
        G711Packetizer::new(PacketizerConfig::new(0, 0x1234).initial_sequence(seq0)).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        p.packetize(&[0x55u8; 160], (i * 160) as u32, &mut out)
            .unwrap();
    }
    out
}

pub async fn serve(mut s: TcpStream, script: Script, log: Arc<Mutex<Log>>) {
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

pub fn requests(s: &Server, m: Method) -> Vec<Request> {
    s.log
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.method == m)
        .cloned()
        .collect()
}

pub async fn audio_frames(s: &mut Session, n: usize) -> usize {
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

/// Checks the frames of a coalescing session that was sent 150 packets 2 ms apart then 5
/// packets 300 ms apart: `got` and `sent` are (RTP timestamp, when) per packet. In order;
/// packets from `bounded_from` on delivered within `interval` of their sending (plus room for
/// a busy machine); and the fast run read in batches: most packets come out together with the
/// one before, instead of one per wake-up 2 ms apart.
pub fn check_coalesced(
    got: &[(u32, std::time::Instant)],
    sent: &[(u32, std::time::Instant)],
    interval: Duration,
    bounded_from: usize,
) {
    assert_eq!(sent.len(), 155);
    assert_eq!(got.len(), 155);
    for (k, ((ts, at), (sts, sent_at))) in got.iter().zip(sent).enumerate() {
        assert_eq!(ts, sts, "packet {k} out of order");
        if k >= bounded_from {
            let wait = at.saturating_duration_since(*sent_at);
            assert!(
                wait < interval + Duration::from_millis(400),
                "packet {k} waited {wait:?}"
            );
        }
    }
    let together = got[1..150]
        .windows(2)
        .filter(|w| w[1].1.duration_since(w[0].1) < Duration::from_micros(500))
        .count();
    assert!(
        together > 100,
        "only {together} of 148 packets came out in batches"
    );
}
