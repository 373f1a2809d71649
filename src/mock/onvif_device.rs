//! The mock camera's device and imaging services.

use super::camera::lock;
use super::onvif_server::{Answer, Ctx, FaultSpec};
use crate::datetime::{parse_datetime, to_parts};
use crate::onvif::soap::ns;
use crate::xmlutil::escape;

/// The ONVIF version the mock reports for its services.
const VERSION: (u32, u32) = (21, 12);

fn resp(op: &str, inner: &str) -> Answer {
    Answer::Body(format!(
        r#"<tds:{op}Response xmlns:tds="{}" xmlns:tt="{}">{inner}</tds:{op}Response>"#,
        ns::TDS,
        ns::TT
    ))
}

fn date_time_xml(tag: &str, unix: i64) -> String {
    let p = to_parts(unix);
    format!(
        "<tt:{tag}><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time>\
         <tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:{tag}>",
        p.hour, p.minute, p.second, p.year, p.month, p.day
    )
}

/// The services a mock camera offers: (namespace, path).
pub(crate) const SERVICES: [(&str, &str); 6] = [
    (ns::TDS, "/onvif/device_service"),
    (ns::TRT, "/onvif/media_service"),
    (ns::TR2, "/onvif/media2_service"),
    (ns::TPTZ, "/onvif/ptz_service"),
    (ns::TEV, "/onvif/events_service"),
    (ns::TIMG, "/onvif/imaging_service"),
];

/// Device service operations.
pub(crate) fn handle(ctx: &Ctx<'_>, op: &str) -> Answer {
    let s = ctx.shared;
    let id = &s.config.identity;
    match op {
        "GetSystemDateAndTime" => {
            let now = s.camera_now();
            let ntp = lock(&s.onvif).ntp;
            resp(
                op,
                &format!(
                    "<tds:SystemDateAndTime><tt:DateTimeType>{}</tt:DateTimeType>\
                     <tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>\
                     {}{}</tds:SystemDateAndTime>",
                    if ntp { "NTP" } else { "Manual" },
                    date_time_xml("UTCDateTime", now),
                    date_time_xml("LocalDateTime", now)
                ),
            )
        }
        "SetSystemDateAndTime" => {
            let ty = ctx.arg("DateTimeType").unwrap_or("Manual");
            if ty == "NTP" {
                lock(&s.onvif).ntp = true;
                // An NTP camera has the right time.
                s.clock_offset
                    .store(0, std::sync::atomic::Ordering::Relaxed);
                return resp(op, "");
            }
            let Some(utc) = ctx.op.child_local("UTCDateTime") else {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "InvalidDateTime",
                    "UTCDateTime is required for a manual time",
                ));
            };
            let num = |path: &[&str]| -> Option<i64> {
                let mut e = utc;
                for p in path {
                    e = e.child_local(p)?;
                }
                e.trimmed().parse().ok()
            };
            let fields = (
                num(&["Date", "Year"]),
                num(&["Date", "Month"]),
                num(&["Date", "Day"]),
                num(&["Time", "Hour"]),
                num(&["Time", "Minute"]),
                num(&["Time", "Second"]),
            );
            let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = fields else {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "InvalidDateTime",
                    "incomplete UTCDateTime",
                ));
            };
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}Z");
            let Some(target) = parse_datetime(&text) else {
                return Answer::Fault(FaultSpec::invalid_arg("InvalidDateTime", "invalid date"));
            };
            let real = s.camera_now() - s.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
            s.clock_offset
                .store(target - real, std::sync::atomic::Ordering::Relaxed);
            lock(&s.onvif).ntp = false;
            resp(op, "")
        }
        "GetDeviceInformation" => resp(
            op,
            &format!(
                "<tds:Manufacturer>{}</tds:Manufacturer><tds:Model>{}</tds:Model>\
                 <tds:FirmwareVersion>{}</tds:FirmwareVersion><tds:SerialNumber>{}</tds:SerialNumber>\
                 <tds:HardwareId>{}</tds:HardwareId>",
                escape(&id.manufacturer),
                escape(&id.model),
                escape(&id.firmware_version),
                escape(&id.serial_number),
                escape(&id.hardware_id)
            ),
        ),
        "GetCapabilities" => {
            let b = ctx.base_url();
            resp(
                op,
                &format!(
                    "<tds:Capabilities>\
                     <tt:Device><tt:XAddr>{b}/onvif/device_service</tt:XAddr>\
                     <tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>\
                     <tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>\
                     <tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>\
                     <tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System></tt:Device>\
                     <tt:Events><tt:XAddr>{b}/onvif/events_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>\
                     <tt:WSPullPointSupport>true</tt:WSPullPointSupport>\
                     <tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>\
                     <tt:Imaging><tt:XAddr>{b}/onvif/imaging_service</tt:XAddr></tt:Imaging>\
                     <tt:Media><tt:XAddr>{b}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities>\
                     <tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>\
                     </tt:StreamingCapabilities></tt:Media>\
                     <tt:PTZ><tt:XAddr>{b}/onvif/ptz_service</tt:XAddr></tt:PTZ>\
                     </tds:Capabilities>"
                ),
            )
        }
        "GetServices" => {
            let b = ctx.base_url();
            let with_caps = ctx
                .arg("IncludeCapability")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
            let mut inner = String::new();
            for (namespace, path) in SERVICES {
                let caps = if with_caps {
                    format!(
                        "<tds:Capabilities>{}</tds:Capabilities>",
                        service_capabilities(namespace)
                    )
                } else {
                    String::new()
                };
                inner.push_str(&format!(
                    "<tds:Service><tds:Namespace>{namespace}</tds:Namespace><tds:XAddr>{b}{path}</tds:XAddr>{caps}\
                     <tds:Version><tt:Major>{}</tt:Major><tt:Minor>{}</tt:Minor></tds:Version></tds:Service>",
                    VERSION.0, VERSION.1
                ));
            }
            resp(op, &inner)
        }
        "GetServiceCapabilities" => resp(op, &service_capabilities(ns::TDS)),
        "GetScopes" => {
            let mut inner = String::new();
            for (def, item) in scopes(ctx) {
                inner.push_str(&format!(
                    "<tds:Scopes><tt:ScopeDef>{def}</tt:ScopeDef><tt:ScopeItem>{}</tt:ScopeItem></tds:Scopes>",
                    escape(&item)
                ));
            }
            resp(op, &inner)
        }
        "GetHostname" => {
            let name = lock(&s.onvif).hostname.clone();
            resp(
                op,
                &format!(
                    "<tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>{}</tt:Name></tds:HostnameInformation>",
                    escape(&name)
                ),
            )
        }
        "SetHostname" => {
            let Some(name) = ctx.arg("Name").filter(|n| !n.is_empty() && n.len() <= 63) else {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "InvalidHostname",
                    "invalid host name",
                ));
            };
            lock(&s.onvif).hostname = name.to_string();
            resp(op, "")
        }
        "GetNetworkInterfaces" => {
            let addr = s
                .config
                .quirks
                .report_host
                .clone()
                .unwrap_or_else(|| s.config.bind.to_string());
            resp(
                op,
                &format!(
                    "<tds:NetworkInterfaces token=\"eth0\"><tt:Enabled>true</tt:Enabled>\
                     <tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>02:00:00:00:00:01</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>\
                     <tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>{}</tt:Address>\
                     <tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>\
                     </tds:NetworkInterfaces>",
                    escape(&addr)
                ),
            )
        }
        "GetNetworkProtocols" => {
            // What the camera believes: behind NAT it reports its internal ports.
            let internal = s.config.quirks.report_host.is_some();
            let (http, https, rtsp) = if internal {
                (80, Some(443), 554)
            } else {
                (s.ports.http, s.ports.https, s.ports.rtsp)
            };
            let mut inner = format!(
                "<tds:NetworkProtocols><tt:Name>HTTP</tt:Name><tt:Enabled>true</tt:Enabled><tt:Port>{http}</tt:Port></tds:NetworkProtocols>"
            );
            if let Some(p) = https {
                inner.push_str(&format!(
                    "<tds:NetworkProtocols><tt:Name>HTTPS</tt:Name><tt:Enabled>true</tt:Enabled><tt:Port>{p}</tt:Port></tds:NetworkProtocols>"
                ));
            }
            inner.push_str(&format!(
                "<tds:NetworkProtocols><tt:Name>RTSP</tt:Name><tt:Enabled>true</tt:Enabled><tt:Port>{rtsp}</tt:Port></tds:NetworkProtocols>"
            ));
            resp(op, &inner)
        }
        "SystemReboot" => {
            let shared = ctx.shared.clone();
            tokio::spawn(async move {
                // Answer first, then drop everything for a moment.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                super::camera::reboot_shared(&shared, std::time::Duration::from_secs(2)).await;
            });
            resp(op, "<tds:Message>Rebooting in 2 seconds</tds:Message>")
        }
        _ => Answer::Fault(FaultSpec::not_supported(op)),
    }
}

/// Scope (definition, item) pairs.
pub(crate) fn scopes(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    camera_scopes(&ctx.shared.config.identity)
}

/// The scopes a mock camera reports (GetScopes) and announces (WS-Discovery).
pub(crate) fn camera_scopes(id: &super::config::Identity) -> Vec<(&'static str, String)> {
    // Scope path segments are percent-encoded where they hold spaces or reserved characters.
    let seg = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    vec![
        (
            "Fixed",
            "onvif://www.onvif.org/type/video_encoder".to_string(),
        ),
        ("Fixed", "onvif://www.onvif.org/type/ptz".to_string()),
        (
            "Fixed",
            "onvif://www.onvif.org/Profile/Streaming".to_string(),
        ),
        ("Fixed", "onvif://www.onvif.org/Profile/T".to_string()),
        (
            "Fixed",
            format!("onvif://www.onvif.org/hardware/{}", seg(&id.model)),
        ),
        (
            "Configurable",
            format!("onvif://www.onvif.org/name/{}", seg(&id.manufacturer)),
        ),
        (
            "Configurable",
            "onvif://www.onvif.org/location/country/nowhere".to_string(),
        ),
    ]
}

fn service_capabilities(namespace: &str) -> String {
    match namespace {
        ns::TDS => format!(
            r#"<tds:Capabilities xmlns:tds="{}"><tds:Network NTP="1" HostnameFromDHCP="false"/><tds:Security UsernameToken="true" HttpDigest="true"/><tds:System DiscoveryBye="true" SystemReboot="true"/></tds:Capabilities>"#,
            ns::TDS
        ),
        ns::TRT => format!(
            r#"<trt:Capabilities xmlns:trt="{}" SnapshotUri="true"><trt:ProfileCapabilities MaximumNumberOfProfiles="8"/><trt:StreamingCapabilities RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>"#,
            ns::TRT
        ),
        ns::TR2 => format!(
            r#"<tr2:Capabilities xmlns:tr2="{}" SnapshotUri="true"><tr2:ProfileCapabilities MaximumNumberOfProfiles="8"/><tr2:StreamingCapabilities RTSPStreaming="true" RTP_RTSP_TCP="true"/></tr2:Capabilities>"#,
            ns::TR2
        ),
        ns::TPTZ => format!(
            r#"<tptz:Capabilities xmlns:tptz="{}" MoveStatus="true" StatusPosition="true"/>"#,
            ns::TPTZ
        ),
        ns::TEV => format!(
            r#"<tev:Capabilities xmlns:tev="{}" WSSubscriptionPolicySupport="false" WSPausableSubscriptionManagerInterfaceSupport="false" MaxPullPoints="{}"/>"#,
            ns::TEV,
            super::onvif_state::MAX_SUBSCRIPTIONS
        ),
        ns::TIMG => format!(r#"<timg:Capabilities xmlns:timg="{}"/>"#, ns::TIMG),
        _ => String::new(),
    }
}

fn imaging_resp(op: &str, inner: &str) -> Answer {
    Answer::Body(format!(
        r#"<timg:{op}Response xmlns:timg="{}" xmlns:tt="{}">{inner}</timg:{op}Response>"#,
        ns::TIMG,
        ns::TT
    ))
}

/// The one video source of the mock.
pub(crate) const VIDEO_SOURCE: &str = "VideoSource_1";

/// Imaging service operations.
pub(crate) fn handle_imaging(ctx: &Ctx<'_>, op: &str) -> Answer {
    let s = ctx.shared;
    if matches!(
        op,
        "GetImagingSettings" | "SetImagingSettings" | "GetOptions"
    ) && ctx.arg("VideoSourceToken") != Some(VIDEO_SOURCE)
    {
        return Answer::Fault(FaultSpec::invalid_arg(
            "NoSource",
            "unknown VideoSourceToken",
        ));
    }
    match op {
        "GetImagingSettings" => {
            let i = lock(&s.onvif).imaging.clone();
            imaging_resp(
                op,
                &format!(
                    "<timg:ImagingSettings><tt:Brightness>{}</tt:Brightness><tt:ColorSaturation>{}</tt:ColorSaturation>\
                     <tt:Contrast>{}</tt:Contrast><tt:IrCutFilter>{}</tt:IrCutFilter><tt:Sharpness>{}</tt:Sharpness>\
                     </timg:ImagingSettings>",
                    i.brightness, i.color_saturation, i.contrast, i.ir_cut_filter, i.sharpness
                ),
            )
        }
        "SetImagingSettings" => {
            let Some(settings) = ctx.op.child_local("ImagingSettings") else {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "SettingsInvalid",
                    "ImagingSettings missing",
                ));
            };
            let mut st = lock(&s.onvif);
            let mut next = st.imaging.clone();
            for (name, slot) in [
                ("Brightness", &mut next.brightness),
                ("ColorSaturation", &mut next.color_saturation),
                ("Contrast", &mut next.contrast),
                ("Sharpness", &mut next.sharpness),
            ] {
                if let Some(e) = settings.child_local(name) {
                    match e.trimmed().parse::<f64>() {
                        Ok(v) if (0.0..=100.0).contains(&v) => *slot = v,
                        _ => {
                            return Answer::Fault(FaultSpec::invalid_arg(
                                "SettingsInvalid",
                                format!("{name} must be within 0..100"),
                            ));
                        }
                    }
                }
            }
            if let Some(e) = settings.child_local("IrCutFilter") {
                let v = e.trimmed();
                if !matches!(v, "ON" | "OFF" | "AUTO") {
                    return Answer::Fault(FaultSpec::invalid_arg(
                        "SettingsInvalid",
                        "IrCutFilter must be ON, OFF or AUTO",
                    ));
                }
                next.ir_cut_filter = v.to_string();
            }
            st.imaging = next;
            imaging_resp(op, "")
        }
        "GetOptions" => imaging_resp(
            op,
            "<timg:ImagingOptions><tt:Brightness><tt:Min>0</tt:Min><tt:Max>100</tt:Max></tt:Brightness>\
             <tt:ColorSaturation><tt:Min>0</tt:Min><tt:Max>100</tt:Max></tt:ColorSaturation>\
             <tt:Contrast><tt:Min>0</tt:Min><tt:Max>100</tt:Max></tt:Contrast>\
             <tt:IrCutFilterModes>ON</tt:IrCutFilterModes><tt:IrCutFilterModes>OFF</tt:IrCutFilterModes>\
             <tt:IrCutFilterModes>AUTO</tt:IrCutFilterModes>\
             <tt:Sharpness><tt:Min>0</tt:Min><tt:Max>100</tt:Max></tt:Sharpness></timg:ImagingOptions>",
        ),
        "GetServiceCapabilities" => imaging_resp(op, &service_capabilities(ns::TIMG)),
        _ => Answer::Fault(FaultSpec::not_supported(op)),
    }
}
