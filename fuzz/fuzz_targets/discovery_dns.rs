//! mDNS answers from the network: the DNS parser (names, compression, records) and the DNS-SD
//! assembly must never panic, and what we encode must parse back.
#![no_main]

use camlink::discovery::dns::Message;
use camlink::discovery::mdns::{CAMERA_SERVICES, ServiceBook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::parse(data) {
        let wanted: Vec<String> = CAMERA_SERVICES.iter().map(|s| s.to_string()).collect();
        let mut book = ServiceBook::new(&wanted);
        let _ = book.add(&msg, std::net::IpAddr::from([127, 0, 0, 1]));
        let again = msg.encode();
        // Expanded compression can make our copy longer than the parse limit; otherwise it
        // must read back.
        if again.len() <= camlink::discovery::dns::MAX_MESSAGE_LEN {
            assert!(Message::parse(&again).is_ok());
        }
    }
});
