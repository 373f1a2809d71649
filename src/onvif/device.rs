//! Device service (`tds`): identity, time, capabilities and services, network facts, reboot.

use crate::Result;
use crate::datetime::{UtcParts, format_utc, from_parts};
use crate::onvif::soap::ns::{TDS, TT};
use crate::onvif::xml::Element;
use crate::onvif::{
    Call, bad, check_uri, child_bool, child_num, expect, required, text_or_empty, token_attr,
};
use crate::xmlutil::escape;

/// `GetSystemDateAndTime` (the one call a camera answers without credentials).
pub fn get_system_date_and_time() -> Call {
    Call::new(TDS, "GetSystemDateAndTime", "")
}
/// `GetDeviceInformation`.
pub fn get_device_information() -> Call {
    Call::new(TDS, "GetDeviceInformation", "")
}
/// `GetCapabilities` for all categories.
pub fn get_capabilities() -> Call {
    Call::new(TDS, "GetCapabilities", "<Category>All</Category>")
}
/// `GetServices`, with or without each service's capabilities.
pub fn get_services(include_capability: bool) -> Call {
    Call::new(
        TDS,
        "GetServices",
        &format!("<IncludeCapability>{include_capability}</IncludeCapability>"),
    )
}
/// `GetScopes`.
pub fn get_scopes() -> Call {
    Call::new(TDS, "GetScopes", "")
}
/// `GetHostname`.
pub fn get_hostname() -> Call {
    Call::new(TDS, "GetHostname", "")
}
/// `GetNetworkInterfaces`.
pub fn get_network_interfaces() -> Call {
    Call::new(TDS, "GetNetworkInterfaces", "")
}
/// `GetNetworkProtocols`.
pub fn get_network_protocols() -> Call {
    Call::new(TDS, "GetNetworkProtocols", "")
}
/// `SystemReboot` (not idempotent: never retried).
pub fn system_reboot() -> Call {
    Call::new(TDS, "SystemReboot", "")
}

/// How to set the camera clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTimeSetting {
    /// Let the camera follow its NTP servers.
    Ntp {
        /// POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`), if it should change.
        tz: Option<String>,
    },
    /// Set the clock by hand to a UTC instant (seconds since the Unix epoch).
    Manual {
        /// The UTC time to set.
        utc_unix: i64,
        /// POSIX TZ string, if it should change.
        tz: Option<String>,
        /// Daylight saving flag.
        daylight_savings: bool,
    },
}

/// `SetSystemDateAndTime` (not idempotent by ONVIF's reckoning: never retried).
pub fn set_system_date_and_time(setting: &DateTimeSetting) -> Call {
    let tz_xml = |tz: &Option<String>| {
        tz.as_ref()
            .map(|t| format!("<TimeZone><tt:TZ>{}</tt:TZ></TimeZone>", escape(t)))
            .unwrap_or_default()
    };
    let inner = match setting {
        DateTimeSetting::Ntp { tz } => format!(
            "<DateTimeType>NTP</DateTimeType><DaylightSavings>false</DaylightSavings>{}",
            tz_xml(tz)
        ),
        DateTimeSetting::Manual {
            utc_unix,
            tz,
            daylight_savings,
        } => {
            let p = crate::datetime::to_parts(*utc_unix);
            format!(
                concat!(
                    "<DateTimeType>Manual</DateTimeType><DaylightSavings>{dst}</DaylightSavings>{tz}",
                    "<UTCDateTime><tt:Time><tt:Hour>{h}</tt:Hour><tt:Minute>{mi}</tt:Minute>",
                    "<tt:Second>{s}</tt:Second></tt:Time><tt:Date><tt:Year>{y}</tt:Year>",
                    "<tt:Month>{mo}</tt:Month><tt:Day>{d}</tt:Day></tt:Date></UTCDateTime>"
                ),
                dst = daylight_savings,
                tz = tz_xml(tz),
                h = p.hour,
                mi = p.minute,
                s = p.second,
                y = p.year,
                mo = p.month,
                d = p.day
            )
        }
    };
    let mut call = Call::new(TDS, "SetSystemDateAndTime", &inner);
    call.idempotent = false;
    call
}

/// `GetDeviceInformationResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInformation {
    /// Manufacturer (never empty).
    pub manufacturer: String,
    /// Model (never empty).
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Serial number.
    pub serial_number: String,
    /// Hardware id.
    pub hardware_id: String,
}

/// Parses `GetDeviceInformationResponse`.
pub fn parse_device_information(el: &Element) -> Result<DeviceInformation> {
    let el = expect(el, TDS, "GetDeviceInformationResponse")?;
    Ok(DeviceInformation {
        manufacturer: required(el, TDS, "Manufacturer")?,
        model: required(el, TDS, "Model")?,
        firmware_version: text_or_empty(el, TDS, "FirmwareVersion"),
        serial_number: text_or_empty(el, TDS, "SerialNumber"),
        hardware_id: text_or_empty(el, TDS, "HardwareId"),
    })
}

/// Whether the camera clock follows NTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTimeType {
    /// Set by hand.
    Manual,
    /// From NTP.
    Ntp,
}

/// `GetSystemDateAndTimeResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemDateAndTime {
    /// Manual or NTP.
    pub date_time_type: DateTimeType,
    /// Daylight saving in effect.
    pub daylight_savings: bool,
    /// POSIX TZ string, if reported.
    pub tz: Option<String>,
    /// The camera's UTC time, seconds since the Unix epoch (`None` if not reported).
    pub utc_unix: Option<i64>,
    /// The camera's local time read as if it were UTC (to show the zone offset), if reported.
    pub local_unix: Option<i64>,
}

fn parse_date_time(el: &Element) -> Option<i64> {
    let t = el.child(TT, "Time")?;
    let d = el.child(TT, "Date")?;
    let p = UtcParts {
        year: child_num(d, TT, "Year")?,
        month: child_num(d, TT, "Month")?,
        day: child_num(d, TT, "Day")?,
        hour: child_num(t, TT, "Hour")?,
        minute: child_num(t, TT, "Minute")?,
        second: child_num(t, TT, "Second")?,
    };
    let ok = (1970..=9999).contains(&p.year)
        && (1..=12).contains(&p.month)
        && (1..=31).contains(&p.day)
        && p.hour < 24
        && p.minute < 60
        && p.second <= 60;
    ok.then(|| from_parts(&p))
}

/// Parses `GetSystemDateAndTimeResponse`.
pub fn parse_system_date_and_time(el: &Element) -> Result<SystemDateAndTime> {
    let el = expect(el, TDS, "GetSystemDateAndTimeResponse")?;
    let sdt = el
        .child(TDS, "SystemDateAndTime")
        .ok_or_else(|| bad(el, "no SystemDateAndTime"))?;
    let date_time_type = match sdt.child_text(TT, "DateTimeType") {
        Some(t) if t.eq_ignore_ascii_case("ntp") => DateTimeType::Ntp,
        _ => DateTimeType::Manual,
    };
    let utc = sdt.child(TT, "UTCDateTime");
    let utc_unix = match utc {
        Some(u) => Some(parse_date_time(u).ok_or_else(|| bad(u, "invalid UTCDateTime"))?),
        None => None,
    };
    Ok(SystemDateAndTime {
        date_time_type,
        daylight_savings: child_bool(sdt, TT, "DaylightSavings"),
        tz: sdt
            .child(TT, "TimeZone")
            .and_then(|z| z.child_text(TT, "TZ"))
            .map(str::to_string),
        utc_unix,
        local_unix: sdt.child(TT, "LocalDateTime").and_then(parse_date_time),
    })
}

impl SystemDateAndTime {
    /// The camera's UTC time formatted as `xs:dateTime`, if known.
    pub fn utc_string(&self) -> Option<String> {
        self.utc_unix.map(format_utc)
    }
}

/// Service addresses from `GetCapabilities` (legacy, but every camera answers it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Device service XAddr.
    pub device: Option<String>,
    /// Media (ver10) XAddr.
    pub media: Option<String>,
    /// Events XAddr.
    pub events: Option<String>,
    /// Imaging XAddr.
    pub imaging: Option<String>,
    /// PTZ XAddr.
    pub ptz: Option<String>,
    /// Analytics XAddr.
    pub analytics: Option<String>,
    /// Whether the camera does RTP multicast.
    pub rtp_multicast: bool,
    /// RTP over TCP.
    pub rtp_tcp: bool,
    /// RTP over RTSP over TCP (interleaved).
    pub rtp_rtsp_tcp: bool,
    /// Whether the events service offers pull points.
    pub ws_pull_point: bool,
}

fn xaddr_of(cap: &Element, name: &str) -> Result<Option<String>> {
    let Some(c) = cap.child(TT, name) else {
        return Ok(None);
    };
    let Some(x) = c.child_text(TT, "XAddr") else {
        return Ok(None);
    };
    check_uri(c, x, &["http", "https"])?;
    Ok(Some(x.to_string()))
}

/// Parses `GetCapabilitiesResponse`.
pub fn parse_capabilities(el: &Element) -> Result<Capabilities> {
    let el = expect(el, TDS, "GetCapabilitiesResponse")?;
    let cap = el
        .child(TDS, "Capabilities")
        .ok_or_else(|| bad(el, "no Capabilities"))?;
    let media_el = cap.child(TT, "Media");
    let streaming = media_el.and_then(|m| m.child(TT, "StreamingCapabilities"));
    Ok(Capabilities {
        device: xaddr_of(cap, "Device")?,
        media: xaddr_of(cap, "Media")?,
        events: xaddr_of(cap, "Events")?,
        imaging: xaddr_of(cap, "Imaging")?,
        ptz: xaddr_of(cap, "PTZ")?,
        analytics: xaddr_of(cap, "Analytics")?,
        rtp_multicast: streaming.is_some_and(|s| child_bool(s, TT, "RTPMulticast")),
        rtp_tcp: streaming.is_some_and(|s| child_bool(s, TT, "RTP_TCP")),
        rtp_rtsp_tcp: streaming.is_some_and(|s| child_bool(s, TT, "RTP_RTSP_TCP")),
        ws_pull_point: cap
            .child(TT, "Events")
            .is_some_and(|e| child_bool(e, TT, "WSPullPointSupport")),
    })
}

/// One entry of `GetServicesResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service namespace (`http://www.onvif.org/ver20/media/wsdl`, ...).
    pub namespace: String,
    /// Where to send its requests.
    pub xaddr: String,
    /// Version (major, minor), if given.
    pub version: Option<(u32, u32)>,
    /// The raw `Capabilities` element, when asked for.
    pub capabilities: Option<Element>,
}

/// Parses `GetServicesResponse`. Entries without namespace or address are skipped.
pub fn parse_services(el: &Element) -> Result<Vec<Service>> {
    let el = expect(el, TDS, "GetServicesResponse")?;
    let mut out = Vec::new();
    for s in el.children_named(TDS, "Service") {
        let (Some(ns), Some(xaddr)) = (s.child_text(TDS, "Namespace"), s.child_text(TDS, "XAddr"))
        else {
            tracing::debug!("GetServices entry without Namespace or XAddr skipped");
            continue;
        };
        check_uri(s, xaddr, &["http", "https"])?;
        let version = s
            .child(TDS, "Version")
            .and_then(|v| Some((child_num(v, TT, "Major")?, child_num(v, TT, "Minor")?)));
        out.push(Service {
            namespace: ns.to_string(),
            xaddr: xaddr.to_string(),
            version,
            capabilities: s
                .child(TDS, "Capabilities")
                .and_then(|c| c.first_child().cloned()),
        });
    }
    Ok(out)
}

/// One scope of `GetScopesResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `Fixed` or `Configurable`.
    pub fixed: bool,
    /// The scope URI (`onvif://www.onvif.org/name/AXIS%20Q6045-E`).
    pub item: String,
}

/// Parses `GetScopesResponse`.
pub fn parse_scopes(el: &Element) -> Result<Vec<Scope>> {
    let el = expect(el, TDS, "GetScopesResponse")?;
    Ok(el
        .children_named(TDS, "Scopes")
        .filter_map(|s| {
            Some(Scope {
                fixed: s
                    .child_text(TT, "ScopeDef")
                    .is_some_and(|d| d.eq_ignore_ascii_case("fixed")),
                item: s.child_text(TT, "ScopeItem")?.to_string(),
            })
        })
        .collect())
}

/// The value of the first `onvif://www.onvif.org/<kind>/...` scope, percent-decoded
/// (`kind` is `name`, `hardware`, `location`, ...).
pub fn scope_value(scopes: &[Scope], kind: &str) -> Option<String> {
    let prefix = format!("onvif://www.onvif.org/{kind}/");
    scopes
        .iter()
        .find_map(|s| s.item.strip_prefix(&prefix).map(percent_decode))
}

/// Decodes `%XX` escapes of a scope value (invalid escapes are kept as written).
// `auth::credentials::percent_decode` is private to `auth`; this is the scope-sized twin.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GetHostnameResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname {
    /// Whether the name comes from DHCP.
    pub from_dhcp: bool,
    /// The host name, if set.
    pub name: Option<String>,
}

/// Parses `GetHostnameResponse`.
pub fn parse_hostname(el: &Element) -> Result<Hostname> {
    let el = expect(el, TDS, "GetHostnameResponse")?;
    let h = el
        .child(TDS, "HostnameInformation")
        .ok_or_else(|| bad(el, "no HostnameInformation"))?;
    Ok(Hostname {
        from_dhcp: child_bool(h, TT, "FromDHCP"),
        name: h.child_text(TT, "Name").map(str::to_string),
    })
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInterface {
    /// Interface token.
    pub token: String,
    /// Enabled.
    pub enabled: bool,
    /// Interface name (`eth0`), if given.
    pub name: Option<String>,
    /// MAC address, if given.
    pub hw_address: Option<String>,
    /// MTU, if given.
    pub mtu: Option<u32>,
    /// IPv4 addresses with prefix lengths (manual, DHCP and link-local).
    pub ipv4: Vec<(String, u8)>,
    /// Whether IPv4 uses DHCP.
    pub ipv4_dhcp: bool,
}

/// Parses `GetNetworkInterfacesResponse`.
pub fn parse_network_interfaces(el: &Element) -> Result<Vec<NetworkInterface>> {
    let el = expect(el, TDS, "GetNetworkInterfacesResponse")?;
    let mut out = Vec::new();
    for n in el.children_named(TDS, "NetworkInterfaces") {
        let info = n.child(TT, "Info");
        let cfg = n.child(TT, "IPv4").and_then(|v| v.child(TT, "Config"));
        let mut ipv4 = Vec::new();
        if let Some(cfg) = cfg {
            for kind in ["Manual", "FromDHCP", "LinkLocal"] {
                for a in cfg.children_named(TT, kind) {
                    if let (Some(addr), Some(len)) = (
                        a.child_text(TT, "Address"),
                        child_num::<u8>(a, TT, "PrefixLength"),
                    ) {
                        if addr.parse::<std::net::Ipv4Addr>().is_err() || len > 32 {
                            return Err(bad(a, format!("invalid IPv4 address {addr}/{len}")));
                        }
                        ipv4.push((addr.to_string(), len));
                    }
                }
            }
        }
        out.push(NetworkInterface {
            token: token_attr(n)?,
            enabled: child_bool(n, TT, "Enabled"),
            name: info
                .and_then(|i| i.child_text(TT, "Name"))
                .map(str::to_string),
            hw_address: info
                .and_then(|i| i.child_text(TT, "HwAddress"))
                .map(str::to_string),
            mtu: info.and_then(|i| child_num(i, TT, "MTU")),
            ipv4,
            ipv4_dhcp: cfg.is_some_and(|c| child_bool(c, TT, "DHCP")),
        });
    }
    Ok(out)
}

/// One protocol of `GetNetworkProtocolsResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkProtocol {
    /// `HTTP`, `HTTPS` or `RTSP`.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Ports (zeros, which some cameras list, are dropped).
    pub ports: Vec<u16>,
}

/// Parses `GetNetworkProtocolsResponse`.
pub fn parse_network_protocols(el: &Element) -> Result<Vec<NetworkProtocol>> {
    let el = expect(el, TDS, "GetNetworkProtocolsResponse")?;
    let mut out = Vec::new();
    for p in el.children_named(TDS, "NetworkProtocols") {
        let name = required(p, TT, "Name")?;
        let mut ports = Vec::new();
        for port in p.children_named(TT, "Port") {
            let v: u16 = port
                .trimmed()
                .parse()
                .map_err(|_| bad(port, format!("invalid port {:?}", port.trimmed())))?;
            if v != 0 {
                ports.push(v);
            }
        }
        out.push(NetworkProtocol {
            name,
            enabled: child_bool(p, TT, "Enabled"),
            ports,
        });
    }
    Ok(out)
}

/// The first enabled port the camera reports for a protocol (`"RTSP"`, `"HTTP"`, `"HTTPS"`).
pub fn protocol_port(protocols: &[NetworkProtocol], name: &str) -> Option<u16> {
    protocols
        .iter()
        .find(|p| p.enabled && p.name.eq_ignore_ascii_case(name))
        .and_then(|p| p.ports.first().copied())
}

/// Parses `SystemRebootResponse`, returning the camera's message.
pub fn parse_system_reboot(el: &Element) -> Result<String> {
    let el = expect(el, TDS, "SystemRebootResponse")?;
    Ok(text_or_empty(el, TDS, "Message"))
}

/// Parses `SetSystemDateAndTimeResponse` (empty).
pub fn parse_set_system_date_and_time(el: &Element) -> Result<()> {
    expect(el, TDS, "SetSystemDateAndTimeResponse").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onvif::soap;

    fn body(inner: &str) -> Element {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{}" xmlns:tds="{TDS}" xmlns:tt="{TT}"><s:Body>{inner}</s:Body></s:Envelope>"#,
            soap::ns::SOAP12
        );
        soap::parse_http_response(200, doc.as_bytes()).unwrap()
    }

    #[test]
    fn date_time_ranges_checked() {
        let el = body(
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:UTCDateTime><tt:Time><tt:Hour>25</tt:Hour><tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time><tt:Date><tt:Year>2024</tt:Year><tt:Month>1</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>",
        );
        assert_eq!(
            parse_system_date_and_time(&el).unwrap_err().kind(),
            &crate::ErrorKind::Malformed
        );
    }

    #[test]
    fn set_manual_time_request() {
        let c = set_system_date_and_time(&DateTimeSetting::Manual {
            utc_unix: 1_700_000_000,
            tz: Some("UTC0".into()),
            daylight_savings: false,
        });
        assert!(!c.idempotent);
        assert!(c.body.contains("<tt:Hour>22</tt:Hour>"));
        assert!(c.body.contains("<tt:TZ>UTC0</tt:TZ>"));
    }

    #[test]
    fn device_information_requires_manufacturer() {
        let el = body(
            "<tds:GetDeviceInformationResponse><tds:Model>X</tds:Model></tds:GetDeviceInformationResponse>",
        );
        assert!(parse_device_information(&el).is_err());
    }
}
