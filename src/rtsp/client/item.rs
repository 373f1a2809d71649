//! What a playing session hands out.

use crate::Error;
use crate::codec::Frame;
use crate::rtp::NtpTimestamp;

/// The kind of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// Video (H.264, H.265, MJPEG).
    Video,
    /// Audio (AAC, G.711).
    Audio,
    /// ONVIF metadata documents.
    Metadata,
    /// Anything else.
    Other,
}

/// One frame of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFrame {
    /// The stream (its position in the SDP, [`StreamInfo::index`](super::StreamInfo::index)).
    pub stream: usize,
    /// The stream's kind.
    pub kind: MediaKind,
    /// The frame: payload, RTP timestamp (raw and extended), wall clock from the sender
    /// reports, keyframe flag, loss before it, codec specifics.
    pub frame: Frame,
}

/// An item of a playing session's stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum Item {
    /// A video access unit or JPEG picture.
    Video(StreamFrame),
    /// An audio frame.
    Audio(StreamFrame),
    /// An ONVIF metadata XML document.
    Metadata(StreamFrame),
    /// A frame of another kind of stream.
    Other(StreamFrame),
    /// An RTCP sender report: the sender's wall clock for an RTP timestamp.
    SenderReport {
        /// The stream.
        stream: usize,
        /// Sender's wall clock.
        ntp: NtpTimestamp,
        /// RTP timestamp at that instant.
        rtp_timestamp: u32,
    },
    /// Packets of a stream were lost (or dropped as damaged or over a limit) before the next
    /// frame of that stream.
    Loss {
        /// The stream.
        stream: usize,
        /// Packets lost.
        packets: u64,
    },
    /// The sender said goodbye (RTCP BYE) on a stream.
    Goodbye {
        /// The stream.
        stream: usize,
    },
    /// The stream broke and was started again (supervised sessions): timestamps start over,
    /// decoders need the next keyframe.
    Discontinuity {
        /// Why the previous session ended.
        error: Error,
    },
}

impl Item {
    pub(crate) fn from_frame(f: StreamFrame) -> Item {
        match f.kind {
            MediaKind::Video => Item::Video(f),
            MediaKind::Audio => Item::Audio(f),
            MediaKind::Metadata => Item::Metadata(f),
            MediaKind::Other => Item::Other(f),
        }
    }

    /// The frame, for the frame items.
    pub fn frame(&self) -> Option<&StreamFrame> {
        match self {
            Item::Video(f) | Item::Audio(f) | Item::Metadata(f) | Item::Other(f) => Some(f),
            _ => None,
        }
    }
}
