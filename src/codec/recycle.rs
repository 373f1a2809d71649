//! Access-unit buffers recycled through a small pool per thread.
//!
//! An access unit is assembled in a buffer from this pool and handed out as [`bytes::Bytes`]
//! split off it; what is left of the buffer goes back to the pool, and the whole allocation is
//! reused once the caller has dropped the frame (see [`crate::pool`]). In steady state a stream
//! then costs no heap allocation per frame and, more than the allocation, no fresh pages:
//! frames of 100 KiB and more are above the allocator's mmap threshold, and each new one would
//! fault its pages in again (measured at about 10 % of a client's CPU time with 500 sessions).
//!
//! Bounded: at most [`MAX_POOLED`] buffers of at most [`MAX_POOLED_CAPACITY`] bytes per
//! thread; a buffer serves requests of at least a quarter of its size only, so that a small
//! frame the caller keeps does not pin a keyframe-sized buffer.

use crate::pool::Spec;

/// Buffers kept per thread.
pub const MAX_POOLED: usize = 8;
/// Largest buffer kept.
pub const MAX_POOLED_CAPACITY: usize = 1024 * 1024;

const SPEC: Spec = Spec {
    max_buffers: MAX_POOLED,
    min: 1,
    max: MAX_POOLED_CAPACITY,
    max_ratio: 4,
};

crate::pool::per_thread_pool!(SPEC);
