//! The async ONVIF client: the IO shell around the pure SOAP core.
//!
//! ```
//! use camlink::auth::Credentials;
//! use camlink::onvif::client::{OnvifClient, OnvifOptions};
//! use camlink::onvif::media::StreamTransport;
//!
//! let options = OnvifOptions {
//!     credentials: Some(Credentials::new("admin", "secret")),
//!     rtsp_port: Some(10554), // the RTSP port this VMS user set for the camera
//!     ..OnvifOptions::default()
//! };
//! // `host`, `host:port` or a full device service URL; `new` does no IO.
//! let camera = OnvifClient::new("192.0.2.10:8080", options)?;
//! assert_eq!(camera.device_url().as_str(), "http://192.0.2.10:8080/onvif/device_service");
//!
//! // What a VMS does next (OnvifClient::connect = new + clock sync + service discovery):
//! async fn list_streams(camera: &OnvifClient) -> camlink::Result<Vec<String>> {
//!     let mut uris = Vec::new();
//!     for profile in camera.profiles().await? {
//!         uris.push(camera.stream_uri(&profile.token, StreamTransport::RtspTcp).await?.uri);
//!     }
//!     Ok(uris)
//! }
//! # let _ = list_streams;
//! # Ok::<(), camlink::Error>(())
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use url::Url;

use crate::auth::{Credentials, HttpAuth, PasswordType, UsernameToken};
use crate::onvif::event_stream::EventStream;
use crate::onvif::events::{self, Subscription, TopicDescription};
use crate::onvif::http::{Answer, map_reqwest, read_answer};
use crate::onvif::imaging::{self, ImagingOptions, ImagingSettings};
use crate::onvif::media::{
    self, AudioEncoderConfiguration, MediaUri, Profile, StreamTransport, VideoEncoderConfiguration,
    VideoSource,
};
use crate::onvif::policy::{
    AuthChoice, AuthMode, RewritePolicy, Target, UriKind, repair_doubled_port, rewrite_uri,
};
use crate::onvif::ptz::{self, Preset, PtzConfiguration, PtzNode, PtzStatus, PtzVector};
use crate::onvif::soap::{self, Addressing, ns};
use crate::onvif::tls::{self, TlsPolicy};
use crate::onvif::xml::{Element, MAX_DOCUMENT_BYTES};
use crate::onvif::{Call, device, media2};
use crate::{Error, ErrorKind, Result};

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest snapshot accepted, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;
/// Most 401 rounds for one request.
const MAX_AUTH_ROUNDS: u32 = 3;

/// How to reach and talk to a camera.
#[derive(Debug, Clone)]
pub struct OnvifOptions {
    /// User name and password (none: only unauthenticated calls work).
    pub credentials: Option<Credentials>,
    /// Which authentication to send (automatic by default).
    pub auth: AuthMode,
    /// `PasswordDigest` (default) or `PasswordText` in the UsernameToken.
    pub password_type: PasswordType,
    /// How returned URIs are rewritten to the address connected to.
    pub rewrite: RewritePolicy,
    /// Port put into stream URIs (the RTSP port a VMS user set for this camera).
    pub rtsp_port: Option<u16>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// HTTPS certificate policy.
    pub tls: TlsPolicy,
    /// Use Media2 (ver20) when the camera offers it.
    pub prefer_media2: bool,
}

impl Default for OnvifOptions {
    fn default() -> Self {
        OnvifOptions {
            credentials: None,
            auth: AuthMode::Auto,
            password_type: PasswordType::Digest,
            rewrite: RewritePolicy::HostAndPort,
            rtsp_port: None,
            timeout: DEFAULT_TIMEOUT,
            tls: TlsPolicy::Verify,
            prefer_media2: true,
        }
    }
}

/// Turns `host`, `host:port`, `[v6]:port` or a full URL into the device service URL.
///
/// ```
/// use camlink::onvif::client::device_url;
/// assert_eq!(device_url("192.0.2.10").unwrap().as_str(), "http://192.0.2.10/onvif/device_service");
/// assert_eq!(device_url("cam.local:8080").unwrap().as_str(), "http://cam.local:8080/onvif/device_service");
/// assert_eq!(device_url("192.0.2.10:443").unwrap().as_str(), "https://192.0.2.10/onvif/device_service");
/// assert_eq!(device_url("https://192.0.2.10:8443/onvif/device_service").unwrap().port(), Some(8443));
/// assert_eq!(device_url("::1").unwrap().as_str(), "http://[::1]/onvif/device_service");
/// assert!(device_url("ftp://x").is_err());
/// ```
pub fn device_url(address: &str) -> Result<Url> {
    let a = address.trim();
    if a.is_empty() {
        return Err(Error::invalid_input("empty camera address"));
    }
    let full = if a.contains("://") {
        repair_doubled_port(a)
    } else if a.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("http://[{a}]")
    } else {
        let scheme = if a.ends_with(":443") { "https" } else { "http" };
        format!(
            "{scheme}://{}",
            repair_doubled_port(&format!("x://{a}")).trim_start_matches("x://")
        )
    };
    let mut url = Url::parse(&full)
        .map_err(|e| Error::invalid_input(format!("bad camera address {a:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_input(format!(
            "camera address {a:?}: only http and https are supported"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_input(format!(
            "camera address {a:?} has no host"
        )));
    }
    if url.scheme() == "https" && url.port() == Some(443) {
        let _ = url.set_port(None);
    }
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/onvif/device_service");
    }
    Ok(url)
}

/// Service addresses learnt from the camera (already rewritten).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Services {
    /// Media ver10.
    pub media: Option<String>,
    /// Media2 ver20.
    pub media2: Option<String>,
    /// PTZ.
    pub ptz: Option<String>,
    /// Events.
    pub events: Option<String>,
    /// Imaging.
    pub imaging: Option<String>,
}

#[derive(Debug)]
struct State {
    /// Camera clock minus ours, seconds.
    offset: i64,
    auth: AuthChoice,
    http_auth: HttpAuth,
    services: Option<Services>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    device: Url,
    target: Target,
    peer: String,
    opts: OnvifOptions,
    state: Mutex<State>,
    seen_fingerprint: Arc<Mutex<Option<[u8; 32]>>>,
}

/// A snapshot image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `Content-Type` the camera sent, if any.
    pub content_type: Option<String>,
    /// The image bytes.
    pub data: Bytes,
}

impl Snapshot {
    /// Whether the bytes are a JPEG (start of image marker).
    pub fn is_jpeg(&self) -> bool {
        self.data.starts_with(&[0xFF, 0xD8])
    }
}

/// An ONVIF camera. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct OnvifClient {
    inner: Arc<Inner>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn operation_name(call: &Call) -> String {
    call.action
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches("Request")
        .to_string()
}

/// A call and the parser of its answer.
type Request<T> = (Call, fn(&Element) -> Result<T>);

impl OnvifClient {
    /// A client for the camera at `address` (`host`, `host:port` or a full URL). Does no IO; see
    /// [`connect`](Self::connect).
    pub fn new(address: &str, opts: OnvifOptions) -> Result<Self> {
        let device = device_url(address)?;
        let target = Target::of(&device)
            .ok_or_else(|| Error::invalid_input("camera address without host"))?;
        let seen = Arc::new(Mutex::new(None));
        let tls_cfg = tls::client_config(&opts.tls, seen.clone())?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_cfg)
            .connect_timeout(opts.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::InvalidInput, "HTTP client setup failed").with_source(e)
            })?;
        let encrypted = device.scheme() == "https";
        let state = State {
            offset: 0,
            auth: AuthChoice::new(opts.auth),
            http_auth: HttpAuth::new(opts.credentials.clone()).with_encrypted(encrypted),
            services: None,
        };
        Ok(OnvifClient {
            inner: Arc::new(Inner {
                http,
                peer: format!("{}:{}", target.host, target.port),
                device,
                target,
                opts,
                state: Mutex::new(state),
                seen_fingerprint: seen,
            }),
        })
    }

    /// [`new`](Self::new), then reads the camera clock and learns its services.
    pub async fn connect(address: &str, opts: OnvifOptions) -> Result<Self> {
        let c = Self::new(address, opts)?;
        c.sync_clock().await?;
        c.services().await?;
        Ok(c)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent: recover.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The device service URL in use.
    pub fn device_url(&self) -> &Url {
        &self.inner.device
    }

    /// The camera clock minus ours, in seconds (0 before the first sync).
    pub fn clock_offset(&self) -> i64 {
        self.state().offset
    }

    /// The camera's current time (our clock plus the offset), seconds since the epoch.
    pub fn camera_now(&self) -> i64 {
        unix_now().saturating_add(self.clock_offset())
    }

    /// SHA-256 fingerprint of the certificate the camera presented (HTTPS only), whatever the
    /// policy: show it to the user, then pin it with [`TlsPolicy::PinnedSha256`].
    pub fn tls_fingerprint_seen(&self) -> Option<[u8; 32]> {
        self.inner
            .seen_fingerprint
            .lock()
            .map(|g| *g)
            .unwrap_or(None)
    }

    async fn send_raw(
        &self,
        url: &str,
        action: &str,
        body: String,
        authorization: Option<String>,
        timeout: Duration,
    ) -> Result<Answer> {
        let mut req = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, soap::content_type(action))
            .timeout(timeout)
            .body(body);
        if let Some(a) = authorization {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        let resp = req.send().await.map_err(map_reqwest)?;
        read_answer(resp, MAX_DOCUMENT_BYTES, "SOAP response").await
    }

    /// Sends one SOAP call to `url` and returns the body element of the answer.
    ///
    /// Handles authentication (UsernameToken with the clock offset, HTTP Digest on 401), one
    /// clock re-sync on a clock-skew fault, and one retry of an idempotent call on a connection
    /// the camera closed.
    pub async fn call(&self, url: &str, call: &Call) -> Result<Element> {
        self.post(url, call, None, false, self.inner.opts.timeout)
            .await
    }

    async fn post(
        &self,
        url: &str,
        call: &Call,
        addressing: Option<&Addressing>,
        anonymous: bool,
        timeout: Duration,
    ) -> Result<Element> {
        let op = operation_name(call);
        let ctx = |e: Error| e.with_peer(self.inner.peer.clone()).with_method(op.clone());
        let path = Url::parse(url)
            .map(|u| {
                let mut p = u.path().to_string();
                if let Some(q) = u.query() {
                    p.push('?');
                    p.push_str(q);
                }
                p
            })
            .map_err(|e| ctx(Error::invalid_input(format!("bad service URL: {e}"))))?;
        let creds = if anonymous {
            None
        } else {
            self.inner.opts.credentials.as_ref()
        };
        let mut resynced = false;
        let mut retried_io = false;
        let mut auth_rounds = 0u32;
        loop {
            let (token, authorization) = {
                let st = self.state();
                let token = match creds {
                    Some(c) if st.auth.send_token() => Some(UsernameToken::generate(
                        c,
                        unix_now().saturating_add(st.offset),
                        self.inner.opts.password_type,
                    )),
                    _ => None,
                };
                (token, st.auth.use_http() && creds.is_some())
            };
            let body = soap::build_request(&call.body, token.as_ref(), addressing);
            let authorization = if authorization {
                self.state()
                    .http_auth
                    .authorization("POST", &path, body.as_bytes())
            } else {
                None
            };
            let answer = match self
                .send_raw(url, &call.action, body, authorization, timeout)
                .await
            {
                Ok(a) => a,
                Err(e) if e.kind() == &ErrorKind::Io && call.idempotent && !retried_io => {
                    tracing::debug!(%op, "connection closed by the camera; retrying once");
                    retried_io = true;
                    continue;
                }
                Err(e) => return Err(ctx(e)),
            };
            if answer.status == 401 && creds.is_some() {
                auth_rounds += 1;
                let mut st = self.state();
                if auth_rounds > MAX_AUTH_ROUNDS || !st.auth.on_http_401() {
                    return Err(ctx(Error::new(
                        ErrorKind::Unauthorized,
                        "HTTP 401: the camera refused the credentials",
                    )));
                }
                st.http_auth
                    .on_unauthorized(answer.www_authenticate.iter().map(String::as_str))
                    .map_err(ctx)?;
                continue;
            }
            match soap::parse_http_response(answer.status, &answer.body) {
                Ok(el) => {
                    let mut st = self.state();
                    st.auth.on_success();
                    st.http_auth.on_success();
                    return Ok(el);
                }
                Err(e) if e.kind() == &ErrorKind::ClockSkew && !resynced && !anonymous => {
                    tracing::info!(%op, "camera reports a clock problem; re-reading its clock");
                    resynced = true;
                    Box::pin(self.sync_clock()).await?;
                }
                Err(e)
                    if e.kind() == &ErrorKind::Unauthorized
                        && creds.is_some()
                        && self.state().auth.on_soap_unauthorized() =>
                {
                    tracing::debug!(%op, "credentials refused; trying the other method once");
                }
                Err(e) => return Err(ctx(e)),
            }
        }
    }

    /// Reads the camera clock (`GetSystemDateAndTime`, unauthenticated first, with credentials
    /// for cameras that demand them) and keeps the offset for UsernameToken `Created`.
    pub async fn sync_clock(&self) -> Result<device::SystemDateAndTime> {
        let call = device::get_system_date_and_time();
        let url = self.inner.device.to_string();
        let t = self.inner.opts.timeout;
        let before = unix_now();
        let el = match self.post(&url, &call, None, true, t).await {
            Err(e)
                if e.kind() == &ErrorKind::Unauthorized
                    && self.inner.opts.credentials.is_some() =>
            {
                self.post(&url, &call, None, false, t).await?
            }
            other => other?,
        };
        let sdt = device::parse_system_date_and_time(&el)?;
        if let Some(cam) = sdt.utc_unix {
            let mid = before.saturating_add(unix_now()) / 2;
            let offset = cam.saturating_sub(mid);
            if offset.abs() > 5 {
                tracing::info!(offset, "camera clock differs from ours");
            }
            self.state().offset = offset;
        }
        Ok(sdt)
    }

    async fn device_call<T>(&self, call: Call, parse: fn(&Element) -> Result<T>) -> Result<T> {
        let el = self.call(self.inner.device.as_str(), &call).await?;
        parse(&el)
    }

    fn rewrite(&self, uri: &str, kind: UriKind) -> String {
        rewrite_uri(
            uri,
            kind,
            &self.inner.target,
            self.inner.opts.rewrite,
            self.inner.opts.rtsp_port,
        )
    }

    /// The services the camera offers (GetServices, completed by GetCapabilities), learnt once.
    pub async fn services(&self) -> Result<Services> {
        if let Some(s) = self.state().services.clone() {
            return Ok(s);
        }
        let mut s = Services::default();
        match self
            .device_call(device::get_services(false), device::parse_services)
            .await
        {
            Ok(list) => {
                for svc in list {
                    let x = Some(self.rewrite(&svc.xaddr, UriKind::Http));
                    match svc.namespace.as_str() {
                        ns::TRT => s.media = x,
                        ns::TR2 => s.media2 = x,
                        ns::TPTZ => s.ptz = x,
                        ns::TEV => s.events = x,
                        ns::TIMG => s.imaging = x,
                        _ => {}
                    }
                }
            }
            Err(e) if e.kind() == &ErrorKind::Unauthorized => return Err(e),
            Err(e) => tracing::debug!("GetServices failed ({e}); using GetCapabilities"),
        }
        if s.media.is_none() || s.events.is_none() || s.ptz.is_none() || s.imaging.is_none() {
            match self
                .device_call(device::get_capabilities(), device::parse_capabilities)
                .await
            {
                Ok(c) => {
                    let fill = |slot: &mut Option<String>, v: Option<String>| {
                        if slot.is_none() {
                            *slot = v.map(|x| self.rewrite(&x, UriKind::Http));
                        }
                    };
                    fill(&mut s.media, c.media);
                    fill(&mut s.events, c.events);
                    fill(&mut s.ptz, c.ptz);
                    fill(&mut s.imaging, c.imaging);
                }
                Err(e) if s == Services::default() => return Err(e),
                Err(e) => tracing::debug!("GetCapabilities failed: {e}"),
            }
        }
        self.state().services = Some(s.clone());
        Ok(s)
    }

    async fn service(&self, pick: fn(&Services) -> Option<String>, what: &str) -> Result<String> {
        pick(&self.services().await?).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("the camera offers no {what} service"),
            )
            .with_peer(self.inner.peer.clone())
        })
    }

    // ---- Device ----

    /// `GetDeviceInformation`.
    pub async fn device_information(&self) -> Result<device::DeviceInformation> {
        self.device_call(
            device::get_device_information(),
            device::parse_device_information,
        )
        .await
    }
    /// `GetSystemDateAndTime` (also updates the clock offset).
    pub async fn system_date_and_time(&self) -> Result<device::SystemDateAndTime> {
        self.sync_clock().await
    }
    /// `GetCapabilities` (XAddrs as reported, not rewritten).
    pub async fn capabilities(&self) -> Result<device::Capabilities> {
        self.device_call(device::get_capabilities(), device::parse_capabilities)
            .await
    }
    /// `GetScopes`.
    pub async fn scopes(&self) -> Result<Vec<device::Scope>> {
        self.device_call(device::get_scopes(), device::parse_scopes)
            .await
    }
    /// `GetHostname`.
    pub async fn hostname(&self) -> Result<device::Hostname> {
        self.device_call(device::get_hostname(), device::parse_hostname)
            .await
    }
    /// `GetNetworkInterfaces`.
    pub async fn network_interfaces(&self) -> Result<Vec<device::NetworkInterface>> {
        self.device_call(
            device::get_network_interfaces(),
            device::parse_network_interfaces,
        )
        .await
    }
    /// `GetNetworkProtocols` (the RTSP/HTTP/HTTPS ports the camera reports).
    pub async fn network_protocols(&self) -> Result<Vec<device::NetworkProtocol>> {
        self.device_call(
            device::get_network_protocols(),
            device::parse_network_protocols,
        )
        .await
    }
    /// `SetSystemDateAndTime`.
    pub async fn set_system_date_and_time(&self, setting: &device::DateTimeSetting) -> Result<()> {
        self.device_call(
            device::set_system_date_and_time(setting),
            device::parse_set_system_date_and_time,
        )
        .await
    }
    /// `SystemReboot`; returns the camera's message.
    pub async fn system_reboot(&self) -> Result<String> {
        self.device_call(device::system_reboot(), device::parse_system_reboot)
            .await
    }

    // ---- Media ----

    async fn media_or_media2<T>(&self, v2: Option<Request<T>>, v1: Request<T>) -> Result<T> {
        let s = self.services().await?;
        if self.inner.opts.prefer_media2
            && let (Some(url), Some((call, parse))) = (s.media2.as_deref(), v2)
        {
            match self.call(url, &call).await.and_then(|el| parse(&el)) {
                Err(e) if e.kind() == &ErrorKind::Unsupported && s.media.is_some() => {
                    tracing::debug!("Media2 refused ({e}); using Media");
                }
                other => return other,
            }
        }
        let url = s.media.ok_or_else(|| {
            Error::new(ErrorKind::Unsupported, "the camera offers no media service")
        })?;
        let el = self.call(&url, &v1.0).await?;
        (v1.1)(&el)
    }

    /// Media profiles (Media2 when offered, with all configurations).
    pub async fn profiles(&self) -> Result<Vec<Profile>> {
        self.media_or_media2(
            Some((media2::get_profiles(), media2::parse_profiles)),
            (media::get_profiles(), media::parse_profiles),
        )
        .await
    }
    /// One profile (Media ver10 `GetProfile`).
    pub async fn profile(&self, token: &str) -> Result<Profile> {
        self.media_or_media2(
            None,
            (media::get_profile(token), media::parse_profile_response),
        )
        .await
    }
    /// The stream URI of a profile, rewritten to the address connected to.
    pub async fn stream_uri(&self, token: &str, transport: StreamTransport) -> Result<MediaUri> {
        let mut u = self
            .media_or_media2(
                Some((
                    media2::get_stream_uri(token, transport),
                    media2::parse_stream_uri,
                )),
                (
                    media::get_stream_uri(token, transport),
                    media::parse_stream_uri,
                ),
            )
            .await?;
        u.uri = self.rewrite(&u.uri, UriKind::Stream);
        Ok(u)
    }
    /// The snapshot URI of a profile, rewritten.
    pub async fn snapshot_uri(&self, token: &str) -> Result<MediaUri> {
        let mut u = self
            .media_or_media2(
                Some((media2::get_snapshot_uri(token), media2::parse_snapshot_uri)),
                (media::get_snapshot_uri(token), media::parse_snapshot_uri),
            )
            .await?;
        u.uri = self.rewrite(&u.uri, UriKind::Http);
        Ok(u)
    }
    /// `GetVideoSources`.
    pub async fn video_sources(&self) -> Result<Vec<VideoSource>> {
        self.media_or_media2(
            None,
            (media::get_video_sources(), media::parse_video_sources),
        )
        .await
    }
    /// Video encoder configurations (Media2 when offered: that is where H.265 shows).
    pub async fn video_encoder_configurations(&self) -> Result<Vec<VideoEncoderConfiguration>> {
        self.media_or_media2(
            Some((
                media2::get_video_encoder_configurations(),
                media2::parse_video_encoder_configurations,
            )),
            (
                media::get_video_encoder_configurations(),
                media::parse_video_encoder_configurations,
            ),
        )
        .await
    }
    /// `GetAudioEncoderConfigurations` (Media ver10).
    pub async fn audio_encoder_configurations(&self) -> Result<Vec<AudioEncoderConfiguration>> {
        self.media_or_media2(
            None,
            (
                media::get_audio_encoder_configurations(),
                media::parse_audio_encoder_configurations,
            ),
        )
        .await
    }

    /// Downloads a snapshot: `GetSnapshotUri` of the profile, then an HTTP GET with Digest or
    /// Basic (Basic only over HTTPS) as the camera asks.
    pub async fn snapshot(&self, token: &str) -> Result<Snapshot> {
        let uri = self.snapshot_uri(token).await?;
        self.fetch_snapshot(&uri.uri).await
    }

    /// HTTP GET of a snapshot URI with the camera's credentials.
    pub async fn fetch_snapshot(&self, uri: &str) -> Result<Snapshot> {
        let url =
            Url::parse(uri).map_err(|e| Error::invalid_input(format!("bad snapshot URI: {e}")))?;
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let mut auth = HttpAuth::new(self.inner.opts.credentials.clone())
            .with_encrypted(url.scheme() == "https");
        let ctx = |e: Error| {
            e.with_peer(self.inner.peer.clone())
                .with_method("GET snapshot")
        };
        for _ in 0..=MAX_AUTH_ROUNDS {
            let mut req = self
                .inner
                .http
                .get(url.clone())
                .timeout(self.inner.opts.timeout.saturating_mul(2));
            if let Some(a) = auth.authorization("GET", &path, b"") {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let resp = req.send().await.map_err(|e| ctx(map_reqwest(e)))?;
            let a = read_answer(resp, MAX_SNAPSHOT_BYTES, "snapshot")
                .await
                .map_err(ctx)?;
            match a.status {
                401 => auth
                    .on_unauthorized(a.www_authenticate.iter().map(String::as_str))
                    .map_err(ctx)?,
                200..=299 if !a.body.is_empty() => {
                    return Ok(Snapshot {
                        content_type: a.content_type,
                        data: Bytes::from(a.body),
                    });
                }
                200..=299 => {
                    return Err(ctx(Error::new(ErrorKind::Malformed, "empty snapshot")));
                }
                s => {
                    return Err(ctx(Error::new(
                        ErrorKind::HttpStatus(s),
                        format!("snapshot request answered HTTP {s}"),
                    )));
                }
            }
        }
        Err(ctx(Error::new(
            ErrorKind::Unauthorized,
            "the camera keeps refusing the snapshot credentials",
        )))
    }

    // ---- PTZ ----

    async fn ptz_call<T>(&self, call: Call, parse: impl Fn(&Element) -> Result<T>) -> Result<T> {
        let url = self.service(|s| s.ptz.clone(), "PTZ").await?;
        let el = self.call(&url, &call).await?;
        parse(&el)
    }
    /// `GetNodes`.
    pub async fn ptz_nodes(&self) -> Result<Vec<PtzNode>> {
        self.ptz_call(ptz::get_nodes(), ptz::parse_nodes).await
    }
    /// `GetConfigurations`.
    pub async fn ptz_configurations(&self) -> Result<Vec<PtzConfiguration>> {
        self.ptz_call(ptz::get_configurations(), ptz::parse_configurations)
            .await
    }
    /// `GetStatus`.
    pub async fn ptz_status(&self, profile: &str) -> Result<PtzStatus> {
        self.ptz_call(ptz::get_status(profile), ptz::parse_status)
            .await
    }
    /// `ContinuousMove`.
    pub async fn continuous_move(
        &self,
        profile: &str,
        velocity: PtzVector,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.ptz_call(ptz::continuous_move(profile, velocity, timeout), |e| {
            ptz::parse_ack(e, "ContinuousMove")
        })
        .await
    }
    /// `RelativeMove`.
    pub async fn relative_move(
        &self,
        profile: &str,
        translation: PtzVector,
        speed: Option<PtzVector>,
    ) -> Result<()> {
        self.ptz_call(ptz::relative_move(profile, translation, speed), |e| {
            ptz::parse_ack(e, "RelativeMove")
        })
        .await
    }
    /// `AbsoluteMove`.
    pub async fn absolute_move(
        &self,
        profile: &str,
        position: PtzVector,
        speed: Option<PtzVector>,
    ) -> Result<()> {
        self.ptz_call(ptz::absolute_move(profile, position, speed), |e| {
            ptz::parse_ack(e, "AbsoluteMove")
        })
        .await
    }
    /// `Stop`.
    pub async fn ptz_stop(&self, profile: &str) -> Result<()> {
        self.ptz_call(ptz::stop(profile, true, true), |e| {
            ptz::parse_ack(e, "Stop")
        })
        .await
    }
    /// `GetPresets`.
    pub async fn presets(&self, profile: &str) -> Result<Vec<Preset>> {
        self.ptz_call(ptz::get_presets(profile), ptz::parse_presets)
            .await
    }
    /// `SetPreset`; returns the preset token.
    pub async fn set_preset(
        &self,
        profile: &str,
        name: Option<&str>,
        token: Option<&str>,
    ) -> Result<String> {
        self.ptz_call(ptz::set_preset(profile, name, token), ptz::parse_set_preset)
            .await
    }
    /// `RemovePreset`.
    pub async fn remove_preset(&self, profile: &str, token: &str) -> Result<()> {
        self.ptz_call(ptz::remove_preset(profile, token), |e| {
            ptz::parse_ack(e, "RemovePreset")
        })
        .await
    }
    /// `GotoPreset`.
    pub async fn goto_preset(&self, profile: &str, token: &str) -> Result<()> {
        self.ptz_call(ptz::goto_preset(profile, token, None), |e| {
            ptz::parse_ack(e, "GotoPreset")
        })
        .await
    }
    /// `GotoHomePosition`.
    pub async fn goto_home_position(&self, profile: &str) -> Result<()> {
        self.ptz_call(ptz::goto_home_position(profile, None), |e| {
            ptz::parse_ack(e, "GotoHomePosition")
        })
        .await
    }

    // ---- Imaging ----

    async fn imaging_call<T>(&self, call: Call, parse: fn(&Element) -> Result<T>) -> Result<T> {
        let url = self.service(|s| s.imaging.clone(), "imaging").await?;
        let el = self.call(&url, &call).await?;
        parse(&el)
    }
    /// `GetImagingSettings` of a video source.
    pub async fn imaging_settings(&self, video_source: &str) -> Result<ImagingSettings> {
        self.imaging_call(
            imaging::get_imaging_settings(video_source),
            imaging::parse_imaging_settings,
        )
        .await
    }
    /// `SetImagingSettings` of a video source.
    pub async fn set_imaging_settings(
        &self,
        video_source: &str,
        settings: &ImagingSettings,
    ) -> Result<()> {
        self.imaging_call(
            imaging::set_imaging_settings(video_source, settings),
            imaging::parse_set_imaging_settings,
        )
        .await
    }
    /// `GetOptions` of a video source.
    pub async fn imaging_options(&self, video_source: &str) -> Result<ImagingOptions> {
        self.imaging_call(imaging::get_options(video_source), imaging::parse_options)
            .await
    }

    // ---- Events ----

    /// `GetEventProperties`: the topics the camera can raise.
    pub async fn event_properties(&self) -> Result<Vec<TopicDescription>> {
        let url = self.service(|s| s.events.clone(), "events").await?;
        let call = events::get_event_properties();
        let el = self.call(&url, &call).await?;
        events::parse_event_properties(&el)
    }

    /// `CreatePullPointSubscription`; the subscription address is rewritten.
    pub async fn create_pull_point(&self, lifetime: Duration) -> Result<Subscription> {
        let url = self.service(|s| s.events.clone(), "events").await?;
        let call = events::create_pull_point_subscription(lifetime);
        let addressing = Addressing {
            action: call.action.clone(),
            to: url.clone(),
            message_id: None,
            reference_parameters: Vec::new(),
        };
        let el = self
            .post(
                &url,
                &call,
                Some(&addressing),
                false,
                self.inner.opts.timeout,
            )
            .await?;
        let mut sub = events::parse_create_pull_point_subscription(&el)?;
        sub.address = self.rewrite(&sub.address, UriKind::Http);
        Ok(sub)
    }

    async fn subscription_call(
        &self,
        sub: &Subscription,
        call: &Call,
        extra_wait: Duration,
    ) -> Result<Element> {
        let addressing = sub.addressing(call);
        self.post(
            &sub.address,
            call,
            Some(&addressing),
            false,
            self.inner.opts.timeout.saturating_add(extra_wait),
        )
        .await
    }

    /// `PullMessages`: waits up to `wait` on the camera for up to `limit` notifications.
    pub async fn pull_messages(
        &self,
        sub: &Subscription,
        wait: Duration,
        limit: u32,
    ) -> Result<events::PullMessages> {
        let el = self
            .subscription_call(sub, &events::pull_messages(wait, limit), wait)
            .await?;
        events::parse_pull_messages(&el)
    }

    /// `Renew` until `termination_unix` (camera clock); returns the new termination time.
    pub async fn renew(&self, sub: &Subscription, termination_unix: i64) -> Result<Option<i64>> {
        let el = self
            .subscription_call(sub, &events::renew(termination_unix), Duration::ZERO)
            .await?;
        events::parse_renew(&el)
    }

    /// `Unsubscribe`.
    pub async fn unsubscribe(&self, sub: &Subscription) -> Result<()> {
        let el = self
            .subscription_call(sub, &events::unsubscribe(), Duration::ZERO)
            .await?;
        events::parse_ack(&el, "Unsubscribe")
    }

    /// `SetSynchronizationPoint`.
    pub async fn set_synchronization_point(&self, sub: &Subscription) -> Result<()> {
        let el = self
            .subscription_call(sub, &events::set_synchronization_point(), Duration::ZERO)
            .await?;
        events::parse_ack(&el, "SetSynchronizationPoint")
    }

    /// Subscribes to the camera's events: a stream of parsed notifications that renews its
    /// pull point before expiry and re-subscribes when the pull point dies (camera reboot).
    pub fn subscribe(&self) -> EventStream {
        EventStream::new(self.clone())
    }
}
