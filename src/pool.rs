//! Small per-thread pools of [`BytesMut`] buffers, for the RTSP client's read buffers
//! (`rtsp::client::bufpool`) and the depacketizers' access units (`codec::recycle`).
//!
//! A buffer handed out may still share its allocation with [`bytes::Bytes`] split off it
//! earlier (a frame the caller keeps, an audio payload): what the pool gives out is only the
//! part nobody else refers to, and the whole allocation comes back for reuse once every such
//! slice is dropped ([`BytesMut::try_reclaim`]). Nothing here allocates per use in steady
//! state, and a buffer reused soon after is still in the CPU cache and its pages resident.

use std::cell::RefCell;
use std::thread::LocalKey;

use bytes::BytesMut;

/// The buffers of one pool on one thread.
pub(crate) type Local = RefCell<Vec<BytesMut>>;

/// Bounds of a pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// Buffers kept per thread.
    pub(crate) max_buffers: usize,
    /// Smallest buffer kept (free room, after reclaiming what can be).
    pub(crate) min: usize,
    /// Largest buffer kept.
    pub(crate) max: usize,
    /// A request is served by a pooled buffer of at most this many times its size (so that a
    /// small frame does not pin a buffer sized for a keyframe).
    pub(crate) max_ratio: usize,
}

/// `n` rounded up to a size class (at least 4 KiB, then steps of a quarter of a power of two):
/// buffers for similar sizes get the same capacity and fit each other's next use, at a cost
/// of at most 25 % unused.
pub(crate) fn size_class(n: usize) -> usize {
    const MIN: usize = 4096;
    if n <= MIN {
        return MIN;
    }
    let top = usize::BITS - 1 - n.leading_zeros(); // 2^top <= n < 2^(top+1)
    let step = 1usize << (top - 2);
    n.div_ceil(step).saturating_mul(step)
}

/// Defines, in the calling module, a pool per thread with the bounds `$spec` and its two
/// functions: `take(capacity) -> BytesMut` and `give(BytesMut)` (see [`take`] and [`give`]).
macro_rules! per_thread_pool {
    ($spec:expr) => {
        thread_local! {
            static POOL: $crate::pool::Local = const { std::cell::RefCell::new(Vec::new()) };
        }

        /// An empty buffer with room for at least `capacity` bytes, from this thread's pool.
        pub(crate) fn take(capacity: usize) -> bytes::BytesMut {
            $crate::pool::take(&POOL, &$spec, capacity)
        }

        /// Gives a buffer (what is left of it) back to this thread's pool.
        pub(crate) fn give(buf: bytes::BytesMut) {
            $crate::pool::give(&POOL, &$spec, buf);
        }
    };
}
pub(crate) use per_thread_pool;

/// Empties `buf` and, if no slice of it is alive, gives it its whole allocation again.
fn refresh(buf: &mut BytesMut) {
    buf.clear();
    // Succeeds (moving the view back to the start of the allocation) only when `buf` is the
    // allocation's sole owner and not already at its start; otherwise changes nothing.
    let _ = buf.try_reclaim(buf.capacity().saturating_add(1));
}

/// An empty buffer with room for at least `capacity` bytes: the most recently pooled one that
/// fits (within [`Spec::max_ratio`]), else a new one of the size class of `capacity`.
pub(crate) fn take(pool: &'static LocalKey<Local>, spec: &Spec, capacity: usize) -> BytesMut {
    let limit = capacity.saturating_mul(spec.max_ratio.max(1));
    let pooled = pool
        .try_with(|p| {
            let mut p = p.borrow_mut();
            // The most recently given back first: usually the buffer the previous frame or
            // read of this thread used, still in the cache.
            let i = p.iter_mut().rposition(|b| {
                refresh(b);
                (capacity..=limit).contains(&b.capacity())
            })?;
            Some(p.remove(i))
        })
        .ok()
        .flatten();
    pooled.unwrap_or_else(|| BytesMut::with_capacity(size_class(capacity)))
}

/// Gives a buffer back (its contents are dropped). Kept if its free room is within the
/// spec's bounds and the pool has space; otherwise freed (or left to the slices still using
/// its allocation).
pub(crate) fn give(pool: &'static LocalKey<Local>, spec: &Spec, mut buf: BytesMut) {
    refresh(&mut buf);
    let c = buf.capacity();
    if c < spec.min.max(1) || c > spec.max {
        return;
    }
    let _ = pool.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < spec.max_buffers {
            p.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static TEST: Local = const { RefCell::new(Vec::new()) };
    }
    const SPEC: Spec = Spec {
        max_buffers: 3,
        min: 1024,
        max: 1 << 20,
        max_ratio: 4,
    };

    fn pooled() -> Vec<usize> {
        TEST.with(|p| p.borrow().iter().map(BytesMut::capacity).collect())
    }

    #[test]
    fn size_classes_are_quarter_steps() {
        assert_eq!(size_class(0), 4096);
        assert_eq!(size_class(4097), 5120);
        assert_eq!(size_class(20_000), 20_480);
        assert_eq!(size_class(20_480), 20_480);
        assert_eq!(size_class(140_000), 163_840);
        for n in [5000, 33_000, 1_000_000, 16 * 1024 * 1024, usize::MAX / 2] {
            let c = size_class(n);
            assert!(c >= n && c - n <= n / 4, "{n} -> {c}");
        }
    }

    #[test]
    fn buffers_come_back_whole_once_their_slices_are_dropped() {
        let mut b = take(&TEST, &SPEC, 10_000);
        assert_eq!(b.capacity(), size_class(10_000));
        let start = b.as_ptr();
        b.extend_from_slice(&[7; 3000]);
        let frame = b.split().freeze();
        give(&TEST, &SPEC, b);
        // The frame is alive: the pool has only the free tail.
        assert_eq!(pooled(), [size_class(10_000) - 3000]);
        let mut tail = take(&TEST, &SPEC, 5000);
        assert_eq!(tail.as_ptr(), start.wrapping_add(3000));
        tail.extend_from_slice(&[9; 5000]);
        assert!(frame.iter().all(|&x| x == 7), "never written over");
        give(&TEST, &SPEC, tail);
        drop(frame);
        // Both gone: the whole allocation again, from its start.
        let again = take(&TEST, &SPEC, 9000);
        assert_eq!(again.as_ptr(), start);
        assert_eq!(again.capacity(), size_class(10_000));
        give(&TEST, &SPEC, again);
        // Too large for the request (ratio), or too small: a new buffer.
        let small = take(&TEST, &SPEC, 1000);
        assert_ne!(small.as_ptr(), start);
        let big = take(&TEST, &SPEC, 50_000);
        assert_ne!(big.as_ptr(), start);
        // Bounded: count, and sizes.
        for _ in 0..5 {
            give(&TEST, &SPEC, BytesMut::with_capacity(4096));
        }
        assert_eq!(pooled().len(), SPEC.max_buffers);
        TEST.with(|p| p.borrow_mut().clear());
        give(&TEST, &SPEC, BytesMut::with_capacity(100));
        give(&TEST, &SPEC, BytesMut::with_capacity(SPEC.max + 1));
        assert!(pooled().is_empty());
    }
}
