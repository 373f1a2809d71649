//! Imaging service (`timg`): brightness, contrast, saturation, sharpness and their ranges.

use crate::Result;
use crate::onvif::soap::ns::{TIMG, TT};
use crate::onvif::xml::Element;
use crate::onvif::{Call, bad, child_f64, expect};
use crate::xmlutil::escape;

/// The common imaging settings (each `None` when the camera does not report or should not
/// change it).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImagingSettings {
    /// Brightness.
    pub brightness: Option<f64>,
    /// Colour saturation.
    pub color_saturation: Option<f64>,
    /// Contrast.
    pub contrast: Option<f64>,
    /// Sharpness.
    pub sharpness: Option<f64>,
}

fn token(video_source_token: &str) -> String {
    format!(
        "<VideoSourceToken>{}</VideoSourceToken>",
        escape(video_source_token)
    )
}

/// `GetImagingSettings` of a video source.
pub fn get_imaging_settings(video_source_token: &str) -> Call {
    Call::new(TIMG, "GetImagingSettings", &token(video_source_token))
}

/// `GetOptions` (the allowed ranges) of a video source.
pub fn get_options(video_source_token: &str) -> Call {
    Call::new(TIMG, "GetOptions", &token(video_source_token))
}

/// `SetImagingSettings`: only the values given are sent.
pub fn set_imaging_settings(video_source_token: &str, s: &ImagingSettings) -> Call {
    let mut inner = token(video_source_token) + "<ImagingSettings>";
    for (name, v) in [
        ("Brightness", s.brightness),
        ("ColorSaturation", s.color_saturation),
        ("Contrast", s.contrast),
        ("Sharpness", s.sharpness),
    ] {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            inner.push_str(&format!("<tt:{name}>{v}</tt:{name}>"));
        }
    }
    inner.push_str("</ImagingSettings><ForcePersistence>true</ForcePersistence>");
    let mut c = Call::new(TIMG, "SetImagingSettings", &inner);
    c.idempotent = false;
    c
}

/// Parses `GetImagingSettingsResponse`.
pub fn parse_imaging_settings(el: &Element) -> Result<ImagingSettings> {
    let el = expect(el, TIMG, "GetImagingSettingsResponse")?;
    let s = el
        .child(TIMG, "ImagingSettings")
        .ok_or_else(|| bad(el, "no ImagingSettings"))?;
    Ok(ImagingSettings {
        brightness: child_f64(s, TT, "Brightness"),
        color_saturation: child_f64(s, TT, "ColorSaturation"),
        contrast: child_f64(s, TT, "Contrast"),
        sharpness: child_f64(s, TT, "Sharpness"),
    })
}

/// Parses `SetImagingSettingsResponse` (empty).
pub fn parse_set_imaging_settings(el: &Element) -> Result<()> {
    expect(el, TIMG, "SetImagingSettingsResponse").map(|_| ())
}

/// A min..max range.
pub type Range = (f64, f64);

/// `GetOptionsResponse`: the ranges of the common settings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImagingOptions {
    /// Brightness range.
    pub brightness: Option<Range>,
    /// Saturation range.
    pub color_saturation: Option<Range>,
    /// Contrast range.
    pub contrast: Option<Range>,
    /// Sharpness range.
    pub sharpness: Option<Range>,
}

fn range(el: &Element, name: &str) -> Option<Range> {
    let r = el.child(TT, name)?;
    let (min, max) = (child_f64(r, TT, "Min")?, child_f64(r, TT, "Max")?);
    (min <= max).then_some((min, max))
}

/// Parses `GetOptionsResponse`.
pub fn parse_options(el: &Element) -> Result<ImagingOptions> {
    let el = expect(el, TIMG, "GetOptionsResponse")?;
    let o = el
        .child(TIMG, "ImagingOptions")
        .ok_or_else(|| bad(el, "no ImagingOptions"))?;
    Ok(ImagingOptions {
        brightness: range(o, "Brightness"),
        color_saturation: range(o, "ColorSaturation"),
        contrast: range(o, "Contrast"),
        sharpness: range(o, "Sharpness"),
    })
}
