//! RTSP (RFC 2326): the pure text core shared by the client and the mock camera.
//!
//! - [`framing`]: splits a byte stream into messages and `$`-interleaved frames;
//! - [`message`]: requests and responses, lenient parsing, strict building;
//! - [`headers`]: lenient parsers and strict formatters for `Transport`, `Session`, `RTP-Info`,
//!   `Public`, `Content-Base`, `CSeq` and `Range`;
//! - [`sdp`]: session descriptions, typed codec parameters, control URLs, and a writer.
//!
//! Nothing here owns a socket or reads a clock.

pub mod client;
pub mod framing;
pub mod headers;
pub mod message;
pub mod sdp;
pub mod session;
