//! The streams of a session: what the SDP offers, and the receive side of each stream set up
//! (depacketizer chosen from the SDP codec, sequence statistics, the source's SSRC).

use std::time::Instant;

use bytes::Bytes;
use url::Url;

use super::item::{Item, MediaKind, StreamFrame};
use crate::codec::aac::{AacDepacketizer, AuHeaderLayout};
use crate::codec::g711::G711Depacketizer;
use crate::codec::h264::H264Depacketizer;
use crate::codec::h265::H265Depacketizer;
use crate::codec::jpeg::JpegDepacketizer;
use crate::codec::metadata::MetadataDepacketizer;
use crate::codec::nal::NalFormat;
use crate::codec::{Depacketizer, G711Law};
use crate::rtp::rtcp::{RtcpPacket, parse_compound};
use crate::rtp::{NtpTimestamp, RtpPacket, RtpPacketRef, SequenceTracker};
use crate::rtsp::sdp::{Codec, Media, MediaType};
use crate::{Error, ErrorKind, Result};

/// One media of the session description, as offered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamInfo {
    /// Position in the SDP (the `stream` of the items).
    pub index: usize,
    /// Video, audio, metadata.
    pub kind: MediaKind,
    /// Codec and its parameters.
    pub codec: Codec,
    /// RTP payload type.
    pub payload_type: Option<u8>,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// The control URL SETUP goes to.
    pub control: Url,
    /// An ONVIF backchannel (`sendonly` on the camera side: the client sends).
    pub backchannel: bool,
    /// The SDP media description.
    pub media: Media,
}

impl StreamInfo {
    /// The stream at position `index` of an SDP, with its control URL resolved against `base`.
    pub fn from_media(index: usize, media: &Media, base: &Url) -> Result<StreamInfo> {
        let codec = media.codec();
        let kind = match (&media.media_type, &codec) {
            (_, Codec::OnvifMetadata) => MediaKind::Metadata,
            (MediaType::Video, _) => MediaKind::Video,
            (MediaType::Audio, _) => MediaKind::Audio,
            (MediaType::Application, _) => MediaKind::Metadata,
            _ => MediaKind::Other,
        };
        let rtpmap = media.rtpmap();
        Ok(StreamInfo {
            index,
            kind,
            payload_type: media.payload_type(),
            clock_rate: rtpmap.as_ref().map_or(90_000, |r| r.clock_rate),
            codec,
            control: media.control_url(base)?,
            backchannel: media.is_backchannel(),
            media: media.clone(),
        })
    }

    /// Whether camlink can depacketize this stream.
    pub fn is_supported(&self) -> bool {
        !matches!(self.codec, Codec::Other(_))
    }
}

/// The depacketizer for a stream's codec, configured from the SDP (parameter sets, AAC
/// config and AU header layout, payload type, clock rate).
pub fn depacketizer_for(
    info: &StreamInfo,
    nal_format: NalFormat,
) -> Result<Box<dyn Depacketizer + Send>> {
    let pt = info.payload_type.unwrap_or(96);
    Ok(match &info.codec {
        Codec::H264(p) => Box::new(
            H264Depacketizer::new(nal_format)
                .with_payload_type(pt)
                .with_parameter_sets(p.sps.iter().chain(&p.pps).map(|v| v.as_slice())),
        ),
        Codec::H265(p) => Box::new(
            H265Depacketizer::new(nal_format)
                .with_payload_type(pt)
                .with_parameter_sets(
                    p.vps
                        .iter()
                        .chain(&p.sps)
                        .chain(&p.pps)
                        .map(|v| v.as_slice()),
                ),
        ),
        Codec::Aac(p) => {
            let layout = match (p.size_length, p.index_length, p.index_delta_length) {
                (Some(s), i, d) => AuHeaderLayout {
                    size_length: s,
                    index_length: i.unwrap_or(0),
                    index_delta_length: d.unwrap_or(0),
                },
                (None, _, _) => AuHeaderLayout::AAC_HBR,
            };
            let rate = if p.clock_rate > 0 {
                p.clock_rate
            } else {
                info.clock_rate
            };
            let mut d = AacDepacketizer::new(rate, layout)?.with_payload_type(pt);
            if let Some(c) = &p.config {
                d = d.with_config(c);
            }
            Box::new(d)
        }
        Codec::Pcmu => Box::new(
            G711Depacketizer::with_clock_rate(G711Law::MuLaw, info.clock_rate.max(1))
                .with_payload_type(pt),
        ),
        Codec::Pcma => Box::new(
            G711Depacketizer::with_clock_rate(G711Law::ALaw, info.clock_rate.max(1))
                .with_payload_type(pt),
        ),
        Codec::Jpeg => Box::new(JpegDepacketizer::new().with_payload_type(pt)),
        Codec::OnvifMetadata => Box::new(
            MetadataDepacketizer::with_clock_rate(info.clock_rate.max(1)).with_payload_type(pt),
        ),
        Codec::Other(name) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("no depacketizer for codec {name:?}"),
            ));
        }
    })
}

/// The receive side of one stream set up.
pub(crate) struct RxStream {
    pub(crate) index: usize,
    pub(crate) kind: MediaKind,
    depacketizer: Box<dyn Depacketizer + Send>,
    pub(crate) tracker: SequenceTracker,
    /// The sender's SSRC (from the first packet, or SETUP).
    pub(crate) ssrc: Option<u32>,
    pub(crate) packets: u64,
    pub(crate) bad_packets: u64,
    /// The depacketizer takes borrowed packets at no extra cost
    /// ([`Depacketizer::prefers_borrowed`]), asked once.
    pub(crate) borrowed: bool,
    /// The depacketizer's clock rate (at least 1), asked once: the jitter estimate needs it
    /// for every packet.
    clock_rate: u32,
}

impl std::fmt::Debug for RxStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RxStream")
            .field("index", &self.index)
            .field("packets", &self.packets)
            .finish()
    }
}

impl RxStream {
    pub(crate) fn new(info: &StreamInfo, nal_format: NalFormat) -> Result<RxStream> {
        let depacketizer = depacketizer_for(info, nal_format)?;
        Ok(RxStream {
            index: info.index,
            kind: info.kind,
            borrowed: depacketizer.prefers_borrowed(),
            clock_rate: depacketizer.clock_rate().max(1),
            depacketizer,
            tracker: SequenceTracker::new(),
            ssrc: None,
            packets: 0,
            bad_packets: 0,
        })
    }

    /// Feeds one RTP packet (in order); frames and loss reports go to `out`.
    pub(crate) fn on_rtp(&mut self, pkt: &RtpPacket, now: Instant, out: &mut impl FnMut(Item)) {
        self.account(pkt.ssrc(), pkt.sequence_number(), pkt.timestamp(), now);
        let r = self.depacketizer.push(pkt);
        self.after_push(r, out);
    }

    /// [`on_rtp`](Self::on_rtp) for a packet borrowed from `source` (the part of the read
    /// buffer taken out for the packets of one read; use when [`borrowed`](Self::borrowed)
    /// is set): the depacketizer refers to the packet instead of copying it. Inlined into its
    /// one caller, so that the packet's fields stay in registers.
    #[inline(always)]
    pub(crate) fn on_rtp_shared(
        &mut self,
        pkt: &RtpPacketRef<'_>,
        source: &Bytes,
        now: Instant,
        out: &mut impl FnMut(Item),
    ) {
        self.account(pkt.ssrc(), pkt.sequence_number(), pkt.timestamp(), now);
        let r = self.depacketizer.push_shared(pkt, source);
        self.after_push(r, out);
    }

    /// Lets go of the buffers an unfinished frame refers to (before waiting for more data).
    pub(crate) fn release_buffers(&mut self) {
        self.depacketizer.release_buffers();
    }

    /// Per-packet statistics before the depacketizer sees the packet.
    #[inline(always)]
    fn account(&mut self, ssrc: u32, seq: u16, ts: u32, now: Instant) {
        self.packets += 1;
        if self.ssrc.is_none() {
            self.ssrc = Some(ssrc);
        }
        self.tracker.on_packet(seq);
        self.tracker.on_arrival(ts, now, self.clock_rate);
    }

    #[inline]
    fn after_push(&mut self, r: Result<()>, out: &mut impl FnMut(Item)) {
        if let Err(e) = r {
            self.bad_packets += 1;
            tracing::debug!(stream = self.index, error = %e, "RTP packet not usable");
        }
        self.drain(out);
    }

    pub(crate) fn drain(&mut self, out: &mut impl FnMut(Item)) {
        while let Some(frame) = self.depacketizer.pull() {
            if frame.loss_before > 0 {
                out(Item::Loss {
                    stream: self.index,
                    packets: frame.loss_before,
                });
            }
            out(Item::from_frame(StreamFrame {
                stream: self.index,
                kind: self.kind,
                frame,
            }));
        }
    }

    /// Feeds one RTCP compound packet.
    pub(crate) fn on_rtcp(&mut self, data: &Bytes, now: Instant, out: &mut impl FnMut(Item)) {
        let packets = match parse_compound(data) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(stream = self.index, error = %e, "RTCP packet not usable");
                return;
            }
        };
        for p in packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    self.on_sender_report(sr.ntp, sr.rtp_timestamp, now);
                    out(Item::SenderReport {
                        stream: self.index,
                        ntp: sr.ntp,
                        rtp_timestamp: sr.rtp_timestamp,
                    });
                }
                RtcpPacket::Goodbye(_) => out(Item::Goodbye { stream: self.index }),
                _ => {}
            }
        }
    }

    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_ts: u32, now: Instant) {
        self.depacketizer.on_sender_report(ntp, rtp_ts);
        self.tracker.on_sender_report(ntp, now);
    }

    /// End of stream: frames still held come out.
    pub(crate) fn flush(&mut self, out: &mut impl FnMut(Item)) {
        self.depacketizer.flush();
        self.drain(out);
    }
}
