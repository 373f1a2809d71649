//! [`MockCameraBuilder`]: what a mock camera will be, set piece by piece or from a fixture.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::camera::MockCamera;
use super::config::{AuthScheme, Fixture, Identity, MockConfig, ProfileConfig};
use super::faults::Fault;
use crate::error::Result;

/// Builds a [`MockCamera`].
///
/// ```no_run
/// # async fn demo() -> camlink::Result<()> {
/// use camlink::mock::MockCamera;
/// let cam = MockCamera::builder().credentials("admin", "secret").start().await?;
/// println!("ONVIF at {}", cam.device_service_url());
/// println!("RTSP at {}", cam.rtsp_url("main"));
/// cam.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockCameraBuilder {
    config: MockConfig,
}

impl MockCameraBuilder {
    /// A builder with the defaults of [`MockConfig`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Address to bind (default 127.0.0.1).
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// ONVIF HTTP port (0 = free port).
    pub fn http_port(mut self, port: u16) -> Self {
        self.config.http_port = port;
        self
    }

    /// ONVIF HTTPS port (0 = free port; `None` = no HTTPS).
    pub fn https_port(mut self, port: Option<u16>) -> Self {
        self.config.https_port = port;
        self
    }

    /// RTSP port (0 = free port).
    pub fn rtsp_port(mut self, port: u16) -> Self {
        self.config.rtsp_port = port;
        self
    }

    /// RTSPS port (0 = free port; `None` = no RTSPS).
    pub fn rtsps_port(mut self, port: Option<u16>) -> Self {
        self.config.rtsps_port = port;
        self
    }

    /// WS-Discovery port (0 = free port; `None` = no responder).
    pub fn discovery_port(mut self, port: Option<u16>) -> Self {
        self.config.discovery_port = port;
        self
    }

    /// User name and password the camera accepts.
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.config.credentials = Some((user.into(), password.into()));
        self
    }

    /// No authentication at all (every request is accepted).
    pub fn no_auth(mut self) -> Self {
        self.config.credentials = None;
        self
    }

    /// The schemes the camera accepts.
    pub fn auth_schemes(mut self, schemes: &[AuthScheme]) -> Self {
        self.config.auth = schemes.to_vec();
        self
    }

    /// The camera's clock offset from real time, in seconds.
    pub fn clock_offset(mut self, seconds: i64) -> Self {
        self.config.clock_offset = seconds;
        self
    }

    /// Identity (manufacturer, model, firmware, serial, hardware id).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.config.identity = identity;
        self
    }

    /// Replaces the profiles.
    pub fn profiles(mut self, profiles: Vec<ProfileConfig>) -> Self {
        self.config.profiles = profiles;
        self
    }

    /// Sends media as fast as possible instead of in real time.
    pub fn unpaced(mut self, unpaced: bool) -> Self {
        self.config.unpaced = unpaced;
        self
    }

    /// Seed for the packet faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// RTSP session timeout announced and enforced.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.config.session_timeout = timeout;
        self
    }

    /// A fault on from the start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.config.faults.push(fault);
        self
    }

    /// Join the WS-Discovery multicast group (only inside a test network namespace).
    pub fn discovery_multicast(mut self, join: bool) -> Self {
        self.config.discovery_multicast = join;
        self
    }

    /// Answer only the legacy WS-Discovery form.
    pub fn discovery_legacy_only(mut self, legacy: bool) -> Self {
        self.config.discovery_legacy_only = legacy;
        self
    }

    /// Where to send WS-Discovery Hello at start and Bye at shutdown (without multicast).
    pub fn discovery_announce_to(mut self, to: std::net::SocketAddr) -> Self {
        self.config.discovery_announce_to = Some(to);
        self
    }

    /// Loads a camera fixture folder and applies it.
    pub fn fixture(mut self, dir: impl AsRef<Path>) -> Result<Self> {
        let fx = Fixture::load(dir)?;
        self.config.apply_fixture(fx);
        Ok(self)
    }

    /// The whole configuration, for fine-tuning.
    pub fn config_mut(&mut self) -> &mut MockConfig {
        &mut self.config
    }

    /// Binds every server and starts serving.
    pub async fn start(self) -> Result<MockCamera> {
        MockCamera::start(self.config).await
    }
}
