//! Runs the RTSP parsers over every capture in `../shared/real-cameras/rtsp/` and frames the
//! Wowza interleaved stream from `rtp/`.

mod common;

use camlink::ErrorKind;
use camlink::rtsp::framing::{Framer, Item};
use camlink::rtsp::headers::{NptTime, Range, RtpInfo, SessionHeader, Transport};
use camlink::rtsp::message::{Message, Response, parse_head};
use camlink::rtsp::sdp::{Codec, Direction, MediaType, SessionDescription};

/// Captures that hold only an SDP body (no RTSP head).
const SDP_ONLY: &[&str] = &[
    "anpviz_sdp.txt",
    "geovision_sdp.txt",
    "tplink_sdp.txt",
    "ubiquiti_sdp.txt",
];

/// Captures that cannot be used as they are, with the typed error they give and why.
///
/// - `wowza-server_bunny_describe.txt`: the public IP address in the SDP was replaced by
///   `192.0.2.12` when the capture was redacted, so the body is shorter than its
///   `Content-Length`: [`ErrorKind::Malformed`] ("body shorter than Content-Length").
const UNUSABLE: &[(&str, ErrorKind)] = &[("wowza-server_bunny_describe.txt", ErrorKind::Malformed)];

#[test]
fn every_response_parses() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let files = common::capture_files(&dir, "rtsp");
    assert!(
        files.len() >= 32,
        "expected the 32 RTSP captures, found {}",
        files.len()
    );
    let mut responses = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(f).unwrap();
        if SDP_ONLY.contains(&name.as_str()) {
            continue;
        }
        if let Some((_, kind)) = UNUSABLE.iter().find(|(n, _)| *n == name) {
            let e = Response::parse(&bytes).unwrap_err();
            assert_eq!(e.kind(), kind, "{name}: {e}");
            responses += 1;
            continue;
        }
        let r = Response::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            r.status / 100,
            if name.contains("unauthorized") { 4 } else { 2 },
            "{name}"
        );
        assert!(r.headers.cseq().is_some(), "{name}: CSeq");
        if let Some(t) = r.headers.get("Transport") {
            let t = Transport::parse(t);
            assert!(
                t.interleaved.is_some() || t.client_port.is_some(),
                "{name}: {t:?}"
            );
        }
        if let Some(s) = r.headers.get("Session") {
            assert!(SessionHeader::parse(s).is_some(), "{name}: session {s:?}");
        }
        if let Some(v) = r.headers.get("RTP-Info") {
            let infos = RtpInfo::parse_list(v);
            assert!(
                !infos.is_empty() && infos.iter().all(|i| i.url.is_some()),
                "{name}: {v}"
            );
        }
        responses += 1;
    }
    assert_eq!(responses, files.len() - SDP_ONLY.len());
}

#[test]
fn quirk_values_from_captures() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let read =
        |n: &str| Response::parse(&std::fs::read(dir.join("rtsp").join(n)).unwrap()).unwrap();

    let hik = read("hikvision_setup_ssrc_space.txt");
    let t = Transport::parse(hik.headers.get("transport").unwrap());
    assert_eq!(
        (t.ssrc, t.interleaved),
        (Some(0x0d6d6627), Some((0, Some(1))))
    );
    assert_eq!(
        SessionHeader::parse(hik.headers.get("session").unwrap())
            .unwrap()
            .timeout,
        Some(60)
    );

    let hik = read("hikvision_play.txt");
    assert_eq!(
        SessionHeader::parse(hik.headers.get("session").unwrap())
            .unwrap()
            .id,
        "708345999"
    );

    let longse = read("longse_unauthorized.txt");
    assert_eq!(longse.headers.cseq(), Some(1));
    assert_eq!(longse.www_authenticate().count(), 1);

    let reolink = read("reolink_play.txt");
    let infos = RtpInfo::parse_list(reolink.headers.get("rtp-info").unwrap());
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[1].seq, Some(39409));

    let luckfox = read("luckfox_rkipc_setup_udp.txt");
    let t = Transport::parse(luckfox.headers.get("transport").unwrap());
    assert_eq!(t.server_port, Some((49152, Some(49153))));
}

#[test]
fn wowza_interleaved_stream_frames() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let bytes = std::fs::read(dir.join("rtp/wowza-server_bunny_interleaved.rtsp")).unwrap();
    let mut counts = [0usize; 256];
    let mut messages = 0;
    let mut framer = Framer::default();
    for chunk in bytes.chunks(1500) {
        framer.push(chunk).unwrap();
        while let Some(item) = framer.next_item().unwrap() {
            match item {
                Item::Data { channel, payload } => {
                    assert!(!payload.is_empty());
                    counts[usize::from(channel)] += 1;
                }
                Item::Message(_) => messages += 1,
            }
        }
    }
    assert_eq!(framer.buffered(), 0, "trailing partial frame");
    assert_eq!(framer.junk_bytes(), 0);
    assert_eq!(messages, 0);
    let used: Vec<usize> = (0..256).filter(|&c| counts[c] > 0).collect();
    // The capture holds RTP only (no RTCP): AAC on channel 0, H.264 on channel 2.
    assert_eq!(used, [0, 2]);
    assert_eq!((counts[0], counts[2]), (102, 269));
}

/// What a test expects of one media section.
struct Expect {
    encoding: &'static str,
    clock_rate: u32,
    control: &'static str,
}

const fn e(encoding: &'static str, clock_rate: u32, control: &'static str) -> Expect {
    Expect {
        encoding,
        clock_rate,
        control,
    }
}

/// The request URL used for captures whose response has no `Content-Base`.
const REQUEST_URL: &str = "rtsp://192.0.2.1:554/stream";

fn expected(name: &str) -> Option<Vec<Expect>> {
    Some(match name {
        "anjvision_describe.txt" => vec![e(
            "H265",
            90000,
            "rtsp://192.168.1.10:554/stream0/trackID=1",
        )],
        "anpviz_sdp.txt" => vec![
            e("H264", 90000, "rtsp://192.0.2.1:554/stream/trackID=1"),
            e(
                "MPEG4-GENERIC",
                16000,
                "rtsp://192.0.2.1:554/stream/trackID=2",
            ),
        ],
        "dahua_describe_h264_aac_onvif.txt" => {
            let b = "rtsp://192.168.5.111:554/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif/";
            vec![
                e("H264", 90000, leak(format!("{b}trackID=0"))),
                e("MPEG4-GENERIC", 48000, leak(format!("{b}trackID=1"))),
                e("vnd.onvif.metadata", 90000, leak(format!("{b}trackID=4"))),
            ]
        }
        "dahua_describe_h265_pcma.txt" => vec![
            e(
                "H265",
                90000,
                "rtsp://cam-driveway/cam/realmonitor?channel=1&subtype=2/trackID=0",
            ),
            e(
                "PCMA",
                8000,
                "rtsp://cam-driveway/cam/realmonitor?channel=1&subtype=2/trackID=1",
            ),
        ],
        "foscam_describe.txt" => vec![
            e("H264", 90000, "rtsp://192.168.5.107:65534/videoMain/track1"),
            // `m=audio 0 RTP/AVP 0` without a=rtpmap: the static mapping.
            e("PCMU", 8000, "rtsp://192.168.5.107:65534/videoMain/track2"),
        ],
        "geovision_sdp.txt" => vec![
            e("H264", 90000, "rtsp://192.168.5.237/media/video1/video"),
            e(
                "vnd.onvif.metadata",
                90000,
                "rtsp://192.168.5.237/media/video1/metadata",
            ),
        ],
        "gwsecurity-gw4089ip_sub_describe.txt" => vec![e(
            "H264",
            90000,
            "rtsp://192.168.1.110:5049/H264?channel=1&subtype=1&unicast=true&proto=Onvif/video",
        )],
        "h264dvr_describe.txt" => vec![
            e("H264", 90000, "rtsp://127.0.0.1:554/camera/trackID=3"),
            e("PCMA", 8000, "rtsp://127.0.0.1:554/camera/trackID=4"),
        ],
        "ipcam-generic_describe.txt" => {
            vec![e("H264", 90000, "rtsp://192.0.2.1:554/stream/trackID=1")]
        }
        "macrovideo_describe.txt" => vec![e("H264", 90000, "rtsp://192.0.2.1:554/stream/track1")],
        "tplink_sdp.txt" => vec![
            e("H265", 90000, "rtsp://192.0.2.1:554/stream/track1"),
            e("PCMA", 8000, "rtsp://192.0.2.1:554/stream/track2"),
            // The malformed `m=application/TP-LINK ... smart/1/90000` line: kept, no payload type.
            e("TP-LINK", 90000, "rtsp://192.0.2.1:554/stream/track3"),
        ],
        "ubiquiti_sdp.txt" => vec![
            e(
                "mpeg4-generic",
                48000,
                "rtsp://192.0.2.1:554/stream/trackID=0",
            ),
            e("opus", 48000, "rtsp://192.0.2.1:554/stream/trackID=1"),
            e("H264", 90000, "rtsp://192.0.2.1:554/stream/trackID=2"),
        ],
        "vitek_describe.txt" => {
            let b = "rtsp://192.168.1.123:554/chID=2&streamType=sub/";
            vec![
                e("H265", 90000, leak(format!("{b}trackID=0"))),
                e("PCMU", 8000, leak(format!("{b}trackID=1"))),
            ]
        }
        "vstarcam_describe.txt" => vec![
            e("H264", 90000, "rtsp://192.0.2.1:554/stream/track0"),
            e("PCMA", 8000, "rtsp://192.0.2.1:554/stream/track1"),
        ],
        "wowza-server_bunny_describe.txt" => {
            let b = "rtsp://wowzaec2demo.streamlock.net/vod/mp4:BigBuckBunny_115k.mov/";
            vec![
                e("mpeg4-generic", 12000, leak(format!("{b}trackID=1"))),
                e("H264", 90000, leak(format!("{b}trackID=2"))),
            ]
        }
        _ => return None,
    })
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Splits a capture into (base URL, SDP bytes): SDP-only files and DESCRIBE responses.
fn sdp_of(name: &str, bytes: &[u8]) -> (url::Url, Vec<u8>) {
    let request = url::Url::parse(REQUEST_URL).unwrap();
    if SDP_ONLY.contains(&name) {
        return (request, bytes.to_vec());
    }
    match Response::parse(bytes) {
        Ok(r) => (r.base_url(&request), r.body.to_vec()),
        Err(_) => {
            // Wowza: the redacted body is shorter than Content-Length (see UNUSABLE); its
            // head still gives the base, and the body is what follows the blank line.
            let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let Message::Response(head) = parse_head(&bytes[..split - 4], 0).unwrap() else {
                panic!("{name}: not a response")
            };
            (head.base_url(&request), bytes[split..].to_vec())
        }
    }
}

#[test]
fn every_sdp_gives_the_right_streams() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let mut checked = 0;
    for f in common::capture_files(&dir, "rtsp") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let Some(want) = expected(&name) else {
            assert!(
                !name.contains("describe") && !name.contains("sdp"),
                "{name}: no expectation"
            );
            continue;
        };
        let (base, body) = sdp_of(&name, &std::fs::read(&f).unwrap());
        let sdp = SessionDescription::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            sdp.control_url(&base).unwrap(),
            base,
            "{name}: aggregate control"
        );
        assert_eq!(sdp.media.len(), want.len(), "{name}: {:#?}", sdp.media);
        for (i, (m, w)) in sdp.media.iter().zip(&want).enumerate() {
            let map = m
                .rtpmap()
                .unwrap_or_else(|| panic!("{name} #{i}: no rtpmap"));
            assert_eq!(
                (map.encoding.as_str(), map.clock_rate),
                (w.encoding, w.clock_rate),
                "{name} #{i}"
            );
            assert_eq!(
                m.control_url(&base).unwrap().as_str(),
                w.control,
                "{name} #{i}"
            );
            match m.codec() {
                Codec::H264(h) => {
                    assert!(
                        !h.sps.is_empty() && !h.pps.is_empty(),
                        "{name} #{i}: sprop sets"
                    );
                    assert!(h.sps.iter().all(|s| s[0] & 0x1f == 7), "{name} #{i}");
                    let pli = h
                        .profile_level_id
                        .unwrap_or_else(|| panic!("{name} #{i}: profile-level-id"));
                    assert_eq!(pli[0], h.sps[0][1], "{name} #{i}: profile_idc");
                }
                Codec::H265(h) => {
                    assert_eq!(
                        (h.vps.len(), h.sps.len(), h.pps.len()),
                        (1, 1, 1),
                        "{name} #{i}"
                    );
                }
                Codec::Aac(a) => {
                    let config = a.config.unwrap_or_else(|| panic!("{name} #{i}: config"));
                    assert_eq!(config.len(), 2, "{name} #{i}");
                    // The audioObjectType in the config is AAC LC (2).
                    assert_eq!(config[0] >> 3, 2, "{name} #{i}");
                }
                _ => {}
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 15);
}

#[test]
fn sdp_quirk_values() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let load = |n: &str| {
        let (_, body) = sdp_of(n, &std::fs::read(dir.join("rtsp").join(n)).unwrap());
        SessionDescription::parse(&body).unwrap()
    };
    // Dahua: ONVIF metadata track, AAC-hbr parameters, recvonly everywhere.
    let dahua = load("dahua_describe_h264_aac_onvif.txt");
    assert_eq!(dahua.media[2].codec(), Codec::OnvifMetadata);
    let Codec::Aac(aac) = dahua.media[1].codec() else {
        panic!()
    };
    assert_eq!(
        (aac.size_length, aac.index_length, aac.index_delta_length),
        (Some(13), Some(3), Some(3))
    );
    assert_eq!(aac.mode.as_deref(), Some("AAC-hbr"));
    assert!(
        dahua
            .media
            .iter()
            .all(|m| m.direction == Some(Direction::RecvOnly) && !m.is_backchannel())
    );
    assert_eq!(dahua.media[0].framerate, Some(15.0));
    // Macro-video: no o= line, base64 profile-level-id.
    let macro_video = load("macrovideo_describe.txt");
    assert_eq!(macro_video.origin, None);
    let Codec::H264(h) = macro_video.media[0].codec() else {
        panic!()
    };
    assert_eq!(h.profile_level_id, Some([0x4d, 0xe0, 0x28]));
    // GW Security: a 7-digit profile-level-id and a start code after the SPS.
    let gw = load("gwsecurity-gw4089ip_sub_describe.txt");
    let Codec::H264(h) = gw.media[0].codec() else {
        panic!()
    };
    assert_eq!(h.profile_level_id, Some([0x4d, 0x00, 0x1e]));
    assert_eq!(h.sps[0].len(), 14, "start code after the SPS removed");
    assert_eq!(h.pps[0], [0x68, 0xee, 0x3c, 0x80]);
    // Anjvision: x-dimensions and x-framerate.
    let anj = load("anjvision_describe.txt");
    assert_eq!(
        (anj.media[0].dimensions, anj.media[0].framerate),
        (Some((1280, 720)), Some(5.0))
    );
    // Wowza: a=range with a space before the end.
    let wowza = load("wowza-server_bunny_describe.txt");
    assert_eq!(
        wowza.range,
        Some(Range::Npt {
            start: Some(NptTime::Seconds(0.0)),
            end: Some(NptTime::Seconds(596.48))
        })
    );
    // Ubiquiti: two audio tracks sharing payload type 96.
    let ubnt = load("ubiquiti_sdp.txt");
    assert_eq!(
        (ubnt.media[0].payload_type(), ubnt.media[1].payload_type()),
        (Some(96), Some(96))
    );
    assert!(matches!(ubnt.media[0].codec(), Codec::Aac(_)));
    // TP-Link: the malformed media line is kept as an unknown media type.
    let tplink = load("tplink_sdp.txt");
    assert!(matches!(tplink.media[2].media_type, MediaType::Other(_)));
    assert!(tplink.media[2].payload_types.is_empty());
}

/// Frames `input` cut at `cuts`, collecting every item.
fn frame_cut(input: &[u8], cuts: &[usize]) -> Vec<Item> {
    let mut framer = Framer::default();
    let mut items = Vec::new();
    let mut last = 0;
    for &c in cuts.iter().chain(std::iter::once(&input.len())) {
        framer.push(&input[last..c]).unwrap();
        last = c;
        while let Some(item) = framer.next_item().unwrap() {
            items.push(item);
        }
    }
    items
}

#[test]
fn every_response_capture_frames_the_same_at_every_split_point() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    for f in common::capture_files(&dir, "rtsp") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if SDP_ONLY.contains(&name.as_str()) || UNUSABLE.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        let whole = frame_cut(&bytes, &[]);
        let [Item::Message(Message::Response(r))] = whole.as_slice() else {
            panic!("{name}: {whole:?}")
        };
        assert_eq!(r, &Response::parse(&bytes).unwrap(), "{name}");
        for cut in 0..=bytes.len() {
            assert_eq!(frame_cut(&bytes, &[cut]), whole, "{name} split at {cut}");
        }
    }
}

#[test]
fn wowza_interleaved_stream_same_items_for_random_splits() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let bytes = std::fs::read(dir.join("rtp/wowza-server_bunny_interleaved.rtsp")).unwrap();
    let whole = frame_cut(&bytes, &[]);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..16 {
        let mut cuts: Vec<usize> = (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % (bytes.len() as u64 + 1)) as usize
            })
            .collect();
        cuts.sort_unstable();
        assert_eq!(frame_cut(&bytes, &cuts), whole, "round {round}");
    }
}
