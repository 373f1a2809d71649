//! `camlink ptz DEVICE [--profile TOKEN] status | move | stop | presets | goto PRESET | home`.
//!
//! JSON: `status`, `stop`, `goto` and `home` print `{"profile", "position": {"pan", "tilt",
//! "zoom"} or null, "pan_tilt_status", "zoom_status", "error", "utc_time"}` (after the action);
//! `move` adds `"velocity"` and `"duration_seconds"`; `presets` prints an array of
//! `{"token", "name", "position"}`.

use std::time::Duration;

use camlink::onvif::client::OnvifClient;
use camlink::onvif::ptz::{PtzStatus, PtzVector};
use camlink::{Error, Result};
use serde_json::{Value, json};

use crate::device::{DeviceArgs, pick_profile, print_json, seconds};

/// Longest `ptz move --duration`.
const MAX_MOVE: Duration = Duration::from_secs(60);
/// How long a preset or home move is given to settle before the position is read.
const SETTLE: Duration = Duration::from_millis(300);

/// Options of `camlink ptz`.
#[derive(clap::Args, Debug)]
pub struct PtzArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// The media profile with the PTZ configuration (default: the first that has one).
    #[arg(long, value_name = "TOKEN")]
    profile: Option<String>,
    #[command(subcommand)]
    action: PtzAction,
}

/// What to do with the camera head.
#[derive(clap::Subcommand, Debug)]
pub enum PtzAction {
    /// Show the position and the move status.
    Status,
    /// Move at a speed (-1..1 each) for a while, then stop and show the new position.
    Move {
        /// Pan speed, -1 (left) to 1 (right).
        #[arg(long, value_name = "X", allow_negative_numbers = true)]
        pan: Option<f64>,
        /// Tilt speed, -1 (down) to 1 (up).
        #[arg(long, value_name = "Y", allow_negative_numbers = true)]
        tilt: Option<f64>,
        /// Zoom speed, -1 (out) to 1 (in).
        #[arg(long, value_name = "Z", allow_negative_numbers = true)]
        zoom: Option<f64>,
        /// How long to move, in seconds.
        #[arg(long, value_name = "S", default_value_t = 1.0)]
        duration: f64,
    },
    /// Stop any move.
    Stop,
    /// List the presets.
    Presets,
    /// Move to a preset (its token, see `presets`).
    Goto {
        /// The preset token.
        preset: String,
    },
    /// Move to the home position.
    Home,
}

/// A speed from the command line: finite, within -1..1.
fn speed(v: Option<f64>, what: &str) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() || !(-1.0..=1.0).contains(&x) => Err(Error::invalid_input(
            format!("{what} must be between -1 and 1"),
        )),
        other => Ok(other),
    }
}

fn vector_json(v: &PtzVector) -> Value {
    json!({
        "pan": v.pan_tilt.map(|p| p.0),
        "tilt": v.pan_tilt.map(|p| p.1),
        "zoom": v.zoom,
    })
}

fn status_json(profile: &str, s: &PtzStatus) -> Value {
    json!({
        "profile": profile,
        "position": s.position.as_ref().map(vector_json),
        "pan_tilt_status": s.pan_tilt_status,
        "zoom_status": s.zoom_status,
        "error": s.error,
        "utc_time": s.utc_time.map(camlink::datetime::format_utc),
    })
}

fn position_text(s: &PtzStatus) -> String {
    match &s.position {
        Some(p) => {
            let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
            format!(
                "pan {} tilt {} zoom {}",
                f(p.pan_tilt.map(|x| x.0)),
                f(p.pan_tilt.map(|x| x.1)),
                f(p.zoom)
            )
        }
        None => "position not reported".into(),
    }
}

async fn show_status(
    camera: &OnvifClient,
    profile: &str,
    json: bool,
    extra: Option<(&str, Value)>,
) -> Result<()> {
    let status = camera.ptz_status(profile).await?;
    if json {
        let mut v = status_json(profile, &status);
        if let (Some((k, x)), Some(obj)) = (extra, v.as_object_mut()) {
            obj.insert(k.to_string(), x);
        }
        print_json(&v);
    } else {
        let moving = [&status.pan_tilt_status, &status.zoom_status]
            .iter()
            .filter_map(|s| s.as_deref())
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{profile}: {}{}",
            position_text(&status),
            if moving.is_empty() {
                String::new()
            } else {
                format!(" ({moving})")
            }
        );
        if let Some(e) = &status.error {
            println!("  camera reports: {e}");
        }
    }
    Ok(())
}

pub async fn run(args: PtzArgs, json: bool) -> Result<()> {
    let camera = args.device.connect().await?;
    let profile = pick_profile(&camera, args.profile.as_deref(), true).await?;
    let token = profile.token.as_str();
    match args.action {
        PtzAction::Status => show_status(&camera, token, json, None).await,
        PtzAction::Move {
            pan,
            tilt,
            zoom,
            duration,
        } => {
            let (pan, tilt, zoom) = (
                speed(pan, "--pan")?,
                speed(tilt, "--tilt")?,
                speed(zoom, "--zoom")?,
            );
            if pan.is_none() && tilt.is_none() && zoom.is_none() {
                return Err(Error::invalid_input(
                    "ptz move needs --pan, --tilt or --zoom",
                ));
            }
            let duration = seconds(duration, "--duration", MAX_MOVE)?;
            let velocity = PtzVector {
                pan_tilt: (pan.is_some() || tilt.is_some())
                    .then(|| (pan.unwrap_or(0.0), tilt.unwrap_or(0.0))),
                zoom,
            };
            // The camera stops by itself after `duration` (the move's timeout); the explicit Stop
            // covers cameras that ignore it.
            camera
                .continuous_move(token, velocity, Some(duration))
                .await?;
            tokio::time::sleep(duration).await;
            camera.ptz_stop(token).await?;
            if !json {
                println!(
                    "moved for {:.1} s at pan {} tilt {} zoom {}",
                    duration.as_secs_f64(),
                    pan.unwrap_or(0.0),
                    tilt.unwrap_or(0.0),
                    zoom.unwrap_or(0.0)
                );
            }
            let extra = json!({
                "velocity": vector_json(&velocity),
                "duration_seconds": duration.as_secs_f64(),
            });
            show_status(&camera, token, json, Some(("move", extra))).await
        }
        PtzAction::Stop => {
            camera.ptz_stop(token).await?;
            if !json {
                println!("stopped");
            }
            show_status(&camera, token, json, None).await
        }
        PtzAction::Presets => {
            let presets = camera.presets(token).await?;
            if json {
                print_json(&Value::Array(
                    presets
                        .iter()
                        .map(|p| {
                            json!({
                                "token": p.token,
                                "name": p.name,
                                "position": p.position.as_ref().map(vector_json),
                            })
                        })
                        .collect(),
                ));
            } else if presets.is_empty() {
                println!("{token}: no presets");
            } else {
                for p in &presets {
                    println!("{:<12} {}", p.token, p.name);
                }
            }
            Ok(())
        }
        PtzAction::Goto { preset } => {
            camera.goto_preset(token, &preset).await?;
            tokio::time::sleep(SETTLE).await;
            if !json {
                println!("going to preset {preset}");
            }
            show_status(&camera, token, json, Some(("preset", json!(preset)))).await
        }
        PtzAction::Home => {
            camera.goto_home_position(token).await?;
            tokio::time::sleep(SETTLE).await;
            if !json {
                println!("going home");
            }
            show_status(&camera, token, json, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::speed;

    #[test]
    fn speeds_are_bounded() {
        assert_eq!(speed(Some(-0.5), "--pan").unwrap(), Some(-0.5));
        assert_eq!(speed(None, "--pan").unwrap(), None);
        assert!(speed(Some(1.5), "--pan").is_err());
        assert!(speed(Some(f64::NAN), "--pan").is_err());
    }
}
