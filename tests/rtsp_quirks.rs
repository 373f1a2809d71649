//! One test per camera quirk, each on a fixture of ours named after the camera
//! (`fixtures/rtsp/`, see its README).

mod common;

use camlink::auth::HttpAuth;
use camlink::rtsp::headers::{RtpInfo, SessionHeader, Transport};
use camlink::rtsp::message::Response;
use camlink::rtsp::sdp::{Codec, MediaType, SessionDescription};
use url::Url;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixture_path(&format!("rtsp/{name}"))).unwrap()
}

fn response(name: &str) -> Response {
    Response::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sdp(name: &str) -> SessionDescription {
    SessionDescription::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn controls(sdp: &SessionDescription, base: &Url) -> Vec<String> {
    sdp.media
        .iter()
        .map(|m| m.control_url(base).unwrap().to_string())
        .collect()
}

fn request_url() -> Url {
    Url::parse("rtsp://192.0.2.99:554/live").unwrap()
}

#[test]
fn hikvision_setup_ssrc_with_space_and_quoted_mode() {
    let r = response("hikvision_setup_ssrc_space.txt");
    let t = Transport::parse(r.headers.get("Transport").unwrap());
    assert_eq!(t.ssrc, Some(0x01a2_b3c4));
    assert_eq!(t.interleaved, Some((2, Some(3))));
    assert_eq!(t.mode.as_deref(), Some("play"));
}

#[test]
fn hikvision_play_session_padded_with_tabs() {
    let r = response("hikvision_play_session_tabs.txt");
    let s = SessionHeader::parse(r.headers.get("Session").unwrap()).unwrap();
    assert_eq!(s.id, "501234567");
    let info = RtpInfo::parse_list(r.headers.get("RTP-Info").unwrap());
    assert_eq!(info.len(), 1);
    assert!(
        info[0]
            .url
            .as_deref()
            .unwrap()
            .ends_with("profile=Profile_1")
    );
    assert_eq!((info[0].seq, info[0].rtptime), (Some(1001), Some(2002)));
}

#[test]
fn longse_unauthorized_cseq_trailing_space_challenge_goes_to_auth() {
    let r = response("longse_unauthorized_cseq_trailing_space.txt");
    assert_eq!((r.status, r.headers.cseq()), (401, Some(2)));
    let mut auth = HttpAuth::new(Some(camlink::auth::Credentials::new("admin", "pw")));
    auth.on_unauthorized(r.www_authenticate()).unwrap();
    let header = auth
        .authorization("DESCRIBE", "rtsp://192.0.2.99/live", b"")
        .unwrap();
    assert!(header.starts_with("Digest ") && header.contains(r#"realm="Surveillance Server""#));
}

#[test]
fn reolink_play_rtp_info_with_ssrc() {
    let r = response("reolink_play_rtp_info_ssrc.txt");
    let info = RtpInfo::parse_list(r.headers.get("RTP-Info").unwrap());
    assert_eq!(info.len(), 2);
    assert_eq!(info[0].ssrc, Some(0x0bad_f00d));
    assert_eq!(
        (info[1].url.as_deref(), info[1].seq),
        (Some("trackID=2"), Some(300))
    );
}

#[test]
fn generic_play_status_line_without_reason() {
    let r = response("generic_play_status_without_reason.txt");
    assert_eq!((r.status, r.reason.as_str()), (200, ""));
    assert!(r.is_success());
}

#[test]
fn anjvision_content_base_without_scheme() {
    let r = response("anjvision_describe_content_base_without_scheme.txt");
    let base = r.base_url(&request_url());
    assert_eq!(base.as_str(), "rtsp://192.0.2.30:554/stream1/");
    let sdp = SessionDescription::parse(&r.body).unwrap();
    assert_eq!(
        controls(&sdp, &base),
        ["rtsp://192.0.2.30:554/stream1/trackID=1"]
    );
    let Codec::H265(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!((h.vps.len(), h.sps.len(), h.pps.len()), (1, 1, 1));
    assert_eq!(sdp.media[0].dimensions, Some((1920, 1080)));
}

#[test]
fn h264dvr_content_base_without_trailing_slash_and_bogus_framerate() {
    let r = response("h264dvr_describe_base_without_slash.txt");
    let base = r.base_url(&request_url());
    let sdp = SessionDescription::parse(&r.body).unwrap();
    assert_eq!(
        controls(&sdp, &base),
        [
            "rtsp://192.0.2.40:554/camera/trackID=3",
            "rtsp://192.0.2.40:554/camera/trackID=4"
        ]
    );
    assert_eq!(sdp.media[0].framerate, Some(20.0));
    assert_eq!(sdp.media[1].codec(), Codec::Pcma);
}

#[test]
fn dahua_content_base_with_query_and_onvif_backchannel() {
    let r = response("dahua_describe_base_with_query_backchannel.txt");
    let base = r.base_url(&request_url());
    let sdp = SessionDescription::parse(&r.body).unwrap();
    let b = "rtsp://192.0.2.50:554/cam/realmonitor?channel=1&subtype=0&unicast=true&proto=Onvif/";
    assert_eq!(
        controls(&sdp, &base),
        [
            format!("{b}trackID=0"),
            format!("{b}trackID=4"),
            format!("{b}trackID=5")
        ]
    );
    assert_eq!(sdp.media[1].codec(), Codec::OnvifMetadata);
    let back: Vec<bool> = sdp.media.iter().map(|m| m.is_backchannel()).collect();
    assert_eq!(back, [false, false, true]);
}

#[test]
fn vitek_fmtp_payload_type_differs_from_rtpmap() {
    let r = response("vitek_describe_fmtp_pt_mismatch.txt");
    let sdp = SessionDescription::parse(&r.body).unwrap();
    assert_eq!(sdp.media[0].payload_type(), Some(98));
    assert_eq!(sdp.media[0].fmtp().unwrap().payload_type, 62);
    let Codec::H265(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!((h.vps.len(), h.sps.len(), h.pps.len()), (1, 1, 1));
}

#[test]
fn tplink_malformed_media_line_kept_as_unknown() {
    let sdp = sdp("tplink_sdp_malformed_media_line.sdp");
    assert_eq!(sdp.media.len(), 2);
    assert!(matches!(sdp.media[0].codec(), Codec::H264(_)));
    assert_eq!(
        sdp.media[1].media_type,
        MediaType::Other("application/TP-LINK".into())
    );
    assert_eq!(sdp.media[1].payload_type(), None);
}

#[test]
fn ubiquiti_two_tracks_share_payload_type_and_empty_fmtp() {
    let sdp = sdp("ubiquiti_sdp_shared_payload_type.sdp");
    let Codec::Aac(aac) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!(aac.config, Some(vec![0x14, 0x08]));
    assert_eq!(
        (aac.size_length, aac.index_length, aac.index_delta_length),
        (Some(13), Some(3), Some(3))
    );
    assert_eq!(sdp.media[1].codec(), Codec::Other("opus".into()));
}

#[test]
fn macrovideo_no_origin_and_base64_profile_level_id() {
    let sdp = sdp("macrovideo_sdp_no_origin_base64_profile.sdp");
    assert_eq!(sdp.origin, None);
    let Codec::H264(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!(h.profile_level_id, Some([0x4d, 0x00, 0x1f]));
}

#[test]
fn foscam_audio_without_rtpmap_uses_static_payload_type() {
    let sdp = sdp("foscam_sdp_audio_without_rtpmap.sdp");
    let map = sdp.media[1].rtpmap().unwrap();
    assert_eq!((map.encoding.as_str(), map.clock_rate), ("PCMU", 8000));
    assert_eq!(sdp.media[1].codec(), Codec::Pcmu);
}

#[test]
fn vstarcam_trailing_tab_on_media_line() {
    let sdp = sdp("vstarcam_sdp_trailing_tab.sdp");
    assert_eq!(sdp.media[1].payload_types, [8]);
    assert_eq!(sdp.media[1].codec(), Codec::Pcma);
}

#[test]
fn gwsecurity_start_code_after_parameter_sets_and_bad_profile_level_id() {
    let sdp = sdp("gwsecurity_sdp_start_code_after_sps.sdp");
    let Codec::H264(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!(
        h.sps,
        [vec![
            0x67, 0x4d, 0x00, 0x1f, 0x95, 0xa8, 0x14, 0x01, 0x6e, 0x40
        ]]
    );
    assert_eq!(h.pps, [vec![0x68, 0xee, 0x3c, 0x80]]);
    // `5046302` is not a profile-level-id: taken from the SPS instead.
    assert_eq!(h.profile_level_id, Some([0x4d, 0x00, 0x1f]));
}
