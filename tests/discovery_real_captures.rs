//! Every ProbeMatches captured from a real camera (`../shared/real-cameras/discovery/`) parses,
//! with the XAddrs and scopes that camera sent.

mod common;

use camlink::discovery::ws_discovery::{self, MessageKind, QualifiedName};

/// What one capture must yield: (file, endpoint address, XAddrs, name, hardware, profiles).
type Expected = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
);

const EXPECTED: &[Expected] = &[
    (
        "amcrest_IP5M-B1186E_ProbeMatches.xml",
        "uuid:2a46daf1-86f6-91ad-5458-3d184eb186f6",
        &["http://192.168.0.205/onvif/device_service"],
        Some("Amcrest"),
        "IP5M-B1186E",
        &["S", "T"],
    ),
    (
        "axis_M2025-LE_ProbeMatches.xml",
        "urn:uuid:3ea96f68-b845-4c0b-87cf-eee904c4be65",
        &[
            "http://192.168.0.209/onvif/device_service",
            "https://192.168.0.209/onvif/device_service",
            "http://169.254.251.249/onvif/device_service",
            "https://169.254.251.249/onvif/device_service",
        ],
        Some("AXIS M2025-LE"),
        "M2025-LE",
        &["S", "G", "T"],
    ),
    (
        "dvc_DCN-BM2220LPR_ProbeMatches.xml",
        "urn:uuid:00000000-0000-4000-8000-000000000008",
        &[
            "http://192.0.2.14:80/onvif/device_service",
            "http://[fe80::7]:80/onvif/device_service",
        ],
        Some("DVC"),
        "DCN-BM2220LPR",
        &["S", "T", "G"],
    ),
    (
        "dvc_DCN-BM2220LPR_ProbeMatchesSharedEndpoint1.xml",
        "urn:uuid:00000000-0000-4000-8000-000000000003",
        &[
            "http://192.0.2.10:80/onvif/device_service",
            "http://[fe80::2]:80/onvif/device_service",
        ],
        None,
        "DCN-BM2220LPR",
        &["S", "T", "G"],
    ),
    (
        "dvc_DRN-3282R_ProbeMatches.xml",
        "urn:uuid:00000000-0000-4000-8000-000000000017",
        &["http://192.0.2.14:80/onvif/device_service"],
        Some("REDACTED6"),
        "DRN-3282R",
        &["G", "T"],
    ),
    (
        "ezviz_DS-2DE2C400IG-W_ProbeMatchesDevice.xml",
        "urn:uuid:00000000-0000-4000-8000-000000000012",
        &[
            "http://192.0.2.13/onvif/device_service",
            "https://192.0.2.13/onvif/device_service",
        ],
        Some("REDACTED5"),
        "DS-2DE2C400IG-W-W",
        &["S", "G"],
    ),
];

#[test]
fn every_real_probe_matches_parses_with_xaddrs_and_scopes() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let files = common::capture_files(&dir, "discovery");
    assert!(!files.is_empty(), "no discovery captures");
    let mut checked = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let msg = ws_discovery::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_str().unwrap();
        if !name.contains("ProbeMatches") {
            continue;
        }
        assert_eq!(msg.kind, MessageKind::ProbeMatches, "{name}");
        assert!(msg.relates_to.is_some(), "{name}: RelatesTo");
        assert_eq!(msg.endpoints.len(), 1, "{name}");
        let ep = &msg.endpoints[0];
        assert!(
            ep.has_type(&QualifiedName::network_video_transmitter()),
            "{name}: types {:?}",
            ep.types
        );
        assert!(
            ep.has_type(&QualifiedName::device()),
            "{name}: {:?}",
            ep.types
        );
        assert!(!ep.scopes.is_empty(), "{name}: scopes");
        assert!(ep.metadata_version.is_some(), "{name}: metadata version");
        let Some(&(_, address, xaddrs, cam_name, hardware, profiles)) =
            EXPECTED.iter().find(|e| e.0 == name)
        else {
            panic!("{name}: a new capture; add its expected values to this test");
        };
        assert_eq!(ep.address, address, "{name}");
        assert_eq!(ep.xaddrs, xaddrs, "{name}");
        let info = ep.scope_info();
        assert_eq!(info.name.as_deref(), cam_name, "{name}");
        assert_eq!(info.hardware.as_deref(), Some(hardware), "{name}");
        assert_eq!(info.profiles, profiles, "{name}");
        checked += 1;
    }
    assert_eq!(checked, EXPECTED.len());
}
