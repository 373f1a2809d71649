//! The RTSP client: sessions over TCP interleaved, UDP (unicast and multicast) and TLS
//! (`rtsps://`), with keepalives, RTCP receiver reports, authentication, and frames out as an
//! async stream of typed [`Item`]s.
//!
//! The IO shell around the pure cores: [`crate::rtsp::session`] (CSeq, session id, auth,
//! redirects, keepalive deadlines), [`crate::rtsp::framing`], [`crate::rtp`] and
//! [`crate::codec`]. Large reads into buffers shared by the sessions of a thread (taken
//! when the socket is readable, given back before waiting); H.264/H.265 RTP packets are
//! parsed and depacketized where they lie in that buffer and their frames refer to it
//! ([`crate::codec::Payload`]: zero-copy, contiguous on request), other payloads stay slices
//! of it.
//!
//! ```
//! # #[cfg(feature = "mock")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! use camlink::auth::Credentials;
//! use camlink::mock::MockCamera;
//! use camlink::rtsp::client::{Item, Session, SessionOptions};
//!
//! let cam = MockCamera::builder().credentials("admin", "secret").start().await?;
//! let opts = SessionOptions::new().credentials(Credentials::new("admin", "secret"));
//! let mut session = Session::open(&cam.rtsp_url("main"), opts).await?;
//! let mut video = 0;
//! while let Some(item) = session.next().await {
//!     match item? {
//!         Item::Video(f) => {
//!             video += 1;
//!             assert!(!f.frame.payload.is_empty());
//!             if video == 5 { break; }
//!         }
//!         Item::Loss { packets, .. } => eprintln!("lost {packets} packets"),
//!         _ => {}
//!     }
//! }
//! session.teardown().await?;
//! # Ok::<(), camlink::Error>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Transports
//!
//! - [`TransportMode::Tcp`]: interleaved on the RTSP connection (`rtsp://` on 554, `rtsps://`
//!   on 322 over TLS with the [`TlsPolicy`](crate::onvif::tls::TlsPolicy) of the options:
//!   verification by default, or a pinned SHA-256 fingerprint).
//! - [`TransportMode::Udp`]: an even RTP port and the odd RTCP port above it per stream, from
//!   [`SessionOptions::udp_ports`] or anywhere free; a first RTP header and an empty receiver
//!   report go to the server's ports to open NATs; datagrams from another address than the
//!   server's (or the `source=` it names) are dropped; a reorder buffer per stream.
//! - [`TransportMode::Multicast`]: joins the group of the server's `Transport` answer (IPv4
//!   tested in a private network namespace against an in-test server; the mock camera serves
//!   no multicast; IPv6 groups untested).
//! - [`TransportMode::Auto`]: UDP first; TCP when the server refuses UDP (461 or 400), and, in
//!   [`Session::play`], when no packet arrives within [`Timeouts::first_packet`] (the UDP
//!   session is torn down and the streams set up again over TCP on the same connection).
//!
//! # Cancel safety and limits
//!
//! [`Session::next`] may be dropped at any await (for instance in `tokio::select!`): requests,
//! receiver reports and answers not fully written stay queued and go out first at the next
//! call. Everything held is bounded: the framer's buffer ([`crate::rtsp::framing::Limits`]),
//! packets arriving while a response is awaited ([`MAX_EARLY_PACKETS`], older ones dropped and
//! reported as [`Item::Loss`]), queued output (1 MiB), the reorder buffers, and the
//! depacketizers' frames ([`crate::codec::MAX_FRAME_LEN`], [`crate::codec::MAX_READY_FRAMES`]).
//! Items are produced only as fast as the caller pulls them: a caller that stops pulling stops
//! the reads (TCP back-pressure; the socket buffer then drops UDP).
//!
//! # Outcomes under faults (as tested against the mock camera)
//!
//! Each row holds over TCP, UDP and RTSPS alike, except where it names a transport; the
//! supervised session plays again within its backoff once the camera behaves (`tests/fault_matrix.rs`).
//!
//! | camera behaviour | what the caller sees |
//! |---|---|
//! | wrong password, or 401 forever | [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized) from `describe` |
//! | nonce declared stale after each use | transparent: the request is re-sent with the new nonce |
//! | nothing listening | [`ErrorKind::Unreachable`](crate::ErrorKind::Unreachable) |
//! | connection accepted and closed at once | [`ErrorKind::Io`](crate::ErrorKind::Io) |
//! | connection closed without an answer | [`ErrorKind::Io`](crate::ErrorKind::Io) |
//! | no answer (stall) | [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after [`Timeouts::response`] |
//! | malformed SDP (the mock's) | the lenient parser keeps what it can; no usable stream: [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) from `setup_all` / `open` |
//! | connection closed mid-stream | frames so far, then one `Err` of kind `Io`, then `None` |
//! | RTP stops, RTSP alive | `Err` of kind `Timeout` after [`Timeouts::no_data`] |
//! | session reaped early | RTP stops: `Timeout` after [`Timeouts::no_data`] |
//! | packet loss | [`Item::Loss`] before the next frame of that stream (and [`Frame::loss_before`](crate::codec::Frame::loss_before)) |
//! | reordering / duplicates (UDP) | repaired by the reorder buffer: no loss reported |
//! | reordering (TCP) | the late packet is dropped: `Item::Loss` |
//! | new session id at each SETUP | followed: later requests carry the latest id |
//! | reboot | `Err` (`Io`) on the playing session; a new session plays once the camera is back |
//! | slow answers | fine within [`Timeouts::response`], `Timeout` beyond |

mod bufpool;
mod coalesce;
mod connection;
mod item;
mod item_stream;
mod options;
mod play;
mod session;
mod stream;
mod supervisor;
mod udp;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod udp_batch;

pub use connection::{
    MAX_CARRY, MAX_READ_CHUNK, MIN_READ_CHUNK, READ_CHUNK, RTSP_PORT, RTSPS_PORT,
};
pub use item::{Item, MediaKind, StreamFrame};
pub use options::{
    DEFAULT_USER_AGENT, MAX_READ_COALESCING, Replay, SessionOptions, TeardownPolicy, Timeouts,
    TransportMode,
};
pub use session::{BACKCHANNEL_REQUIRE, MAX_EARLY_PACKETS, MAX_MESSAGES_PER_RESPONSE, Session};
pub use stream::{StreamInfo, depacketizer_for};
pub use supervisor::{Event, Health, Supervisor, SupervisorOptions};

/// The time the session logic runs on: tokio's clock (so that a paused test clock applies), as
/// a `std::time::Instant` for the pure cores.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

#[cfg(test)]
mod tests {
    fn assert_send<T: Send>() {}

    #[test]
    fn sessions_and_supervisors_can_move_to_tasks() {
        assert_send::<super::Session>();
        assert_send::<super::Supervisor>();
        assert_send::<super::Item>();
    }
}
