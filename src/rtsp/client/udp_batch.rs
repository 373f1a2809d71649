//! Many datagrams per system call (`recvmmsg`, Linux and Android), received where the frames
//! will refer to them.
//!
//! Each datagram of a call gets a slot of [`stride`] bytes in an *area* (16 slots, one `Bytes`
//! that depacketizers refer to, see `udp::UdpPacket::RtpShared`; a call spreads over as many
//! areas as it needs) and, after it, a 64 KiB slot of a scratch region the thread keeps: the
//! kernel scatters a datagram over the two, so that none is ever cut short, and the usual one
//! (up to an Ethernet-sized path's 1472 bytes) lies whole in the area, with no copy. A longer
//! one is joined into a buffer of its own, and the thread's stride grows to fit the next ones
//! (up to [`MAX_STRIDE`]; it goes back after [`STRIDE_QUIET_CALLS`] calls without one).
//!
//! Both regions must be initialised memory to be handed to the kernel without unsafe code:
//! areas are allocated zeroed once and then recycled, still initialised, once nothing refers
//! to them any more ([`Bytes::try_into_mut`]): the latest handed out first (still in the CPU
//! cache). The RTSP client lets go of them before each wait (unfinished frames copy what they
//! hold, `Depacketizer::release_buffers`), so a thread cycles through a few. An area that its
//! datagrams fill less than [`AREA_KEEP`] of is not handed out (its datagrams are copied out,
//! packed), nor are areas when the previous drain brought only one or two datagrams: then
//! every datagram lands in the scratch region and is copied out. The scratch region (8 MiB of
//! address space per thread) is allocated zeroed, fresh pages from the system: a page of it
//! becomes resident only once a datagram reaches it.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::ops::Range;
use std::os::fd::AsRawFd as _;

use bytes::{Bytes, BytesMut};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrIn, SockaddrIn6, getsockopt, recvmmsg};
use nix::{getsockopt_impl, libc, sockopt_impl};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::coalesce::Fill;

/// Most datagrams read by one call (a 200 ms drain of a 4 Mbit/s stream in one call).
pub(crate) const MAX_BATCH: usize = 128;
/// Bytes of a scratch slot: with the area's slot before it, the largest UDP payload fits.
pub(crate) const SLOT: usize = 64 * 1024;
/// First stride of the area slots: a datagram of an Ethernet-sized path (1500-byte MTU: at
/// most 1472 bytes over IPv4) fits whole.
pub(crate) const FIRST_STRIDE: usize = 1536;
/// Step the stride grows by when a longer datagram came.
const STRIDE_STEP: usize = 512;
/// Largest stride: a jumbo frame's datagram (9000-byte MTU) fits; longer ones are always
/// joined (so that one odd datagram cannot make every area of the thread huge).
pub(crate) const MAX_STRIDE: usize = 9216;
/// Receive calls of a thread without a datagram longer than [`FIRST_STRIDE`] after which the
/// stride goes back to it.
pub(crate) const STRIDE_QUIET_CALLS: u32 = 4096;
/// Slots of an area: a call of up to [`MAX_BATCH`] datagrams spreads over as many areas as it
/// needs, and an area no datagram reached goes back unused.
pub(crate) const AREA_SLOTS: usize = 16;
/// An area whose datagrams fill less than this fraction of it is not handed out: its datagrams
/// are copied into the session's pooled read buffer, packed, and the area is reused at once.
/// So the areas that frames keep alive hold at most four times the bytes of their datagrams
/// (a frame of one datagram may still keep a whole area alive, if the area is otherwise full
/// of datagrams already let go).
pub(crate) const AREA_KEEP: (usize, usize) = (1, 4);
/// Free areas a thread keeps.
pub(crate) const MAX_FREE_AREAS: usize = 32;
/// Areas handed out that a thread keeps track of, to recycle them once nothing refers to them
/// (beyond that, the oldest is let go: freed with its last slice).
pub(crate) const MAX_BUSY_AREAS: usize = 128;

/// Which source addresses a receive call asks the kernel for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addresses {
    /// Those of an IPv4 socket.
    V4,
    /// Those of an IPv6 socket.
    V6,
    /// None: any source is welcome, or the kernel already drops datagrams from other sources
    /// (a socket filter, see `udp::source_filter`). Saves copying an address per datagram.
    Skip,
}

/// A datagram read: the bytes `range` of `source` (the call's area, or a buffer of its own for
/// a datagram longer than the stride), and where it came from (`None` when the call was asked
/// for no address, [`Addresses::Skip`]).
pub(crate) type Each<'e> = dyn FnMut(&Bytes, Range<usize>, Option<SocketAddr>) + 'e;

struct Scratch {
    mem: Vec<u8>,
    // One set of headers per address family: the kernel writes the address length back into
    // them, and a shorter IPv4 length must not be offered to an IPv6 socket.
    v4: MultiHeaders<SockaddrIn>,
    v6: MultiHeaders<SockaddrIn6>,
    none: MultiHeaders<()>,
}

/// A thread's areas.
struct Areas {
    /// Free, most recently freed last.
    free: Vec<BytesMut>,
    /// Handed out, oldest first.
    busy: Vec<Bytes>,
}

thread_local! {
    static SCRATCH_AREA: RefCell<Option<Scratch>> = const { RefCell::new(None) };
    static AREAS: RefCell<Areas> = const {
        RefCell::new(Areas {
            free: Vec::new(),
            busy: Vec::new(),
        })
    };
    /// This thread's slot stride in its areas, and the receive calls since a datagram longer
    /// than the first stride.
    static STRIDE: Cell<(usize, u32)> = const { Cell::new((FIRST_STRIDE, 0)) };
}

/// This thread's current stride.
pub(crate) fn stride() -> usize {
    STRIDE.try_with(|c| c.get().0).unwrap_or(FIRST_STRIDE)
}

/// After a call: `longest`, its longest datagram, grows the stride (up to [`MAX_STRIDE`]); a
/// long run of calls without a long one brings it back to [`FIRST_STRIDE`].
fn adapt_stride(longest: usize) {
    let _ = STRIDE.try_with(|c| {
        let (stride, quiet) = c.get();
        c.set(if longest > FIRST_STRIDE {
            let want = longest.next_multiple_of(STRIDE_STEP).min(MAX_STRIDE);
            (stride.max(want), 0)
        } else if quiet + 1 >= STRIDE_QUIET_CALLS {
            (FIRST_STRIDE, 0)
        } else {
            (stride, quiet + 1)
        });
    });
}

/// An initialised area of `len` bytes, recycled if one is free, else a new one.
fn take_area(len: usize) -> BytesMut {
    let reused = AREAS
        .try_with(|a| {
            let mut a = a.try_borrow_mut().ok()?;
            // One of the latest handed out that nothing refers to any more (still in the
            // cache), else a free one, else any handed out earlier that came free.
            let busy = &mut a.busy;
            let recent = busy.len().saturating_sub(MAX_CALL_AREAS)..busy.len();
            if let Some(i) = recent
                .rev()
                .find(|&i| busy[i].len() == len && busy[i].is_unique())
                && let Ok(m) = busy.remove(i).try_into_mut()
            {
                return Some(m);
            }
            if a.free.is_empty() {
                let Areas { free, busy } = &mut *a;
                let mut i = 0;
                while i < busy.len() {
                    if busy[i].is_unique() {
                        let b = busy.remove(i);
                        // Areas of another stride are let go.
                        if b.len() == len
                            && free.len() < MAX_FREE_AREAS
                            && let Ok(m) = b.try_into_mut()
                        {
                            free.push(m);
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            while let Some(m) = a.free.pop() {
                if m.len() == len {
                    return Some(m);
                }
            }
            None
        })
        .ok()
        .flatten();
    reused.unwrap_or_else(|| BytesMut::zeroed(len))
}

/// Gives back an area nothing refers to.
fn free_area(m: BytesMut) {
    let _ = AREAS.try_with(|a| {
        if let Ok(mut a) = a.try_borrow_mut()
            && a.free.len() < MAX_FREE_AREAS
        {
            a.free.push(m);
        }
    });
}

/// Keeps track of `area` (a clone of what is handed out) to recycle it later. When the list
/// is full, the areas in it that came free are let go (beyond what the free list keeps), and
/// if none had, the oldest is no longer tracked (freed with its last slice).
fn busy_area(area: &Bytes) {
    let _ = AREAS.try_with(|a| {
        if let Ok(mut a) = a.try_borrow_mut() {
            if a.busy.len() >= MAX_BUSY_AREAS {
                let Areas { free, busy } = &mut *a;
                busy.retain_mut(|b| {
                    if !b.is_unique() {
                        return true;
                    }
                    if free.len() < MAX_FREE_AREAS
                        && let Ok(m) = std::mem::take(b).try_into_mut()
                    {
                        free.push(m);
                    }
                    false
                });
                if busy.len() >= MAX_BUSY_AREAS {
                    busy.remove(0);
                }
            }
            a.busy.push(area.clone());
        }
    });
}

#[cfg(test)]
fn areas_kept() -> (usize, usize) {
    AREAS.with_borrow(|a| (a.free.len(), a.busy.len()))
}

/// What one [`recv_batch`] call did.
pub(crate) struct Batch {
    /// Datagrams read.
    pub(crate) count: usize,
    /// The socket had nothing more (its readiness is cleared: the next wait sleeps).
    pub(crate) drained: bool,
}

/// Where the datagrams of a call that are not handed out in their area go: the session's
/// pooled read buffer, `chunk` bytes reserved at a time.
pub(crate) struct Spill<'b> {
    pub(crate) buf: &'b mut BytesMut,
    pub(crate) chunk: usize,
}

/// Reads up to `want` datagrams (at most [`MAX_BATCH`]) from the non-blocking `sock` in one
/// call, giving each to `each`. `Err(WouldBlock)` when none was ready. `in_areas`: received
/// into areas (worth it when several datagrams are expected), else into the scratch region
/// and copied out packed (one or two datagrams per call: a live-view client woken per
/// arrival).
pub(crate) fn recv_batch(
    sock: &UdpSocket,
    addrs: Addresses,
    want: usize,
    in_areas: bool,
    spill: &mut Spill<'_>,
    each: &mut Each<'_>,
) -> io::Result<Batch> {
    let vlen = want.clamp(1, MAX_BATCH);
    let mut count = 0;
    let r = sock.try_io(Interest::READABLE, || {
        count = recv_into(sock.as_raw_fd(), addrs, vlen, in_areas, spill, each)?;
        if count < vlen {
            // The kernel stopped because the queue was empty: tell tokio, so that the next
            // wait sleeps instead of trying (and failing) once more.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    });
    match r {
        Ok(()) => Ok(Batch {
            count,
            drained: false,
        }),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && count > 0 => Ok(Batch {
            count,
            drained: true,
        }),
        Err(e) => Err(e),
    }
}

/// [`recv_batch`] for a socket outside tokio's readiness polling (read coalescing: drained
/// on a clock).
pub(crate) fn recv_batch_polled(
    sock: &std::net::UdpSocket,
    addrs: Addresses,
    want: usize,
    in_areas: bool,
    spill: &mut Spill<'_>,
    each: &mut Each<'_>,
) -> io::Result<Batch> {
    let vlen = want.clamp(1, MAX_BATCH);
    let count = recv_into(sock.as_raw_fd(), addrs, vlen, in_areas, spill, each)?;
    Ok(Batch {
        count,
        drained: count < vlen,
    })
}

/// Where a datagram read by [`recv_into`] lies.
#[derive(Clone, Copy)]
enum Place {
    /// In its slot of area `n`.
    Area(usize),
    /// At `start` in the spill buffer's part taken after the call.
    Spilled(usize),
    /// Longer than the stride: joined into a buffer of its own (this one of the call's).
    Joined(usize),
    /// Cut short by the kernel (only with jumbograms): dropped.
    Truncated,
}

/// Areas one call may use.
const MAX_CALL_AREAS: usize = MAX_BATCH / AREA_SLOTS;

/// One `recvmmsg` of up to `vlen` datagrams; how many were read (`Err(WouldBlock)`: none).
/// `each` is called after the scratch region is let go of.
fn recv_into(
    fd: std::os::fd::RawFd,
    addrs: Addresses,
    vlen: usize,
    in_areas: bool,
    spill: &mut Spill<'_>,
    each: &mut Each<'_>,
) -> io::Result<usize> {
    // A call's bookkeeping lives in arrays on the stack, set up whole at each call: a small
    // call (a live-view session woken per arrival) gets small ones.
    if vlen <= SMALL_CALL {
        recv_into_n::<SMALL_CALL>(fd, addrs, vlen, in_areas, spill, each)
    } else {
        recv_into_n::<MAX_BATCH>(fd, addrs, vlen, in_areas, spill, each)
    }
}

/// Most datagrams of a call that [`recv_into`] sets up small arrays for.
const SMALL_CALL: usize = 32;

/// [`recv_into`] with arrays for `N` datagrams (`vlen` ≤ `N` ≤ [`MAX_BATCH`]).
fn recv_into_n<const N: usize>(
    fd: std::os::fd::RawFd,
    addrs: Addresses,
    vlen: usize,
    in_areas: bool,
    spill: &mut Spill<'_>,
    each: &mut Each<'_>,
) -> io::Result<usize> {
    let vlen = vlen.min(N);
    let stride = stride();
    let area_len = AREA_SLOTS * stride;
    let mut areas: [Option<BytesMut>; MAX_CALL_AREAS] = Default::default();
    if in_areas {
        for a in areas.iter_mut().take(vlen.div_ceil(AREA_SLOTS)) {
            *a = Some(take_area(area_len));
        }
    }
    let spilled_from = spill.buf.len();
    let mut meta = [(0usize, None::<SocketAddr>); N];
    let mut place = [Place::Truncated; N];
    let mut joined: Vec<Bytes> = Vec::new();
    let mut count = 0;
    let r = SCRATCH_AREA.with(|cell| {
        let mut guard = cell
            .try_borrow_mut()
            .map_err(|_| io::Error::other("UDP scratch area in use"))?;
        let s = guard.get_or_insert_with(|| Scratch {
            mem: vec![0; MAX_BATCH * SLOT],
            v4: MultiHeaders::preallocate(MAX_BATCH, None),
            v6: MultiHeaders::preallocate(MAX_BATCH, None),
            none: MultiHeaders::preallocate(MAX_BATCH, None),
        });
        {
            let mut heads = areas
                .iter_mut()
                .flatten()
                .flat_map(|a| a.chunks_mut(stride));
            let mut tails = s.mem.chunks_mut(SLOT);
            let mut iovs: [[IoSliceMut<'_>; 2]; N] = std::array::from_fn(|i| {
                if i >= vlen {
                    return [IoSliceMut::new(&mut []), IoSliceMut::new(&mut [])];
                }
                [
                    IoSliceMut::new(heads.next().unwrap_or(&mut [])),
                    IoSliceMut::new(tails.next().unwrap_or(&mut [])),
                ]
            });
            let iovs = iovs.iter_mut().take(vlen);
            let flags = MsgFlags::MSG_DONTWAIT;
            let mut note = |m: &mut (usize, Option<SocketAddr>),
                            p: &mut Place,
                            len: usize,
                            from: Option<SocketAddr>,
                            flags: MsgFlags| {
                *m = (len, from);
                if truncated(flags) {
                    *p = Place::Truncated;
                } else {
                    *p = Place::Area(count / AREA_SLOTS);
                }
                count += 1;
            };
            match addrs {
                Addresses::V4 => {
                    for ((m, p), r) in meta
                        .iter_mut()
                        .zip(place.iter_mut())
                        .zip(recvmmsg(fd, &mut s.v4, iovs, flags, None)?)
                    {
                        note(m, p, r.bytes, r.address.map(SocketAddr::from), r.flags);
                    }
                }
                Addresses::V6 => {
                    for ((m, p), r) in meta
                        .iter_mut()
                        .zip(place.iter_mut())
                        .zip(recvmmsg(fd, &mut s.v6, iovs, flags, None)?)
                    {
                        note(m, p, r.bytes, r.address.map(SocketAddr::from), r.flags);
                    }
                }
                Addresses::Skip => {
                    for ((m, p), r) in meta.iter_mut().zip(place.iter_mut()).zip(recvmmsg(
                        fd,
                        &mut s.none,
                        iovs,
                        flags,
                        None,
                    )?) {
                        note(m, p, r.bytes, None, r.flags);
                    }
                }
            }
        }
        for (i, (&(len, _), p)) in meta.iter().zip(place.iter_mut()).take(count).enumerate() {
            let Place::Area(n) = *p else { continue };
            // Without areas: every datagram is in its scratch slot, copied out packed.
            if !in_areas {
                let data = s.mem.get(i * SLOT..i * SLOT + len).unwrap_or_default();
                if spill.buf.capacity() - spill.buf.len() < len {
                    spill.buf.reserve(spill.chunk.max(len));
                }
                *p = Place::Spilled(spill.buf.len() - spilled_from);
                spill.buf.extend_from_slice(data);
                continue;
            }
            // Longer than the stride: joined from its two pieces.
            if len <= stride {
                continue;
            }
            let at = (i % AREA_SLOTS) * stride;
            let head = areas[n]
                .as_deref()
                .and_then(|a| a.get(at..at + stride))
                .unwrap_or_default();
            let tail = s
                .mem
                .get(i * SLOT..i * SLOT + (len - stride))
                .unwrap_or_default();
            let mut v = Vec::with_capacity(len);
            v.extend_from_slice(head);
            v.extend_from_slice(tail);
            *p = Place::Joined(joined.len());
            joined.push(Bytes::from(v));
        }
        Ok::<(), io::Error>(())
    });
    // Areas: handed out when well filled; else their datagrams are copied out, packed, and
    // they are free again, as are those no datagram reached.
    let mut handed: [Option<Bytes>; MAX_CALL_AREAS] = Default::default();
    for (n, slot) in areas.iter_mut().enumerate() {
        let Some(area) = slot.take() else { continue };
        let first = n * AREA_SLOTS;
        let last = (first + AREA_SLOTS).min(count);
        let in_area = |p: &Place| matches!(p, Place::Area(k) if *k == n);
        let used: usize = (first..last)
            .filter(|&i| in_area(&place[i]))
            .map(|i| meta[i].0)
            .sum();
        if used == 0 {
            free_area(area);
        } else if used * AREA_KEEP.1 >= area_len * AREA_KEEP.0 {
            let b = area.freeze();
            busy_area(&b);
            handed[n] = Some(b);
        } else {
            for i in first..last {
                if in_area(&place[i]) {
                    let at = (i % AREA_SLOTS) * stride;
                    let data = area.get(at..at + meta[i].0).unwrap_or_default();
                    if spill.buf.capacity() - spill.buf.len() < data.len() {
                        spill.buf.reserve(spill.chunk.max(data.len()));
                    }
                    place[i] = Place::Spilled(spill.buf.len() - spilled_from);
                    spill.buf.extend_from_slice(data);
                }
            }
            free_area(area);
        }
    }
    r?;
    if in_areas {
        adapt_stride(meta.iter().take(count).map(|m| m.0).max().unwrap_or(0));
    }
    // (The buffer is empty between uses: what came before, if anything, is sliced off.)
    let spilled =
        (spill.buf.len() > spilled_from).then(|| spill.buf.split().freeze().slice(spilled_from..));
    for (i, (&(len, from), p)) in meta.iter().zip(place).take(count).enumerate() {
        match p {
            Place::Area(n) => {
                if let Some(b) = &handed[n] {
                    let at = (i % AREA_SLOTS) * stride;
                    each(b, at..at + len, from);
                }
            }
            Place::Spilled(at) => {
                if let Some(b) = &spilled {
                    each(b, at..at + len, from);
                }
            }
            Place::Joined(j) => {
                if let Some(b) = joined.get(j) {
                    each(b, 0..b.len(), from);
                }
            }
            Place::Truncated => tracing::debug!(len, "truncated UDP datagram dropped"),
        }
    }
    Ok(count)
}

// How full a socket's receive buffer is: `SO_MEMINFO`'s first two counters (the bytes queued
// datagrams take, and the buffer's size, both as the kernel accounts them). nix has no
// ready-made option for it; its macro builds one (the FFI call stays in nix). Two counters
// are what every kernel with the option returns, so the length nix checks always matches.
sockopt_impl!(
    MemInfo,
    GetOnly,
    libc::SOL_SOCKET,
    libc::SO_MEMINFO,
    [u32; 2]
);

/// How full `sock`'s receive buffer is.
pub(crate) fn fill(sock: &impl std::os::fd::AsFd) -> io::Result<Fill> {
    let [queued, capacity] = getsockopt(sock, MemInfo).map_err(io::Error::from)?;
    Ok(Fill {
        queued: queued as usize,
        capacity: capacity as usize,
    })
}

fn truncated(flags: MsgFlags) -> bool {
    flags.contains(MsgFlags::MSG_TRUNC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn pair() -> (std::net::UdpSocket, std::net::UdpSocket) {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        (rx, tx)
    }

    /// Datagram `i` of length `len`: its bytes tell where they belong.
    fn datagram(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|k| (i * 131 + k * 7) as u8).collect()
    }

    /// Sends datagrams `first + k` of `lens[k]` bytes, and waits (bounded) until the first is
    /// queued (loopback delivers within the sender's system call, in order).
    fn send(rx: &std::net::UdpSocket, tx: &std::net::UdpSocket, first: usize, lens: &[usize]) {
        for (k, &len) in lens.iter().enumerate() {
            tx.send(&datagram(first + k, len)).unwrap();
        }
        let end = Instant::now() + Duration::from_secs(5);
        let mut probe = [0u8; 1];
        while rx.peek(&mut probe).is_err() {
            assert!(Instant::now() < end, "datagrams not queued");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    #[test]
    fn without_areas_datagrams_are_copied_out_packed_long_ones_too() {
        let (rx, tx) = pair();
        let mut buf = BytesMut::new();
        let lens = [1400, 12, 9000, 65_507, 1400];
        let got = send_call((&rx, &tx), 0, &lens, &mut buf, Addresses::V4, false);
        assert_eq!(got.len(), lens.len());
        let mut at = 0;
        for (k, &len) in lens.iter().enumerate() {
            assert_eq!(got[k].2, datagram(k, len), "{len} bytes");
            assert_eq!(got[k].1, at..at + len, "packed");
            assert_eq!(got[k].0.as_ptr(), got[0].0.as_ptr(), "one buffer");
            at += len;
        }
        assert_eq!(stride(), FIRST_STRIDE, "no area, no stride change");
        assert_eq!(areas_kept(), (0, 0), "no area taken");
    }

    /// Each datagram of a call as (its `Bytes`, its range, its bytes).
    type Got = Vec<(Bytes, Range<usize>, Vec<u8>)>;

    /// Sends the datagrams (as [`send`]) and reads them in one call (`in_areas` as given). A
    /// call that finds only some of them queued (the kernel may finish delivering loopback
    /// datagrams later under load) is not what the caller tests: the rest is read and thrown
    /// away, and the whole is tried again (bounded).
    fn send_call(
        (rx, tx): (&std::net::UdpSocket, &std::net::UdpSocket),
        first: usize,
        lens: &[usize],
        buf: &mut BytesMut,
        addrs: Addresses,
        in_areas: bool,
    ) -> Got {
        for _ in 0..5 {
            send(rx, tx, first, lens);
            let got = call(rx, buf, addrs, in_areas);
            if got.len() == lens.len() {
                return got;
            }
            let end = Instant::now() + Duration::from_secs(5);
            let mut n = got.len();
            while n < lens.len() && Instant::now() < end {
                n += call(rx, buf, addrs, in_areas).len();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        panic!("the datagrams never came in one call");
    }

    /// One call (up to `MAX_BATCH`).
    fn call(rx: &std::net::UdpSocket, buf: &mut BytesMut, addrs: Addresses, in_areas: bool) -> Got {
        let mut got = Vec::new();
        let mut each = |b: &Bytes, r: Range<usize>, from: Option<SocketAddr>| {
            assert_eq!(from.is_some(), addrs != Addresses::Skip);
            got.push((b.clone(), r.clone(), b[r].to_vec()));
        };
        let mut spill = Spill {
            buf,
            chunk: 64 * 1024,
        };
        match recv_batch_polled(rx, addrs, MAX_BATCH, in_areas, &mut spill, &mut each) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        got
    }

    #[test]
    fn datagrams_longer_than_the_stride_come_whole_and_the_stride_grows() {
        let (rx, tx) = pair();
        let mut buf = BytesMut::new();
        assert_eq!(stride(), FIRST_STRIDE);
        // Longer than the first stride: joined whole, and the stride grows to fit them.
        let lens = [12, 1472, FIRST_STRIDE, FIRST_STRIDE + 1, 3000, 100];
        let got = send_call((&rx, &tx), 0, &lens, &mut buf, Addresses::V4, true);
        assert_eq!(got.len(), lens.len());
        for (i, &len) in lens.iter().enumerate() {
            assert_eq!(got[i].2, datagram(i, len), "datagram {i} ({len} bytes)");
        }
        assert_eq!(stride(), 3072);
        // At the grown stride, such datagrams lie whole in an area (it is full enough to be
        // handed out).
        let many = [3000; AREA_SLOTS];
        let got = send_call((&rx, &tx), 100, &many, &mut buf, Addresses::Skip, true);
        assert_eq!(got.len(), many.len());
        for (k, g) in got.iter().enumerate() {
            assert_eq!(g.2, datagram(100 + k, 3000));
            assert_eq!(g.0.len(), AREA_SLOTS * 3072, "in an area");
        }
        // Up to the largest UDP payload over IPv4 on loopback.
        let lens = [9000, 65_507, 40];
        let got = send_call((&rx, &tx), 200, &lens, &mut buf, Addresses::V4, true);
        assert_eq!(got.len(), lens.len());
        for (k, &len) in lens.iter().enumerate() {
            assert_eq!(got[k].2, datagram(200 + k, len), "{len} bytes");
        }
        assert_eq!(stride(), MAX_STRIDE, "grown up to its cap");
    }

    #[test]
    fn a_full_list_of_areas_handed_out_lets_go_of_those_that_came_free() {
        let len = AREA_SLOTS * FIRST_STRIDE;
        let held: Vec<Bytes> = (0..4).map(|_| BytesMut::zeroed(len).freeze()).collect();
        for b in &held {
            busy_area(b);
        }
        for _ in 4..MAX_BUSY_AREAS {
            busy_area(&BytesMut::zeroed(len).freeze());
        }
        assert_eq!(areas_kept(), (0, MAX_BUSY_AREAS));
        // Full: the free ones go to the free list (as many as it keeps) or are let go; the
        // four still held stay tracked.
        busy_area(&BytesMut::zeroed(len).freeze());
        assert_eq!(areas_kept(), (MAX_FREE_AREAS, 5));
        drop(held);
    }

    #[test]
    fn the_stride_is_capped_and_goes_back_after_a_quiet_run() {
        assert_eq!(stride(), FIRST_STRIDE);
        adapt_stride(1400);
        assert_eq!(stride(), FIRST_STRIDE);
        adapt_stride(2000);
        assert_eq!(stride(), 2048);
        adapt_stride(65_507);
        assert_eq!(stride(), MAX_STRIDE);
        for _ in 1..STRIDE_QUIET_CALLS {
            adapt_stride(1400);
        }
        assert_eq!(stride(), MAX_STRIDE);
        adapt_stride(1400);
        assert_eq!(stride(), FIRST_STRIDE);
    }

    #[test]
    fn full_areas_are_handed_out_and_sparse_ones_copied_out_packed() {
        let (rx, tx) = pair();
        let mut buf = BytesMut::new();
        // 33 datagrams: two full areas and a third with one datagram.
        let lens = [1400; 33];
        let got = send_call((&rx, &tx), 0, &lens, &mut buf, Addresses::V4, true);
        assert_eq!(got.len(), 33);
        for (k, g) in got.iter().enumerate() {
            assert_eq!(g.2, datagram(k, 1400), "datagram {k}");
        }
        let area_len = AREA_SLOTS * FIRST_STRIDE;
        assert_eq!(got[0].0.len(), area_len);
        assert_eq!(got[15].0.as_ptr(), got[0].0.as_ptr());
        assert_eq!(got[16].0.len(), area_len);
        assert_ne!(got[16].0.as_ptr(), got[0].0.as_ptr());
        // The lone one was copied into the spill buffer, alone in its `Bytes`.
        assert_eq!(got[32].0.len(), 1400);
        assert_eq!(got[32].1, 0..1400);
        // Small datagrams (audio-sized): packed side by side in the spill buffer.
        let lens = [172; 10];
        let got = send_call((&rx, &tx), 50, &lens, &mut buf, Addresses::V4, true);
        assert_eq!(got.len(), 10);
        for (k, g) in got.iter().enumerate() {
            assert_eq!(g.2, datagram(50 + k, 172));
            assert_eq!(g.1, k * 172..(k + 1) * 172);
            assert_eq!(g.0.as_ptr(), got[0].0.as_ptr());
        }
    }

    #[test]
    fn areas_are_reused_only_once_nothing_refers_to_them() {
        let (rx, tx) = pair();
        let mut buf = BytesMut::new();
        let full = [1400; AREA_SLOTS];
        let mut first = send_call((&rx, &tx), 0, &full, &mut buf, Addresses::V4, true);
        let (held, range, bytes) = first.swap_remove(3);
        drop(first);
        let held_at = held.as_ptr();
        // Still referred to: later calls get other areas, and what is held stays intact.
        for round in 1..40 {
            let got = send_call(
                (&rx, &tx),
                100 * round,
                &full,
                &mut buf,
                Addresses::V4,
                true,
            );
            assert_eq!(got.len(), AREA_SLOTS);
            assert_ne!(got[0].0.as_ptr(), held_at, "round {round}");
            assert_eq!(got[5].2, datagram(100 * round + 5, 1400));
        }
        assert_eq!(&held[range], &bytes[..]);
        assert_eq!(bytes, datagram(3, 1400));
        // Once every slice is dropped, areas come back: two calls in a row use the same one.
        drop(held);
        let a = send_call((&rx, &tx), 5000, &full, &mut buf, Addresses::V4, true)[0]
            .0
            .as_ptr();
        let b = send_call((&rx, &tx), 6000, &full, &mut buf, Addresses::V4, true)[0]
            .0
            .as_ptr();
        assert_eq!(a, b, "a free area is reused");
    }
}
