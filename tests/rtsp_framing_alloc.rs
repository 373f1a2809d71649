//! The interleaved hot path allocates nothing per frame beyond the `Bytes` split: a counting
//! allocator checks it while 1000 frames are framed from a filled buffer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use camlink::rtsp::framing::{Framer, Item};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    let before = ALLOCS.load(Ordering::Relaxed);
    while let Some(item) = framer.next_item().unwrap() {
        let Item::Data { payload, .. } = item else {
            panic!("unexpected message")
        };
        payloads.push(payload);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    assert_eq!(payloads.len(), FRAMES);
    assert!(payloads.iter().all(|p| p.len() == 1400));
    // The first split turns the buffer into a shared one (one allocation); then none.
    assert!(allocs <= 2, "{allocs} allocations for {FRAMES} frames");
}
