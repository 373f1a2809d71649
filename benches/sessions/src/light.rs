//! The light in-process sender: a canned RTSP dialogue (OPTIONS, DESCRIBE, SETUP, PLAY,
//! GET_PARAMETER/SET_PARAMETER keepalives, TEARDOWN) and the pre-built packets of
//! [`crate::synth::Stream`], paced per session. One task per RTSP connection; over TCP one write
//! per frame (all its interleaved packets), over UDP one datagram per packet from a server
//! socket pair.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::synth::{self, Stream};

/// Counters the sender reports every few seconds.
#[derive(Default)]
pub struct Stats {
    pub playing: AtomicU64,
    pub bytes: AtomicU64,
    pub frames: AtomicU64,
    /// Frames sent more than 40 ms (one frame period) after they were due.
    pub late_frames: AtomicU64,
    /// Largest lag seen, microseconds.
    pub max_lag_us: AtomicU64,
}

/// Largest RTSP request head we accept.
const MAX_REQUEST: usize = 16 * 1024;

pub async fn serve(listener: TcpListener, stream: Arc<Stream>, rate: f64, stats: Arc<Stats>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut next_id = 1u64;
    loop {
        let Ok((sock, peer)) = listener.accept().await else {
            continue;
        };
        let _ = sock.set_nodelay(true);
        let id = next_id;
        next_id += 1;
        let ctx = Conn {
            stream: stream.clone(),
            stats: stats.clone(),
            rate,
            port,
            peer,
            session_id: format!("{:016X}", 0x1000_0000_0000u64 + id),
        };
        tokio::spawn(async move {
            let _ = ctx.run(sock).await;
        });
    }
}

struct Conn {
    stream: Arc<Stream>,
    stats: Arc<Stats>,
    rate: f64,
    port: u16,
    peer: SocketAddr,
    session_id: String,
}

enum Media {
    Tcp,
    Udp {
        rtp: UdpSocket,
        _rtcp: UdpSocket,
        to: SocketAddr,
    },
}

struct Request {
    method: String,
    cseq: String,
    transport: Option<String>,
}

/// Parses one request head from `buf` (skipping interleaved `$` frames the client sends, e.g.
/// RTCP receiver reports); returns it and the bytes consumed.
fn parse_request(buf: &[u8]) -> Option<(Option<Request>, usize)> {
    if buf.first() == Some(&b'$') {
        if buf.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < 4 + len {
            return None;
        }
        return Some((None, 4 + len));
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let method = lines
        .next()?
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut cseq = String::new();
    let mut transport = None;
    let mut body = 0usize;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "cseq" => cseq = v.to_owned(),
            "transport" => transport = Some(v.to_owned()),
            "content-length" => body = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let total = end + 4 + body;
    if buf.len() < total {
        return None;
    }
    Some((
        Some(Request {
            method,
            cseq,
            transport,
        }),
        total,
    ))
}

impl Conn {
    async fn run(self, sock: TcpStream) -> std::io::Result<()> {
        let (mut rd, mut wr) = sock.into_split();
        let mut inbuf = Vec::with_capacity(4096);
        let mut media: Option<Media> = None;
        let mut playing = false;
        let mut next_due = Instant::now();
        let period = Duration::from_secs_f64(1.0 / f64::from(synth::FPS) / self.rate);
        let mut frame_no: u64 = 0;
        let mut seq: u16 = 0x1234;
        let ts0: u32 = 0x0100_0000;
        let mut out: Vec<u8> = Vec::with_capacity(256 * 1024);
        let result = loop {
            tokio::select! {
                r = rd.read_buf(&mut inbuf) => {
                    match r {
                        Ok(0) | Err(_) => break Ok(()),
                        Ok(_) => {}
                    }
                    if inbuf.len() > MAX_REQUEST + 70_000 {
                        break Ok(());
                    }
                    while let Some((req, used)) = parse_request(&inbuf) {
                        inbuf.drain(..used);
                        let Some(req) = req else { continue };
                        let (resp, teardown) = self.answer(&req, &mut media, seq, ts0.wrapping_add((frame_no as u32).wrapping_mul(synth::TICKS_PER_FRAME))).await;
                        wr.write_all(resp.as_bytes()).await?;
                        if req.method == "PLAY" && !playing {
                            playing = true;
                            next_due = Instant::now();
                            self.stats.playing.fetch_add(1, Ordering::Relaxed);
                        }
                        if teardown {
                            if playing {
                                self.stats.playing.fetch_sub(1, Ordering::Relaxed);
                            }
                            return Ok(());
                        }
                    }
                }
                _ = tokio::time::sleep_until(next_due), if playing => {
                    let lag = Instant::now().saturating_duration_since(next_due);
                    if lag > Duration::from_millis(40) {
                        self.stats.late_frames.fetch_add(1, Ordering::Relaxed);
                    }
                    self.stats.max_lag_us.fetch_max(lag.as_micros() as u64, Ordering::Relaxed);
                    let f = &self.stream.frames[(frame_no % synth::GOP as u64) as usize];
                    let ts = ts0.wrapping_add((frame_no as u32).wrapping_mul(synth::TICKS_PER_FRAME));
                    let mut bytes = 0u64;
                    match &media {
                        Some(Media::Udp { rtp, to, .. }) => {
                            for p in &f.packets {
                                out.clear();
                                out.extend_from_slice(p);
                                synth::patch(&mut out, seq, ts);
                                seq = seq.wrapping_add(1);
                                // A datagram the receiver has no room for is lost, as UDP does.
                                let _ = rtp.send_to(&out, to).await;
                                bytes += p.len() as u64;
                            }
                        }
                        _ => {
                            out.clear();
                            for p in &f.packets {
                                out.push(b'$');
                                out.push(0);
                                out.extend_from_slice(&(p.len() as u16).to_be_bytes());
                                let at = out.len();
                                out.extend_from_slice(p);
                                synth::patch(&mut out[at..], seq, ts);
                                seq = seq.wrapping_add(1);
                                bytes += p.len() as u64;
                            }
                            wr.write_all(&out).await?;
                        }
                    }
                    self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
                    self.stats.frames.fetch_add(1, Ordering::Relaxed);
                    frame_no += 1;
                    next_due += period;
                }
            }
        };
        if playing {
            self.stats.playing.fetch_sub(1, Ordering::Relaxed);
        }
        result
    }

    async fn answer(
        &self,
        req: &Request,
        media: &mut Option<Media>,
        seq: u16,
        rtptime: u32,
    ) -> (String, bool) {
        let base = format!("rtsp://127.0.0.1:{}/stream/", self.port);
        let mut h = format!("RTSP/1.0 200 OK\r\nCSeq: {}\r\n", req.cseq);
        let session = format!("Session: {};timeout=60\r\n", self.session_id);
        match req.method.as_str() {
            "OPTIONS" => {
                h += "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER\r\n\r\n";
            }
            "DESCRIBE" => {
                let b64 = base64::engine::general_purpose::STANDARD;
                let s = &self.stream;
                let plid = s
                    .sps
                    .get(1..4)
                    .map(|b| format!("{:02X}{:02X}{:02X}", b[0], b[1], b[2]))
                    .unwrap_or_default();
                let sdp = format!(
                    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=camlink bench\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\na=range:npt=now-\r\n\
                     m=video 0 RTP/AVP {pt}\r\na=rtpmap:{pt} H264/90000\r\n\
                     a=fmtp:{pt} packetization-mode=1;profile-level-id={plid};sprop-parameter-sets={},{}\r\n\
                     a=framerate:25\r\na=control:trackID=1\r\n",
                    b64.encode(&s.sps),
                    b64.encode(&s.pps),
                    pt = synth::PAYLOAD_TYPE,
                );
                h += &format!(
                    "Content-Base: {base}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                    sdp.len()
                );
            }
            "SETUP" => {
                let t = req.transport.clone().unwrap_or_default();
                let ssrc = format!("{:08X}", self.stream.ssrc);
                if t.contains("TCP") || t.contains("interleaved") {
                    *media = Some(Media::Tcp);
                    h += &format!(
                        "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc={ssrc}\r\n{session}\r\n"
                    );
                } else {
                    let ports = t
                        .split(';')
                        .find_map(|p| p.trim().strip_prefix("client_port="))
                        .and_then(|p| {
                            let (a, b) = p.split_once('-').unwrap_or((p, p));
                            Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?))
                        });
                    let Some((a, b)) = ports else {
                        return (
                            format!(
                                "RTSP/1.0 461 Unsupported Transport\r\nCSeq: {}\r\n\r\n",
                                req.cseq
                            ),
                            false,
                        );
                    };
                    let (rtp, rtcp) = match udp_pair().await {
                        Ok(p) => p,
                        Err(_) => {
                            return (
                                format!(
                                    "RTSP/1.0 500 Internal Server Error\r\nCSeq: {}\r\n\r\n",
                                    req.cseq
                                ),
                                false,
                            );
                        }
                    };
                    let sp = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
                    let to = SocketAddr::new(self.peer.ip(), a);
                    *media = Some(Media::Udp {
                        rtp,
                        _rtcp: rtcp,
                        to,
                    });
                    h += &format!(
                        "Transport: RTP/AVP;unicast;client_port={a}-{b};server_port={sp}-{};ssrc={ssrc}\r\n{session}\r\n",
                        sp + 1
                    );
                }
            }
            "PLAY" => {
                h += &format!(
                    "RTP-Info: url={base}trackID=1;seq={seq};rtptime={rtptime}\r\nRange: npt=0.000-\r\n{session}\r\n"
                );
            }
            "TEARDOWN" => {
                h += &format!("{session}\r\n");
                return (h, true);
            }
            _ => {
                h += &format!("{session}\r\n");
            }
        }
        (h, false)
    }
}

/// An even/odd pair of UDP ports on loopback.
async fn udp_pair() -> std::io::Result<(UdpSocket, UdpSocket)> {
    for _ in 0..100 {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let p = a.local_addr()?.port();
        if p % 2 != 0 || p == u16::MAX {
            continue;
        }
        if let Ok(b) = UdpSocket::bind(("127.0.0.1", p + 1)).await {
            return Ok((a, b));
        }
    }
    Err(std::io::Error::other("no free UDP port pair"))
}
