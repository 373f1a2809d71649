//! What a mock camera is: identity, credentials, auth schemes, clock, profiles, ports, quirks,
//! and the camera fixture folder format that sets them.
//!
//! # Fixture folder format (`fixtures/cameras/<name>/`)
//!
//! - `camera.toml` (every key optional):
//!
//! ```toml
//! clock_offset_seconds = 7200          # the camera's clock runs 2 h ahead
//! auth = ["digest-md5", "digest-sha256", "basic", "username-token"]   # or ["none"]
//!
//! [identity]
//! manufacturer = "Acme"
//! model = "IPC-1"
//! firmware_version = "1.0"
//! serial_number = "SN1"
//! hardware_id = "HW1"
//!
//! [credentials]
//! user = "admin"
//! password = "secret"
//!
//! [ports]                              # 0 = pick a free port
//! http = 0
//! https = 0
//! rtsp = 0
//! discovery = 0
//!
//! [quirks]
//! report_host = "192.168.1.64"         # report this internal address in every URI
//! setup_ssrc_space = true              # SETUP answers "ssrc= 1A2B3C4D"
//!
//! [[profiles]]
//! token = "main"
//! name = "MainStream"
//! video = "h264"                       # h264 | h265 | jpeg
//! width = 640
//! height = 360
//! fps = 25
//! bitrate_kbps = 1024
//! audio = "pcmu"                       # aac | pcmu | pcma (optional)
//! metadata = true                      # an ONVIF metadata track (optional)
//! ```
//! - `onvif/<service>/<Operation>.xml` (`<service>`: device, media, media2, ptz, events,
//!   imaging): replayed as the whole SOAP answer to that operation, after authentication.
//! - `rtsp/describe.sdp`: the SDP served instead of the generated one.
//! - `rtsp/describe.txt`: a whole DESCRIBE response (status line, headers, body) replayed as it
//!   is, its CSeq set to the request's.
//! - `discovery/probe_matches.xml`: the ProbeMatches envelope sent in answer to a Probe, its
//!   RelatesTo set to the probe's MessageID.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::faults::Fault;
use super::media::{AudioCodec, VideoCodec};
use crate::error::{Error, ErrorKind, Result};

/// The identity a mock camera reports (GetDeviceInformation, scopes, RTSP `Server`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Identity {
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Serial number.
    pub serial_number: String,
    /// Hardware id.
    pub hardware_id: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            manufacturer: "camlink".into(),
            model: "MockCam 1".into(),
            firmware_version: env!("CARGO_PKG_VERSION").into(),
            serial_number: "CLM-0001".into(),
            hardware_id: "mock".into(),
        }
    }
}

/// Authentication schemes a mock camera accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthScheme {
    /// HTTP/RTSP Digest with MD5.
    DigestMd5,
    /// HTTP/RTSP Digest with SHA-256.
    DigestSha256,
    /// HTTP/RTSP Basic.
    Basic,
    /// WS-Security UsernameToken (ONVIF SOAP only).
    UsernameToken,
}

impl AuthScheme {
    /// Every scheme (the default).
    pub const ALL: [AuthScheme; 4] = [
        AuthScheme::DigestMd5,
        AuthScheme::DigestSha256,
        AuthScheme::Basic,
        AuthScheme::UsernameToken,
    ];
}

/// One media profile (a stream the camera offers).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Profile token (also the RTSP path: `rtsp://host:port/<token>`).
    pub token: String,
    /// Profile name.
    #[serde(default)]
    pub name: String,
    /// Video codec.
    #[serde(default = "default_video")]
    pub video: VideoCodec,
    /// Width announced (the stream uses the nearest sample: 640x360 or 320x180).
    #[serde(default = "default_width")]
    pub width: u32,
    /// Height announced.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Frame rate announced (samples are 25 fps).
    #[serde(default = "default_fps")]
    pub fps: u32,
    /// Bit rate announced, kbit/s.
    #[serde(default = "default_bitrate")]
    pub bitrate_kbps: u32,
    /// Audio codec, if the profile has audio.
    #[serde(default)]
    pub audio: Option<AudioCodec>,
    /// Whether the profile has an ONVIF metadata track.
    #[serde(default)]
    pub metadata: bool,
    /// Stream a synthetic H.264 stream of this many bits per second
    /// ([`crate::mock::synthetic`]) instead of the sample video (`video` must be `h264`).
    #[serde(default)]
    pub synthetic_bitrate: Option<u32>,
}

fn default_video() -> VideoCodec {
    VideoCodec::H264
}
fn default_width() -> u32 {
    640
}
fn default_height() -> u32 {
    360
}
fn default_fps() -> u32 {
    25
}
fn default_bitrate() -> u32 {
    1024
}

impl ProfileConfig {
    /// A profile with a token, codec and size; 25 fps, 1 Mbit/s, no audio.
    pub fn new(token: &str, video: VideoCodec, width: u32, height: u32) -> Self {
        ProfileConfig {
            token: token.into(),
            name: token.into(),
            video,
            width,
            height,
            fps: 25,
            bitrate_kbps: 1024,
            audio: None,
            metadata: false,
            synthetic_bitrate: None,
        }
    }

    /// The same profile streaming a synthetic H.264 stream of `bitrate` bits per second (25 fps,
    /// a keyframe every 2 s; see [`crate::mock::synthetic`]) instead of the sample video.
    pub fn with_synthetic(mut self, bitrate: u32) -> Self {
        self.video = VideoCodec::H264;
        self.fps = 25;
        self.bitrate_kbps = bitrate / 1000;
        self.synthetic_bitrate = Some(bitrate);
        self
    }

    /// The same profile with audio.
    pub fn with_audio(mut self, audio: AudioCodec) -> Self {
        self.audio = Some(audio);
        self
    }

    /// The same profile with an ONVIF metadata track.
    pub fn with_metadata(mut self) -> Self {
        self.metadata = true;
        self
    }
}

/// Camera behaviours that imitate real firmware.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quirks {
    /// Report this host (an internal address) in every URI instead of the bound one.
    pub report_host: Option<String>,
    /// Answer SETUP with `ssrc= XXXXXXXX` (a space after `=`), as some Hikvision firmware does.
    pub setup_ssrc_space: bool,
}

/// Ports of a fixture (`0` = pick a free one; absent = the builder's default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FixturePorts {
    /// ONVIF over HTTP.
    pub http: Option<u16>,
    /// ONVIF over HTTPS.
    pub https: Option<u16>,
    /// RTSP.
    pub rtsp: Option<u16>,
    /// WS-Discovery.
    pub discovery: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureCredentials {
    user: String,
    password: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CameraToml {
    identity: Option<Identity>,
    credentials: Option<FixtureCredentials>,
    auth: Option<Vec<String>>,
    clock_offset_seconds: Option<i64>,
    ports: FixturePorts,
    quirks: Quirks,
    profiles: Vec<ProfileConfig>,
    faults: Vec<String>,
}

/// A camera fixture folder, loaded.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// Identity, if set.
    pub identity: Option<Identity>,
    /// Credentials (user, password), if set.
    pub credentials: Option<(String, String)>,
    /// Accepted schemes, if set (`Some(empty)` = no authentication).
    pub auth: Option<Vec<AuthScheme>>,
    /// Clock offset, if set.
    pub clock_offset: Option<i64>,
    /// Ports.
    pub ports: FixturePorts,
    /// Quirks.
    pub quirks: Quirks,
    /// Profiles (empty = the builder's).
    pub profiles: Vec<ProfileConfig>,
    /// Faults switched on at start.
    pub faults: Vec<Fault>,
    /// Replayed ONVIF answers: (service, operation) → SOAP envelope.
    pub onvif: BTreeMap<(String, String), String>,
    /// SDP served on DESCRIBE instead of the generated one.
    pub describe_sdp: Option<String>,
    /// A whole DESCRIBE response replayed.
    pub describe_response: Option<Vec<u8>>,
    /// A ProbeMatches envelope replayed.
    pub probe_matches: Option<String>,
}

/// Largest fixture file read.
pub const MAX_FIXTURE_FILE: u64 = 1024 * 1024;

/// The ONVIF services a fixture may hold answers for.
pub const FIXTURE_SERVICES: [&str; 6] = ["device", "media", "media2", "ptz", "events", "imaging"];

fn read_text(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(e, format!("fixture file {}", path.display())))?;
    if meta.len() > MAX_FIXTURE_FILE {
        return Err(Error::limit("fixture file", MAX_FIXTURE_FILE as usize));
    }
    std::fs::read_to_string(path)
        .map_err(|e| Error::io(e, format!("fixture file {}", path.display())))
}

impl Fixture {
    /// Loads a fixture folder.
    pub fn load(dir: impl AsRef<Path>) -> Result<Fixture> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::invalid_input(format!(
                "camera fixture {} is not a folder",
                dir.display()
            )));
        }
        let mut fx = Fixture {
            dir: dir.to_path_buf(),
            ..Fixture::default()
        };
        let toml_path = dir.join("camera.toml");
        if toml_path.is_file() {
            let text = read_text(&toml_path)?;
            let t: CameraToml = toml::from_str(&text).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("{}: {}", toml_path.display(), e.message()),
                )
            })?;
            fx.identity = t.identity;
            fx.credentials = t.credentials.map(|c| (c.user, c.password));
            if let Some(list) = t.auth {
                let mut schemes = Vec::new();
                for s in list {
                    match s.as_str() {
                        "none" => {}
                        "digest-md5" => schemes.push(AuthScheme::DigestMd5),
                        "digest-sha256" => schemes.push(AuthScheme::DigestSha256),
                        "digest" => {
                            schemes.push(AuthScheme::DigestMd5);
                            schemes.push(AuthScheme::DigestSha256);
                        }
                        "basic" => schemes.push(AuthScheme::Basic),
                        "username-token" => schemes.push(AuthScheme::UsernameToken),
                        other => {
                            return Err(Error::invalid_input(format!(
                                "{}: unknown auth scheme {other:?} (digest, digest-md5, digest-sha256, basic, username-token, none)",
                                toml_path.display()
                            )));
                        }
                    }
                }
                fx.auth = Some(schemes);
            }
            fx.clock_offset = t.clock_offset_seconds;
            fx.ports = t.ports;
            fx.quirks = t.quirks;
            fx.profiles = t.profiles;
            for f in t.faults {
                fx.faults.push(f.parse()?);
            }
        }
        for service in FIXTURE_SERVICES {
            let sdir = dir.join("onvif").join(service);
            let Ok(entries) = std::fs::read_dir(&sdir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("xml") {
                    continue;
                }
                if let Some(op) = path.file_stem().and_then(|s| s.to_str()) {
                    fx.onvif
                        .insert((service.to_string(), op.to_string()), read_text(&path)?);
                }
            }
        }
        let sdp = dir.join("rtsp/describe.sdp");
        if sdp.is_file() {
            fx.describe_sdp = Some(read_text(&sdp)?);
        }
        let txt = dir.join("rtsp/describe.txt");
        if txt.is_file() {
            fx.describe_response = Some(read_text(&txt)?.into_bytes());
        }
        let pm = dir.join("discovery/probe_matches.xml");
        if pm.is_file() {
            fx.probe_matches = Some(read_text(&pm)?);
        }
        Ok(fx)
    }
}

/// Everything that makes one mock camera.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Address every server binds (default 127.0.0.1).
    pub bind: IpAddr,
    /// ONVIF HTTP port (0 = free port).
    pub http_port: u16,
    /// ONVIF HTTPS port (0 = free port; `None` = no HTTPS).
    pub https_port: Option<u16>,
    /// RTSP port (0 = free port).
    pub rtsp_port: u16,
    /// RTSPS (RTSP over TLS) port (0 = free port; `None` = no RTSPS).
    pub rtsps_port: Option<u16>,
    /// WS-Discovery port (0 = free port; `None` = no responder).
    pub discovery_port: Option<u16>,
    /// Join the WS-Discovery multicast group (only inside a test network namespace).
    pub discovery_multicast: bool,
    /// Answer only the legacy WS-Discovery form (older Hikvision/Uniview/Dahua firmware).
    pub discovery_legacy_only: bool,
    /// Where to send Hello at start and Bye at shutdown (the multicast group when joined;
    /// any address, e.g. a test's loopback socket, otherwise).
    pub discovery_announce_to: Option<std::net::SocketAddr>,
    /// User name and password; `None` = no authentication at all.
    pub credentials: Option<(String, String)>,
    /// Accepted schemes.
    pub auth: Vec<AuthScheme>,
    /// How far the camera's clock is from the real one, in seconds.
    pub clock_offset: i64,
    /// WS-Security `Created` tolerance.
    pub skew_window: Duration,
    /// Identity.
    pub identity: Identity,
    /// Profiles.
    pub profiles: Vec<ProfileConfig>,
    /// Send media as fast as possible instead of in real time (benchmarks).
    pub unpaced: bool,
    /// Seed of the packet-fault random source.
    pub seed: u64,
    /// RTSP session timeout announced (seconds).
    pub session_timeout: Duration,
    /// Quirks.
    pub quirks: Quirks,
    /// Faults on at start.
    pub faults: Vec<Fault>,
    /// Replay answers from a fixture.
    pub fixture: Option<Fixture>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            http_port: 0,
            https_port: Some(0),
            rtsp_port: 0,
            rtsps_port: Some(0),
            discovery_port: Some(0),
            discovery_multicast: false,
            discovery_legacy_only: false,
            discovery_announce_to: None,
            credentials: Some(("admin".into(), "admin".into())),
            auth: AuthScheme::ALL.to_vec(),
            clock_offset: 0,
            skew_window: Duration::from_secs(300),
            identity: Identity::default(),
            profiles: vec![
                ProfileConfig {
                    name: "MainStream".into(),
                    ..ProfileConfig::new("main", VideoCodec::H264, 640, 360)
                        .with_audio(AudioCodec::Pcmu)
                },
                ProfileConfig {
                    name: "SubStream".into(),
                    bitrate_kbps: 256,
                    ..ProfileConfig::new("sub", VideoCodec::H264, 320, 180)
                },
            ],
            unpaced: false,
            seed: 1,
            session_timeout: Duration::from_secs(60),
            quirks: Quirks::default(),
            faults: Vec::new(),
            fixture: None,
        }
    }
}

impl MockConfig {
    /// Applies a fixture's settings over this configuration.
    pub fn apply_fixture(&mut self, fx: Fixture) {
        if let Some(i) = &fx.identity {
            self.identity = i.clone();
        }
        if let Some(c) = &fx.credentials {
            self.credentials = Some(c.clone());
        }
        if let Some(a) = &fx.auth {
            self.auth = a.clone();
            if a.is_empty() {
                self.credentials = None;
            }
        }
        if let Some(o) = fx.clock_offset {
            self.clock_offset = o;
        }
        if let Some(p) = fx.ports.http {
            self.http_port = p;
        }
        if let Some(p) = fx.ports.https {
            self.https_port = Some(p);
        }
        if let Some(p) = fx.ports.rtsp {
            self.rtsp_port = p;
        }
        if let Some(p) = fx.ports.discovery {
            self.discovery_port = Some(p);
        }
        self.quirks = fx.quirks.clone();
        if !fx.profiles.is_empty() {
            self.profiles = fx.profiles.clone();
        }
        self.faults.extend(fx.faults.iter().cloned());
        self.fixture = Some(fx);
    }

    /// Checks the configuration (tokens unique and URL-safe, at least one profile).
    pub fn validate(&self) -> Result<()> {
        if self.profiles.is_empty() {
            return Err(Error::invalid_input(
                "a mock camera needs at least one profile",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.profiles {
            if p.token.is_empty()
                || !p
                    .token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(Error::invalid_input(format!(
                    "profile token {:?} must be non-empty ASCII letters, digits, '-', '_' or '.'",
                    p.token
                )));
            }
            if !seen.insert(&p.token) {
                return Err(Error::invalid_input(format!(
                    "duplicate profile token {:?}",
                    p.token
                )));
            }
            if p.fps == 0 || p.width == 0 || p.height == 0 {
                return Err(Error::invalid_input(format!(
                    "profile {:?}: width, height and fps must be positive",
                    p.token
                )));
            }
            if let Some(b) = p.synthetic_bitrate
                && (p.video != VideoCodec::H264
                    || !(super::synthetic::MIN_BITRATE..=super::synthetic::MAX_BITRATE)
                        .contains(&b))
            {
                return Err(Error::invalid_input(format!(
                    "profile {:?}: a synthetic stream is H.264 of {}..={} bit/s",
                    p.token,
                    super::synthetic::MIN_BITRATE,
                    super::synthetic::MAX_BITRATE
                )));
            }
        }
        if self.credentials.is_some() && self.auth.is_empty() {
            return Err(Error::invalid_input(
                "credentials are set but no auth scheme is accepted",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_fixtures_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cameras");
        let mut n = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let fx = Fixture::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let mut cfg = MockConfig::default();
            cfg.apply_fixture(fx);
            cfg.validate().unwrap();
            n += 1;
        }
        assert!(n >= 4, "expected the shipped quirk fixtures");
    }

    #[test]
    fn bad_fixtures_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("camlink-fx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("camera.toml"), "auth = [\"kerberos\"]").unwrap();
        let e = Fixture::load(&dir).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidInput);
        assert!(e.to_string().contains("kerberos"));
        std::fs::write(dir.join("camera.toml"), "[identity]\nmanufacturer = 3").unwrap();
        assert_eq!(
            Fixture::load(&dir).unwrap_err().kind(),
            &ErrorKind::InvalidInput
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            Fixture::load("/nonexistent/camlink").unwrap_err().kind(),
            &ErrorKind::InvalidInput
        );
    }

    #[test]
    fn validation() {
        let mut c = MockConfig::default();
        c.validate().unwrap();
        c.profiles.push(c.profiles[0].clone());
        assert!(c.validate().is_err());
        c.profiles = vec![ProfileConfig::new("a/b", VideoCodec::H264, 640, 360)];
        assert!(c.validate().is_err());
    }
}
