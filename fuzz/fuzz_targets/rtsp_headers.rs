#![no_main]
//! RTSP message heads and every lenient header parser, with their strict formatters.
use camlink::rtsp::headers::{
    Range, RtpInfo, SessionHeader, Transport, format_rtp_info, parse_cseq, parse_public,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = camlink::rtsp::message::parse_head(data, 0);
    let _ = camlink::rtsp::message::Response::parse(data);
    let s = String::from_utf8_lossy(data);
    for t in Transport::parse_list(&s) {
        let again = Transport::parse(&t.to_string());
        let _ = again.to_string();
    }
    let _ = SessionHeader::parse(&s).map(|x| x.to_string());
    let _ = format_rtp_info(&RtpInfo::parse_list(&s));
    let _ = Range::parse(&s).map(|x| x.to_string());
    let _ = parse_public([s.as_ref()]);
    let _ = parse_cseq(&s);
});
