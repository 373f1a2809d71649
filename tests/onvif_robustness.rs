//! No ONVIF parser panics on peer bytes: arbitrary input, and real captures cut short or with
//! bytes flipped.

mod common;

use camlink::onvif::xml::Element;
use camlink::onvif::{device, events, imaging, media, media2, ptz, soap};
use proptest::prelude::*;

fn all_parsers(data: &[u8]) {
    let _ = soap::parse_request(data);
    let _ = soap::parse_http_response(500, data);
    let Ok(el) = soap::parse_http_response(200, data) else {
        return;
    };
    typed(&el);
}

fn typed(el: &Element) {
    let _ = el.to_xml();
    let _ = device::parse_device_information(el);
    let _ = device::parse_system_date_and_time(el);
    let _ = device::parse_capabilities(el);
    let _ = device::parse_services(el);
    let _ = device::parse_scopes(el);
    let _ = device::parse_hostname(el);
    let _ = device::parse_network_interfaces(el);
    let _ = device::parse_network_protocols(el);
    let _ = media::parse_profiles(el);
    let _ = media::parse_profile_response(el);
    let _ = media::parse_stream_uri(el);
    let _ = media::parse_snapshot_uri(el);
    let _ = media::parse_video_sources(el);
    let _ = media::parse_video_encoder_configurations(el);
    let _ = media::parse_audio_encoder_configurations(el);
    let _ = media2::parse_profiles(el);
    let _ = media2::parse_stream_uri(el);
    let _ = media2::parse_video_encoder_configurations(el);
    let _ = ptz::parse_nodes(el);
    let _ = ptz::parse_configurations(el);
    let _ = ptz::parse_status(el);
    let _ = ptz::parse_presets(el);
    let _ = events::parse_create_pull_point_subscription(el);
    let _ = events::parse_pull_messages(el);
    let _ = events::parse_event_properties(el);
    let _ = imaging::parse_imaging_settings(el);
    let _ = imaging::parse_options(el);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&data);
    }

    #[test]
    fn xml_like_text_never_panics(s in "(<[a-z:]{1,6}( [a-z:]{1,4}=\"[^\"<]{0,6}\")?/?>|</[a-z:]{1,6}>|[a-z &;#0-9]{0,8}){0,40}") {
        all_parsers(s.as_bytes());
    }
}

#[test]
fn damaged_real_captures_never_panic() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let mut runs = 0usize;
    for path in common::capture_files(&dir, "onvif") {
        let bytes = std::fs::read(&path).unwrap();
        // Cut short at ~8 points, and with a byte flipped at ~8 points.
        let step = (bytes.len() / 8).max(1);
        for at in (0..bytes.len()).step_by(step) {
            all_parsers(&bytes[..at]);
            let mut flipped = bytes.clone();
            if let Some(b) = flipped.get_mut(at) {
                *b ^= 0x5A;
            }
            all_parsers(&flipped);
            runs += 2;
        }
    }
    assert!(runs > 5_000, "only {runs} damaged inputs");
}
