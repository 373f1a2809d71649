//! The mock camera's PTZ service: a simulated head whose position moves over time.

use std::time::{Duration, Instant};

use super::camera::lock;
use super::onvif_media::{
    PAN_TILT_POSITION, PAN_TILT_TRANSLATION, PAN_TILT_VELOCITY, PTZ_CONFIG, PTZ_NODE,
    ZOOM_POSITION, ZOOM_TRANSLATION, ZOOM_VELOCITY, ptz_configuration,
};
use super::onvif_server::{Answer, Ctx, FaultSpec, parse_duration};
use super::onvif_state::{MAX_PRESETS, PtzPosition};
use crate::onvif::soap::ns;
use crate::onvif::xml::Element;
use crate::xmlutil::escape;

fn resp(op: &str, inner: &str) -> Answer {
    Answer::Body(format!(
        r#"<tptz:{op}Response xmlns:tptz="{}" xmlns:tt="{}">{inner}</tptz:{op}Response>"#,
        ns::TPTZ,
        ns::TT
    ))
}

fn space(tag: &str, uri: &str, x: (f64, f64), y: Option<(f64, f64)>) -> String {
    let yr = y
        .map(|(a, b)| format!("<tt:YRange><tt:Min>{a}</tt:Min><tt:Max>{b}</tt:Max></tt:YRange>"))
        .unwrap_or_default();
    format!(
        "<tt:{tag}><tt:URI>{uri}</tt:URI><tt:XRange><tt:Min>{}</tt:Min><tt:Max>{}</tt:Max></tt:XRange>{yr}</tt:{tag}>",
        x.0, x.1
    )
}

fn node(tag: &str) -> String {
    let full = Some((-1.0, 1.0));
    format!(
        "<{tag} token=\"{PTZ_NODE}\" FixedHomePosition=\"false\"><tt:Name>PTZ</tt:Name><tt:SupportedPTZSpaces>{}{}{}{}{}{}</tt:SupportedPTZSpaces>\
         <tt:MaximumNumberOfPresets>{MAX_PRESETS}</tt:MaximumNumberOfPresets><tt:HomeSupported>true</tt:HomeSupported></{tag}>",
        space(
            "AbsolutePanTiltPositionSpace",
            PAN_TILT_POSITION,
            (-1.0, 1.0),
            full
        ),
        space("AbsoluteZoomPositionSpace", ZOOM_POSITION, (0.0, 1.0), None),
        space(
            "RelativePanTiltTranslationSpace",
            PAN_TILT_TRANSLATION,
            (-1.0, 1.0),
            full
        ),
        space(
            "RelativeZoomTranslationSpace",
            ZOOM_TRANSLATION,
            (-1.0, 1.0),
            None
        ),
        space(
            "ContinuousPanTiltVelocitySpace",
            PAN_TILT_VELOCITY,
            (-1.0, 1.0),
            full
        ),
        space(
            "ContinuousZoomVelocitySpace",
            ZOOM_VELOCITY,
            (-1.0, 1.0),
            None
        ),
    )
}

fn position_xml(tag: &str, p: PtzPosition) -> String {
    format!(
        "<tt:{tag}><tt:PanTilt x=\"{:.6}\" y=\"{:.6}\" space=\"{PAN_TILT_POSITION}\"/><tt:Zoom x=\"{:.6}\" space=\"{ZOOM_POSITION}\"/></tt:{tag}>",
        p.pan, p.tilt, p.zoom
    )
}

/// Reads a PTZ vector (`PanTilt x= y=`, `Zoom x=`); missing parts take `base`'s values.
fn vector(e: Option<&Element>, base: PtzPosition) -> Result<PtzPosition, Answer> {
    let Some(e) = e else {
        return Ok(base);
    };
    let num = |el: Option<&Element>, attr: &str, default: f64| -> Result<f64, Answer> {
        match el.and_then(|el| el.attr(attr)) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Answer::Fault(FaultSpec::invalid_arg(
                        "InvalidPosition",
                        format!("{attr}={v:?} is not a number"),
                    ))
                }),
        }
    };
    let pt = e.child_local("PanTilt");
    let z = e.child_local("Zoom");
    Ok(PtzPosition {
        pan: num(pt, "x", base.pan)?,
        tilt: num(pt, "y", base.tilt)?,
        zoom: num(z, "x", base.zoom)?,
    })
}

fn check_profile(ctx: &Ctx<'_>) -> Result<(), Answer> {
    let t = ctx.arg("ProfileToken").unwrap_or("");
    if ctx.shared.config.profiles.iter().any(|p| p.token == t) {
        Ok(())
    } else {
        Err(Answer::Fault(FaultSpec::invalid_arg(
            "NoProfile",
            format!("no profile with token {t:?}"),
        )))
    }
}

/// PTZ operations.
pub(crate) fn handle(ctx: &Ctx<'_>, op: &str) -> Answer {
    let s = ctx.shared;
    let now = Instant::now();
    let needs_profile = !matches!(
        op,
        "GetNodes"
            | "GetNode"
            | "GetConfigurations"
            | "GetConfiguration"
            | "GetServiceCapabilities"
    );
    if needs_profile && let Err(a) = check_profile(ctx) {
        return a;
    }
    let mut st = lock(&s.onvif);
    let head = &mut st.ptz;
    match op {
        "GetNodes" => resp(op, &node("tptz:PTZNode")),
        "GetNode" => {
            if ctx.arg("NodeToken") != Some(PTZ_NODE) {
                return Answer::Fault(FaultSpec::invalid_arg("NoEntity", "unknown NodeToken"));
            }
            resp(op, &node("tptz:PTZNode"))
        }
        "GetConfigurations" => resp(op, &ptz_configuration(ctx)),
        "GetConfiguration" => {
            if ctx.arg("PTZConfigurationToken") != Some(PTZ_CONFIG) {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "NoConfig",
                    "unknown configuration token",
                ));
            }
            resp(op, &ptz_configuration(ctx))
        }
        "GetServiceCapabilities" => resp(
            op,
            r#"<tptz:Capabilities MoveStatus="true" StatusPosition="true"/>"#,
        ),
        "GetStatus" => {
            let p = head.position(now);
            let moving = if head.moving(now) { "MOVING" } else { "IDLE" };
            resp(
                op,
                &format!(
                    "<tptz:PTZStatus>{}<tt:MoveStatus><tt:PanTilt>{moving}</tt:PanTilt><tt:Zoom>{moving}</tt:Zoom></tt:MoveStatus>\
                     <tt:UtcTime>{}</tt:UtcTime></tptz:PTZStatus>",
                    position_xml("Position", p),
                    crate::datetime::format_utc(s.camera_now())
                ),
            )
        }
        "ContinuousMove" => {
            let v = match vector(ctx.op.child_local("Velocity"), PtzPosition::default()) {
                Ok(v) => v,
                Err(a) => return a,
            };
            let timeout = ctx
                .arg("Timeout")
                .and_then(parse_duration)
                .filter(|t| *t > 0.0)
                .map(Duration::from_secs_f64);
            head.continuous(v, timeout, now);
            resp(op, "")
        }
        "AbsoluteMove" => {
            let here = head.position(now);
            match vector(ctx.op.child_local("Position"), here) {
                Ok(p) => {
                    head.absolute(p, now);
                    resp(op, "")
                }
                Err(a) => a,
            }
        }
        "RelativeMove" => match vector(ctx.op.child_local("Translation"), PtzPosition::default()) {
            Ok(d) => {
                head.relative(d, now);
                resp(op, "")
            }
            Err(a) => a,
        },
        "Stop" => {
            head.stop(now);
            resp(op, "")
        }
        "GetPresets" => {
            let list: String = head
                .presets
                .iter()
                .map(|(token, (name, pos))| {
                    format!(
                        "<tptz:Preset token=\"{}\"><tt:Name>{}</tt:Name>{}</tptz:Preset>",
                        escape(token),
                        escape(name),
                        position_xml("PTZPosition", *pos)
                    )
                })
                .collect();
            resp(op, &list)
        }
        "SetPreset" => match head.set_preset(ctx.arg("PresetName"), ctx.arg("PresetToken"), now) {
            Some(token) => resp(
                op,
                &format!("<tptz:PresetToken>{}</tptz:PresetToken>", escape(&token)),
            ),
            None => Answer::Fault(FaultSpec::invalid_arg(
                "TooManyPresets",
                "no room for another preset, or unknown PresetToken",
            )),
        },
        "RemovePreset" => {
            let t = ctx.arg("PresetToken").unwrap_or("");
            if head.presets.remove(t).is_some() {
                resp(op, "")
            } else {
                Answer::Fault(FaultSpec::invalid_arg(
                    "NoToken",
                    format!("no preset {t:?}"),
                ))
            }
        }
        "GotoPreset" => {
            let t = ctx.arg("PresetToken").unwrap_or("");
            match head.presets.get(t).map(|(_, p)| *p) {
                Some(p) => {
                    head.absolute(p, now);
                    resp(op, "")
                }
                None => Answer::Fault(FaultSpec::invalid_arg(
                    "NoToken",
                    format!("no preset {t:?}"),
                )),
            }
        }
        "GotoHomePosition" => {
            head.absolute(PtzPosition::default(), now);
            resp(op, "")
        }
        _ => Answer::Fault(FaultSpec::not_supported(op)),
    }
}
