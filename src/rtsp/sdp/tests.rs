use super::*;

fn parse(s: &str) -> SessionDescription {
    SessionDescription::parse(s.as_bytes()).unwrap()
}

const SPS: &[u8] = &[0x67, 0x4d, 0x00, 0x1f, 0x95, 0xa8, 0x14, 0x01, 0x6e, 0x40];
const PPS: &[u8] = &[0x68, 0xee, 0x3c, 0x80];

#[test]
fn macrovideo_no_origin_and_base64_profile_level_id() {
    let sdp = parse(
        "v=0\r\ns=x\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 profile-level-id=TeAo;packetization-mode=1;sprop-parameter-sets=J03gKI1oBQBboQAAAwABAAADACgPFCKg,KO4BNJI=\r\n\
         a=control:track1\r\n",
    );
    assert_eq!(sdp.origin, None);
    let Codec::H264(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!(h.profile_level_id, Some([0x4d, 0xe0, 0x28]));
    assert_eq!((h.sps.len(), h.pps.len(), h.packetization_mode), (1, 1, 1));
}

#[test]
fn sprop_with_annex_b_start_codes_and_junk() {
    // SPS and PPS in one base64 item, with start codes, then junk after the base64.
    let mut annexb = vec![0, 0, 0, 1];
    annexb.extend_from_slice(SPS);
    annexb.extend_from_slice(&[0, 0, 0, 1]);
    annexb.extend_from_slice(PPS);
    annexb.push(0);
    let b64 = codec::encode_base64(&annexb);
    let sdp = parse(&format!(
        "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 sprop-parameter-sets={b64}!!junk\n"
    ));
    let Codec::H264(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!(h.sps, [SPS.to_vec()]);
    assert_eq!(h.pps, [PPS.to_vec()]);
    assert_eq!(h.profile_level_id, Some([0x4d, 0x00, 0x1f]));
    assert_eq!(h.packetization_mode, 0);
}

#[test]
fn tplink_malformed_media_kept_as_other() {
    let sdp = parse(
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=control:track1\r\n\
         m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=control:track2\r\n\
         m=application/TP-LINK 0 RTP/AVP smart/1/90000\r\na=rtpmap:95 TP-LINK/90000\r\na=control:track3\r\n",
    );
    assert_eq!(sdp.media.len(), 3);
    assert_eq!(
        sdp.media[2].media_type,
        MediaType::Other("application/TP-LINK".into())
    );
    assert!(sdp.media[2].payload_types.is_empty());
    assert_eq!(sdp.media[1].codec(), Codec::Pcma);
}

#[test]
fn bad_port_media_is_skipped_with_its_attributes() {
    let sdp = parse("v=0\nm=video x RTP/AVP 96\na=control:a\nm=audio 0 RTP/AVP 0\na=control:b\n");
    assert_eq!(sdp.media.len(), 1);
    assert_eq!(sdp.media[0].control.as_deref(), Some("b"));
    assert_eq!(sdp.media[0].codec(), Codec::Pcmu);
}

#[test]
fn foscam_static_payload_type_without_rtpmap() {
    let sdp = parse("v=0\nm=audio 0 RTP/AVP 0\na=control:track2\nm=video 0 RTP/AVP 26\n");
    let r = sdp.media[0].rtpmap().unwrap();
    assert_eq!(
        (r.encoding.as_str(), r.clock_rate, r.channels),
        ("PCMU", 8000, Some(1))
    );
    assert_eq!(sdp.media[1].codec(), Codec::Jpeg);
    assert_eq!(RtpMap::static_for(14).unwrap().encoding, "MPA");
    assert_eq!(RtpMap::static_for(97), None);
}

#[test]
fn vitek_fmtp_pt_mismatch() {
    let sdp = parse(
        "v=0\nm=video 0 RTP/AVP 98\na=rtpmap:98 H265/90000\n\
         a=fmtp:62 profile-level-id=42e032; sprop-vps=QAEMAf//AWAAAAMAAAMAAAMAAAMAlqwJ;sprop-sps=QgEBAWAAAAMAAAMAAAMAAAMAlqALCA8f4qtO6JLuQgAAAwAIAG3dAAzf5gBA;sprop-pps=RAHAcvAbJA==; packetization-mode=1\n",
    );
    let Codec::H265(h) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!((h.vps.len(), h.sps.len(), h.pps.len()), (1, 1, 1));
}

#[test]
fn ubiquiti_shared_pt_and_empty_fmtp() {
    let sdp = parse(
        "v=0\na=recvonly\nm=audio 0 RTP/AVP 96\na=rtpmap:96 mpeg4-generic/48000/1\n\
         a=fmtp:96 streamtype=5; profile-level-id=15; mode=AAC-hbr; config=1188; SizeLength=13; IndexLength=3; IndexDeltaLength=3;\n\
         m=audio 0 RTP/AVP 96\na=rtpmap:96 opus/48000/2\na=fmtp:96\n",
    );
    let Codec::Aac(a) = sdp.media[0].codec() else {
        panic!()
    };
    assert_eq!(a.config, Some(vec![0x11, 0x88]));
    assert_eq!(
        (a.size_length, a.index_length, a.index_delta_length),
        (Some(13), Some(3), Some(3))
    );
    assert_eq!(a.mode.as_deref(), Some("AAC-hbr"));
    assert_eq!((a.clock_rate, a.channels), (48000, Some(1)));
    assert_eq!(sdp.media[1].codec(), Codec::Other("opus".into()));
    assert!(sdp.media[1].fmtp().unwrap().params.is_empty());
    assert_eq!(sdp.media[1].direction_in(&sdp), Some(Direction::RecvOnly));
}

#[test]
fn vstarcam_trailing_tab_and_framerate_dimensions() {
    let sdp = parse(
        "v=0\r\nm=audio 0 RTP/AVP 8\t \r\na=rtpmap:8 PCMA/8000/1\r\na=framerate:0S\r\na=framerate:25\r\n\
         a=x-dimensions: 1280, 720\r\n",
    );
    assert_eq!(sdp.media[0].payload_types, [8]);
    assert_eq!(sdp.media[0].framerate, Some(25.0));
    assert_eq!(sdp.media[0].dimensions, Some((1280, 720)));
}

#[test]
fn control_urls() {
    let m = |c: &str| Media {
        control: Some(c.into()),
        ..Media::default()
    };
    let base = Url::parse("rtsp://127.0.0.1:554/camera").unwrap();
    assert_eq!(
        m("trackID=3").control_url(&base).unwrap().as_str(),
        "rtsp://127.0.0.1:554/camera/trackID=3"
    );
    let dahua =
        Url::parse("rtsp://h:554/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif/")
            .unwrap();
    assert_eq!(
        m("trackID=0").control_url(&dahua).unwrap().as_str(),
        "rtsp://h:554/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif/trackID=0"
    );
    let abs = "rtsp://192.168.5.237/media/video1/video";
    assert_eq!(m(abs).control_url(&base).unwrap().as_str(), abs);
    assert_eq!(m("*").control_url(&base).unwrap(), base);
    assert_eq!(
        m("/other/x").control_url(&base).unwrap().as_str(),
        "rtsp://127.0.0.1:554/other/x"
    );
    assert_eq!(Media::default().control_url(&base).unwrap(), base);
}

#[test]
fn backchannel_direction() {
    let sdp = parse(
        "v=0\nm=audio 0 RTP/AVP 0\na=sendonly\na=control:back\nm=video 0 RTP/AVP 96\na=recvonly\n",
    );
    assert!(sdp.media[0].is_backchannel());
    assert!(!sdp.media[1].is_backchannel());
}

#[test]
fn not_an_sdp_and_too_long() {
    assert_eq!(
        SessionDescription::parse(b"hello\r\nworld")
            .unwrap_err()
            .kind(),
        &ErrorKind::Malformed
    );
    let big = vec![b'a'; MAX_SDP_LEN + 1];
    assert_eq!(
        SessionDescription::parse(&big).unwrap_err().kind(),
        &ErrorKind::LimitExceeded
    );
}

#[test]
fn writer_round_trips() {
    let mut sdp = SessionDescription::new(42, "192.0.2.10", "camlink mock");
    sdp.media.push(Media::h264(96, SPS, PPS, "track1"));
    sdp.media.push(Media::h265(
        97,
        &[0x40, 0x01, 0x0c],
        &[0x42, 0x01, 0x01],
        &[0x44, 0x01, 0xc0],
        "track2",
    ));
    sdp.media
        .push(Media::aac(98, 16000, 1, &[0x14, 0x08], "track3"));
    sdp.media.push(Media::pcmu("track4"));
    sdp.media.push(Media::pcma("track5"));
    sdp.media.push(Media::jpeg("track6"));
    sdp.media.push(Media::onvif_metadata(107, "track7"));
    let mut back = Media::pcmu("backchannel");
    back.direction = Some(Direction::SendOnly);
    sdp.media.push(back);
    let text = sdp.to_string();
    assert!(
        text.starts_with("v=0\r\no=- 42 1 IN IP4 192.0.2.10\r\ns=camlink mock\r\n"),
        "{text}"
    );
    assert!(text.contains("a=fmtp:96 packetization-mode=1;profile-level-id=4d001f;sprop-parameter-sets=Z00AH5WoFAFuQA==,aO48gA==\r\n"), "{text}");
    assert!(
        text.contains("m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n"),
        "{text}"
    );
    let parsed = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, sdp);
    let codecs: Vec<Codec> = parsed.media.iter().map(Media::codec).collect();
    assert!(
        matches!(&codecs[0], Codec::H264(h) if h.sps == [SPS.to_vec()] && h.pps == [PPS.to_vec()])
    );
    assert!(
        matches!(&codecs[1], Codec::H265(h) if h.vps.len() == 1 && h.sps.len() == 1 && h.pps.len() == 1)
    );
    assert!(
        matches!(&codecs[2], Codec::Aac(a) if a.config == Some(vec![0x14, 0x08]) && a.clock_rate == 16000)
    );
    assert_eq!(
        &codecs[3..7],
        [Codec::Pcmu, Codec::Pcma, Codec::Jpeg, Codec::OnvifMetadata]
    );
    assert!(parsed.media[7].is_backchannel());
}
