//! Read buffers shared by the sessions that run on one thread.
//!
//! A session that waits for its camera holds no read buffer: between wake-ups it keeps at most
//! the tail of a partly received interleaved frame (usually nothing). When the socket is
//! readable it takes a large buffer from this thread's pool, reads, handles every complete
//! frame in place, and gives the buffer back before it waits again. Hundreds of sessions on a
//! worker thread then share a few buffers that stay in the CPU cache, instead of each keeping
//! hundreds of KiB resident. See [`crate::pool`].

use crate::pool::Spec;

/// Buffers kept per thread.
pub const MAX_POOLED: usize = 4;

const SPEC: Spec = Spec {
    max_buffers: MAX_POOLED,
    min: 16 * 1024,
    max: 2 * super::MAX_READ_CHUNK,
    max_ratio: usize::MAX,
};

crate::pool::per_thread_pool!(SPEC);
