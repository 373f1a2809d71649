//! Every ONVIF response in the real-camera captures whose operation camlink implements parses
//! into its typed response (with values checked), and every fault becomes the right error kind.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use camlink::ErrorKind;
use camlink::onvif::soap;
use camlink::onvif::xml::Element;
use camlink::onvif::{device, events, imaging, media, media2, ptz};

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
        _ => parse_media(el),
    }
}

fn check_profiles(p: &[media::Profile]) {
    assert!(!p.is_empty(), "no profiles");
    for p in p {
        assert!(!p.token.is_empty());
        if let Some(v) = &p.video_encoder {
            assert!(!v.token.is_empty());
            if let Some(r) = v.resolution {
                assert!(r.width >= 16 && r.height >= 16, "{r:?}");
            }
        }
    }
}

fn parse_media(el: &Element) -> Option<Result<String, camlink::Error>> {
    let is2 = el.ns.as_deref() == Some(soap::ns::TR2);
    let r = match (el.name.as_str(), is2) {
        ("GetProfilesResponse", false) => media::parse_profiles(el).map(|p| {
            check_profiles(&p);
            format!("{p:?}")
        }),
        ("GetProfilesResponse", true) => media2::parse_profiles(el).map(|p| {
            check_profiles(&p);
            format!("{p:?}")
        }),
        ("GetProfileResponse", false) => media::parse_profile_response(el).map(|p| {
            check_profiles(std::slice::from_ref(&p));
            format!("{p:?}")
        }),
        ("GetStreamUriResponse", false) => media::parse_stream_uri(el).map(|u| format!("{u:?}")),
        ("GetStreamUriResponse", true) => media2::parse_stream_uri(el).map(|u| format!("{u:?}")),
        ("GetSnapshotUriResponse", false) => {
            media::parse_snapshot_uri(el).map(|u| format!("{u:?}"))
        }
        ("GetSnapshotUriResponse", true) => {
            media2::parse_snapshot_uri(el).map(|u| format!("{u:?}"))
        }
        ("GetVideoSourcesResponse", false) => media::parse_video_sources(el).map(|v| {
            assert!(!v.is_empty());
            format!("{v:?}")
        }),
        ("GetVideoEncoderConfigurationsResponse", false) => {
            media::parse_video_encoder_configurations(el).map(|v| {
                assert!(!v.is_empty());
                format!("{v:?}")
            })
        }
        ("GetVideoEncoderConfigurationsResponse", true) => {
            media2::parse_video_encoder_configurations(el).map(|v| {
                assert!(!v.is_empty());
                format!("{v:?}")
            })
        }
        ("GetAudioEncoderConfigurationsResponse", false) => {
            media::parse_audio_encoder_configurations(el).map(|v| format!("{v:?}"))
        }
        _ => return parse_other(el),
    };
    Some(r)
}

fn parse_other(el: &Element) -> Option<Result<String, camlink::Error>> {
    let name = el.name.as_str();
    let dbg = |s: &dyn std::fmt::Debug| format!("{s:?}");
    let r = match name {
        "GetNodesResponse" => ptz::parse_nodes(el).map(|n| {
            assert!(!n.is_empty());
            dbg(&n)
        }),
        "GetConfigurationsResponse" if el.ns.as_deref() == Some(soap::ns::TPTZ) => {
            ptz::parse_configurations(el).map(|c| dbg(&c))
        }
        "GetStatusResponse" if el.ns.as_deref() == Some(soap::ns::TPTZ) => {
            ptz::parse_status(el).map(|s| dbg(&s))
        }
        "GetPresetsResponse" => ptz::parse_presets(el).map(|p| {
            assert!(p.iter().all(|p| !p.token.is_empty()));
            dbg(&p)
        }),
        "SetPresetResponse" => ptz::parse_set_preset(el).map(|t| dbg(&t)),
        "ContinuousMoveResponse"
        | "RelativeMoveResponse"
        | "AbsoluteMoveResponse"
        | "StopResponse"
        | "RemovePresetResponse"
        | "GotoPresetResponse"
        | "GotoHomePositionResponse" => {
            ptz::parse_ack(el, name.trim_end_matches("Response")).map(|_| "ack".into())
        }
        "CreatePullPointSubscriptionResponse" => events::parse_create_pull_point_subscription(el)
            .map(|s| {
                assert!(s.address.starts_with("http"));
                dbg(&s)
            }),
        "PullMessagesResponse" => events::parse_pull_messages(el).map(|m| {
            for n in &m.messages {
                assert!(!n.topic_path().is_empty());
            }
            dbg(&m)
        }),
        "GetEventPropertiesResponse" => events::parse_event_properties(el).map(|t| {
            assert!(!t.is_empty(), "no topics");
            dbg(&t)
        }),
        "RenewResponse" => events::parse_renew(el).map(|t| dbg(&t)),
        "UnsubscribeResponse" | "SetSynchronizationPointResponse" => {
            events::parse_ack(el, name.trim_end_matches("Response")).map(|_| "ack".into())
        }
        "GetImagingSettingsResponse" => imaging::parse_imaging_settings(el).map(|s| dbg(&s)),
        "SetImagingSettingsResponse" => {
            imaging::parse_set_imaging_settings(el).map(|_| "ack".into())
        }
        "GetOptionsResponse" if el.ns.as_deref() == Some(soap::ns::TIMG) => {
            imaging::parse_options(el).map(|o| dbg(&o))
        }
        _ => return None,
    };
    Some(r)
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

/// (file, [(profile token, encoding, width, height)]) for the first profiles of a capture.
type ProfileRow = (
    &'static str,
    &'static [(&'static str, media::VideoEncoding, u32, u32)],
);

#[test]
fn profile_values() {
    use media::VideoEncoding::{H264, H265, Jpeg};
    let Some(dir) = common::real_captures() else {
        return;
    };
    let cases: &[ProfileRow] = &[
        (
            "amcrest_IP5M-B1186E_media_GetProfiles.xml",
            &[
                ("MediaProfile00000", H264, 2592, 1944),
                ("MediaProfile00001", H264, 704, 480),
            ],
        ),
        (
            "axis_Q6045-E_media_GetProfiles.xml",
            &[
                ("profile_1_h264", H264, 1280, 720),
                ("profile_1_jpeg", Jpeg, 1280, 720),
            ],
        ),
        (
            "dlink_DCS-6511_media_GetProfiles.xml",
            &[("Profile1", H264, 1280, 1024), ("Profile2", H264, 640, 480)],
        ),
        (
            "hikvision-oem_ENP1A14-IR-25X_media_GetProfiles.xml",
            &[
                ("Profile_1", H265, 2560, 1440),
                ("Profile_2", H265, 704, 480),
            ],
        ),
        (
            "hikvision_DS-2CD2012-I_media_GetProfiles.xml",
            &[
                ("Profile_1", H264, 1280, 720),
                ("Profile_2", H264, 352, 240),
            ],
        ),
        (
            "ipnc-oem_IPG-8150PSS_media_GetProfiles.xml",
            &[
                ("PROFILE_000", H264, 2560, 1920),
                ("PROFILE_001", H264, 800, 448),
            ],
        ),
        (
            "pelco_D6230L_media_GetProfiles.xml",
            &[("0", H264, 1920, 1080), ("1", Jpeg, 1920, 1080)],
        ),
        (
            "trendnet_TV-IP320PI_media_GetProfiles.xml",
            &[
                ("Profile_1", H264, 1280, 720),
                ("Profile_2", Jpeg, 352, 240),
            ],
        ),
        (
            "uniview-oem_GX728MF-IR28_media_GetProfiles.xml",
            &[
                ("media_profile1", H264, 3840, 2160),
                ("media_profile2", H264, 720, 576),
            ],
        ),
        (
            "unknown-oem_IPD-H4K8M05-BS_media_GetProfiles.xml",
            &[
                ("MainStream", H264, 2592, 1944),
                ("SubStream", H264, 640, 480),
            ],
        ),
        (
            "xiongmai_Sunba405-XM530_media2_GetProfiles.xml",
            &[("000", H264, 2592, 1944), ("001", H264, 704, 480)],
        ),
    ];
    for (file, rows) in cases {
        let el = load(&dir, file);
        let profiles = if file.contains("media2") {
            media2::parse_profiles(&el).unwrap()
        } else {
            media::parse_profiles(&el).unwrap()
        };
        for (p, (token, enc, w, h)) in profiles.iter().zip(rows.iter()) {
            assert_eq!(p.token, *token, "{file}");
            let v = p
                .video_encoder
                .as_ref()
                .unwrap_or_else(|| panic!("{file}: {token} has no encoder"));
            assert_eq!(&v.encoding, enc, "{file} {token}");
            assert_eq!(
                v.resolution.map(|r| (r.width, r.height)),
                Some((*w, *h)),
                "{file} {token}"
            );
        }
    }
    // Media2 profiles listed without configurations (GetProfiles without Type) still give tokens.
    let p = media2::parse_profiles(&load(
        &dir,
        "uniview-oem_GX728MF-IR28_media2_GetProfiles.xml",
    ))
    .unwrap();
    let tokens: Vec<_> = p.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(
        tokens,
        ["media_profile1", "media_profile2", "media_profile3"]
    );
}

#[test]
fn uri_values() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let cases = [
        (
            "axis_M2025-LE_media2_GetStreamUri.xml",
            "rtsp://192.168.0.209/onvif-media/media.amp?profile=profile_1_h264&sessiontimeout=60&streamtype=unicast",
        ),
        (
            "ezviz_DS-2DE2C400IG-W_media_GetStreamUri.xml",
            "rtsp://192.0.2.13:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1",
        ),
        (
            "hikvision_DS-2CD2012-I_media_GetStreamUri.xml",
            "rtsp://10.10.1.65:554/Streaming/Channels/2?transportmode=unicast&profile=Profile_2",
        ),
        (
            "ipnc-oem_IPG-8150PSS_media2_GetStreamUri.xml",
            "rtsp://10.200.1.2/live/0/MAIN",
        ),
        (
            "unknown-oem_IPD-H4K8M05-BS_media_GetStreamUri.xml",
            "rtsp://192.168.15.40:554/1/h264major",
        ),
        (
            "axis_Q6045-E_media_GetSnapshotUri.xml",
            "http://192.168.0.19/onvif-cgi/jpg/image.cgi?resolution=1280x720&compression=20",
        ),
        (
            "uniview-oem_GX728MF-IR28_media2_GetSnapshotUri.xml",
            "http://192.168.1.127:85/images/snapshot.jpg",
        ),
        (
            "trendnet_TV-IP320PI_media_GetSnapshotUri.xml",
            "http://10.10.1.67/onvif-http/snapshot?Profile_2",
        ),
    ];
    for (file, want) in cases {
        let el = load(&dir, file);
        let got = match (file.contains("media2"), file.contains("Snapshot")) {
            (false, false) => media::parse_stream_uri(&el),
            (true, false) => media2::parse_stream_uri(&el),
            (false, true) => media::parse_snapshot_uri(&el),
            (true, true) => media2::parse_snapshot_uri(&el),
        }
        .unwrap();
        assert_eq!(got.uri, want, "{file}");
    }
}

#[test]
fn ptz_and_event_values() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let st = ptz::parse_status(&load(&dir, "axis_Q6045-E_ptz_GetStatus.xml")).unwrap();
    let pos = st.position.unwrap();
    assert_eq!(pos.pan_tilt, Some((-0.387339115, 0.933800578)));
    assert_eq!(pos.zoom, Some(0.0));
    assert_eq!(st.pan_tilt_status.as_deref(), Some("IDLE"));

    let sub = events::parse_create_pull_point_subscription(&load(
        &dir,
        "hikvision_DS-2CD2012-I_events_CreatePullPointSubscription.xml",
    ))
    .unwrap();
    assert_eq!(
        sub.address,
        "http://10.10.1.65/onvif/Events/PullSubManager_2018-02-27T18:34:42Z_1"
    );
    assert_eq!(
        sub.termination_time.unwrap() - sub.current_time.unwrap(),
        60
    );

    let pulled = events::parse_pull_messages(&load(
        &dir,
        "ezviz_DS-2DE2C400IG-W_events_PullMessagesMotion.xml",
    ))
    .unwrap();
    let m = &pulled.messages[0];
    assert_eq!(m.topic_path(), "VideoSource/MotionAlarm");
    assert_eq!(
        m.property_operation,
        Some(events::PropertyOperation::Changed)
    );
    assert_eq!(
        m.source,
        [("Source".to_string(), "VideoSource_1".to_string())]
    );
    assert_eq!(m.data_value("State"), Some("true"));
    assert_eq!(
        m.utc_time.map(camlink::datetime::format_utc).as_deref(),
        Some("2026-10-07T18:41:46Z")
    );

    let topics = events::parse_event_properties(&load(
        &dir,
        "hikvision_DS-2CD2012-I_events_GetEventProperties.xml",
    ))
    .unwrap();
    let motion = topics
        .iter()
        .find(|t| t.path == "VideoSource/MotionAlarm")
        .unwrap();
    assert!(motion.is_property);
    assert_eq!(motion.data_items, ["State"]);
}
