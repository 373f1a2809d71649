//! The mock camera's RTSP server: OPTIONS, DESCRIBE, SETUP (TCP interleaved and UDP unicast),
//! PLAY with RTP-Info, PAUSE, GET_PARAMETER/SET_PARAMETER keepalives and TEARDOWN, with digest
//! or basic authentication, session timeouts, injectable faults and RTCP sender reports.
//!
//! Built on the RTSP core ([`crate::rtsp`]) from the server side and on the packetizers of
//! [`crate::codec`]. Media comes from [`super::media`], paced in real time (or unpaced).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc, watch};

use super::camera::Shared;
use super::faults::{Fault, SeededRng};
use super::rtsp_media::{Sink, TrackSender, TrackSpec, packetizer, send_media, tracks_for};
use crate::auth::server::Rejection;
use crate::codec::PacketizerConfig;
use crate::rtsp::framing::{Framer, Item, Limits};
use crate::rtsp::headers::{LowerTransport, RtpInfo, Transport, format_rtp_info};
use crate::rtsp::message::{Message, Method, Request, Response};
use crate::rtsp::sdp::SessionDescription;

/// Packets queued towards one TCP client before the sender waits.
const WRITE_QUEUE: usize = 1024;
/// Most tracks one session may set up.
const MAX_TRACKS: usize = 8;

struct SetupTrack {
    index: usize,
    sink: Sink,
    /// Over UDP: dropped with the track, which ends its RTCP reader.
    _rtcp_reader: Option<watch::Sender<()>>,
    ssrc: u32,
    seq0: u16,
    ts0: u32,
}

struct Session {
    id: String,
    profile: usize,
    tracks: Vec<SetupTrack>,
    playing: Option<watch::Sender<bool>>,
    last_activity: Instant,
    /// Signalled by the tasks that read the client's RTCP over UDP: receiver reports keep a
    /// session alive (RFC 2326 §12.37), as they do over TCP.
    rtcp_seen: Arc<Notify>,
}

/// Most bytes of one RTCP datagram read (the rest is cut; only its arrival matters).
const RTCP_READ_LEN: usize = 1500;

/// Reads the client's RTCP on a UDP session's socket until the session is gone; each datagram
/// from the client's address counts as activity.
async fn read_rtcp(
    sock: Arc<UdpSocket>,
    client: std::net::IpAddr,
    seen: Arc<Notify>,
    mut alive: watch::Receiver<()>,
) {
    let mut buf = vec![0u8; RTCP_READ_LEN];
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok((_, from)) if from.ip() == client => seen.notify_one(),
                Ok(_) => {}
                // ICMP port unreachable from an earlier send shows up here: keep reading.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            r = alive.changed() => if r.is_err() { return },
        }
    }
}

/// Serves one RTSP connection.
pub(crate) async fn serve<S>(shared: Arc<Shared>, stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let (close_tx, mut close_rx) = watch::channel(false);
    // The writer task owns the write half: responses and interleaved packets share it.
    let writer_task = tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut conn = Conn {
        shared: shared.clone(),
        peer,
        tx,
        close_tx,
        session: None,
        rng: SeededRng::new(shared.config.seed ^ u64::from(peer.port())),
        profiles: Vec::new(),
        stalled: false,
    };
    let mut framer = Framer::new(Limits::default());
    let mut shutdown = shared.shutdown.subscribe();
    let mut scratch = [0u8; 1024];
    'conn: loop {
        while !conn.stalled {
            match framer.next_item() {
                Ok(Some(Item::Message(Message::Request(req)))) => {
                    shared.requests.fetch_add(1, Ordering::Relaxed);
                    if !conn.request(req).await {
                        break 'conn;
                    }
                }
                Ok(Some(Item::Message(Message::Response(_)))) => {}
                Ok(Some(Item::Data { .. })) => {
                    // RTCP receiver reports from the client keep the session alive.
                    if let Some(s) = conn.session.as_mut() {
                        s.last_activity = Instant::now();
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "mock rtsp: unparseable request");
                    let r = Response::builder(400).build();
                    if let Ok(r) = r {
                        let _ = conn.tx.send(r.to_bytes()).await;
                    }
                    break 'conn;
                }
            }
        }
        let timeout = conn.session_timeout();
        let rtcp_seen = conn.session.as_ref().map(|s| s.rtcp_seen.clone());
        let stalled = conn.stalled;
        let idle = conn
            .session
            .as_ref()
            .map(|s| timeout.saturating_sub(s.last_activity.elapsed()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            r = async {
                if stalled {
                    reader.read(&mut scratch).await
                } else {
                    reader.read_buf(framer.read_buf()).await
                }
            } => match r {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
            _ = tokio::time::sleep(idle) => {
                if let Some(s) = conn.session.as_ref()
                    && s.last_activity.elapsed() >= timeout {
                        tracing::debug!(%peer, session = %s.id, "mock rtsp: session timed out");
                        conn.stop();
                        conn.session = None;
                    }
            }
            _ = async {
                match &rtcp_seen {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(s) = conn.session.as_mut() {
                    s.last_activity = Instant::now();
                }
            }
            _ = close_rx.changed() => break,
            _ = shutdown.changed() => break,
        }
    }
    conn.stop();
    drop(conn);
    let _ = writer_task.await;
}

struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tx: mpsc::Sender<Bytes>,
    close_tx: watch::Sender<bool>,
    session: Option<Session>,
    rng: SeededRng,
    /// Tracks of the profile described or set up (cached per connection).
    profiles: Vec<(usize, Arc<Vec<TrackSpec>>)>,
    /// The stall fault caught a request: nothing is answered on this connection any more.
    stalled: bool,
}

impl Conn {
    fn session_timeout(&self) -> Duration {
        match self.shared.faults.get("expire-session") {
            Some(Fault::ExpireSessionEarly(d)) => d,
            _ => self.shared.config.session_timeout,
        }
    }

    fn stop(&mut self) {
        if let Some(s) = self.session.as_mut()
            && let Some(p) = s.playing.take()
        {
            let _ = p.send(true);
        }
    }

    async fn send(&self, resp: crate::Result<Response>) -> bool {
        match resp {
            Ok(r) => self.tx.send(r.to_bytes()).await.is_ok(),
            Err(_) => false,
        }
    }

    fn base(&self, token: &str) -> String {
        format!(
            "rtsp://{}:{}/{token}/",
            self.shared.uri_host(),
            self.shared.ports.rtsp
        )
    }

    /// The profile index and track number named by a request URL (`/<token>[/trackID=N]`).
    fn target(&self, url: &str) -> Option<(usize, Option<usize>)> {
        let path = match url::Url::parse(url) {
            Ok(u) => u.path().to_string(),
            Err(_) => url.to_string(),
        };
        let mut parts = path.trim_matches('/').split('/');
        let token = parts.next()?;
        let idx = self
            .shared
            .config
            .profiles
            .iter()
            .position(|p| p.token == token)?;
        let track = parts
            .next()
            .and_then(|t| t.strip_prefix("trackID="))
            .and_then(|n| n.parse::<usize>().ok());
        Some((idx, track))
    }

    fn tracks(&mut self, profile: usize) -> crate::Result<Arc<Vec<TrackSpec>>> {
        if let Some((_, t)) = self.profiles.iter().find(|(i, _)| *i == profile) {
            return Ok(t.clone());
        }
        let p = self
            .shared
            .config
            .profiles
            .get(profile)
            .ok_or_else(|| crate::Error::invalid_input("no such profile"))?;
        let t = Arc::new(tracks_for(p)?);
        self.profiles.push((profile, t.clone()));
        Ok(t)
    }

    /// Handles one request; false closes the connection.
    async fn request(&mut self, req: Request) -> bool {
        let cseq = req.headers.cseq().unwrap_or(0);
        if let Some(s) = self.session.as_mut() {
            s.last_activity = Instant::now();
        }
        if self.shared.faults.is_on("drop") {
            return false;
        }
        if self.shared.faults.is_on("stall") {
            // Never answer again on this connection; the serve loop keeps reading (and
            // discarding) so that it notices the client closing.
            self.stalled = true;
            return true;
        }
        if let Some(Fault::SlowAnswers(d)) = self.shared.faults.get("slow") {
            tokio::time::sleep(d).await;
        }
        let resp = |status: u16| Response::builder(status).cseq(cseq);
        // Authentication for everything but OPTIONS.
        if req.method != Method::Options && self.shared.auth_required() {
            let auth = req.headers.get("Authorization");
            if let Err(r) = self.shared.check_http_auth(req.method.as_str(), auth, &[]) {
                let mut b = resp(401);
                for c in self.shared.challenges(r == Rejection::Stale) {
                    b = b.header("WWW-Authenticate", c);
                }
                return self.send(b.build()).await;
            }
        }
        match req.method {
            Method::Options => {
                self.send(
                    resp(200)
                        .header(
                            "Public",
                            "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER",
                        )
                        .build(),
                )
                .await
            }
            Method::Describe => self.describe(&req, cseq).await,
            Method::Setup => self.setup(&req, cseq).await,
            Method::Play => self.play(&req, cseq).await,
            Method::Pause => {
                if !self.session_matches(&req) {
                    return self.send(resp(454).build()).await;
                }
                self.stop();
                let id = self.session.as_ref().map(|s| s.id.clone()).unwrap_or_default();
                self.send(resp(200).header("Session", id).build()).await
            }
            Method::GetParameter | Method::SetParameter => {
                let mut b = resp(200);
                if let Some(s) = &self.session {
                    b = b.header("Session", s.id.clone());
                }
                self.send(b.build()).await
            }
            Method::Teardown => {
                self.stop();
                self.session = None;
                self.send(resp(200).build()).await
            }
            _ => self.send(resp(501).build()).await,
        }
    }

    fn session_matches(&self, req: &Request) -> bool {
        let Some(s) = &self.session else {
            return false;
        };
        let given = req
            .headers
            .get("Session")
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
        // With the session-id-change fault, the camera itself hands out new ids; accept any.
        self.shared.faults.is_on("session-id-change") || given.as_deref() == Some(s.id.as_str())
    }

    async fn describe(&mut self, req: &Request, cseq: u32) -> bool {
        if let Some(fx) = &self.shared.config.fixture
            && let Some(raw) = &fx.describe_response
        {
            return self.tx.send(Bytes::from(set_cseq(raw, cseq))).await.is_ok();
        }
        let Some((profile, _)) = self.target(&req.url) else {
            return self.send(Response::builder(404).cseq(cseq).build()).await;
        };
        let token = self.shared.config.profiles[profile].token.clone();
        let body = if self.shared.faults.is_on("malformed-sdp") {
            "v=0\r\nm=video 0 RTP/AVP\r\na=rtpmap:96\r\nthis is not SDP\r\n".to_string()
        } else if let Some(sdp) = self
            .shared
            .config
            .fixture
            .as_ref()
            .and_then(|f| f.describe_sdp.clone())
        {
            sdp
        } else {
            let tracks = match self.tracks(profile) {
                Ok(t) => t,
                Err(_) => return self.send(Response::builder(500).cseq(cseq).build()).await,
            };
            let id = &self.shared.config.identity;
            let mut sd = SessionDescription::new(
                u64::from(self.shared.ports.rtsp),
                &self.shared.uri_host(),
                &format!("{} {}", id.manufacturer, id.model),
            );
            sd.media = tracks.iter().map(|t| t.media.clone()).collect();
            sd.to_string()
        };
        self.send(
            Response::builder(200)
                .cseq(cseq)
                .header("Content-Base", self.base(&token))
                .header("Content-Type", "application/sdp")
                .body(body)
                .build(),
        )
        .await
    }

    async fn setup(&mut self, req: &Request, cseq: u32) -> bool {
        let resp = |s: u16| Response::builder(s).cseq(cseq);
        let Some((profile, Some(track_no))) = self.target(&req.url) else {
            return self.send(resp(404).build()).await;
        };
        let tracks = match self.tracks(profile) {
            Ok(t) => t,
            Err(_) => return self.send(resp(500).build()).await,
        };
        let Some(index) = track_no.checked_sub(1).filter(|i| *i < tracks.len()) else {
            return self.send(resp(404).build()).await;
        };
        if let Some(s) = &self.session {
            if s.profile != profile || s.playing.is_some() || s.tracks.len() >= MAX_TRACKS {
                return self.send(resp(455).build()).await;
            }
            if req.headers.get("Session").is_some() && !self.session_matches(req) {
                return self.send(resp(454).build()).await;
            }
        }
        let offers = Transport::parse_list(req.headers.get("Transport").unwrap_or(""));
        let ssrc = self.rng.next_u64() as u32;
        let mut chosen = None;
        for t in offers {
            match t.lower {
                LowerTransport::Tcp => {
                    let used = self.session.as_ref().map_or(0, |s| s.tracks.len()) as u8;
                    let (rtp, rtcp) = match t.interleaved {
                        Some((a, b)) => (a, b.unwrap_or(a.wrapping_add(1))),
                        None => (used * 2, used * 2 + 1),
                    };
                    let reply = Transport {
                        profile: "RTP/AVP".into(),
                        lower: LowerTransport::Tcp,
                        delivery: Some(crate::rtsp::headers::Delivery::Unicast),
                        interleaved: Some((rtp, Some(rtcp))),
                        ssrc: Some(ssrc),
                        mode: Some("play".into()),
                        ..Transport::default()
                    };
                    chosen = Some((Sink::Tcp { rtp, rtcp }, reply));
                    break;
                }
                LowerTransport::Udp => {
                    if t.delivery == Some(crate::rtsp::headers::Delivery::Multicast) {
                        continue;
                    }
                    let Some((crtp, crtcp)) = t.client_port else {
                        continue;
                    };
                    let crtcp = crtcp.unwrap_or(crtp.wrapping_add(1));
                    let bind = SocketAddr::new(self.shared.config.bind, 0);
                    let (Ok(a), Ok(b)) = (UdpSocket::bind(bind).await, UdpSocket::bind(bind).await)
                    else {
                        return self.send(resp(500).build()).await;
                    };
                    let (Ok(pa), Ok(pb)) = (a.local_addr(), b.local_addr()) else {
                        return self.send(resp(500).build()).await;
                    };
                    // Packets only ever go to the address the RTSP client connected from.
                    let ip = self.peer.ip();
                    let reply = Transport {
                        profile: "RTP/AVP".into(),
                        lower: LowerTransport::Udp,
                        delivery: Some(crate::rtsp::headers::Delivery::Unicast),
                        client_port: Some((crtp, Some(crtcp))),
                        server_port: Some((pa.port(), Some(pb.port()))),
                        ssrc: Some(ssrc),
                        mode: Some("play".into()),
                        ..Transport::default()
                    };
                    chosen = Some((
                        Sink::Udp {
                            rtp: Arc::new(a),
                            rtcp: Arc::new(b),
                            client_rtp: SocketAddr::new(ip, crtp),
                            client_rtcp: SocketAddr::new(ip, crtcp),
                        },
                        reply,
                    ));
                    break;
                }
            }
        }
        let Some((sink, reply)) = chosen else {
            return self.send(resp(461).build()).await;
        };
        let change_id = self.shared.faults.is_on("session-id-change");
        let new_id = || format!("{:016X}", crate::auth::random_u64());
        let session = self.session.get_or_insert_with(|| Session {
            id: new_id(),
            profile,
            tracks: Vec::new(),
            playing: None,
            last_activity: Instant::now(),
            rtcp_seen: Arc::new(Notify::new()),
        });
        // The reader of the client's RTCP ends when the track is dropped (session gone or
        // track set up again).
        let rtcp_reader = match &sink {
            Sink::Udp { rtcp, .. } => {
                let (alive, alive_rx) = watch::channel(());
                tokio::spawn(read_rtcp(
                    rtcp.clone(),
                    self.peer.ip(),
                    session.rtcp_seen.clone(),
                    alive_rx,
                ));
                Some(alive)
            }
            Sink::Tcp { .. } => None,
        };
        if change_id {
            session.id = new_id();
        }
        session.tracks.retain(|t| t.index != index);
        session.tracks.push(SetupTrack {
            index,
            sink,
            _rtcp_reader: rtcp_reader,
            ssrc,
            seq0: self.rng.next_u64() as u16,
            ts0: self.rng.next_u64() as u32,
        });
        let mut transport = reply.to_string();
        if self.shared.config.quirks.setup_ssrc_space {
            transport = transport.replace(";ssrc=", ";ssrc= ");
        }
        let timeout = self.shared.config.session_timeout.as_secs();
        let id = session.id.clone();
        self.send(
            resp(200)
                .header("Transport", transport)
                .header("Session", format!("{id};timeout={timeout}"))
                .build(),
        )
        .await
    }

    async fn play(&mut self, req: &Request, cseq: u32) -> bool {
        let resp = |s: u16| Response::builder(s).cseq(cseq);
        if !self.session_matches(req) {
            return self.send(resp(454).build()).await;
        }
        let Some(s) = self.session.as_ref() else {
            return self.send(resp(454).build()).await;
        };
        let profile = s.profile;
        let tracks = match self.tracks(profile) {
            Ok(t) => t,
            Err(_) => return self.send(resp(500).build()).await,
        };
        let token = self.shared.config.profiles[profile].token.clone();
        let base = self.base(&token);
        let Some(s) = self.session.as_mut() else {
            return false;
        };
        if s.playing.is_none() {
            let (stop_tx, stop_rx) = watch::channel(false);
            let mut senders = Vec::new();
            for t in &s.tracks {
                let spec = &tracks[t.index];
                let cfg = PacketizerConfig::new(
                    spec.media.payload_types.first().copied().unwrap_or(96),
                    t.ssrc,
                )
                .initial_sequence(t.seq0);
                match packetizer(spec.kind, cfg) {
                    Ok(p) => {
                        senders.push(TrackSender::new(t.index, t.sink.clone(), p, t.ts0, t.ssrc))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "mock rtsp: track not streamed");
                    }
                }
            }
            tokio::spawn(send_media(
                self.shared.clone(),
                tracks.clone(),
                senders,
                self.tx.clone(),
                stop_rx,
                self.close_tx.clone(),
                SeededRng::new(self.rng.next_u64()),
            ));
            s.playing = Some(stop_tx);
        }
        let infos: Vec<RtpInfo> = s
            .tracks
            .iter()
            .map(|t| RtpInfo {
                url: Some(format!("{base}trackID={}", t.index + 1)),
                seq: Some(t.seq0),
                rtptime: Some(t.ts0),
                ssrc: None,
            })
            .collect();
        let id = s.id.clone();
        self.send(
            resp(200)
                .header("Session", id)
                .header("Range", "npt=0.000-")
                .header("RTP-Info", format_rtp_info(&infos))
                .build(),
        )
        .await
    }
}

/// Replaces (or adds) the CSeq of a captured response.
fn set_cseq(raw: &[u8], cseq: u32) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (&text[..i], &text[i..]),
        None => (&text[..], ""),
    };
    let mut out = String::new();
    let mut found = false;
    for (n, line) in head.split("\r\n").enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        if line.to_ascii_lowercase().starts_with("cseq:") {
            out.push_str(&format!("CSeq: {cseq}"));
            found = true;
        } else {
            out.push_str(line);
        }
    }
    if !found {
        out.push_str(&format!("\r\nCSeq: {cseq}"));
    }
    out.push_str(body);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_is_replaced_or_added() {
        let r = set_cseq(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nbody", 7);
        assert_eq!(r, b"RTSP/1.0 200 OK\r\nCSeq: 7\r\n\r\nbody");
        let r = set_cseq(b"RTSP/1.0 200 OK\r\nServer: x\r\n\r\n", 3);
        assert_eq!(r, b"RTSP/1.0 200 OK\r\nServer: x\r\nCSeq: 3\r\n\r\n");
    }
}
