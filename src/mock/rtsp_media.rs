//! What the mock camera's RTSP server streams: the tracks of a profile (SDP media and sample
//! frames), their packetizers, and the sender that paces them, applies packet faults and sends
//! RTCP sender reports on the camera's clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use bytes::{BufMut as _, Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::camera::Shared;
use super::config::ProfileConfig;
use super::faults::{Fault, SeededRng};
use super::media::{self, AudioCodec, MediaTrack, VideoCodec};
use super::synthetic::SyntheticH264;
use crate::codec::{Packetizer, PacketizerConfig};
use crate::rtp::NtpTimestamp;
use crate::rtp::rtcp::{SenderReport, build_sender_report_with_cname};
use crate::rtsp::sdp::Media;

/// How often a sender report is sent per track.
const SR_INTERVAL: Duration = Duration::from_secs(1);

/// One track a profile offers.
pub(crate) struct TrackSpec {
    pub(crate) media: Media,
    pub(crate) track: MediaTrack,
    pub(crate) kind: TrackKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackKind {
    H264,
    H265,
    Jpeg,
    Aac,
    Pcmu,
    Pcma,
    Metadata,
}

/// The tracks of a profile, with their SDP media descriptions.
pub(crate) fn tracks_for(p: &ProfileConfig) -> crate::Result<Vec<TrackSpec>> {
    let mut out = Vec::new();
    let video = match p.synthetic_bitrate {
        Some(b) if p.video == VideoCodec::H264 => SyntheticH264::shared_track(b),
        _ => media::video_track(p.video, p.width)?,
    };
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

pub(crate) fn packetizer(
    kind: TrackKind,
    cfg: PacketizerConfig,
) -> crate::Result<Box<dyn Packetizer + Send>> {
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
pub(crate) fn frame_bytes(kind: TrackKind, f: &media::MediaFrame) -> Bytes {
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
pub(crate) enum Sink {
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

pub(crate) struct TrackSender {
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
    /// A sender for one set-up track.
    pub(crate) fn new(
        index: usize,
        sink: Sink,
        packetizer: Box<dyn Packetizer + Send>,
        ts0: u32,
        ssrc: u32,
    ) -> Self {
        TrackSender {
            index,
            sink,
            packetizer,
            ts0,
            ssrc,
            packets: 0,
            octets: 0,
            frame: 0,
            elapsed_ticks: 0,
            next_sr: Instant::now(),
        }
    }

    fn rtp_ts(&self) -> u32 {
        self.ts0.wrapping_add(self.elapsed_ticks as u32)
    }
}

/// Sends the tracks of a playing session until stopped, paced by their timestamps.
pub(crate) async fn send_media(
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
        // Stopped, or the session is gone (its connection dropped, e.g. by a reboot).
        if *stop.borrow() || stop.has_changed().is_err() {
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
