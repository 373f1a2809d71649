//! # camlink
//!
//! camlink lets video management software (VMS/NVR) talk to IP cameras: ONVIF control over
//! HTTP/HTTPS, RTSP/RTP media, discovery, and mock cameras for integration tests.
//!
//! The crate is built as a pure protocol core (bytes and time in, messages and frames out) with
//! thin IO shells around it. Every fallible call returns [`Error`], whose [`ErrorKind`] tells a
//! wrong password from a camera clock that is off, an unreachable camera, a timeout, a missing
//! feature and a camera bug.
//!
//! ```
//! use camlink::auth::{Credentials, HttpAuth};
//! use camlink::ErrorKind;
//!
//! // Credentials apart from the URL: passwords with `@ : / % #` just work, and never print.
//! let creds = Credentials::new("admin", "p@ss:w/rd#1");
//! assert_eq!(format!("{creds:?}"), r#"Credentials { username: "admin", password: "***" }"#);
//!
//! // Answer a camera's digest challenge; a second refusal on the same nonce is "unauthorized".
//! let mut auth = HttpAuth::new(Some(creds));
//! auth.on_unauthorized([r#"Digest realm="IP Camera", nonce="4e6f6e6365", qop="auth""#])?;
//! let header = auth.authorization("DESCRIBE", "rtsp://192.0.2.10/Streaming/Channels/101", b"");
//! assert!(header.unwrap().contains(r#"qop="auth""#));
//! let refused = auth.on_unauthorized([r#"Digest realm="IP Camera", nonce="4e6f6e6365""#]);
//! assert_eq!(refused.unwrap_err().kind(), &ErrorKind::Unauthorized);
//! # Ok::<(), camlink::Error>(())
//! ```
//!
//! ## A VMS in a few lines
//!
//! ```no_run
//! # async fn demo() -> camlink::Result<()> {
//! use camlink::auth::Credentials;
//! use camlink::onvif::client::{OnvifClient, OnvifOptions};
//! use camlink::onvif::media::StreamTransport;
//! use camlink::rtsp::client::{Item, Session, SessionOptions};
//!
//! let creds = Credentials::new("admin", "secret");
//! // Control: ONVIF over HTTP (clock skew corrected, digest or UsernameToken as the camera wants).
//! let camera = OnvifClient::connect(
//!     "192.0.2.10",
//!     OnvifOptions { credentials: Some(creds.clone()), ..OnvifOptions::default() },
//! )
//! .await?;
//! let profile = &camera.profiles().await?[0];
//! let uri = camera.stream_uri(&profile.token, StreamTransport::RtspTcp).await?.uri;
//! // Media: RTSP, frames out.
//! let mut session = Session::describe(&uri, SessionOptions::new().credentials(creds)).await?;
//! session.setup_all().await?;
//! session.play().await?;
//! while let Some(item) = session.next().await {
//!     if let Item::Video(f) = item? {
//!         println!("{} bytes, key frame: {}", f.frame.payload.len(), f.frame.keyframe);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Modules
//!
//! - [`onvif`]: the ONVIF client (device, media, media2, PTZ, events, imaging) and its pure SOAP
//!   core.
//! - [`rtsp`]: RTSP framing, headers, SDP, the pure session core and the async client
//!   ([`rtsp::client::Session`], [`rtsp::client::Supervisor`]).
//! - [`rtp`] and [`codec`]: RTP/RTCP, loss and reordering, depacketizers and packetizers for H.264,
//!   H.265, AAC, G.711, MJPEG and ONVIF metadata.
//! - [`discovery`]: WS-Discovery, mDNS and the camera port probe.
//! - [`auth`]: Digest, Basic and WS-UsernameToken, client and server side.
//! - `mock` (feature `mock`): mock cameras for integration tests.
//!
//! ## Ports
//!
//! | what | default | where to change it |
//! |---|---|---|
//! | ONVIF over HTTP / HTTPS | 80 / 443 | the device URL (`host:port` or a full URL) |
//! | RTSP / RTSPS | 554 / 322 | the stream URL |
//! | WS-Discovery | UDP 3702, group 239.255.255.250 | discovery options |
//! | mDNS | UDP 5353 | discovery options |
//!
//! ## Limits
//!
//! Every size or count a peer controls is bounded; going past a bound gives
//! [`ErrorKind::LimitExceeded`] (or the error named below) and allocates nothing beyond it
//! (`tests/limits.rs` measures the peak allocation of each case).
//!
//! | bound | value | error |
//! |---|---|---|
//! | RTSP message head | [`rtsp::framing::DEFAULT_MAX_HEAD`] (option [`rtsp::framing::Limits`]) | `LimitExceeded` |
//! | RTSP message body (e.g. an SDP; a 4 GiB `Content-Length` is refused at once) | [`rtsp::framing::DEFAULT_MAX_BODY`] | `LimitExceeded` |
//! | bytes buffered by the RTSP framer | [`rtsp::framing::DEFAULT_MAX_BUFFERED`] | `LimitExceeded` |
//! | interleaved frame | [`rtsp::framing::MAX_INTERLEAVED_PAYLOAD`] (the 16-bit length) | — |
//! | header count / value / Transport specs | [`rtsp::message::MAX_HEADERS`], [`rtsp::headers::MAX_VALUE_LEN`], [`rtsp::headers::MAX_TRANSPORTS`] | `LimitExceeded` |
//! | SDP | [`rtsp::sdp::MAX_SDP_LEN`], [`rtsp::sdp::MAX_MEDIA`], [`rtsp::sdp::MAX_ATTRIBUTES`] | `LimitExceeded` |
//! | camera requests while a response is awaited | [`rtsp::client::MAX_MESSAGES_PER_RESPONSE`] | `Protocol` |
//! | packets kept before the PLAY answer | [`rtsp::client::MAX_EARLY_PACKETS`] | counted as loss |
//! | access unit (frame) | [`codec::MAX_FRAME_LEN`] | `LimitExceeded` |
//! | buffers pooled per thread (RTSP client) | 4 read buffers of at most 2 × [`rtsp::client::MAX_READ_CHUNK`], 8 frame buffers of at most 1 MiB; a waiting session keeps at most [`rtsp::client::MAX_CARRY`] bytes of a partial frame | more are freed |
//! | frames ready in a depacketizer | [`codec::MAX_READY_FRAMES`] | oldest dropped |
//! | reorder depth | [`rtp::reorder::MAX_DEPTH`] (option: the depth asked for) | held packets released, gaps counted as loss |
//! | RTCP compound | [`rtp::rtcp::MAX_COMPOUND_LEN`], [`rtp::rtcp::MAX_PACKETS_PER_COMPOUND`] | `LimitExceeded` |
//! | SOAP response | [`onvif::xml::MAX_DOCUMENT_BYTES`], [`onvif::xml::MAX_DEPTH`], [`onvif::xml::MAX_ELEMENTS`] | `LimitExceeded` |
//! | snapshot | [`onvif::client::MAX_SNAPSHOT_BYTES`] | `LimitExceeded` |
//! | auth challenges | [`auth::MAX_HEADER_LEN`], [`auth::MAX_CHALLENGES`], [`auth::MAX_PARAMS`] | `LimitExceeded` |
//! | WS-Discovery datagram / matches per message / answers kept | [`discovery::ws_discovery::MAX_MESSAGE_LEN`], [`discovery::ws_discovery::MAX_MATCHES_PER_MESSAGE`], [`discovery::probe::MAX_RESULTS`] (option `max_results`) | beyond ignored |
//! | DNS message (mDNS) / services / pending answers | [`discovery::dns::MAX_MESSAGE_LEN`], [`discovery::mdns::MAX_SERVICES`], [`discovery::mdns::MAX_PENDING`] | `LimitExceeded` / beyond ignored |
//! | mock camera requests (HTTP head / body) | `mock::http::MAX_REQUEST_HEAD` / `MAX_REQUEST_BODY` | HTTP 413 |

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod codec;
pub mod datetime;
pub mod discovery;
mod error;
#[cfg(feature = "mock")]
pub mod mock;
pub mod onvif;
mod pool;
pub mod redact;
pub mod rtp;
pub mod rtsp;
mod xmlutil;

pub use error::{Error, ErrorKind, Result};
