#![no_main]
//! ONVIF SOAP: envelope and fault parsing (as an answer with several HTTP statuses, and as a
//! request on the device side), then every typed response parser on whatever body came out.
use camlink::onvif::{device, events, imaging, media, media2, ptz, soap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = soap::parse_request(data);
    for status in [200, 401, 500] {
        let _ = soap::parse_http_response(status, data);
    }
    let Ok(el) = soap::parse_http_response(200, data) else {
        return;
    };
    let _ = el.to_xml();
    let _ = device::parse_device_information(&el);
    let _ = device::parse_system_date_and_time(&el);
    let _ = device::parse_capabilities(&el);
    let _ = device::parse_services(&el);
    let _ = device::parse_scopes(&el);
    let _ = device::parse_hostname(&el);
    let _ = device::parse_network_interfaces(&el);
    let _ = device::parse_network_protocols(&el);
    let _ = device::parse_system_reboot(&el);
    let _ = media::parse_profiles(&el);
    let _ = media::parse_profile_response(&el);
    let _ = media::parse_stream_uri(&el);
    let _ = media::parse_snapshot_uri(&el);
    let _ = media::parse_video_sources(&el);
    let _ = media::parse_video_encoder_configurations(&el);
    let _ = media::parse_audio_encoder_configurations(&el);
    let _ = media2::parse_profiles(&el);
    let _ = media2::parse_stream_uri(&el);
    let _ = media2::parse_snapshot_uri(&el);
    let _ = media2::parse_video_encoder_configurations(&el);
    let _ = ptz::parse_nodes(&el);
    let _ = ptz::parse_configurations(&el);
    let _ = ptz::parse_status(&el);
    let _ = ptz::parse_presets(&el);
    let _ = ptz::parse_set_preset(&el);
    let _ = events::parse_create_pull_point_subscription(&el);
    let _ = events::parse_pull_messages(&el);
    let _ = events::parse_event_properties(&el);
    let _ = events::parse_renew(&el);
    let _ = imaging::parse_imaging_settings(&el);
    let _ = imaging::parse_options(&el);
});
