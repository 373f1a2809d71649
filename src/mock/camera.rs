//! [`MockCamera`]: the builder, the running camera's handle, and the listeners it owns.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::announce::start_responder;
use super::builder::MockCameraBuilder;
use super::config::{AuthScheme, Identity, MockConfig};
use super::faults::{Fault, FaultSet};
use super::http::{self, HttpRequest, HttpResponse, Reply};
use super::tls::{self, TlsIdentity};
use crate::auth::DigestAlgorithm;
use crate::auth::server::{DigestServer, Rejection, UsernameTokenVerifier};
use crate::error::{Error, Result};

/// The ports a running mock camera listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// ONVIF over HTTP (and snapshots).
    pub http: u16,
    /// ONVIF over HTTPS, if enabled.
    pub https: Option<u16>,
    /// RTSP.
    pub rtsp: u16,
    /// RTSPS, if enabled.
    pub rtsps: Option<u16>,
    /// WS-Discovery (UDP), if enabled.
    pub discovery: Option<u16>,
}

/// State shared by the servers of one camera.
pub(crate) struct Shared {
    pub(crate) config: MockConfig,
    pub(crate) ports: Ports,
    pub(crate) faults: FaultSet,
    pub(crate) digest: Mutex<DigestServer>,
    pub(crate) tokens: Mutex<UsernameTokenVerifier>,
    pub(crate) tls: Option<TlsIdentity>,
    /// False while the camera "reboots".
    pub(crate) up: AtomicBool,
    /// Bumped at each reboot: connections of an older epoch close.
    pub(crate) epoch: watch::Sender<u64>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) requests: AtomicU64,
    /// Listeners closed by a reboot and not bound again yet.
    pub(crate) listeners_down: std::sync::atomic::AtomicUsize,
    /// The camera clock's offset from real time (seconds); SetSystemDateAndTime changes it.
    pub(crate) clock_offset: AtomicI64,
    /// ONVIF state: PTZ head, presets, imaging settings, event subscriptions, hostname.
    pub(crate) onvif: Mutex<super::onvif_state::OnvifState>,
    /// Wakes PullMessages waiters when an event is published.
    pub(crate) events_notify: tokio::sync::Notify,
}

impl Shared {
    /// The camera's clock: real time plus the configured offset, Unix seconds.
    pub(crate) fn camera_now(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        real.saturating_add(self.clock_offset.load(Ordering::Relaxed))
    }

    /// The host written into URIs: the configured quirk address, or the bound address.
    pub(crate) fn uri_host(&self) -> String {
        match &self.config.quirks.report_host {
            Some(h) => h.clone(),
            None => host_for_url(self.config.bind),
        }
    }

    fn lookup(&self, user: &str) -> Option<String> {
        match &self.config.credentials {
            Some((u, p)) if u == user => Some(p.clone()),
            _ => None,
        }
    }

    pub(crate) fn accepts(&self, scheme: AuthScheme) -> bool {
        self.config.credentials.is_some() && self.config.auth.contains(&scheme)
    }

    /// Whether the camera asks for any credentials.
    pub(crate) fn auth_required(&self) -> bool {
        self.config.credentials.is_some()
    }

    /// Checks HTTP/RTSP `Authorization` (digest or basic). `Ok(())` when accepted or when no
    /// authentication is configured; otherwise the rejection and whether the challenge should
    /// say stale.
    pub(crate) fn check_http_auth(
        &self,
        method: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> std::result::Result<(), Rejection> {
        if !self.auth_required() {
            return Ok(());
        }
        if self.faults.is_on("401") {
            return Err(Rejection::BadCredentials);
        }
        let Some(value) = authorization else {
            return Err(Rejection::Missing);
        };
        let scheme = value.split_whitespace().next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("basic") {
            if !self.accepts(AuthScheme::Basic) {
                return Err(Rejection::Missing);
            }
            return crate::auth::verify_basic(value, |u| self.lookup(u))
                .map(|_| ())
                .ok_or(Rejection::BadCredentials);
        }
        if scheme.eq_ignore_ascii_case("digest")
            && (self.accepts(AuthScheme::DigestMd5) || self.accepts(AuthScheme::DigestSha256))
        {
            let mut d = lock(&self.digest);
            let verdict = d.verify(
                method,
                Some(value),
                body,
                |u| self.lookup(u),
                Instant::now(),
            );
            if verdict.is_ok() && self.faults.is_on("stale-nonce") {
                // Rotate: this nonce is spent; the next request is told it is stale.
                d.expire_all();
            }
            return verdict.map(|_| ());
        }
        Err(Rejection::Missing)
    }

    /// Whether any HTTP scheme (digest or basic) is accepted: then 401 challenges make sense.
    pub(crate) fn challenges_offered(&self) -> Vec<AuthScheme> {
        [
            AuthScheme::DigestMd5,
            AuthScheme::DigestSha256,
            AuthScheme::Basic,
        ]
        .into_iter()
        .filter(|s| self.accepts(*s))
        .collect()
    }

    /// `WWW-Authenticate` values for a 401.
    pub(crate) fn challenges(&self, stale: bool) -> Vec<String> {
        let mut out = Vec::new();
        if self.accepts(AuthScheme::DigestMd5) || self.accepts(AuthScheme::DigestSha256) {
            out.extend(lock(&self.digest).challenges(Instant::now(), stale));
        }
        if self.accepts(AuthScheme::Basic) {
            out.push(format!("Basic realm=\"{}\"", realm(&self.config.identity)));
        }
        out
    }
}

/// Locks a mutex, recovering from poisoning (state stays consistent: every critical section
/// leaves it valid).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn realm(identity: &Identity) -> String {
    format!("{} {}", identity.manufacturer, identity.model).replace('"', "")
}

/// `127.0.0.1` or `[::1]`.
pub(crate) fn host_for_url(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// A running mock camera. Dropping it (or [`shutdown`](Self::shutdown)) stops every server.
pub struct MockCamera {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    responder: Option<crate::discovery::responder::Responder>,
}

impl std::fmt::Debug for MockCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockCamera")
            .field("ports", &self.shared.ports)
            .field("identity", &self.shared.config.identity)
            .finish_non_exhaustive()
    }
}

impl MockCamera {
    /// A builder.
    pub fn builder() -> MockCameraBuilder {
        MockCameraBuilder::new()
    }

    pub(crate) async fn start(config: MockConfig) -> Result<MockCamera> {
        config.validate()?;
        let bind = config.bind;
        let http = bind_tcp(bind, config.http_port, "HTTP").await?;
        let https = match config.https_port {
            Some(p) => Some(bind_tcp(bind, p, "HTTPS").await?),
            None => None,
        };
        let rtsp = bind_tcp(bind, config.rtsp_port, "RTSP").await?;
        let rtsps = match config.rtsps_port {
            Some(p) => Some(bind_tcp(bind, p, "RTSPS").await?),
            None => None,
        };
        let tls_identity = if https.is_some() || rtsps.is_some() {
            let mut names = vec![bind.to_string(), "localhost".to_string()];
            if let Some(h) = &config.quirks.report_host {
                names.push(h.clone());
            }
            Some(tls::self_signed(&names)?)
        } else {
            None
        };
        let mut ports = Ports {
            http: local_port(&http)?,
            https: match &https {
                Some(l) => Some(local_port(l)?),
                None => None,
            },
            rtsp: local_port(&rtsp)?,
            rtsps: match &rtsps {
                Some(l) => Some(local_port(l)?),
                None => None,
            },
            discovery: None,
        };
        let mut algorithms = Vec::new();
        if config.auth.contains(&AuthScheme::DigestSha256) {
            algorithms.push(DigestAlgorithm::Sha256);
        }
        if config.auth.contains(&AuthScheme::DigestMd5) {
            algorithms.push(DigestAlgorithm::Md5);
        }
        let responder = match config.discovery_port {
            Some(p) => Some(start_responder(&config, &ports, p).await?),
            None => None,
        };
        ports.discovery = responder.as_ref().map(|r| r.local_addr().port());
        let faults = FaultSet::default();
        for f in &config.faults {
            faults.set(f.clone());
        }
        let config_clock_offset = config.clock_offset;
        let config_profiles_for_state = config.profiles.clone();
        let (epoch, _) = watch::channel(0u64);
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            digest: Mutex::new(DigestServer::new(realm(&config.identity), algorithms)),
            tokens: Mutex::new(UsernameTokenVerifier::new(config.skew_window)),
            config,
            ports,
            faults,
            tls: tls_identity,
            up: AtomicBool::new(true),
            epoch,
            shutdown,
            requests: AtomicU64::new(0),
            listeners_down: std::sync::atomic::AtomicUsize::new(0),
            clock_offset: AtomicI64::new(config_clock_offset),
            onvif: Mutex::new(super::onvif_state::OnvifState::new(
                &config_profiles_for_state,
            )),
            events_notify: tokio::sync::Notify::new(),
        });
        let mut tasks = Vec::new();
        let s = shared.clone();
        tasks.push(tokio::spawn(accept_loop(s, http, Service::Http)));
        if let Some(l) = https {
            tasks.push(tokio::spawn(accept_loop(shared.clone(), l, Service::Https)));
        }
        tasks.push(tokio::spawn(accept_loop(
            shared.clone(),
            rtsp,
            Service::Rtsp,
        )));
        if let Some(l) = rtsps {
            tasks.push(tokio::spawn(accept_loop(shared.clone(), l, Service::Rtsps)));
        }
        tracing::info!(
            http = ports.http,
            https = ?ports.https,
            rtsp = ports.rtsp,
            "mock camera started"
        );
        Ok(MockCamera {
            shared,
            tasks,
            responder,
        })
    }

    /// The ports in use.
    pub fn ports(&self) -> Ports {
        self.shared.ports
    }

    /// The bound address.
    pub fn bind_addr(&self) -> IpAddr {
        self.shared.config.bind
    }

    fn base(&self, scheme: &str, port: u16) -> String {
        format!(
            "{scheme}://{}:{port}",
            host_for_url(self.shared.config.bind)
        )
    }

    /// `http://127.0.0.1:PORT/onvif/device_service`.
    pub fn device_service_url(&self) -> String {
        format!(
            "{}/onvif/device_service",
            self.base("http", self.shared.ports.http)
        )
    }

    /// `https://127.0.0.1:PORT/onvif/device_service`, if HTTPS is on.
    pub fn https_device_service_url(&self) -> Option<String> {
        self.shared
            .ports
            .https
            .map(|p| format!("{}/onvif/device_service", self.base("https", p)))
    }

    /// The RTSP URL of a profile: `rtsp://127.0.0.1:PORT/<token>`.
    pub fn rtsp_url(&self, token: &str) -> String {
        format!("{}/{token}", self.base("rtsp", self.shared.ports.rtsp))
    }

    /// The RTSPS URL of a profile, if RTSPS is on: `rtsps://127.0.0.1:PORT/<token>`.
    pub fn rtsps_url(&self, token: &str) -> Option<String> {
        self.shared
            .ports
            .rtsps
            .map(|p| format!("{}/{token}", self.base("rtsps", p)))
    }

    /// The snapshot URL of a profile.
    pub fn snapshot_url(&self, token: &str) -> String {
        format!(
            "{}/snapshot/{token}.jpg",
            self.base("http", self.shared.ports.http)
        )
    }

    /// SHA-256 fingerprint of the HTTPS certificate (`AB:CD:...`), if HTTPS is on.
    pub fn https_fingerprint(&self) -> Option<&str> {
        self.shared
            .tls
            .as_ref()
            .map(|t| t.fingerprint_sha256.as_str())
    }

    /// The HTTPS certificate in PEM, if HTTPS is on.
    pub fn https_certificate_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.certificate_pem.as_str())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &MockConfig {
        &self.shared.config
    }

    /// The faults in force; switch them on and off while the camera runs.
    pub fn faults(&self) -> &FaultSet {
        &self.shared.faults
    }

    /// Switches a fault on.
    pub fn set_fault(&self, fault: Fault) {
        self.shared.faults.set(fault);
    }

    /// Switches every fault off.
    pub fn clear_faults(&self) {
        self.shared.faults.clear_all();
    }

    /// Requests served so far (HTTP and RTSP).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Simulates a reboot: every connection drops, the ports refuse connections for `down_for`,
    /// then the camera comes back with no sessions or subscriptions.
    pub async fn reboot(&self, down_for: Duration) {
        reboot_shared(&self.shared, down_for).await;
    }

    /// Publishes a motion event (`IsMotion` = `on`) to every event subscription.
    pub fn trigger_motion(&self, on: bool) {
        let s = &self.shared;
        let msg = super::onvif_events::motion_message(s, on, "Changed");
        {
            let mut st = lock(&s.onvif);
            st.motion = on;
            st.publish(msg, Instant::now());
        }
        s.events_notify.notify_waiters();
    }

    /// Publishes a motion-started event: the same as `trigger_motion(true)`.
    pub fn trigger_event(&self) {
        self.trigger_motion(true);
    }

    /// The simulated PTZ position (pan, tilt, zoom) now.
    pub fn ptz_position(&self) -> (f64, f64, f64) {
        let p = lock(&self.shared.onvif).ptz.position(Instant::now());
        (p.pan, p.tilt, p.zoom)
    }

    /// Stops every server and waits for them to end.
    pub async fn shutdown(mut self) {
        if let Some(r) = self.responder.take() {
            r.stop().await; // sends Bye when announcing
        }
        self.shared.shutdown.send_replace(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for MockCamera {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Drops every connection, refuses connections for `down_for`, forgets sessions, nonces and
/// subscriptions, then comes back on the same ports.
pub(crate) async fn reboot_shared(s: &Shared, down_for: Duration) {
    s.up.store(false, Ordering::SeqCst);
    s.epoch.send_modify(|e| *e += 1);
    tracing::info!(?down_for, "mock camera rebooting");
    lock(&s.onvif).reboot();
    tokio::time::sleep(down_for).await;
    lock(&s.digest).expire_all();
    s.up.store(true, Ordering::SeqCst);
    s.epoch.send_modify(|e| *e += 1);
    // Return once every port accepts connections again (bounded).
    for _ in 0..400 {
        if s.listeners_down.load(Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn bind_tcp(ip: IpAddr, port: u16, what: &str) -> Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| {
            Error::io(
                e,
                format!("mock camera: cannot bind {what} port {port} on {ip}"),
            )
        })
}

fn local_port(l: &TcpListener) -> Result<u16> {
    Ok(l.local_addr()
        .map_err(|e| Error::io(e, "mock camera: local address"))?
        .port())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Http,
    Https,
    Rtsp,
    Rtsps,
}

/// Accepts connections until shutdown; while the camera "reboots" the listener is closed (so
/// clients see connection refused) and bound again on the same port afterwards.
async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, service: Service) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut epoch = shared.epoch.subscribe();
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut listener = Some(listener);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(l) = listener.as_ref() else {
            // Down: wait for the camera to come back, then bind the same port again.
            tokio::select! {
                _ = epoch.changed() => {}
                _ = shutdown.changed() => return,
            }
            if shared.up.load(Ordering::SeqCst) {
                match TcpListener::bind(addr).await {
                    Ok(l) => {
                        listener = Some(l);
                        shared.listeners_down.fetch_sub(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        tracing::warn!(%addr, error = %e, "mock camera: rebind after reboot failed");
                        return;
                    }
                }
            }
            continue;
        };
        let accepted = tokio::select! {
            r = l.accept() => r,
            _ = epoch.changed() => {
                if !shared.up.load(Ordering::SeqCst) {
                    listener = None;
                    shared.listeners_down.fetch_add(1, Ordering::SeqCst);
                }
                continue;
            }
            _ = shutdown.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        if shared.faults.is_on("refuse") {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let s = shared.clone();
        tokio::spawn(async move {
            let conn_epoch = *s.epoch.borrow();
            let mut ep = s.epoch.subscribe();
            let work = serve(s.clone(), stream, peer, service);
            tokio::select! {
                _ = work => {}
                _ = async {
                    while ep.changed().await.is_ok() {
                        if *ep.borrow() != conn_epoch { break; }
                    }
                } => {}
            }
        });
    }
}

async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, service: Service) {
    let shutdown = shared.shutdown.subscribe();
    match service {
        Service::Http => {
            let s = shared.clone();
            http::serve_connection(stream, peer, shutdown, move |req, peer| {
                handle_http(s.clone(), req, peer, false)
            })
            .await
        }
        Service::Https => {
            let Some(tls) = shared.tls.as_ref() else {
                return;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            let s = shared.clone();
            http::serve_connection(stream, peer, shutdown, move |req, peer| {
                handle_http(s.clone(), req, peer, true)
            })
            .await
        }
        Service::Rtsp => super::rtsp_server::serve(shared, stream, peer).await,
        Service::Rtsps => {
            let Some(tls) = shared.tls.as_ref() else {
                return;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            super::rtsp_server::serve(shared, stream, peer).await
        }
    }
}

/// Answers one HTTP request: snapshots here, ONVIF in [`super::onvif_server`].
async fn handle_http(
    shared: Arc<Shared>,
    req: HttpRequest,
    peer: SocketAddr,
    secure: bool,
) -> Reply {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if shared.faults.is_on("drop") {
        return Reply::Drop;
    }
    if shared.faults.is_on("stall") {
        return Reply::Stall;
    }
    if let Some(Fault::SlowAnswers(d)) = shared.faults.get("slow") {
        tokio::time::sleep(d).await;
    }
    let path = req.path().to_string();
    if let Some(rest) = path.strip_prefix("/snapshot/") {
        return Reply::Send(snapshot(&shared, &req, rest));
    }
    if path.starts_with("/onvif/") && req.method == "POST" {
        return super::onvif_server::handle(&shared, &req, peer, secure).await;
    }
    Reply::Send(HttpResponse::new(404, "text/plain", "not found"))
}

/// 401 with the camera's challenges.
pub(crate) fn unauthorized(shared: &Shared, stale: bool) -> HttpResponse {
    let mut r = HttpResponse::new(
        401,
        "text/html",
        "<html><body><h1>401 Unauthorized</h1></body></html>",
    );
    for c in shared.challenges(stale) {
        r = r.with_header("WWW-Authenticate", c);
    }
    r
}

fn snapshot(shared: &Shared, req: &HttpRequest, rest: &str) -> HttpResponse {
    if req.method != "GET" && req.method != "HEAD" {
        return HttpResponse::empty(405);
    }
    if let Err(r) = shared.check_http_auth(&req.method, req.header("Authorization"), &[]) {
        return unauthorized(shared, r == Rejection::Stale);
    }
    let token = rest.strip_suffix(".jpg").unwrap_or(rest);
    let Some(profile) = shared.config.profiles.iter().find(|p| p.token == token) else {
        return HttpResponse::new(404, "text/plain", "no such profile");
    };
    let (w, h) = (
        profile.width.min(1920) as u16,
        profile.height.min(1080) as u16,
    );
    let lines = vec![
        format!(
            "{} {}",
            shared.config.identity.manufacturer, shared.config.identity.model
        ),
        format!(
            "{} {}",
            profile.token,
            crate::datetime::format_utc(shared.camera_now())
        ),
    ];
    match super::snapshot::test_pattern_jpeg(w.max(16), h.max(16), &lines) {
        Ok(jpeg) => HttpResponse::new(200, "image/jpeg", jpeg),
        Err(e) => HttpResponse::new(500, "text/plain", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera shut down before its servers ever ran (nothing subscribed to the shutdown
    /// signal yet) still stops: the signal is stored, not only sent to current subscribers.
    #[tokio::test(flavor = "current_thread")]
    async fn shutdown_right_after_start_returns() {
        let cam = MockCamera::builder()
            .discovery_port(None)
            .start()
            .await
            .unwrap();
        let rtsp = cam.ports().rtsp;
        tokio::time::timeout(Duration::from_secs(5), cam.shutdown())
            .await
            .expect("shutdown hangs");
        let refused = TcpStream::connect(("127.0.0.1", rtsp)).await;
        assert!(refused.is_err(), "still listening after shutdown");
    }
}
