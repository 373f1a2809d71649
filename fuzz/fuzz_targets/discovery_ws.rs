//! WS-Discovery datagrams from the network: parsing, scope decoding and the responder's answer
//! must never panic, whatever arrives on UDP 3702.
#![no_main]

use camlink::discovery::responder::answer_probe;
use camlink::discovery::ws_discovery::{self, Endpoint, QualifiedName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = ws_discovery::parse(data) {
        for ep in &msg.endpoints {
            let _ = ep.scope_info();
        }
        let camera = Endpoint {
            address: "urn:uuid:00000000-0000-4000-8000-000000000001".into(),
            types: vec![QualifiedName::network_video_transmitter(), QualifiedName::device()],
            scopes: vec!["onvif://www.onvif.org/name/fuzz".into()],
            xaddrs: vec!["http://127.0.0.1/onvif/device_service".into()],
            metadata_version: Some(1),
        };
        if let Some(reply) = answer_probe(&camera, &msg, false, "urn:uuid:reply", None) {
            // Our own answer must always parse back.
            assert!(ws_discovery::parse(reply.as_bytes()).is_ok());
        }
    }
});
