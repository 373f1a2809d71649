//! RTP payload formats: depacketizers (RTP packets → frames) and packetizers (frames → RTP
//! packets), pure and loss-aware.
//!
//! A [`Depacketizer`] takes packets in sequence order (put a
//! [`ReorderBuffer`](crate::rtp::ReorderBuffer) in front of it for UDP) and hands out complete
//! [`Frame`]s. It notices gaps in the sequence numbers itself: a frame known to miss data is
//! dropped, and the next frame out says how many packets were lost before it
//! ([`Frame::loss_before`]). Packets of another payload type than the one configured are ignored.
//!
//! ```
//! use camlink::codec::{Depacketizer, Packetizer, PacketizerConfig, h264::{H264Depacketizer, H264Packetizer, NalFormat}};
//! use camlink::rtp::RtpPacket;
//!
//! // An IDR access unit in Annex B: SPS, PPS, one slice bigger than one packet.
//! let mut au = vec![0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65];
//! au.extend((0..3000).map(|i| (i % 200 + 2) as u8));
//!
//! let mut tx = H264Packetizer::new(PacketizerConfig::new(96, 0x1234), NalFormat::AnnexB)?;
//! let mut packets = Vec::new();
//! tx.packetize(&au, 90_000, &mut packets)?;
//! assert!(packets.len() > 2);
//!
//! let mut rx = H264Depacketizer::new(NalFormat::AnnexB).with_payload_type(96);
//! for p in packets {
//!     rx.push(&RtpPacket::parse(p)?)?;
//! }
//! let frame = rx.pull().expect("one access unit");
//! assert_eq!(frame.payload, au);
//! assert_eq!(&frame.payload.to_bytes()[..], &au[..]);
//! assert!(frame.keyframe);
//! assert_eq!(frame.loss_before, 0);
//! # Ok::<(), camlink::Error>(())
//! ```

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use crate::rtp::packet::{FIXED_HEADER_LEN, MAX_PACKET_LEN};
use crate::rtp::sequence::MAX_MISORDER;
use crate::rtp::{
    NtpTimestamp, RtpPacket, RtpPacketBuilder, RtpPacketRef, TimestampUnwrapper, WallClockMapper,
};
use crate::{Error, Result};

pub mod aac;
pub mod g711;
pub mod h264;
pub mod h265;
pub mod jpeg;
pub mod metadata;
pub mod nal;
mod nal_core;
pub mod payload;
mod recycle;
pub mod sps;

pub use payload::{Chunks, Payload};

/// Frames held ready by a depacketizer before the oldest is dropped (the caller is not pulling).
pub const MAX_READY_FRAMES: usize = 1024;

/// Largest reassembled frame (access unit, JPEG image, metadata document), in bytes.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// One complete frame: a video access unit, an audio frame, a JPEG image, a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame {
    /// The frame's bytes. H.264 and H.265 access units refer to the packets they came in,
    /// without a copy, and come in pieces ([`Payload::chunks`]; [`Payload::to_bytes`] when one
    /// slice is needed); other formats give a zero-copy slice of the packet when the frame fits
    /// one packet and needs no rewriting, else a buffer assembled once.
    pub payload: Payload,
    /// The RTP timestamp, extended to 64 bits (continuous across 32-bit wraps).
    pub timestamp: i64,
    /// The RTP timestamp as sent.
    pub rtp_timestamp: u32,
    /// Wall-clock time from the latest RTCP Sender Report, if one was seen.
    pub wall_clock: Option<SystemTime>,
    /// A frame a decoder can start from (IDR / IRAP for video; always true for audio, JPEG and
    /// metadata).
    pub keyframe: bool,
    /// Packets lost or discarded since the previous frame handed out: sequence-number gaps plus
    /// the packets of frames dropped because they were incomplete or malformed. When non-zero,
    /// this frame itself shows no missing part, but a decoder may need the next keyframe (and a
    /// loss right before a frame's first packet cannot be told from a loss between frames).
    pub loss_before: u64,
    /// Codec specifics.
    pub info: FrameInfo,
}

/// Codec-specific facts about a [`Frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameInfo {
    /// H.264 access unit.
    H264 {
        /// The SPS or PPS changed with this frame (in-band).
        parameters_changed: bool,
    },
    /// H.265 access unit.
    H265 {
        /// The VPS, SPS or PPS changed with this frame (in-band).
        parameters_changed: bool,
    },
    /// One raw AAC access unit.
    Aac,
    /// G.711 samples (one byte per sample).
    G711 {
        /// µ-law or A-law.
        law: G711Law,
    },
    /// A complete JFIF file.
    Jpeg {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// An ONVIF metadata XML document.
    Metadata,
}

/// G.711 companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711Law {
    /// PCMU, static payload type 0.
    MuLaw,
    /// PCMA, static payload type 8.
    ALaw,
}

/// RTP packets in, frames out.
pub trait Depacketizer {
    /// Takes the next packet (in sequence order). Packets of a foreign payload type, duplicates
    /// and packets older than the last one are ignored. An error means this packet could not be
    /// used (malformed payload, frame too big); the frame it belonged to is dropped and counted
    /// as loss, and the depacketizer stays usable.
    fn push(&mut self, packet: &RtpPacket) -> Result<()>;
    /// [`push`](Self::push) for a packet borrowed from a buffer (e.g. straight out of the RTSP
    /// read buffer), with the same outcome. The default copies the packet into an owned
    /// [`RtpPacket`]; H.264 and H.265 take the borrowed packet as it is (copying its payload
    /// into the frame, or referring to it through [`push_shared`](Self::push_shared)), and say
    /// so with [`prefers_borrowed`](Self::prefers_borrowed).
    fn push_ref(&mut self, packet: &RtpPacketRef<'_>) -> Result<()> {
        self.push(&packet.to_packet())
    }
    /// Whether [`push_ref`](Self::push_ref) and [`push_shared`](Self::push_shared) cost no
    /// more than [`push`](Self::push) (no copy of the packet). Callers holding packets in a
    /// shared buffer then skip making a reference-counted [`Bytes`] per packet. Default
    /// `false`.
    fn prefers_borrowed(&self) -> bool {
        false
    }
    /// [`push_ref`](Self::push_ref) for a packet that lies in `source` (a shared buffer, such
    /// as the RTSP read buffer the packet was read into): a depacketizer that can, refers to
    /// the packet's bytes in its frames instead of copying them, keeping `source` alive. Same
    /// outcome as [`push`](Self::push). The default is `push_ref`.
    fn push_shared(&mut self, packet: &RtpPacketRef<'_>, source: &Bytes) -> Result<()> {
        let _ = source;
        self.push_ref(packet)
    }
    /// Copies what an unfinished frame holds of shared buffers (see
    /// [`push_shared`](Self::push_shared) and [`push`](Self::push)) into the depacketizer's
    /// own memory, so that those buffers can be reused. The RTSP client calls it before it
    /// waits for more data. The default does nothing.
    fn release_buffers(&mut self) {}
    /// The next complete frame, if any.
    fn pull(&mut self) -> Option<Frame>;
    /// End of stream: hands out a frame still waiting for its end (no marker bit, no next
    /// timestamp) if nothing of it is known to be missing.
    fn flush(&mut self);
    /// Records an RTCP Sender Report of this stream, so frames get a wall-clock time.
    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32);
    /// The RTP clock rate of this stream.
    fn clock_rate(&self) -> u32;
}

/// Frames in, RTP packets out.
pub trait Packetizer {
    /// Splits one frame into RTP packets appended to `out`; the last one carries the marker bit
    /// where the payload format asks for it.
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()>;
    /// The sequence number the next packet will carry.
    fn next_sequence_number(&self) -> u16;
}

/// The RTP side of a packetizer: payload type, SSRC, first sequence number and MTU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketizerConfig {
    /// Payload type of the packets.
    pub payload_type: u8,
    /// SSRC of the packets.
    pub ssrc: u32,
    /// Sequence number of the first packet.
    pub initial_sequence: u16,
    /// Largest RTP packet (header included), in bytes. Default 1400.
    pub mtu: usize,
}

impl PacketizerConfig {
    /// A config with sequence numbers from 0 and an MTU of 1400 bytes.
    pub fn new(payload_type: u8, ssrc: u32) -> Self {
        PacketizerConfig {
            payload_type,
            ssrc,
            initial_sequence: 0,
            mtu: 1400,
        }
    }
    /// Sets the first sequence number.
    pub fn initial_sequence(mut self, seq: u16) -> Self {
        self.initial_sequence = seq;
        self
    }
    /// Sets the MTU (largest RTP packet, header included).
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }
}

/// Smallest MTU a packetizer accepts.
pub const MIN_MTU: usize = 64;

/// Writes the packets of a packetizer: sequence numbering and the RTP header.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    cfg: PacketizerConfig,
    seq: u16,
}

impl Outbound {
    pub(crate) fn new(cfg: PacketizerConfig) -> Result<Self> {
        if !(MIN_MTU..=MAX_PACKET_LEN).contains(&cfg.mtu) {
            return Err(Error::invalid_input(format!(
                "MTU {} outside {MIN_MTU}..={MAX_PACKET_LEN}",
                cfg.mtu
            )));
        }
        if cfg.payload_type > 127 {
            return Err(Error::invalid_input("RTP payload type above 127"));
        }
        Ok(Outbound {
            seq: cfg.initial_sequence,
            cfg,
        })
    }
    /// Payload bytes that fit one packet.
    pub(crate) fn max_payload(&self) -> usize {
        self.cfg.mtu - FIXED_HEADER_LEN
    }
    pub(crate) fn next_seq(&self) -> u16 {
        self.seq
    }
    pub(crate) fn emit(
        &mut self,
        out: &mut Vec<Bytes>,
        ts: u32,
        marker: bool,
        parts: &[&[u8]],
    ) -> Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut buf = BytesMut::with_capacity(FIXED_HEADER_LEN + len);
        RtpPacketBuilder::new(self.cfg.payload_type, self.seq, ts, self.cfg.ssrc)
            .marker(marker)
            .write(&mut buf, parts)?;
        self.seq = self.seq.wrapping_add(1);
        out.push(buf.freeze());
        Ok(())
    }
}

/// What [`Inbound::admit`] decided about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Use it; `lost` packets are missing right before it.
    Use { lost: u64 },
    /// Ignore it (foreign payload type, duplicate, late).
    Skip,
}

/// The receive side shared by all depacketizers: payload type filter, sequence gaps,
/// timestamp unwrapping, wall clock, pending loss and the ready queue.
#[derive(Debug)]
pub(crate) struct Inbound {
    payload_type: Option<u8>,
    clock_rate: u32,
    last_seq: Option<u16>,
    ts: TimestampUnwrapper,
    wall: WallClockMapper,
    pending_loss: u64,
    ready: VecDeque<Frame>,
}

impl Inbound {
    pub(crate) fn new(clock_rate: u32) -> Self {
        Inbound {
            payload_type: None,
            clock_rate,
            last_seq: None,
            ts: TimestampUnwrapper::new(),
            wall: WallClockMapper::new(clock_rate),
            pending_loss: 0,
            ready: VecDeque::new(),
        }
    }
    pub(crate) fn set_payload_type(&mut self, pt: u8) {
        self.payload_type = Some(pt);
    }
    pub(crate) fn clock_rate(&self) -> u32 {
        self.clock_rate
    }
    pub(crate) fn admit(&mut self, pkt: &RtpPacket) -> Admit {
        self.admit_header(pkt.payload_type(), pkt.sequence_number())
    }
    /// [`admit`](Self::admit) from the payload type and sequence number.
    #[inline]
    pub(crate) fn admit_header(&mut self, payload_type: u8, seq: u16) -> Admit {
        if let Some(pt) = self.payload_type
            && payload_type != pt
        {
            tracing::trace!(
                pt = payload_type,
                expected = pt,
                "foreign payload type ignored"
            );
            return Admit::Skip;
        }
        let lost = match self.last_seq {
            None => 0,
            Some(last) => {
                let d = seq.wrapping_sub(last);
                let back = 0u16.wrapping_sub(d);
                if d == 0 || (d >= 0x8000 && back <= MAX_MISORDER) {
                    tracing::trace!(seq, last, "duplicate or late RTP packet ignored");
                    return Admit::Skip;
                }
                if d >= 0x8000 {
                    // Far behind: the sender restarted its numbering. Follow it, and flag the
                    // discontinuity as one lost packet.
                    tracing::debug!(seq, last, "RTP sequence restart");
                    1
                } else {
                    u64::from(d - 1)
                }
            }
        };
        self.last_seq = Some(seq);
        self.pending_loss += lost;
        Admit::Use { lost }
    }
    /// Counts packets received but discarded with a frame known to be damaged.
    pub(crate) fn add_loss(&mut self, n: u64) {
        self.pending_loss = self.pending_loss.saturating_add(n);
    }
    pub(crate) fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_ts: u32) {
        self.wall.on_sender_report(ntp, rtp_ts);
    }
    pub(crate) fn emit(
        &mut self,
        payload: impl Into<Payload>,
        rtp_timestamp: u32,
        keyframe: bool,
        info: FrameInfo,
    ) {
        let frame = Frame {
            payload: payload.into(),
            timestamp: self.ts.unwrap(rtp_timestamp),
            rtp_timestamp,
            wall_clock: self.wall.map(rtp_timestamp),
            keyframe,
            loss_before: std::mem::take(&mut self.pending_loss),
            info,
        };
        if self.ready.len() >= MAX_READY_FRAMES {
            tracing::debug!("frame queue full; oldest frame dropped");
            self.ready.pop_front();
            self.pending_loss += 1;
        }
        self.ready.push_back(frame);
    }
    pub(crate) fn pull(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }
}
