//! Every ONVIF response in the real-camera captures whose operation camlink implements parses
//! into its typed response (with values checked), and every fault becomes the right error kind.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use camlink::ErrorKind;
use camlink::onvif::device;
use camlink::onvif::soap;
use camlink::onvif::xml::Element;

/// What a typed parse gave, for the generic checks and the per-file expectations.
fn parse_typed(el: &Element) -> Option<Result<String, camlink::Error>> {
    let name = el.name.as_str();
    let dbg = |r: Result<String, camlink::Error>| Some(r);
    match name {
        "GetDeviceInformationResponse" => dbg(device::parse_device_information(el).map(|i| {
            assert!(!i.manufacturer.is_empty() && !i.model.is_empty());
            format!("{i:?}")
        })),
        "GetSystemDateAndTimeResponse" => dbg(device::parse_system_date_and_time(el).map(|t| {
            if let Some(u) = t.utc_unix {
                assert!(u > 0, "UTC time before 1970");
            }
            format!("{t:?}")
        })),
        "GetCapabilitiesResponse" => dbg(device::parse_capabilities(el).map(|c| {
            assert!(
                c.device.is_some() || c.media.is_some(),
                "neither device nor media XAddr: {c:?}"
            );
            format!("{c:?}")
        })),
        "GetServicesResponse" => dbg(device::parse_services(el).map(|s| {
            assert!(!s.is_empty(), "no services");
            assert!(
                s.iter().any(|s| s.namespace.contains("device/wsdl")),
                "{s:?}"
            );
            format!("{s:?}")
        })),
        "GetScopesResponse" => dbg(device::parse_scopes(el).map(|s| {
            assert!(!s.is_empty());
            assert!(s.iter().all(|s| !s.item.is_empty()));
            format!("{s:?}")
        })),
        "GetHostnameResponse" => dbg(device::parse_hostname(el).map(|h| format!("{h:?}"))),
        "GetNetworkInterfacesResponse" => dbg(device::parse_network_interfaces(el).map(|n| {
            assert!(!n.is_empty());
            format!("{n:?}")
        })),
        "GetNetworkProtocolsResponse" => dbg(device::parse_network_protocols(el).map(|p| {
            assert!(!p.is_empty());
            assert!(p.iter().all(|p| !p.name.is_empty()));
            format!("{p:?}")
        })),
        "SystemRebootResponse" => dbg(device::parse_system_reboot(el).map(|m| format!("{m:?}"))),
        "SetSystemDateAndTimeResponse" => {
            dbg(device::parse_set_system_date_and_time(el).map(|_| "ok".to_string()))
        }
        _ => None,
    }
}

/// The error kind expected from each fault capture (by file name).
fn expected_fault(file: &str) -> Option<ErrorKind> {
    let unsupported = [
        "GetVideoEncoderConfigurationOptions_fault-ActionNotSupported",
        "UnknownActionFault",
        "analytics_GetAnalyticsModuleOptions_fault",
        "GetCACertificates_fault",
        "GetAudioDecoderConfigurations_fault",
        "GetAudioEncoderConfigurations_fault",
        "GetAudioOutputConfigurations_fault",
        "ipnc-oem_IPG-8150PSS_device_Fault",
        "GetAccessPolicy_fault",
        "GetEndpointReference_fault",
        "pelco_D6230L_device_GetGeoLocation_fault",
        "uniview-oem_Sunba-Performance-Series_device_Fault",
        "unknown-oem_IPD-H4K8M05-BS_device_Fault",
        "GetNetworkProtocols_fault-ActionNotSupported",
        "hikvision_DS-2DF7276-AEL_device_GetDot11Capabilities_fault",
        "GetVideoAnalyticsConfigurations_fault",
    ];
    let unauthorized = [
        "axis_Q6045-E_device_GetDot11Capabilities_fault",
        "GetSystemDateAndTimeUnauthorizedFault",
        "trendnet_TV-IP320PI_device_GetDeviceInformation_fault",
    ];
    if unauthorized.iter().any(|p| file.contains(p)) {
        return Some(ErrorKind::Unauthorized);
    }
    if unsupported.iter().any(|p| file.contains(p)) {
        return Some(ErrorKind::Unsupported);
    }
    None
}

fn check_fault(file: &str, err: &camlink::Error) {
    match expected_fault(file) {
        Some(kind) => assert_eq!(err.kind(), &kind, "{file}: {err}"),
        None => assert!(
            matches!(err.kind(), ErrorKind::SoapFault { .. }),
            "{file}: expected a plain SOAP fault, got {err}"
        ),
    }
}

#[test]
fn real_onvif_captures() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let mut parsed = 0usize;
    let mut faults = 0usize;
    let mut not_covered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in common::capture_files(&dir, "onvif") {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        match soap::parse_http_response(200, &bytes) {
            Err(err) if matches!(err.kind(), ErrorKind::Malformed) => {
                not_covered
                    .entry(format!("not a SOAP envelope ({err})"))
                    .or_default()
                    .push(file);
            }
            Err(err) => {
                faults += 1;
                check_fault(&file, &err);
            }
            Ok(el) => match parse_typed(&el) {
                Some(Ok(_)) => parsed += 1,
                Some(Err(e)) => panic!("{file}: {} did not parse: {e}", el.name),
                None => not_covered
                    .entry(format!("operation not implemented: {}", el.name))
                    .or_default()
                    .push(file),
            },
        }
    }
    eprintln!("{parsed} responses parsed, {faults} faults mapped; not covered:");
    for (reason, files) in &not_covered {
        eprintln!("  {reason}: {}", files.join(", "));
    }
    assert!(parsed >= 50, "only {parsed} responses parsed");
    assert!(faults >= 40, "only {faults} faults");
}

fn load(dir: &Path, file: &str) -> Element {
    let bytes = std::fs::read(dir.join("onvif").join(file)).unwrap();
    soap::parse_http_response(200, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn device_information_values() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let cases = [(
        "axis_M2025-LE_device_GetDeviceInformation.xml",
        "AXIS",
        "M2025-LE",
        "9.80.3.13",
    )];
    for (file, manufacturer, model, firmware) in cases {
        let info = device::parse_device_information(&load(&dir, file)).unwrap();
        assert_eq!(info.manufacturer, manufacturer, "{file}");
        assert_eq!(info.model, model, "{file}");
        assert_eq!(info.firmware_version, firmware, "{file}");
    }
}

#[test]
fn device_facts_values() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let t = device::parse_system_date_and_time(&load(
        &dir,
        "axis_Q6045-E_device_GetSystemDateAndTime.xml",
    ))
    .unwrap();
    assert_eq!(t.utc_string().as_deref(), Some("2018-02-27T23:09:59Z"));
    assert_eq!(t.tz.as_deref(), Some("MST7MDT,M3.2.0,M11.1.0"));
    assert_eq!(t.date_time_type, device::DateTimeType::Manual);

    let caps = device::parse_capabilities(&load(
        &dir,
        "hikvision_DS-2CD2012-I_device_GetCapabilities.xml",
    ))
    .unwrap();
    assert_eq!(caps.media.as_deref(), Some("http://10.10.1.65/onvif/Media"));
    assert_eq!(
        caps.events.as_deref(),
        Some("http://10.10.1.65/onvif/Events")
    );
    assert!(caps.rtp_rtsp_tcp && caps.ws_pull_point);

    let protos =
        device::parse_network_protocols(&load(&dir, "axis_Q6045-E_device_GetNetworkProtocols.xml"))
            .unwrap();
    assert_eq!(device::protocol_port(&protos, "RTSP"), Some(554));
    assert_eq!(device::protocol_port(&protos, "HTTP"), Some(80));
    assert_eq!(
        device::protocol_port(&protos, "HTTPS"),
        None,
        "HTTPS is disabled"
    );

    let scopes = device::parse_scopes(&load(&dir, "axis_Q6045-E_device_GetScopes.xml")).unwrap();
    assert_eq!(
        device::scope_value(&scopes, "name").as_deref(),
        Some("AXIS Q6045-E")
    );
    assert_eq!(
        device::scope_value(&scopes, "hardware").as_deref(),
        Some("Q6045-E")
    );

    let nics = device::parse_network_interfaces(&load(
        &dir,
        "axis_Q6045-E_device_GetNetworkInterfaces.xml",
    ))
    .unwrap();
    assert_eq!(nics[0].token, "eth0");
    assert_eq!(nics[0].hw_address.as_deref(), Some("00:40:8C:FA:B7:54"));
    assert!(nics[0].ipv4.contains(&("10.10.1.20".to_string(), 16)));

    let services =
        device::parse_services(&load(&dir, "axis_M2025-LE_device_GetServices.xml")).unwrap();
    assert!(
        services
            .iter()
            .any(|s| s.namespace == "http://www.onvif.org/ver10/events/wsdl"
                && s.xaddr == "http://192.168.0.209/onvif/services")
    );

    let host =
        device::parse_hostname(&load(&dir, "dlink_DCS-6511_device_GetHostname.xml")).unwrap();
    assert_eq!(host.name.as_deref(), Some("DCS-6511"));
    assert!(!host.from_dhcp);
}
