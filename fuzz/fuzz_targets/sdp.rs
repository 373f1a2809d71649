#![no_main]
//! SDP parsing, typed codec parameters and the writer (whose output must parse back).
use camlink::rtsp::sdp::{MAX_SDP_LEN, SessionDescription};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = SessionDescription::parse(data) else {
        return;
    };
    for m in &sdp.media {
        let _ = (m.codec(), m.rtpmap(), m.fmtp(), m.is_backchannel());
    }
    let text = sdp.to_string();
    if text.len() > MAX_SDP_LEN {
        return;
    }
    let again = SessionDescription::parse(text.as_bytes()).expect("the writer's output parses");
    assert_eq!(again.media.len(), sdp.media.len());
});
