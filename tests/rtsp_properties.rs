//! Arbitrary input never panics the header parsers or the SDP parser; strict formatters
//! round-trip through the lenient parsers.

use camlink::rtsp::headers::{
    Delivery, LowerTransport, Range, RtpInfo, SessionHeader, Transport, format_rtp_info,
    parse_cseq, parse_public, resolve_base,
};
use camlink::rtsp::message::{Request, Response, parse_head};
use camlink::rtsp::sdp::SessionDescription;
use proptest::prelude::*;

fn header_ish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(";".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just("-".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("\"".to_owned()),
        Just("url=".to_owned()),
        Just("ssrc=".to_owned()),
        Just("interleaved=".to_owned()),
        Just("timeout=".to_owned()),
        Just("npt=".to_owned()),
        Just("clock=".to_owned()),
        Just("RTP/AVP/TCP".to_owned()),
        "[0-9a-fA-F]{0,12}",
        "[0-9:.]{0,12}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn sdp_ish() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just("v=0".to_owned()),
        "m=(video|audio|application)[ \t]{1,2}[0-9]{1,6}(/2)? RTP/AVP( [0-9x]{1,4}){0,3}",
        "a=rtpmap:[0-9]{1,4} [A-Za-z0-9.-]{0,8}(/[0-9]{0,7}){0,3}",
        "a=fmtp:[0-9]{1,3}( ([a-z-]{1,20}=[A-Za-z0-9+/=,]{0,30};?){0,4})?",
        "a=fmtp:96 sprop-parameter-sets=[A-Za-z0-9+/=,!]{0,40}",
        "a=fmtp:96 sprop-(vps|sps|pps)=[A-Za-z0-9+/=,]{0,40}",
        "a=fmtp:97 config=[0-9a-fA-F]{0,9};sizelength=[0-9]{0,4}",
        "a=(control|range|framerate|x-dimensions|sendonly|recvonly):[ -~]{0,20}",
        any::<String>(),
    ];
    proptest::collection::vec(line, 0..24).prop_map(|v| v.join("\r\n").into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn header_parsers_never_panic(s in header_ish()) {
        let t = Transport::parse(&s);
        let _ = t.to_string();
        let _ = Transport::parse_list(&s);
        let _ = SessionHeader::parse(&s).map(|x| x.to_string());
        let _ = format_rtp_info(&RtpInfo::parse_list(&s));
        let _ = Range::parse(&s).map(|x| x.to_string());
        let _ = parse_public([s.as_str()]);
        let _ = parse_cseq(&s);
        let base = url::Url::parse("rtsp://192.0.2.1/a/").unwrap();
        let _ = resolve_base(&s, &base);
    }

    #[test]
    fn message_parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_head(&b, 0);
        let _ = Response::parse(&b);
        let _ = Request::parse(&b);
    }

    #[test]
    fn sdp_never_panics(b in sdp_ish()) {
        if let Ok(sdp) = SessionDescription::parse(&b) {
            let base = url::Url::parse("rtsp://192.0.2.1/a").unwrap();
            let _ = sdp.control_url(&base);
            for m in &sdp.media {
                let _ = (m.codec(), m.rtpmap(), m.fmtp(), m.control_url(&base));
            }
            // What the writer produces, the parser reads back the same.
            let text = sdp.to_string();
            let again = SessionDescription::parse(text.as_bytes()).unwrap();
            prop_assert_eq!(again.media.len(), sdp.media.len());
        }
    }

    #[test]
    fn sdp_random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = SessionDescription::parse(&b).map(|s| s.to_string());
    }

    #[test]
    fn transport_round_trips(
        tcp in any::<bool>(),
        multicast in any::<bool>(),
        ch in any::<u8>(),
        port in any::<u16>(),
        ttl in proptest::option::of(any::<u8>()),
        ssrc in proptest::option::of(any::<u32>()),
    ) {
        let t = Transport {
            profile: "RTP/AVP".into(),
            lower: if tcp { LowerTransport::Tcp } else { LowerTransport::Udp },
            explicit_lower: tcp,
            delivery: Some(if multicast { Delivery::Multicast } else { Delivery::Unicast }),
            interleaved: tcp.then_some((ch, ch.checked_add(1))),
            client_port: (!tcp).then_some((port, port.checked_add(1))),
            ttl,
            ssrc,
            mode: Some("play".into()),
            ..Transport::default()
        };
        prop_assert_eq!(Transport::parse(&t.to_string()), t);
    }
}
