//! The interleaved hot path allocates nothing per frame beyond the `Bytes` split: a counting
//! allocator checks it while 1000 frames are framed from a filled buffer.

use camlink::rtsp::framing::{Framer, Item};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

#[test]
fn no_allocation_per_interleaved_frame() {
    const FRAMES: usize = 1000;
    let mut framer = Framer::default();
    {
        let buf = framer.read_buf();
        buf.reserve(FRAMES * 1404);
        for i in 0..FRAMES {
            buf.extend_from_slice(&[b'$', (i % 4) as u8, 0x05, 0x78]);
            buf.extend_from_slice(&[0x80; 1400]);
        }
    }
    let mut payloads = Vec::with_capacity(FRAMES);
    let before = counting_alloc::calls();
    while let Some(item) = framer.next_item().unwrap() {
        let Item::Data { payload, .. } = item else {
            panic!("unexpected message")
        };
        payloads.push(payload);
    }
    let allocs = counting_alloc::calls() - before;
    assert_eq!(payloads.len(), FRAMES);
    assert!(payloads.iter().all(|p| p.len() == 1400));
    // The first split turns the buffer into a shared one (one allocation); then none.
    assert!(allocs <= 2, "{allocs} allocations for {FRAMES} frames");
}
