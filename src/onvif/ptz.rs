//! PTZ service (`tptz`): nodes, configurations, status, moves, presets, home position.

use std::time::Duration;

use crate::Result;
use crate::onvif::soap::ns::{TPTZ, TT};
use crate::onvif::xml::Element;
use crate::onvif::{Call, bad, expect, required, text_or_empty, token_attr};
use crate::xmlutil::escape;

/// A pan/tilt/zoom vector (position, translation, velocity or speed, in the camera's default
/// generic spaces: pan/tilt -1..1, zoom 0..1 for positions).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PtzVector {
    /// Pan (x) and tilt (y), if moving or reporting them.
    pub pan_tilt: Option<(f64, f64)>,
    /// Zoom, if moving or reporting it.
    pub zoom: Option<f64>,
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "0".to_string()
    }
}

impl PtzVector {
    /// A pan/tilt-only vector.
    pub fn pan_tilt(x: f64, y: f64) -> Self {
        PtzVector {
            pan_tilt: Some((x, y)),
            zoom: None,
        }
    }
    /// A zoom-only vector.
    pub fn zoom(z: f64) -> Self {
        PtzVector {
            pan_tilt: None,
            zoom: Some(z),
        }
    }
    fn to_xml(self, element: &str) -> String {
        let mut s = format!("<{element}>");
        if let Some((x, y)) = self.pan_tilt {
            s.push_str(&format!(r#"<tt:PanTilt x="{}" y="{}"/>"#, num(x), num(y)));
        }
        if let Some(z) = self.zoom {
            s.push_str(&format!(r#"<tt:Zoom x="{}"/>"#, num(z)));
        }
        s.push_str(&format!("</{element}>"));
        s
    }
    fn parse(el: &Element) -> PtzVector {
        let f = |e: &Element, a: &str| {
            e.attr(a)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
        };
        PtzVector {
            pan_tilt: el
                .child(TT, "PanTilt")
                .and_then(|p| Some((f(p, "x")?, f(p, "y")?))),
            zoom: el.child(TT, "Zoom").and_then(|z| f(z, "x")),
        }
    }
}

fn profile(token: &str) -> String {
    format!("<ProfileToken>{}</ProfileToken>", escape(token))
}

/// `xs:duration` of whole milliseconds (`PT1.5S`).
fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("PT{}S", ms / 1000)
    } else {
        format!("PT{}.{:03}S", ms / 1000, ms % 1000)
    }
}

fn not_idempotent(mut c: Call) -> Call {
    c.idempotent = false;
    c
}

/// `GetNodes`.
pub fn get_nodes() -> Call {
    Call::new(TPTZ, "GetNodes", "")
}
/// `GetConfigurations`.
pub fn get_configurations() -> Call {
    Call::new(TPTZ, "GetConfigurations", "")
}
/// `GetStatus` of a profile's PTZ head.
pub fn get_status(profile_token: &str) -> Call {
    Call::new(TPTZ, "GetStatus", &profile(profile_token))
}
/// `ContinuousMove` at a velocity, optionally stopping by itself after `timeout`.
pub fn continuous_move(
    profile_token: &str,
    velocity: PtzVector,
    timeout: Option<Duration>,
) -> Call {
    let mut inner = profile(profile_token) + &velocity.to_xml("Velocity");
    if let Some(t) = timeout {
        inner.push_str(&format!("<Timeout>{}</Timeout>", duration(t)));
    }
    not_idempotent(Call::new(TPTZ, "ContinuousMove", &inner))
}
/// `RelativeMove` by a translation, optionally at a speed.
pub fn relative_move(
    profile_token: &str,
    translation: PtzVector,
    speed: Option<PtzVector>,
) -> Call {
    let mut inner = profile(profile_token) + &translation.to_xml("Translation");
    if let Some(s) = speed {
        inner.push_str(&s.to_xml("Speed"));
    }
    not_idempotent(Call::new(TPTZ, "RelativeMove", &inner))
}
/// `AbsoluteMove` to a position, optionally at a speed.
pub fn absolute_move(profile_token: &str, position: PtzVector, speed: Option<PtzVector>) -> Call {
    let mut inner = profile(profile_token) + &position.to_xml("Position");
    if let Some(s) = speed {
        inner.push_str(&s.to_xml("Speed"));
    }
    not_idempotent(Call::new(TPTZ, "AbsoluteMove", &inner))
}
/// `Stop` pan/tilt and/or zoom.
pub fn stop(profile_token: &str, pan_tilt: bool, zoom: bool) -> Call {
    not_idempotent(Call::new(
        TPTZ,
        "Stop",
        &format!(
            "{}<PanTilt>{pan_tilt}</PanTilt><Zoom>{zoom}</Zoom>",
            profile(profile_token)
        ),
    ))
}
/// `GetPresets`.
pub fn get_presets(profile_token: &str) -> Call {
    Call::new(TPTZ, "GetPresets", &profile(profile_token))
}
/// `SetPreset`: a new preset (no token) or an update of an existing one.
pub fn set_preset(profile_token: &str, name: Option<&str>, preset_token: Option<&str>) -> Call {
    let mut inner = profile(profile_token);
    if let Some(n) = name {
        inner.push_str(&format!("<PresetName>{}</PresetName>", escape(n)));
    }
    if let Some(t) = preset_token {
        inner.push_str(&format!("<PresetToken>{}</PresetToken>", escape(t)));
    }
    not_idempotent(Call::new(TPTZ, "SetPreset", &inner))
}
/// `RemovePreset`.
pub fn remove_preset(profile_token: &str, preset_token: &str) -> Call {
    not_idempotent(Call::new(
        TPTZ,
        "RemovePreset",
        &format!(
            "{}<PresetToken>{}</PresetToken>",
            profile(profile_token),
            escape(preset_token)
        ),
    ))
}
/// `GotoPreset`, optionally at a speed.
pub fn goto_preset(profile_token: &str, preset_token: &str, speed: Option<PtzVector>) -> Call {
    let mut inner = format!(
        "{}<PresetToken>{}</PresetToken>",
        profile(profile_token),
        escape(preset_token)
    );
    if let Some(s) = speed {
        inner.push_str(&s.to_xml("Speed"));
    }
    not_idempotent(Call::new(TPTZ, "GotoPreset", &inner))
}
/// `GotoHomePosition`, optionally at a speed.
pub fn goto_home_position(profile_token: &str, speed: Option<PtzVector>) -> Call {
    let mut inner = profile(profile_token);
    if let Some(s) = speed {
        inner.push_str(&s.to_xml("Speed"));
    }
    not_idempotent(Call::new(TPTZ, "GotoHomePosition", &inner))
}

/// A PTZ node (one motorised head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtzNode {
    /// Token.
    pub token: String,
    /// Name.
    pub name: String,
    /// How many presets it keeps.
    pub maximum_presets: Option<u32>,
    /// Whether it has a home position.
    pub home_supported: bool,
}

/// Parses `GetNodesResponse`.
pub fn parse_nodes(el: &Element) -> Result<Vec<PtzNode>> {
    let el = expect(el, TPTZ, "GetNodesResponse")?;
    el.children_named(TPTZ, "PTZNode")
        .map(|n| {
            Ok(PtzNode {
                token: token_attr(n)?,
                name: text_or_empty(n, TT, "Name"),
                maximum_presets: crate::onvif::child_num(n, TT, "MaximumNumberOfPresets"),
                home_supported: crate::onvif::child_bool(n, TT, "HomeSupported"),
            })
        })
        .collect()
}

/// A PTZ configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtzConfiguration {
    /// Token.
    pub token: String,
    /// Name.
    pub name: String,
    /// The node it drives.
    pub node_token: String,
    /// Default timeout of continuous moves, as the camera wrote it (`PT5S`).
    pub default_timeout: Option<String>,
}

fn parse_configuration(c: &Element) -> Result<PtzConfiguration> {
    Ok(PtzConfiguration {
        token: token_attr(c)?,
        name: text_or_empty(c, TT, "Name"),
        node_token: text_or_empty(c, TT, "NodeToken"),
        default_timeout: c.child_text(TT, "DefaultPTZTimeout").map(str::to_string),
    })
}

/// Parses `GetConfigurationsResponse`.
pub fn parse_configurations(el: &Element) -> Result<Vec<PtzConfiguration>> {
    let el = expect(el, TPTZ, "GetConfigurationsResponse")?;
    el.children_named(TPTZ, "PTZConfiguration")
        .map(parse_configuration)
        .collect()
}

/// `GetStatusResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct PtzStatus {
    /// Position, when the camera reports it.
    pub position: Option<PtzVector>,
    /// Pan/tilt move status (`IDLE`, `MOVING`, `UNKNOWN`).
    pub pan_tilt_status: Option<String>,
    /// Zoom move status.
    pub zoom_status: Option<String>,
    /// Error text, if any.
    pub error: Option<String>,
    /// Camera time of the status, seconds since the Unix epoch.
    pub utc_time: Option<i64>,
}

/// Parses `GetStatusResponse`.
pub fn parse_status(el: &Element) -> Result<PtzStatus> {
    let el = expect(el, TPTZ, "GetStatusResponse")?;
    let s = el
        .child(TPTZ, "PTZStatus")
        .ok_or_else(|| bad(el, "no PTZStatus"))?;
    let ms = s.child(TT, "MoveStatus");
    Ok(PtzStatus {
        position: s.child(TT, "Position").map(PtzVector::parse),
        pan_tilt_status: ms
            .and_then(|m| m.child_text(TT, "PanTilt"))
            .map(str::to_string),
        zoom_status: ms
            .and_then(|m| m.child_text(TT, "Zoom"))
            .map(str::to_string),
        error: s.child_text(TT, "Error").map(str::to_string),
        utc_time: s
            .child_text(TT, "UtcTime")
            .and_then(crate::datetime::parse_datetime),
    })
}

/// A preset.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Token (what GotoPreset wants).
    pub token: String,
    /// Name.
    pub name: String,
    /// Stored position, if reported.
    pub position: Option<PtzVector>,
}

/// Parses `GetPresetsResponse`.
pub fn parse_presets(el: &Element) -> Result<Vec<Preset>> {
    let el = expect(el, TPTZ, "GetPresetsResponse")?;
    el.children_named(TPTZ, "Preset")
        .map(|p| {
            Ok(Preset {
                token: token_attr(p)?,
                name: text_or_empty(p, TT, "Name"),
                position: p.child(TT, "PTZPosition").map(PtzVector::parse),
            })
        })
        .collect()
}

/// Parses `SetPresetResponse`, returning the preset token.
pub fn parse_set_preset(el: &Element) -> Result<String> {
    required(expect(el, TPTZ, "SetPresetResponse")?, TPTZ, "PresetToken")
}

/// Parses an empty acknowledgement: `ContinuousMoveResponse`, `RelativeMoveResponse`,
/// `AbsoluteMoveResponse`, `StopResponse`, `RemovePresetResponse`, `GotoPresetResponse`,
/// `GotoHomePositionResponse` (pass the operation name).
pub fn parse_ack(el: &Element, operation: &str) -> Result<()> {
    expect(el, TPTZ, &format!("{operation}Response")).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_requests() {
        let c = continuous_move(
            "p1",
            PtzVector::pan_tilt(0.5, -0.25),
            Some(Duration::from_millis(1500)),
        );
        assert!(
            c.body.contains(r#"<tt:PanTilt x="0.5" y="-0.25"/>"#),
            "{}",
            c.body
        );
        assert!(c.body.contains("<Timeout>PT1.500S</Timeout>"));
        assert!(!c.idempotent, "moves are never retried");
        let a = absolute_move(
            "p1",
            PtzVector {
                pan_tilt: Some((f64::NAN, 1.0)),
                zoom: Some(0.0),
            },
            None,
        );
        assert!(
            a.body.contains(r#"x="0" y="1""#),
            "NaN never reaches the wire"
        );
    }
}
