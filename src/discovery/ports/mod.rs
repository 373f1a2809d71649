//! Port probe: which camera services a host offers, and how to reach them.
//!
//! Given a host, [`probe_ports`] checks a list of TCP ports (by default the usual camera ports,
//! [`DEFAULT_PORTS`]) with bounded concurrency and short timeouts, and identifies what answers:
//!
//! * `rtsp`: an answer to `OPTIONS * RTSP/1.0` (its `Server` header is kept); over TLS, RTSPS;
//! * `onvif`: a SOAP answer (a `GetSystemDateAndTimeResponse` or a SOAP Fault) to the
//!   unauthenticated GetSystemDateAndTime at one of [`ONVIF_PATHS`], over HTTP or HTTPS;
//! * `https`: a TLS handshake completes (any certificate is accepted, for this probe only; its
//!   SHA-256 fingerprint is reported so that the user can pin it);
//! * `http`: an HTTP answer (a `WWW-Authenticate: Basic` challenge is noted);
//! * `unknown`: the port is open but nothing above answered.
//!
//! The [`HostReport`] names the URL to use for control and media and flags risky exposure
//! ([`Risk`]). No credentials are ever sent.
//!
//! ```no_run
//! use camlink::discovery::ports::{probe_ports, PortProbeOptions};
//! # async fn run() -> camlink::Result<()> {
//! let report = probe_ports("192.0.2.10".parse().unwrap(), &PortProbeOptions::default()).await?;
//! for p in report.ports.iter().filter(|p| p.open) {
//!     println!("{} {:?} {:?}", p.port, p.service.map(|s| s.as_str()), p.url);
//! }
//! # Ok(()) }
//! ```

mod tls;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use tls::fingerprint;
use tls::{tls_config, tls_connect};
use wire::{Head, Proto, is_onvif_answer, onvif_request, response_complete};

use crate::{Error, Result};

/// The ports checked by default: HTTP, HTTPS, RTSP, RTSPS and the usual vendor ports.
pub const DEFAULT_PORTS: [u16; 11] = [80, 443, 554, 322, 8000, 8080, 8081, 8443, 8554, 8899, 37777];
/// Where ONVIF device services usually live, tried in order.
pub const ONVIF_PATHS: [&str; 3] = [
    "/onvif/device_service",
    "/onvif/services",
    "/onvif/device_service/",
];
/// Most ports checked in one probe.
pub const MAX_PORTS: usize = 1024;
/// Most concurrent connections to the host.
pub const MAX_CONCURRENCY: usize = 64;
/// Most bytes read from one answer.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// What answers on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// An ONVIF device service (SOAP), over HTTP or HTTPS.
    Onvif,
    /// An RTSP server, plain or over TLS (RTSPS).
    Rtsp,
    /// A plain HTTP server that is not an ONVIF device service.
    Http,
    /// A TLS server (HTTPS or another protocol over TLS) that is not ONVIF or RTSPS.
    Https,
    /// Open, but unidentified.
    Unknown,
}

impl Service {
    /// The name used by the CLI: `onvif`, `rtsp`, `http`, `https` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Onvif => "onvif",
            Service::Rtsp => "rtsp",
            Service::Http => "http",
            Service::Https => "https",
            Service::Unknown => "unknown",
        }
    }
}

/// What was found on one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortReport {
    /// The TCP port.
    pub port: u16,
    /// Whether a TCP connection was accepted.
    pub open: bool,
    /// What answers (`None` when closed).
    pub service: Option<Service>,
    /// The URL to use for this service (`None` when closed or unknown).
    pub url: Option<String>,
    /// Whether the service is spoken over TLS.
    pub tls: bool,
    /// The SHA-256 fingerprint of the TLS certificate (`AB:CD:…`), when TLS.
    pub tls_sha256: Option<String>,
    /// The `Server` header of the answer, if any.
    pub server: Option<String>,
    /// Authentication schemes offered (`Basic`, `Digest`, …), from `WWW-Authenticate`.
    pub auth_schemes: Vec<String>,
}

impl PortReport {
    fn closed(port: u16) -> Self {
        PortReport {
            port,
            open: false,
            service: None,
            url: None,
            tls: false,
            tls_sha256: None,
            server: None,
            auth_schemes: Vec::new(),
        }
    }

    fn offers_basic(&self) -> bool {
        self.auth_schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case("basic"))
    }
}

/// A risky exposure found on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Risk {
    /// Control over plain HTTP on `port` although `tls_port` offers it over TLS.
    PlainHttpWhereHttpsAvailable {
        /// The plain-text port.
        port: u16,
        /// The TLS port.
        tls_port: u16,
    },
    /// Media over plain RTSP on `port` although `tls_port` offers RTSPS.
    PlainRtspWhereRtspsAvailable {
        /// The plain-text port.
        port: u16,
        /// The TLS port.
        tls_port: u16,
    },
    /// Basic authentication (password readable on the wire) offered on a plain-text port.
    BasicAuthOnPlainText {
        /// The plain-text port.
        port: u16,
    },
}

/// The result of a port probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReport {
    /// The host probed.
    pub host: IpAddr,
    /// One report per port, in the order given.
    pub ports: Vec<PortReport>,
    /// The ONVIF device service URL to use (HTTPS preferred).
    pub control_url: Option<String>,
    /// The RTSP URL base to use for media (RTSPS preferred).
    pub media_url: Option<String>,
    /// Risky exposure.
    pub risks: Vec<Risk>,
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct PortProbeOptions {
    /// The ports to check (default [`DEFAULT_PORTS`]; at most [`MAX_PORTS`]).
    pub ports: Vec<u16>,
    /// Connection timeout per port (default 1 s).
    pub connect_timeout: Duration,
    /// Timeout of each exchange on an open port (default 1.5 s).
    pub io_timeout: Duration,
    /// Most time spent identifying one open port (default 6 s).
    pub port_timeout: Duration,
    /// Most ports checked at once (default 8, at most [`MAX_CONCURRENCY`]).
    pub concurrency: usize,
}

impl Default for PortProbeOptions {
    fn default() -> Self {
        PortProbeOptions {
            ports: DEFAULT_PORTS.to_vec(),
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_millis(1500),
            port_timeout: Duration::from_secs(6),
            concurrency: 8,
        }
    }
}

/// Resolves `host` (a name or an address; the first IPv4 address found is used, else the first
/// address, within the connect timeout) and runs [`probe_ports`] on it.
///
/// Errors: [`ErrorKind::Unreachable`](crate::ErrorKind::Unreachable) when the name does not
/// resolve, [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when resolving takes too long.
pub async fn probe_host(host: &str, options: &PortProbeOptions) -> Result<HostReport> {
    let trimmed = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return probe_ports(ip, options).await;
    }
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Err(Error::invalid_input(
            "host name empty or longer than 253 bytes",
        ));
    }
    let lookup = tokio::net::lookup_host((trimmed, 0));
    let mut addrs =
        tokio::time::timeout(options.connect_timeout.max(Duration::from_secs(2)), lookup)
            .await
            .map_err(|_| Error::timeout("resolving the host name").with_peer(trimmed))?
            .map_err(|e| Error::io(e, "resolving the host name").with_peer(trimmed))?;
    // Cameras are IPv4 devices: prefer an IPv4 address (`localhost` may resolve to ::1 first,
    // while a camera or a mock listens on 127.0.0.1).
    let all: Vec<IpAddr> = addrs.by_ref().take(16).map(|a| a.ip()).collect();
    let Some(ip) = all.iter().find(|ip| ip.is_ipv4()).or(all.first()).copied() else {
        return Err(Error::new(
            crate::ErrorKind::Unreachable,
            "the host name has no address",
        )
        .with_peer(trimmed));
    };
    probe_ports(ip, options).await
}

/// Checks `options.ports` on `host` and identifies the services.
///
/// Errors only for invalid options (no ports, too many ports); unreachable ports are reported
/// closed.
pub async fn probe_ports(host: IpAddr, options: &PortProbeOptions) -> Result<HostReport> {
    if options.ports.is_empty() {
        return Err(Error::invalid_input("no port to probe"));
    }
    if options.ports.len() > MAX_PORTS {
        return Err(Error::invalid_input(format!("more than {MAX_PORTS} ports")));
    }
    let tls = Arc::new(tls_config()?);
    let sem = Arc::new(Semaphore::new(
        options.concurrency.clamp(1, MAX_CONCURRENCY),
    ));
    let mut set = JoinSet::new();
    for (i, &port) in options.ports.iter().enumerate() {
        let sem = sem.clone();
        let tls = tls.clone();
        let opts = options.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, probe_port(host, port, &opts, tls).await)
        });
    }
    let mut ports: Vec<Option<PortReport>> = vec![None; options.ports.len()];
    while let Some(r) = set.join_next().await {
        if let Ok((i, report)) = r
            && let Some(slot) = ports.get_mut(i)
        {
            *slot = Some(report);
        }
    }
    let ports: Vec<PortReport> = ports
        .into_iter()
        .zip(options.ports.iter())
        .map(|(r, &p)| r.unwrap_or_else(|| PortReport::closed(p)))
        .collect();
    Ok(summarize(host, ports))
}

/// Builds the host summary (URLs and risks) from the port reports.
pub fn summarize(host: IpAddr, ports: Vec<PortReport>) -> HostReport {
    let pick = |service: Service, tls: bool| {
        ports
            .iter()
            .find(|p| p.open && p.service == Some(service) && p.tls == tls)
    };
    let control = pick(Service::Onvif, true).or_else(|| pick(Service::Onvif, false));
    let media = pick(Service::Rtsp, true).or_else(|| pick(Service::Rtsp, false));
    let mut risks = Vec::new();
    let tls_web = ports
        .iter()
        .find(|p| p.open && p.tls && matches!(p.service, Some(Service::Onvif | Service::Https)));
    if let Some(t) = tls_web {
        for p in ports.iter().filter(|p| {
            p.open && !p.tls && matches!(p.service, Some(Service::Onvif | Service::Http))
        }) {
            risks.push(Risk::PlainHttpWhereHttpsAvailable {
                port: p.port,
                tls_port: t.port,
            });
        }
    }
    if let Some(t) = pick(Service::Rtsp, true) {
        for p in ports
            .iter()
            .filter(|p| p.open && !p.tls && p.service == Some(Service::Rtsp))
        {
            risks.push(Risk::PlainRtspWhereRtspsAvailable {
                port: p.port,
                tls_port: t.port,
            });
        }
    }
    for p in ports
        .iter()
        .filter(|p| p.open && !p.tls && p.offers_basic())
    {
        risks.push(Risk::BasicAuthOnPlainText { port: p.port });
    }
    HostReport {
        host,
        control_url: control.and_then(|p| p.url.clone()),
        media_url: media.and_then(|p| p.url.clone()),
        ports,
        risks,
    }
}

fn url_host(host: IpAddr) -> String {
    match host {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

async fn probe_port(
    host: IpAddr,
    port: u16,
    opts: &PortProbeOptions,
    tls: Arc<rustls::ClientConfig>,
) -> PortReport {
    let addr = SocketAddr::new(host, port);
    let Some(first) = connect(addr, opts.connect_timeout).await else {
        return PortReport::closed(port);
    };
    let mut report = PortReport {
        open: true,
        service: Some(Service::Unknown),
        ..PortReport::closed(port)
    };
    if tokio::time::timeout(
        opts.port_timeout,
        identify(&mut report, first, addr, opts, &tls),
    )
    .await
    .is_err()
    {
        tracing::debug!(%addr, "port probe: identification timed out");
    }
    report
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Option<TcpStream> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::trace!(%addr, error = %e, "port probe: closed");
            None
        }
        Err(_) => None,
    }
}

async fn identify(
    report: &mut PortReport,
    first: TcpStream,
    addr: SocketAddr,
    opts: &PortProbeOptions,
    tls: &Arc<rustls::ClientConfig>,
) {
    let host = url_host(addr.ip());
    let port = addr.port();
    // 1. RTSP OPTIONS on the first connection.
    let options_req = format!(
        "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camlink/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let reply = exchange(first, options_req.as_bytes(), opts.io_timeout).await;
    match Head::parse(&reply) {
        Some(h) if h.protocol == Proto::Rtsp => {
            set_rtsp(report, &h, &host, port, false);
            return;
        }
        Some(_) => {
            identify_http(report, addr, opts, None).await;
            return;
        }
        None => {}
    }
    // 2. TLS.
    if let Some((stream, fingerprint)) = tls_connect(addr, tls, opts).await {
        report.tls = true;
        report.tls_sha256 = Some(fingerprint);
        report.service = Some(Service::Https);
        report.url = Some(format!("https://{host}:{port}/"));
        let req = onvif_request(&host, port, ONVIF_PATHS[0]);
        let reply = exchange(stream, req.as_bytes(), opts.io_timeout).await;
        match Head::parse(&reply) {
            Some(h) if h.protocol == Proto::Rtsp => set_rtsp(report, &h, &host, port, true),
            Some(h) => {
                note_http(report, &h);
                if is_onvif_answer(h.body(&reply).as_ref()) {
                    set_onvif(report, &host, port, ONVIF_PATHS[0]);
                } else {
                    identify_http(report, addr, opts, Some(tls)).await;
                }
            }
            None => {
                // Silence to HTTP over TLS: an RTSPS server that drops what is not RTSP (as
                // some cameras on 322 do) answers OPTIONS on a second connection.
                if let Some((stream, _)) = tls_connect(addr, tls, opts).await {
                    let reply = exchange(stream, options_req.as_bytes(), opts.io_timeout).await;
                    if let Some(h) = Head::parse(&reply).filter(|h| h.protocol == Proto::Rtsp) {
                        set_rtsp(report, &h, &host, port, true);
                    }
                }
            }
        }
        return;
    }
    // 3. A server that ignored the RTSP request may still be HTTP.
    identify_http(report, addr, opts, None).await;
}

fn set_rtsp(report: &mut PortReport, head: &Head, host: &str, port: u16, tls: bool) {
    report.service = Some(Service::Rtsp);
    report.tls = tls;
    report.url = Some(format!(
        "{}://{host}:{port}/",
        if tls { "rtsps" } else { "rtsp" }
    ));
    note_http(report, head);
}

fn set_onvif(report: &mut PortReport, host: &str, port: u16, path: &str) {
    report.service = Some(Service::Onvif);
    report.url = Some(format!(
        "{}://{host}:{port}{path}",
        if report.tls { "https" } else { "http" }
    ));
}

fn note_http(report: &mut PortReport, head: &Head) {
    if report.server.is_none() {
        report.server = head.header("server").map(str::to_string);
    }
    for v in head.headers_named("www-authenticate") {
        let scheme = v.split_whitespace().next().unwrap_or_default();
        if !scheme.is_empty()
            && !report
                .auth_schemes
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scheme))
        {
            report.auth_schemes.push(scheme.to_string());
        }
    }
}

/// Tries the ONVIF paths and `GET /` over HTTP (or HTTPS with `tls`).
async fn identify_http(
    report: &mut PortReport,
    addr: SocketAddr,
    opts: &PortProbeOptions,
    tls: Option<&Arc<rustls::ClientConfig>>,
) {
    let host = url_host(addr.ip());
    let port = addr.port();
    let mut saw_http = false;
    for path in ONVIF_PATHS {
        let req = onvif_request(&host, port, path);
        let Some(reply) = request(addr, req.as_bytes(), opts, tls).await else {
            continue;
        };
        let Some(head) = Head::parse(&reply) else {
            continue;
        };
        if head.protocol == Proto::Rtsp {
            // An RTSP server that ignored `OPTIONS *` but answers other requests.
            set_rtsp(report, &head, &host, port, tls.is_some());
            return;
        }
        saw_http = true;
        note_http(report, &head);
        if is_onvif_answer(head.body(&reply).as_ref()) {
            set_onvif(report, &host, port, path);
            break;
        }
    }
    // The web interface's own challenge (Basic on plain text is a risk worth reporting).
    let get = format!("GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    if let Some(reply) = request(addr, get.as_bytes(), opts, tls).await
        && let Some(head) = Head::parse(&reply)
    {
        saw_http = true;
        note_http(report, &head);
    }
    if saw_http && report.service != Some(Service::Onvif) {
        let (service, scheme) = if tls.is_some() {
            (Service::Https, "https")
        } else {
            (Service::Http, "http")
        };
        report.service = Some(service);
        report.url = Some(format!("{scheme}://{host}:{port}/"));
    }
}

async fn request(
    addr: SocketAddr,
    req: &[u8],
    opts: &PortProbeOptions,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Option<Vec<u8>> {
    match tls {
        Some(cfg) => {
            let (s, _) = tls_connect(addr, cfg, opts).await?;
            Some(exchange(s, req, opts.io_timeout).await)
        }
        None => {
            let s = connect(addr, opts.connect_timeout).await?;
            Some(exchange(s, req, opts.io_timeout).await)
        }
    }
}

/// Writes `req` and reads the answer (bounded by [`MAX_RESPONSE`] and `timeout`); returns what
/// was read, possibly nothing.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    req: &[u8],
    timeout: Duration,
) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(timeout, async {
        if stream.write_all(req).await.is_err() || stream.flush().await.is_err() {
            return;
        }
        let mut chunk = [0u8; 4096];
        loop {
            let n = match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let room = MAX_RESPONSE.saturating_sub(buf.len());
            buf.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
            if buf.len() >= MAX_RESPONSE || response_complete(&buf) {
                return;
            }
        }
    })
    .await;
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(port: u16, service: Service, tls: bool, auth: &[&str]) -> PortReport {
        PortReport {
            port,
            open: true,
            service: Some(service),
            url: Some(format!("x://{port}")),
            tls,
            tls_sha256: None,
            server: None,
            auth_schemes: auth.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn summary_prefers_tls_and_flags_risks() {
        let host: IpAddr = "192.0.2.1".parse().unwrap();
        let r = summarize(
            host,
            vec![
                open(80, Service::Onvif, false, &["Basic"]),
                open(443, Service::Onvif, true, &["Basic"]),
                open(554, Service::Rtsp, false, &["Digest"]),
                open(322, Service::Rtsp, true, &[]),
                PortReport::closed(8000),
            ],
        );
        assert_eq!(r.control_url.as_deref(), Some("x://443"));
        assert_eq!(r.media_url.as_deref(), Some("x://322"));
        assert_eq!(
            r.risks,
            vec![
                Risk::PlainHttpWhereHttpsAvailable {
                    port: 80,
                    tls_port: 443
                },
                Risk::PlainRtspWhereRtspsAvailable {
                    port: 554,
                    tls_port: 322
                },
                Risk::BasicAuthOnPlainText { port: 80 },
            ]
        );
        let r = summarize(host, vec![open(8080, Service::Http, false, &[])]);
        assert!(r.risks.is_empty());
        assert_eq!(r.control_url, None);
    }
}
