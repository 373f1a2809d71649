//! Our own WS-Discovery fixtures, one per quirk (fixtures/discovery/).

mod common;

use camlink::discovery::ws_discovery::{self, MessageKind, QualifiedName, ns};

fn parse(name: &str) -> ws_discovery::Message {
    let bytes = std::fs::read(common::fixture_path(&format!("discovery/{name}"))).unwrap();
    ws_discovery::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Older firmware: a byte-order mark and blank lines before the XML declaration, `wsa:` and
/// `wsdd:` prefixes never declared, a bare `uuid:` endpoint address, a single type.
#[test]
fn legacy_firmware_undeclared_prefixes_bom() {
    let m = parse("legacy_firmware_undeclared_prefixes_bom_probe_matches.xml");
    assert_eq!(m.kind, MessageKind::ProbeMatches);
    assert_eq!(
        m.relates_to.as_deref(),
        Some("uuid:0b0b0000-0000-4000-8000-000000000001")
    );
    let ep = &m.endpoints[0];
    assert_eq!(ep.address, "uuid:5f3c0000-0000-4000-8000-00000000b0b0");
    assert_eq!(ep.types, vec![QualifiedName::network_video_transmitter()]);
    assert_eq!(ep.xaddrs, vec!["http://192.0.2.40/onvif/device_service"]);
    let info = ep.scope_info();
    assert_eq!(info.hardware.as_deref(), Some("IPC-HDW1230S"));
    assert_eq!(info.locations, vec!["country/china"]);
    assert_eq!(info.types, vec!["video_encoder"]);
}

/// WS-Discovery 1.1 (2009/01) with WS-Addressing 1.0, Profile M, an escaped `/` in the name.
#[test]
fn wsd11_dialect_profile_m_escaped_slash() {
    let m = parse("wsd11_probe_matches.xml");
    assert_eq!(m.dialect.discovery, ns::WSD_2009_01);
    assert_eq!(m.dialect.addressing, ns::WSA_2005_08);
    assert_eq!(
        m.relates_to.as_deref(),
        Some("urn:uuid:7a7a0000-0000-4000-8000-000000000001")
    );
    let ep = &m.endpoints[0];
    assert_eq!(ep.metadata_version, Some(4));
    let info = ep.scope_info();
    assert_eq!(info.name.as_deref(), Some("Gate/North"));
    assert_eq!(info.profiles, vec!["S", "M"]);
}
