//! RTP and RTCP, pure: packets, compound RTCP, sequence tracking, a reorder buffer and the
//! RTP-to-wall-clock mapping (RFC 3550).
//!
//! Nothing here owns a socket or reads a clock: time comes in as an argument (`now: Instant`).
//!
//! ```
//! use bytes::Bytes;
//! use camlink::rtp::{RtpPacket, RtpPacketBuilder};
//!
//! let wire = RtpPacketBuilder::new(96, 1000, 90_000, 0x1234_5678)
//!     .marker(true)
//!     .build(b"payload")?;
//! let pkt = RtpPacket::parse(wire)?;
//! assert_eq!((pkt.payload_type(), pkt.sequence_number(), pkt.marker()), (96, 1000, true));
//! assert_eq!(pkt.payload(), b"payload");
//! # Ok::<(), camlink::Error>(())
//! ```

pub mod packet;
pub mod reorder;
pub mod rtcp;
pub mod sequence;
pub mod wallclock;

pub use packet::{RtpPacket, RtpPacketBuilder, RtpPacketRef};
pub use reorder::{ReorderBuffer, Reordered};
pub use sequence::{SeqEvent, SequenceTracker, TimestampUnwrapper};
pub use wallclock::{NtpTimestamp, WallClockMapper};
