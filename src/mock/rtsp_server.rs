//! The mock camera's RTSP server: OPTIONS, DESCRIBE, SETUP (TCP interleaved and UDP unicast),
//! PLAY with RTP-Info, PAUSE, GET_PARAMETER/SET_PARAMETER keepalives and TEARDOWN, with digest
//! or basic authentication, session timeouts, injectable faults and RTCP sender reports.
//!
//! Built on the RTSP core ([`crate::rtsp`]) from the server side and on the packetizers of
//! [`crate::codec`]. Media comes from [`super::media`], paced in real time (or unpaced).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use bytes::{BufMut as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::camera::Shared;
use super::config::ProfileConfig;
use super::faults::{Fault, SeededRng};
use super::media::{self, AudioCodec, MediaTrack, VideoCodec};
use crate::auth::server::Rejection;
use crate::codec::{Packetizer, PacketizerConfig};
use crate::rtp::NtpTimestamp;
use crate::rtp::rtcp::{SenderReport, build_sender_report_with_cname};
use crate::rtsp::framing::{Framer, Item, Limits};
use crate::rtsp::headers::{LowerTransport, RtpInfo, Transport, format_rtp_info};
use crate::rtsp::message::{Message, Method, Request, Response};
use crate::rtsp::sdp::{Media, SessionDescription};

/// Packets queued towards one TCP client before the sender waits.
const WRITE_QUEUE: usize = 1024;
/// How often a sender report is sent per track.
const SR_INTERVAL: Duration = Duration::from_secs(1);
/// Most tracks one session may set up.
const MAX_TRACKS: usize = 8;

/// One track a profile offers.
struct TrackSpec {
    media: Media,
    track: MediaTrack,
    kind: TrackKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackKind {
    H264,
    H265,
    Jpeg,
    Aac,
    Pcmu,
    Pcma,
    Metadata,
}

/// The tracks of a profile, with their SDP media descriptions.
fn tracks_for(p: &ProfileConfig) -> crate::Result<Vec<TrackSpec>> {
    let mut out = Vec::new();
    let video = media::video_track(p.video, p.width)?;
    let n = out.len() + 1;
    let control = format!("trackID={n}");
    let (m, kind) = match p.video {
        VideoCodec::H264 => {
            let sps = video.parameter_sets.first().cloned().unwrap_or_default();
            let pps = video.parameter_sets.get(1).cloned().unwrap_or_default();
            (Media::h264(96, &sps, &pps, &control), TrackKind::H264)
        }
        VideoCodec::H265 => {
            let ps = &video.parameter_sets;
            let get = |i: usize| ps.get(i).cloned().unwrap_or_default();
            (
                Media::h265(97, &get(0), &get(1), &get(2), &control),
                TrackKind::H265,
            )
        }
        VideoCodec::Jpeg => (Media::jpeg(&control), TrackKind::Jpeg),
    };
    out.push(TrackSpec {
        media: m,
        track: video,
        kind,
    });
    if let Some(a) = p.audio {
        let track = media::audio_track(a)?;
        let control = format!("trackID={}", out.len() + 1);
        let (m, kind) = match a {
            AudioCodec::Aac => {
                let cfg = track.audio_config.clone().unwrap_or_default();
                (
                    Media::aac(98, track.clock_rate, 1, &cfg, &control),
                    TrackKind::Aac,
                )
            }
            AudioCodec::Pcmu => (Media::pcmu(&control), TrackKind::Pcmu),
            AudioCodec::Pcma => (Media::pcma(&control), TrackKind::Pcma),
        };
        out.push(TrackSpec {
            media: m,
            track,
            kind,
        });
    }
    if p.metadata {
        let control = format!("trackID={}", out.len() + 1);
        out.push(TrackSpec {
            media: Media::onvif_metadata(107, &control),
            track: metadata_track(),
            kind: TrackKind::Metadata,
        });
    }
    Ok(out)
}

/// ONVIF metadata documents, one a second, alternating motion on and off.
fn metadata_track() -> MediaTrack {
    let frames = [true, false]
        .iter()
        .map(|on| {
            let doc = format!(
                concat!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><tt:MetadataStream xmlns:tt="http://www.onvif.org/ver10/schema" "#,
                    r#"xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tns1="http://www.onvif.org/ver10/topics"><tt:Event>"#,
                    r#"<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">"#,
                    r#"tns1:RuleEngine/CellMotionDetector/Motion</wsnt:Topic><wsnt:Message><tt:Message UtcTime="1970-01-01T00:00:00Z" PropertyOperation="Changed">"#,
                    r#"<tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="VideoSourceConfig_1"/></tt:Source>"#,
                    r#"<tt:Data><tt:SimpleItem Name="IsMotion" Value="{}"/></tt:Data></tt:Message></wsnt:Message>"#,
                    r#"</wsnt:NotificationMessage></tt:Event></tt:MetadataStream>"#
                ),
                on
            );
            media::MediaFrame {
                nalus: vec![Bytes::from(doc)],
                duration: 90_000,
                keyframe: true,
            }
        })
        .collect();
    MediaTrack {
        frames,
        clock_rate: 90_000,
        dimensions: None,
        parameter_sets: Vec::new(),
        audio_config: None,
    }
}

fn packetizer(kind: TrackKind, cfg: PacketizerConfig) -> crate::Result<Box<dyn Packetizer + Send>> {
    use crate::codec::{aac, g711, h264, h265, jpeg, nal::NalFormat};
    Ok(match kind {
        TrackKind::H264 => Box::new(h264::H264Packetizer::new(cfg, NalFormat::LengthPrefixed)?),
        TrackKind::H265 => Box::new(h265::H265Packetizer::new(cfg, NalFormat::LengthPrefixed)?),
        TrackKind::Jpeg => Box::new(jpeg::JpegPacketizer::new(cfg)?),
        TrackKind::Aac => Box::new(aac::AacPacketizer::new(cfg)?),
        TrackKind::Pcmu | TrackKind::Pcma => Box::new(g711::G711Packetizer::new(cfg)?),
        TrackKind::Metadata => Box::new(crate::codec::metadata::MetadataPacketizer::new(cfg)?),
    })
}

/// A frame as the packetizer takes it: NAL units length-prefixed, or the payload as it is.
fn frame_bytes(kind: TrackKind, f: &media::MediaFrame) -> Bytes {
    match kind {
        TrackKind::H264 | TrackKind::H265 => {
            let mut b = BytesMut::new();
            for n in &f.nalus {
                b.put_u32(n.len() as u32);
                b.extend_from_slice(n);
            }
            b.freeze()
        }
        _ => f.nalus.first().cloned().unwrap_or_default(),
    }
}

/// Where a track's packets go.
#[derive(Debug, Clone)]
enum Sink {
    /// Interleaved on the RTSP connection on these channels.
    Tcp { rtp: u8, rtcp: u8 },
    /// UDP to the client's ports, from our socket pair.
    Udp {
        rtp: Arc<UdpSocket>,
        rtcp: Arc<UdpSocket>,
        client_rtp: SocketAddr,
        client_rtcp: SocketAddr,
    },
}

struct SetupTrack {
    index: usize,
    sink: Sink,
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
    };
    let mut framer = Framer::new(Limits::default());
    let mut shutdown = shared.shutdown.subscribe();
    'conn: loop {
        loop {
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
        let idle = conn
            .session
            .as_ref()
            .map(|s| timeout.saturating_sub(s.last_activity.elapsed()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            r = reader.read_buf(framer.read_buf()) => match r {
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
            let _ = self.shared.shutdown.subscribe().changed().await;
            return false;
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
        });
        if change_id {
            session.id = new_id();
        }
        session.tracks.retain(|t| t.index != index);
        session.tracks.push(SetupTrack {
            index,
            sink,
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
                    Ok(p) => senders.push(TrackSender {
                        index: t.index,
                        sink: t.sink.clone(),
                        packetizer: p,
                        ts0: t.ts0,
                        ssrc: t.ssrc,
                        packets: 0,
                        octets: 0,
                        frame: 0,
                        elapsed_ticks: 0,
                        next_sr: Instant::now(),
                    }),
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

struct TrackSender {
    index: usize,
    sink: Sink,
    packetizer: Box<dyn Packetizer + Send>,
    ts0: u32,
    ssrc: u32,
    packets: u32,
    octets: u32,
    frame: usize,
    /// RTP ticks of the frames sent so far (across loops).
    elapsed_ticks: u64,
    next_sr: Instant,
}

impl TrackSender {
    fn rtp_ts(&self) -> u32 {
        self.ts0.wrapping_add(self.elapsed_ticks as u32)
    }
}

/// Sends the tracks of a playing session until stopped, paced by their timestamps.
async fn send_media(
    shared: Arc<Shared>,
    tracks: Arc<Vec<TrackSpec>>,
    mut senders: Vec<TrackSender>,
    tx: mpsc::Sender<Bytes>,
    mut stop: watch::Receiver<bool>,
    close: watch::Sender<bool>,
    mut rng: SeededRng,
) {
    if senders.is_empty() {
        return;
    }
    let start = tokio::time::Instant::now();
    let mut total_packets: u64 = 0;
    let mut held: Option<(usize, Bytes)> = None; // a packet held back to reorder
    let mut out = Vec::with_capacity(64);
    loop {
        if *stop.borrow() {
            return;
        }
        // The track whose next frame is due first.
        let (i, due) = senders
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let rate = u64::from(tracks[s.index].track.clock_rate.max(1));
                (i, Duration::from_micros(s.elapsed_ticks * 1_000_000 / rate))
            })
            .min_by_key(|(_, d)| *d)
            .unwrap_or((0, Duration::ZERO));
        if !shared.config.unpaced {
            tokio::select! {
                _ = tokio::time::sleep_until(start + due) => {}
                _ = stop.changed() => return,
            }
        } else {
            tokio::task::yield_now().await;
        }
        let s = &mut senders[i];
        let spec = &tracks[s.index];
        let frames = &spec.track.frames;
        let Some(f) = frames.get(s.frame % frames.len().max(1)) else {
            return;
        };
        let ts = s.rtp_ts();
        out.clear();
        let data = frame_bytes(spec.kind, f);
        if s.packetizer.packetize(&data, ts, &mut out).is_err() {
            return;
        }
        s.frame = s.frame.wrapping_add(1);
        s.elapsed_ticks += u64::from(f.duration);
        if shared.faults.is_on("stop-rtp") {
            continue;
        }
        // A sender report now and then, mapping the current RTP time to the camera's clock.
        if Instant::now() >= s.next_sr {
            s.next_sr = Instant::now() + SR_INTERVAL;
            let camera_time = SystemTime::now()
                + Duration::from_secs(shared.clock_offset.load(Ordering::Relaxed).max(0) as u64);
            let sr = SenderReport {
                ssrc: s.ssrc,
                ntp: NtpTimestamp::from_system_time(camera_time),
                rtp_timestamp: ts,
                packet_count: s.packets,
                octet_count: s.octets,
                reports: Vec::new(),
            };
            if let Ok(b) = build_sender_report_with_cname(&sr, "camlink-mock")
                && !emit(&s.sink, &tx, true, b).await
            {
                return;
            }
        }
        let loss = match shared.faults.get("loss") {
            Some(Fault::PacketLoss(p)) => p,
            _ => 0.0,
        };
        let reorder = match shared.faults.get("reorder") {
            Some(Fault::PacketReorder(p)) => p,
            _ => 0.0,
        };
        let dup = match shared.faults.get("duplicate") {
            Some(Fault::PacketDuplicate(p)) => p,
            _ => 0.0,
        };
        let close_after = match shared.faults.get("close-mid-stream") {
            Some(Fault::CloseMidStream { after_packets }) => Some(u64::from(after_packets)),
            _ => None,
        };
        for pkt in out.drain(..) {
            let st = &mut senders[i];
            st.packets = st.packets.wrapping_add(1);
            st.octets = st.octets.wrapping_add(pkt.len().saturating_sub(12) as u32);
            total_packets += 1;
            if close_after.is_some_and(|n| total_packets > n) {
                let _ = close.send(true);
                return;
            }
            if rng.chance(loss) {
                continue;
            }
            if held.is_none() && rng.chance(reorder) {
                held = Some((i, pkt));
                continue;
            }
            let copies = if rng.chance(dup) { 2 } else { 1 };
            for _ in 0..copies {
                if !emit(&senders[i].sink, &tx, false, pkt.clone()).await {
                    return;
                }
            }
            if let Some((hi, h)) = held.take()
                && !emit(&senders[hi].sink, &tx, false, h).await
            {
                return;
            }
        }
    }
}

/// Sends one RTP (or RTCP) packet to a sink; false when the client is gone.
async fn emit(sink: &Sink, tx: &mpsc::Sender<Bytes>, rtcp: bool, pkt: Bytes) -> bool {
    match sink {
        Sink::Tcp { rtp, rtcp: rc } => {
            let Ok(len) = u16::try_from(pkt.len()) else {
                return true;
            };
            let mut b = BytesMut::with_capacity(4 + pkt.len());
            b.put_u8(b'$');
            b.put_u8(if rtcp { *rc } else { *rtp });
            b.put_u16(len);
            b.extend_from_slice(&pkt);
            tx.send(b.freeze()).await.is_ok()
        }
        Sink::Udp {
            rtp,
            rtcp: rc,
            client_rtp,
            client_rtcp,
        } => {
            let (sock, to) = if rtcp {
                (rc, client_rtcp)
            } else {
                (rtp, client_rtp)
            };
            // A lost datagram (no listener yet, buffer full) is what UDP does; keep going.
            let _ = sock.send_to(&pkt, to).await;
            !tx.is_closed()
        }
    }
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

#[cfg(test)]
mod media_tests {
    use super::*;

    /// Every sample frame of every codec packetizes: the mock can stream all of them.
    #[test]
    fn every_sample_packetizes() {
        let p = ProfileConfig::new("x", VideoCodec::H264, 640, 360);
        let mut profiles = Vec::new();
        for v in [VideoCodec::H264, VideoCodec::H265, VideoCodec::Jpeg] {
            for a in [AudioCodec::Aac, AudioCodec::Pcmu, AudioCodec::Pcma] {
                let mut q = p.clone();
                q.video = v;
                q.audio = Some(a);
                q.metadata = true;
                profiles.push(q);
            }
        }
        for p in profiles {
            for t in tracks_for(&p).unwrap() {
                let mut pk = packetizer(t.kind, PacketizerConfig::new(96, 1)).unwrap();
                let mut out = Vec::new();
                for (i, f) in t.track.frames.iter().enumerate() {
                    pk.packetize(&frame_bytes(t.kind, f), i as u32, &mut out)
                        .unwrap_or_else(|e| panic!("{:?} frame {i}: {e}", t.kind));
                }
                assert!(out.len() >= t.track.frames.len(), "{:?}", t.kind);
            }
        }
    }
}
