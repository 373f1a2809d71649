//! The SOAP requests camlink sends are valid against the official ONVIF WSDL/XSD
//! (`../shared/real-cameras/wsdl/`), checked with a real schema validator (xmllint, from
//! Debian's libxml2-utils; `scripts/install-test-deps.sh` installs it).
//!
//! The schemas live inside the WSDL files, so the test extracts each `<xs:schema>` into a temp
//! folder, points every import at the local copies (an XML catalog maps the `http://` locations)
//! and validates whole envelopes: SOAP 1.2 `Body` content is `lax`, so each operation element is
//! checked against its declaration. libxml2 refuses `onvif.xsd` as published because a few
//! extension points break the XSD 1.0 "unique particle attribution" rule
//! (`<xs:any namespace="##targetNamespace">` after optional elements of that namespace); the
//! temp copy narrows those wildcards to `##other`, which changes nothing for the elements we send.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use camlink::auth::{Credentials, PasswordType, UsernameToken};
use camlink::onvif::events::Subscription;
use camlink::onvif::media::StreamTransport;
use camlink::onvif::ptz::PtzVector;
use camlink::onvif::{Call, device, events, imaging, media, media2, ptz, soap};

struct Svc {
    wsdl: &'static str,
    out: &'static str,
}

const SERVICES: &[Svc] = &[
    Svc {
        wsdl: "ver10/device/wsdl/devicemgmt.wsdl",
        out: "tds.xsd",
    },
    Svc {
        wsdl: "ver10/media/wsdl/media.wsdl",
        out: "trt.xsd",
    },
    Svc {
        wsdl: "ver20/media/wsdl/media.wsdl",
        out: "tr2.xsd",
    },
    Svc {
        wsdl: "ver20/ptz/wsdl/ptz.wsdl",
        out: "tptz.xsd",
    },
    Svc {
        wsdl: "ver10/events/wsdl/event.wsdl",
        out: "tev.xsd",
    },
    Svc {
        wsdl: "ver20/imaging/wsdl/imaging.wsdl",
        out: "timg.xsd",
    },
];

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Resolves `rel` against `dir` textually (`..` segments), without touching the disk.
fn join(dir: &Path, rel: &str) -> PathBuf {
    let mut p = dir.to_path_buf();
    for seg in rel.split('/') {
        match seg {
            ".." => {
                p.pop();
            }
            "." | "" => {}
            s => p.push(s),
        }
    }
    p
}

/// Extracts the `<xs:schema>` of a WSDL, with the WSDL root's namespace declarations copied in
/// and relative imports made absolute (the patched onvif.xsd copy for the common schema).
fn extract_schema(wsdl: &Path, patched: &Path) -> String {
    let src = std::fs::read_to_string(wsdl).unwrap();
    let root_start = src.find("<wsdl:definitions").expect("wsdl root");
    let root_end = root_start + src[root_start..].find('>').unwrap();
    let root = &src[root_start..root_end];
    let start = src.find("<xs:schema").expect("xs:schema in WSDL");
    let end = src.find("</xs:schema>").expect("end of xs:schema") + "</xs:schema>".len();
    let schema = &src[start..end];
    let head_end = schema.find('>').unwrap();
    let head = &schema[..head_end];
    let mut extra = String::new();
    for decl in root.split_whitespace().filter(|d| d.starts_with("xmlns:")) {
        let name = decl.split('=').next().unwrap();
        if !head.contains(&format!("{name}=")) {
            extra.push(' ');
            extra.push_str(decl.trim_end_matches('>'));
        }
    }
    let mut out = format!("{head}{extra}{}", &schema[head_end..]);
    let dir = wsdl.parent().unwrap();
    let mut pos = 0;
    while let Some(i) = out[pos..].find("schemaLocation=\"") {
        let s = pos + i + "schemaLocation=\"".len();
        let e = s + out[s..].find('"').unwrap();
        let loc = out[s..e].to_string();
        let new = if loc.ends_with("ver10/schema/onvif.xsd") {
            file_url(&patched.join("onvif.xsd"))
        } else if loc.ends_with("ver10/schema/common.xsd") {
            file_url(&patched.join("common.xsd"))
        } else if loc.contains("://") {
            loc.clone()
        } else {
            file_url(&join(dir, &loc))
        };
        out.replace_range(s..e, &new);
        pos = s + new.len();
    }
    out
}

fn catalog(wsdl: &Path, patched: &Path) -> String {
    let ext = wsdl.join("external");
    let map = |from: &str, to: PathBuf| {
        let to = file_url(&to);
        format!("<uri name=\"{from}\" uri=\"{to}\"/><system systemId=\"{from}\" uri=\"{to}\"/>\n")
    };
    let oasis = file_url(&ext.join("docs.oasis-open.org"));
    let mut c = String::from(
        "<?xml version=\"1.0\"?>\n<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n",
    );
    c.push_str(&format!(
        "<rewriteURI uriStartString=\"http://docs.oasis-open.org/\" rewritePrefix=\"{oasis}/\"/>\n\
         <rewriteSystem systemIdStartString=\"http://docs.oasis-open.org/\" rewritePrefix=\"{oasis}/\"/>\n"
    ));
    c.push_str(&map(
        "http://www.w3.org/2001/xml.xsd",
        ext.join("www.w3.org/2001/xml.xsd"),
    ));
    c.push_str(&map(
        "https://www.w3.org/2005/05/xmlmime",
        ext.join("www.w3.org/2005/05/xmlmime.xsd"),
    ));
    c.push_str(&map(
        "https://www.w3.org/2004/08/xop/include",
        ext.join("www.w3.org/2004/08/xop/include.xsd"),
    ));
    c.push_str(&map(
        "https://www.w3.org/2003/05/soap-envelope",
        ext.join("www.w3.org/2003/05/soap-envelope.xsd"),
    ));
    c.push_str(&map(
        "http://www.w3.org/2005/08/addressing/ws-addr.xsd",
        ext.join("www.w3.org/2006/03/addressing/ws-addr.xsd"),
    ));
    for u in [
        "http://www.onvif.org/ver10/schema/onvif.xsd",
        "http://www.onvif.org/onvif/ver10/schema/onvif.xsd",
    ] {
        c.push_str(&map(u, patched.join("onvif.xsd")));
    }
    c.push_str("</catalog>\n");
    c
}

fn requests() -> Vec<(&'static str, Call)> {
    let t = StreamTransport::RtspTcp;
    let v = PtzVector {
        pan_tilt: Some((0.5, -0.25)),
        zoom: Some(0.1),
    };
    vec![
        ("GetSystemDateAndTime", device::get_system_date_and_time()),
        ("GetDeviceInformation", device::get_device_information()),
        ("GetCapabilities", device::get_capabilities()),
        ("GetServices", device::get_services(true)),
        ("GetScopes", device::get_scopes()),
        ("GetHostname", device::get_hostname()),
        ("GetNetworkInterfaces", device::get_network_interfaces()),
        ("GetNetworkProtocols", device::get_network_protocols()),
        (
            "SetSystemDateAndTime-manual",
            device::set_system_date_and_time(&device::DateTimeSetting::Manual {
                utc_unix: 1_700_000_000,
                tz: Some("CET-1CEST,M3.5.0,M10.5.0/3".into()),
                daylight_savings: true,
            }),
        ),
        (
            "SetSystemDateAndTime-ntp",
            device::set_system_date_and_time(&device::DateTimeSetting::Ntp { tz: None }),
        ),
        ("SystemReboot", device::system_reboot()),
        ("media-GetProfiles", media::get_profiles()),
        ("media-GetProfile", media::get_profile("Profile_1")),
        (
            "media-GetStreamUri-tcp",
            media::get_stream_uri("Profile_1", t),
        ),
        (
            "media-GetStreamUri-udp",
            media::get_stream_uri("Profile_1", StreamTransport::RtspUdp),
        ),
        (
            "media-GetStreamUri-http",
            media::get_stream_uri("Profile_1", StreamTransport::Http),
        ),
        (
            "media-GetStreamUri-multicast",
            media::get_stream_uri("Profile_1", StreamTransport::Multicast),
        ),
        ("media-GetSnapshotUri", media::get_snapshot_uri("Profile_1")),
        ("media-GetVideoSources", media::get_video_sources()),
        (
            "media-GetVideoEncoderConfigurations",
            media::get_video_encoder_configurations(),
        ),
        (
            "media-GetAudioEncoderConfigurations",
            media::get_audio_encoder_configurations(),
        ),
        ("media2-GetProfiles", media2::get_profiles()),
        (
            "media2-GetStreamUri",
            media2::get_stream_uri("Profile_1", t),
        ),
        (
            "media2-GetStreamUri-multicast",
            media2::get_stream_uri("Profile_1", StreamTransport::Multicast),
        ),
        (
            "media2-GetSnapshotUri",
            media2::get_snapshot_uri("Profile_1"),
        ),
        (
            "media2-GetVideoEncoderConfigurations",
            media2::get_video_encoder_configurations(),
        ),
        ("GetNodes", ptz::get_nodes()),
        ("GetConfigurations", ptz::get_configurations()),
        ("GetStatus", ptz::get_status("Profile_1")),
        (
            "ContinuousMove",
            ptz::continuous_move("Profile_1", v, Some(Duration::from_millis(1500))),
        ),
        ("RelativeMove", ptz::relative_move("Profile_1", v, Some(v))),
        ("AbsoluteMove", ptz::absolute_move("Profile_1", v, None)),
        ("Stop", ptz::stop("Profile_1", true, false)),
        ("GetPresets", ptz::get_presets("Profile_1")),
        (
            "SetPreset",
            ptz::set_preset("Profile_1", Some("Door & gate"), None),
        ),
        ("RemovePreset", ptz::remove_preset("Profile_1", "3")),
        (
            "GotoPreset",
            ptz::goto_preset("Profile_1", "3", Some(PtzVector::pan_tilt(1.0, 1.0))),
        ),
        (
            "GotoHomePosition",
            ptz::goto_home_position("Profile_1", None),
        ),
        ("GetEventProperties", events::get_event_properties()),
        (
            "CreatePullPointSubscription",
            events::create_pull_point_subscription(Duration::from_secs(60)),
        ),
        (
            "PullMessages",
            events::pull_messages(Duration::from_secs(10), 100),
        ),
        ("Renew", events::renew(1_700_000_060)),
        ("Unsubscribe", events::unsubscribe()),
        (
            "SetSynchronizationPoint",
            events::set_synchronization_point(),
        ),
        (
            "GetImagingSettings",
            imaging::get_imaging_settings("VideoSource_1"),
        ),
        (
            "SetImagingSettings",
            imaging::set_imaging_settings(
                "VideoSource_1",
                &imaging::ImagingSettings {
                    brightness: Some(50.0),
                    contrast: Some(40.5),
                    ..Default::default()
                },
            ),
        ),
        ("GetOptions", imaging::get_options("VideoSource_1")),
    ]
}

fn envelope(call: &Call) -> String {
    let creds = Credentials::new("admin", "secret");
    let token = UsernameToken::new(
        &creds,
        b"0123456789abcdef",
        1_700_000_000,
        PasswordType::Digest,
    );
    let sub = Subscription {
        address: "http://192.0.2.10/onvif/events/sub1".into(),
        reference_parameters: vec![],
        current_time: None,
        termination_time: None,
    };
    let addressing = call.addressing.then(|| sub.addressing(call));
    soap::build_request(&call.body, Some(&token), addressing.as_ref())
}

#[test]
fn requests_validate_against_the_official_schemas() {
    let Some(captures) = common::real_captures() else {
        return;
    };
    if Command::new("xmllint").arg("--version").output().is_err() {
        panic!(
            "xmllint not found: run scripts/install-test-deps.sh (Debian package libxml2-utils)"
        );
    }
    let wsdl = captures.join("wsdl");
    let tmp = std::env::temp_dir().join(format!("camlink-onvif-xsd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let patched = tmp.join("schema");
    std::fs::create_dir_all(&patched).unwrap();
    for f in ["onvif.xsd", "common.xsd", "metadatastream.xsd"] {
        let text = std::fs::read_to_string(wsdl.join("ver10/schema").join(f)).unwrap();
        let text = text.replace(
            "<xs:any namespace=\"##targetNamespace\"",
            "<xs:any namespace=\"##other\"",
        );
        let text = text.replace(
            r#"schemaLocation="https://www.w3.org/2003/05/soap-envelope""#,
            &format!(
                r#"schemaLocation="{}""#,
                file_url(&wsdl.join("external/www.w3.org/2003/05/soap-envelope.xsd"))
            ),
        );
        std::fs::write(patched.join(f), text).unwrap();
    }
    let mut imports = String::new();
    for svc in SERVICES {
        let xsd = extract_schema(&wsdl.join(svc.wsdl), &patched);
        let ns_start = xsd.find("targetNamespace=\"").unwrap() + "targetNamespace=\"".len();
        let ns = &xsd[ns_start..ns_start + xsd[ns_start..].find('"').unwrap()];
        imports.push_str(&format!(
            "<xs:import namespace=\"{ns}\" schemaLocation=\"{}\"/>\n",
            file_url(&tmp.join(svc.out))
        ));
        std::fs::write(tmp.join(svc.out), &xsd).unwrap();
    }
    let wrap = format!(
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:camlink:test\">\n\
         <xs:import namespace=\"http://www.w3.org/2003/05/soap-envelope\" schemaLocation=\"{}\"/>\n\
         <xs:import namespace=\"http://www.w3.org/2005/08/addressing\" schemaLocation=\"http://www.w3.org/2005/08/addressing/ws-addr.xsd\"/>\n\
         <xs:import namespace=\"http://docs.oasis-open.org/wsn/b-2\" schemaLocation=\"http://docs.oasis-open.org/wsn/b-2.xsd\"/>\n{imports}</xs:schema>\n",
        file_url(&wsdl.join("external/www.w3.org/2003/05/soap-envelope.xsd"))
    );
    std::fs::write(tmp.join("wrap.xsd"), wrap).unwrap();
    std::fs::write(tmp.join("catalog.xml"), catalog(&wsdl, &patched)).unwrap();

    let mut files = Vec::new();
    let mut mutated = Vec::new();
    for (name, call) in requests() {
        let path = tmp.join(format!("{name}.xml"));
        std::fs::write(&path, envelope(&call)).unwrap();
        files.push((name, path));
        // The same request with an extra child the schema does not allow: proves that the
        // operation element was really checked (lax processing skips undeclared elements).
        let mut bogus = call.clone();
        let op = call.body[1..]
            .split([' ', '/', '>'])
            .next()
            .unwrap()
            .to_string();
        bogus.body = if call.body.ends_with("/>") {
            format!("{}><Bogus/></{op}>", &call.body[..call.body.len() - 2])
        } else {
            let at = call.body.find('>').unwrap() + 1;
            format!("{}<Bogus/>{}", &call.body[..at], &call.body[at..])
        };
        let path = tmp.join(format!("{name}-bogus.xml"));
        std::fs::write(&path, envelope(&bogus)).unwrap();
        mutated.push((name, path));
    }
    // A request the schema must refuse, so that this test can fail.
    let bad = tmp.join("bad.xml");
    std::fs::write(
        &bad,
        envelope(&device::get_services(true)).replace("IncludeCapability>", "IncludeCapabilities>"),
    )
    .unwrap();

    let run = |paths: &[&Path]| {
        Command::new("xmllint")
            .env("XML_CATALOG_FILES", tmp.join("catalog.xml"))
            .args(["--noout", "--nonet", "--schema"])
            .arg(tmp.join("wrap.xsd"))
            .args(paths)
            .output()
            .unwrap()
    };
    let out = run(&files.iter().map(|(_, p)| p.as_path()).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (name, path) in &files {
        assert!(
            stderr.contains(&format!("{} validates", path.display())),
            "{name} does not validate:\n{stderr}"
        );
    }
    assert!(out.status.success(), "{stderr}");
    let out = run(&mutated.iter().map(|(_, p)| p.as_path()).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (name, path) in &mutated {
        assert!(
            stderr.contains(&format!("{} fails to validate", path.display())),
            "{name} with a bogus child was accepted: its schema was not loaded\n{stderr}"
        );
    }
    let out = run(&[bad.as_path()]);
    assert!(
        !out.status.success(),
        "the validator accepted an invalid request"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("IncludeCapabilities"));
    let _ = std::fs::remove_dir_all(&tmp);
}
