//! The mock camera's WS-Discovery presence: its endpoint (identity, types, scopes, XAddr) and
//! the responder that answers probes and announces Hello/Bye.

use std::net::{IpAddr, SocketAddr};

use super::camera::{Ports, host_for_url};
use super::config::MockConfig;
use crate::error::{Error, Result};

/// The WS-Discovery endpoint of a camera: a stable `urn:uuid` from its serial number, both
/// ONVIF types, its scopes and its device service XAddr.
pub(crate) fn discovery_endpoint(
    config: &MockConfig,
    ports: &Ports,
) -> crate::discovery::ws_discovery::Endpoint {
    use crate::discovery::ws_discovery::{Endpoint, QualifiedName};
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(
        format!("{}/{}", config.identity.serial_number, ports.http).as_bytes(),
    );
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let xaddr = match &config.quirks.report_host {
        Some(h) => format!("http://{h}/onvif/device_service"),
        None => format!(
            "http://{}:{}/onvif/device_service",
            host_for_url(config.bind),
            ports.http
        ),
    };
    Endpoint {
        address: uuid,
        types: vec![
            QualifiedName::network_video_transmitter(),
            QualifiedName::device(),
        ],
        scopes: super::onvif_device::camera_scopes(&config.identity)
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
        xaddrs: vec![xaddr],
        metadata_version: Some(1),
    }
}

pub(crate) async fn start_responder(
    config: &MockConfig,
    ports: &Ports,
    port: u16,
) -> Result<crate::discovery::responder::Responder> {
    use crate::discovery::responder::{Responder, ResponderConfig};
    let endpoint = discovery_endpoint(config, ports);
    let mut rc = match (config.discovery_multicast, config.bind) {
        (true, IpAddr::V4(v4)) => {
            let mut c = ResponderConfig::multicast(endpoint, v4);
            c.bind = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port);
            c.announce_to = Some(c.group_addr());
            c
        }
        _ => {
            let mut c = ResponderConfig::new(endpoint);
            c.bind = SocketAddr::new(config.bind, port);
            c
        }
    };
    rc.legacy_only = config.discovery_legacy_only;
    if let Some(to) = config.discovery_announce_to {
        rc.announce_to = Some(to);
    }
    rc.replay_probe_matches = config
        .fixture
        .as_ref()
        .and_then(|f| f.probe_matches.clone());
    Responder::start(rc).await.map_err(|e| {
        Error::new(
            e.kind().clone(),
            format!("mock camera: WS-Discovery responder on port {port}: {e} (use port 0 for a free one)"),
        )
    })
}
