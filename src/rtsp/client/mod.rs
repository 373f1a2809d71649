//! The RTSP client: sessions over TCP interleaved, UDP (unicast and multicast) and TLS
//! (`rtsps://`), with keepalives, RTCP receiver reports, authentication, and frames out as an
//! async stream of typed [`Item`]s.
//!
//! The IO shell around the pure cores: [`crate::rtsp::session`] (CSeq, session id, auth,
//! redirects, keepalive deadlines), [`crate::rtsp::framing`], [`crate::rtp`] and
//! [`crate::codec`]. One large read buffer per connection; RTP payloads stay slices of it.
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
//! # Outcomes under faults (as tested against the mock camera)
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

mod connection;
mod item;
mod item_stream;
mod options;
mod play;
mod session;
mod stream;
mod supervisor;
mod udp;

pub use connection::{READ_CHUNK, RTSP_PORT, RTSPS_PORT};
pub use item::{Item, MediaKind, StreamFrame};
pub use options::{
    DEFAULT_USER_AGENT, Replay, SessionOptions, TeardownPolicy, Timeouts, TransportMode,
};
pub use session::{BACKCHANNEL_REQUIRE, MAX_EARLY_PACKETS, Session};
pub use stream::{StreamInfo, depacketizer_for};
pub use supervisor::{Event, Health, Supervisor, SupervisorOptions};
