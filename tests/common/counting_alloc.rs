//! A global allocator for tests that forwards to the system allocator and counts: calls
//! (allocations and reallocations), live bytes, and the peak of live bytes since the last
//! [`reset_peak`], both process-wide and for the calling thread alone (what a test on a
//! current-thread runtime measures without counting other tests). A test binary installs it with
//! `#[global_allocator] static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;`.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The counting allocator.
pub struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Bytes allocated minus bytes freed on this thread, and its peak since the last reset.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
    static THREAD_PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
    let _ = THREAD_LIVE.try_with(|l| {
        let now = l.get().saturating_add(by as isize);
        l.set(now);
        let _ = THREAD_PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
    let _ = THREAD_LIVE.try_with(|l| l.set(l.get().saturating_sub(by as isize)));
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Allocation and reallocation calls so far.
pub fn calls() -> usize {
    CALLS.load(Ordering::Relaxed)
}

/// Bytes allocated and not yet freed.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from the bytes live now.
pub fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

/// The most bytes live at once since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement for the calling thread: from now on, bytes it allocates minus
/// bytes it frees.
pub fn reset_thread_peak() {
    THREAD_LIVE.with(|l| l.set(0));
    THREAD_PEAK.with(|p| p.set(0));
}

/// The most bytes the calling thread had allocated (net) at once since
/// [`reset_thread_peak`].
pub fn thread_peak() -> usize {
    THREAD_PEAK.with(|p| usize::try_from(p.get()).unwrap_or(0))
}
