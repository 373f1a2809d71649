//! Runs the RTSP parsers over every capture in `../shared/real-cameras/rtsp/` and frames the
//! Wowza interleaved stream from `rtp/`.

mod common;

use camlink::ErrorKind;
use camlink::rtsp::framing::{Framer, Item};
use camlink::rtsp::headers::{RtpInfo, SessionHeader, Transport};
use camlink::rtsp::message::Response;

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
