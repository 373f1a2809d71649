//! Our own ONVIF fixtures parse into the values they were written with.

mod common;

use camlink::onvif::media::{self, VideoEncoding};
use camlink::onvif::soap;

#[test]
fn get_profiles_two_profiles() {
    let bytes = std::fs::read(common::fixture_path("onvif/GetProfiles_two_profiles.xml")).unwrap();
    let body = soap::parse_http_response(200, &bytes).unwrap();
    let p = media::parse_profiles(&body).unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(
        (p[0].token.as_str(), p[0].name.as_str()),
        ("Profile_1", "mainStream")
    );
    let v = p[0].video_encoder.as_ref().unwrap();
    assert_eq!(v.encoding, VideoEncoding::H264);
    assert_eq!(
        v.resolution.map(|r| (r.width, r.height)),
        Some((2560, 1440))
    );
    assert_eq!(
        (v.frame_rate_limit, v.bitrate_limit, v.gov_length),
        (Some(25.0), Some(4096), Some(50))
    );
    assert_eq!(v.profile.as_deref(), Some("Main"));
    let v2 = p[1].video_encoder.as_ref().unwrap();
    assert_eq!(v2.resolution.map(|r| (r.width, r.height)), Some((640, 360)));
    assert_eq!(p[1].audio_encoder.as_ref().unwrap().encoding, "G711");
    assert_eq!(p[0].ptz, Some(("PTZToken".into(), "PTZNODETOKEN".into())));
    assert!(p[0].metadata);
    assert_eq!(
        p[0].video_source.as_ref().unwrap().source_token,
        "VideoSource_1"
    );
}
