use super::*;

#[test]
fn hikvision_ssrc_with_space() {
    let t = Transport::parse("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc= d6d6627");
    assert_eq!(t.lower, LowerTransport::Tcp);
    assert_eq!(t.ssrc, Some(0x0d6d6627));
    assert_eq!(t.interleaved, Some((0, Some(1))));
}

#[test]
fn hikvision_mode_quoted() {
    let t = Transport::parse(
        "RTP/AVP;unicast;client_port=5000-5001;server_port=8218-8219;ssrc=7a9a5f9b;mode=\"play\"",
    );
    assert_eq!(t.mode.as_deref(), Some("play"));
    assert_eq!(t.server_port, Some((8218, Some(8219))));
    assert_eq!(t.ssrc, Some(0x7a9a5f9b));
}

#[test]
fn missing_server_port_and_source() {
    let t = Transport::parse("RTP/AVP/UDP;unicast;client_port=4588-4589;source=192.168.1.10");
    assert!(t.explicit_lower);
    assert_eq!(t.lower, LowerTransport::Udp);
    assert_eq!(t.server_port, None);
    assert_eq!(t.source.as_deref(), Some("192.168.1.10"));
}

#[test]
fn multicast_and_several() {
    let list = Transport::parse_list(
        "RTP/AVP;multicast;destination=239.1.2.3;port=5000-5001;ttl=16, RTP/AVP/TCP;unicast;interleaved=2-3",
    );
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].delivery, Some(Delivery::Multicast));
    assert_eq!(list[0].destination.as_deref(), Some("239.1.2.3"));
    assert_eq!(list[0].port, Some((5000, Some(5001))));
    assert_eq!(list[0].ttl, Some(16));
    assert_eq!(list[1].interleaved, Some((2, Some(3))));
}

#[test]
fn bogus_values_become_none() {
    let t = Transport::parse("RTP/AVP;interleaved=x-y;ttl=999;ssrc=123456789;client_port=70000");
    assert_eq!(
        (t.interleaved, t.ttl, t.ssrc, t.client_port),
        (None, None, None, None)
    );
}

#[test]
fn transport_formats_strictly() {
    assert_eq!(
        Transport::tcp_interleaved(2).to_string(),
        "RTP/AVP/TCP;unicast;interleaved=2-3"
    );
    assert_eq!(
        Transport::udp_unicast(5000).to_string(),
        "RTP/AVP;unicast;client_port=5000-5001"
    );
    let t = Transport::parse("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc= d6d6627;mode=\"play\"");
    assert_eq!(
        t.to_string(),
        "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=0D6D6627;mode=\"PLAY\""
    );
    assert_eq!(Transport::parse(&t.to_string()), t);
}

#[test]
fn session_variants() {
    for v in [
        "708886412;timeout=60",
        "708886412; timeout = 60",
        "\t 708886412\t;timeout=60 ",
    ] {
        let s = SessionHeader::parse(v).unwrap();
        assert_eq!((s.id.as_str(), s.timeout), ("708886412", Some(60)), "{v:?}");
    }
    assert_eq!(
        SessionHeader::parse("       708345999").unwrap().timeout,
        None
    );
    assert_eq!(SessionHeader::parse(" ;timeout=5"), None);
    assert_eq!(SessionHeader::parse("abc;timeout=x").unwrap().timeout, None);
    assert_eq!(
        SessionHeader::parse("abc;timeout=60").unwrap().to_string(),
        "abc;timeout=60"
    );
}

#[test]
fn rtp_info_reolink_and_bogus() {
    let l = RtpInfo::parse_list(
        "url=trackID=1;seq=16852;rtptime=1070938629;ssrc=dcc4a0d8,url=trackID=2;seq=39409;rtptime=3075976528;ssrc=9fc9fff8",
    );
    assert_eq!(l.len(), 2);
    assert_eq!(l[0].url.as_deref(), Some("trackID=1"));
    assert_eq!(l[0].seq, Some(16852));
    assert_eq!(l[1].rtptime, Some(3075976528));
    assert_eq!(l[1].ssrc, Some(0x9fc9fff8));
    let l = RtpInfo::parse_list("url=rtsp://h/a?x=1,2;seq=99999;rtptime=-5;");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].url.as_deref(), Some("rtsp://h/a?x=1,2"));
    assert_eq!((l[0].seq, l[0].rtptime), (None, None));
    let hik = RtpInfo::parse_list(
        "url=rtsp://192.168.5.106:554/Streaming/Channels/101/trackID=1?transportmode=unicast&profile=Profile_1;seq=24104;rtptime=1270711678",
    );
    assert_eq!(hik[0].seq, Some(24104));
}

#[test]
fn public_and_cseq() {
    let m = parse_public([
        "OPTIONS, DESCRIBE, SETUP,TEARDOWN",
        "PLAY, GET_PARAMETER, X-FOO",
    ]);
    assert_eq!(m.len(), 7);
    assert_eq!(m[4], Method::Play);
    assert_eq!(format_public(&m[..2]), "OPTIONS, DESCRIBE");
    assert_eq!(parse_cseq("1 "), Some(1));
    assert_eq!(parse_cseq(" 2\t"), Some(2));
    assert_eq!(parse_cseq("x"), None);
}

#[test]
fn content_base_without_scheme() {
    let req = Url::parse("rtsp://192.168.1.2:554/main").unwrap();
    assert_eq!(
        resolve_base("192.168.1.2:554/main/", &req)
            .unwrap()
            .as_str(),
        "rtsp://192.168.1.2:554/main/"
    );
    assert_eq!(
        resolve_base("rtsp://10.0.0.1/a/", &req).unwrap().as_str(),
        "rtsp://10.0.0.1/a/"
    );
    assert_eq!(
        resolve_base("/live/ch0/", &req).unwrap().as_str(),
        "rtsp://192.168.1.2:554/live/ch0/"
    );
    assert!(resolve_base("", &req).is_err());
}

#[test]
fn ranges() {
    assert_eq!(
        Range::parse("npt=0.000-"),
        Some(Range::Npt {
            start: Some(NptTime::Seconds(0.0)),
            end: None
        })
    );
    assert_eq!(
        Range::parse("npt=now-"),
        Some(Range::Npt {
            start: Some(NptTime::Now),
            end: None
        })
    );
    assert_eq!(
        Range::parse("npt=1:02:03.5-4000"),
        Some(Range::Npt {
            start: Some(NptTime::Seconds(3723.5)),
            end: Some(NptTime::Seconds(4000.0))
        })
    );
    let c = Range::parse("clock=19961108T142300Z-19961108T143520Z").unwrap();
    assert_eq!(c.to_string(), "clock=19961108T142300Z-19961108T143520Z");
    assert_eq!(Range::parse("npt=abc-"), None);
    assert_eq!(
        Range::Npt {
            start: Some(NptTime::Seconds(0.0)),
            end: None
        }
        .to_string(),
        "npt=0.000-"
    );
}
