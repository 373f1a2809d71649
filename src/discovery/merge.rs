//! One list of devices from several discovery methods, grouped by address.

use std::net::IpAddr;

use super::mdns::MdnsService;
use super::probe::Discovered;

/// Everything found at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDevice {
    /// The device's address.
    pub address: IpAddr,
    /// Its WS-Discovery answers (usually one).
    pub ws_discovery: Vec<Discovered>,
    /// Its mDNS service instances.
    pub mdns: Vec<MdnsService>,
}

/// Groups WS-Discovery and mDNS results by address, in order of first appearance. A WS-Discovery
/// result's address is [`Discovered::host`]; an mDNS instance joins the device of any of its
/// addresses, else starts one at its first address.
pub fn merge_by_address(ws: &[Discovered], mdns: &[MdnsService]) -> Vec<FoundDevice> {
    let mut out: Vec<FoundDevice> = Vec::new();
    for d in ws {
        let host = d.host();
        match out.iter_mut().find(|f| f.address == host) {
            Some(f) => f.ws_discovery.push(d.clone()),
            None => out.push(FoundDevice {
                address: host,
                ws_discovery: vec![d.clone()],
                mdns: Vec::new(),
            }),
        }
    }
    for s in mdns {
        if let Some(f) = out.iter_mut().find(|f| s.addresses.contains(&f.address)) {
            f.mdns.push(s.clone());
        } else if let Some(first) = s.addresses.first() {
            out.push(FoundDevice {
                address: *first,
                ws_discovery: Vec::new(),
                mdns: vec![s.clone()],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ws_discovery::{Endpoint, ProbeForm, ScopeInfo};

    #[test]
    fn groups_by_address() {
        let ws = Discovered {
            endpoint: Endpoint {
                address: "urn:uuid:a".into(),
                xaddrs: vec!["http://192.0.2.10/onvif/device_service".into()],
                ..Endpoint::default()
            },
            scopes: ScopeInfo::default(),
            from: "192.0.2.10:3702".parse().unwrap(),
            form: ProbeForm::Standard,
        };
        let svc = |addr: &str, name: &str| MdnsService {
            instance: name.into(),
            service_type: "_rtsp._tcp.local".into(),
            host: "h.local".into(),
            port: 554,
            addresses: vec!["fe80::1".parse().unwrap(), addr.parse().unwrap()],
            txt: vec![],
        };
        let merged = merge_by_address(
            &[ws],
            &[svc("192.0.2.10", "same"), svc("192.0.2.11", "other")],
        );
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].address, "192.0.2.10".parse::<IpAddr>().unwrap());
        assert_eq!(merged[0].mdns[0].instance, "same");
        assert_eq!(merged[1].address, "fe80::1".parse::<IpAddr>().unwrap());
        assert!(merged[1].ws_discovery.is_empty());
    }
}
