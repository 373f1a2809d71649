#![no_main]
//! The mock camera's HTTP request parser (the mock is a server others point tools at).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = bytes::BytesMut::from(data);
    while let Ok(Some(req)) = camlink::mock::http::parse_request(&mut buf) {
        let _ = req.path();
        let _ = req.header("Authorization");
    }
});
