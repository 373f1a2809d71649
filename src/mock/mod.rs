//! Mock cameras (feature `mock`): ONVIF, RTSP and WS-Discovery servers on loopback that behave
//! like real cameras, with authentication, camera fixtures and injectable faults, so that a VMS
//! can run integration tests without hardware.

pub mod faults;
pub mod http;
pub mod media;
pub mod snapshot;
pub mod tls;

pub use faults::{Fault, FaultSet, SeededRng};
pub use media::{AudioCodec, VideoCodec};
pub mod config;

pub use config::{AuthScheme, Fixture, Identity, MockConfig, ProfileConfig, Quirks};
