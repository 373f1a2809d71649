//! Mock cameras (feature `mock`): ONVIF, RTSP and WS-Discovery servers on loopback that behave
//! like real cameras, with authentication, camera fixtures and injectable faults, so that a VMS
//! can run integration tests without hardware.
//!
//! ```no_run
//! # async fn demo() -> camlink::Result<()> {
//! use camlink::mock::{Fault, MockCamera};
//!
//! let cam = MockCamera::builder().credentials("admin", "secret").start().await?;
//! println!("ONVIF device service: {}", cam.device_service_url());
//! println!("main stream: {}", cam.rtsp_url("main"));
//! cam.set_fault(Fault::PacketLoss(0.05)); // while it runs
//! cam.trigger_motion(true);               // an event for subscribers
//! cam.shutdown().await;
//! # Ok(()) }
//! ```

mod announce;
mod builder;
mod camera;
pub mod config;
pub mod faults;
pub mod http;
pub mod media;
mod onvif_device;
mod onvif_events;
mod onvif_media;
mod onvif_ptz;
mod onvif_server;
pub mod onvif_state;
mod rtsp_media;
mod rtsp_server;
pub mod snapshot;
pub mod synthetic;
pub mod tls;

pub use builder::MockCameraBuilder;
pub use camera::{MockCamera, Ports};
pub use config::{AuthScheme, Fixture, Identity, MockConfig, ProfileConfig, Quirks};
pub use faults::{Fault, FaultSet, SeededRng};
pub use media::{AudioCodec, VideoCodec};
pub use onvif_events::MOTION_TOPIC;
