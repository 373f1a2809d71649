//! Discovery of mock cameras on loopback: several at once, one of which only answers the legacy
//! probe form, and one that replays a captured ProbeMatches from its fixture.

use std::net::SocketAddr;
use std::time::Duration;

use camlink::discovery::probe::{DiscoveryOptions, discover_all};
use camlink::mock::{Identity, MockCamera};

fn identity(n: u32) -> Identity {
    Identity {
        manufacturer: "camlink".into(),
        model: format!("Fleet Cam {n}"),
        firmware_version: "1.0".into(),
        serial_number: format!("FLEET-{n}"),
        hardware_id: "fleet".into(),
    }
}

fn options(cams: &[&MockCamera]) -> DiscoveryOptions {
    DiscoveryOptions {
        timeout: Duration::from_millis(1500),
        multicast: false,
        catch_multicast_replies: false,
        targets: cams
            .iter()
            .map(|c| SocketAddr::new(c.bind_addr(), c.ports().discovery.expect("responder")))
            .collect(),
        ..DiscoveryOptions::default()
    }
}

#[tokio::test]
async fn finds_every_camera_of_a_fleet_including_a_legacy_one() {
    let a = MockCamera::builder()
        .identity(identity(1))
        .start()
        .await
        .unwrap();
    let b = MockCamera::builder()
        .identity(identity(2))
        .start()
        .await
        .unwrap();
    let legacy = MockCamera::builder()
        .identity(identity(3))
        .discovery_legacy_only(true)
        .start()
        .await
        .unwrap();
    let found = discover_all(options(&[&a, &b, &legacy])).await.unwrap();
    assert_eq!(found.len(), 3, "{found:#?}");
    for cam in [&a, &b, &legacy] {
        let url = cam.device_service_url();
        let hit = found
            .iter()
            .find(|d| d.endpoint.xaddrs.iter().any(|x| x == &url))
            .unwrap_or_else(|| panic!("{url} not found in {found:#?}"));
        let info = hit.endpoint.scope_info();
        assert_eq!(
            info.hardware.as_deref(),
            Some(cam.config().identity.model.as_str())
        );
        assert_eq!(info.name.as_deref(), Some("camlink"));
    }
}

#[tokio::test]
async fn fixture_replays_captured_probe_matches() {
    let dir = std::env::temp_dir().join(format!("camlink-pm-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("discovery")).unwrap();
    let captured = r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header><wsa:MessageID>uuid:11111111-2222-3333-4444-555555555555</wsa:MessageID><wsa:RelatesTo>uuid:placeholder</wsa:RelatesTo><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action></SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:replayed-0001</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/Replayed onvif://www.onvif.org/hardware/RP-1</d:Scopes><d:XAddrs>http://192.0.2.77/onvif/device_service</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
    std::fs::write(dir.join("discovery/probe_matches.xml"), captured).unwrap();
    let cam = MockCamera::builder()
        .fixture(&dir)
        .unwrap()
        .start()
        .await
        .unwrap();
    let found = discover_all(options(&[&cam])).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].endpoint.address, "urn:uuid:replayed-0001");
    assert_eq!(
        found[0].endpoint.xaddrs,
        vec!["http://192.0.2.77/onvif/device_service"]
    );
}

#[tokio::test]
async fn hello_at_start_and_bye_at_shutdown() {
    use camlink::discovery::probe::{ListenOptions, listen};
    use camlink::discovery::ws_discovery::MessageKind;
    let (addr, mut rx) = listen(ListenOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        // Loopback only: joining the group on real interfaces would talk to the network.
        multicast_interfaces: Vec::new(),
    })
    .await
    .unwrap();
    let cam = MockCamera::builder()
        .identity(identity(9))
        .discovery_announce_to(addr)
        .start()
        .await
        .unwrap();
    let hello = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hello.kind, MessageKind::Hello);
    assert_eq!(hello.endpoint.xaddrs, vec![cam.device_service_url()]);
    let id = hello.endpoint.address.clone();
    cam.shutdown().await;
    let bye = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bye.kind, MessageKind::Bye);
    assert_eq!(bye.endpoint.address, id);
}
