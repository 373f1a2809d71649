//! Many datagrams per system call (`recvmmsg`, Linux and Android), received where the frames
//! will refer to them.
//!
//! Each datagram of a call gets a slot of [`stride`] bytes in an *area* (one `Bytes` per call,
//! which depacketizers refer to, see `udp::UdpPacket::RtpShared`) and, after it, a 64 KiB slot
//! of a scratch region the thread keeps: the kernel scatters a datagram over the two, so that
//! none is ever cut short, and the usual one (up to an Ethernet-sized path's 1472 bytes) lies
//! whole in the area, with no copy. A longer one is joined into a buffer of its own, and the
//! thread's stride grows to fit the next ones.
//!
//! Both regions must be initialised memory to be handed to the kernel without unsafe code:
//! areas are allocated zeroed once and then recycled, still initialised, once nothing refers
//! to them any more ([`Bytes::try_into_mut`]): the most recently used free one first (still in
//! the CPU cache). The RTSP client lets go of them before each wait (unfinished frames copy
//! what they hold, `Depacketizer::release_buffers`), so a thread cycles through a few. The
//! scratch region is allocated zeroed (fresh pages from the system) and a page of it only
//! becomes resident once a datagram longer than the stride reaches it.

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

/// Most datagrams read by one call (a 200 ms drain of a 4 Mbit/s stream in two calls).
pub(crate) const MAX_BATCH: usize = 64;
/// Bytes of a scratch slot: with the area's slot before it, the largest UDP payload fits.
pub(crate) const SLOT: usize = 64 * 1024;
/// First stride of the area slots: a datagram of an Ethernet-sized path (1500-byte MTU: at
/// most 1472 bytes over IPv4) fits whole.
pub(crate) const FIRST_STRIDE: usize = 1536;
/// Step the stride grows by when a longer datagram came.
const STRIDE_STEP: usize = 512;
/// Free areas (and areas still referred to, to be recycled) a thread keeps.
pub(crate) const MAX_AREAS: usize = 16;

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

thread_local! {
    static SCRATCH_AREA: RefCell<Option<Scratch>> = const { RefCell::new(None) };
    /// Areas handed out, most recent last: recycled once nothing else refers to them.
    static AREAS: RefCell<Vec<Bytes>> = const { RefCell::new(Vec::new()) };
    /// This thread's slot stride in its areas.
    static STRIDE: Cell<usize> = const { Cell::new(FIRST_STRIDE) };
}

/// This thread's current stride.
pub(crate) fn stride() -> usize {
    STRIDE.try_with(Cell::get).unwrap_or(FIRST_STRIDE)
}

/// An initialised area of `len` bytes: the most recently used free one, else a new one.
fn take_area(len: usize) -> BytesMut {
    let reused = AREAS
        .try_with(|a| {
            let mut areas = a.try_borrow_mut().ok()?;
            // Areas of another stride are forgotten (freed with their last slice).
            areas.retain(|b| b.len() == len);
            let i = areas.iter().rposition(Bytes::is_unique)?;
            areas.remove(i).try_into_mut().ok()
        })
        .ok()
        .flatten();
    reused.unwrap_or_else(|| BytesMut::zeroed(len))
}

/// Keeps `area` (a clone of what was handed out) for recycling; the oldest kept one makes way
/// when there are [`MAX_AREAS`].
fn keep_area(area: &Bytes) {
    let _ = AREAS.try_with(|a| {
        if let Ok(mut areas) = a.try_borrow_mut() {
            if areas.len() >= MAX_AREAS {
                areas.remove(0);
            }
            areas.push(area.clone());
        }
    });
}

/// What one [`recv_batch`] call did.
pub(crate) struct Batch {
    /// Datagrams read.
    pub(crate) count: usize,
    /// The socket had nothing more (its readiness is cleared: the next wait sleeps).
    pub(crate) drained: bool,
}

/// Reads up to `want` datagrams (at most [`MAX_BATCH`]) from the non-blocking `sock` in one
/// call, giving each to `each`. `Err(WouldBlock)` when none was ready.
pub(crate) fn recv_batch(
    sock: &UdpSocket,
    addrs: Addresses,
    want: usize,
    each: &mut Each<'_>,
) -> io::Result<Batch> {
    let vlen = want.clamp(1, MAX_BATCH);
    let mut count = 0;
    let r = sock.try_io(Interest::READABLE, || {
        count = recv_into(sock.as_raw_fd(), addrs, vlen, each)?;
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
    each: &mut Each<'_>,
) -> io::Result<Batch> {
    let vlen = want.clamp(1, MAX_BATCH);
    let count = recv_into(sock.as_raw_fd(), addrs, vlen, each)?;
    Ok(Batch {
        count,
        drained: count < vlen,
    })
}

/// A datagram as received: its length, source, whether the kernel cut it short, and (longer
/// than the stride) the buffer it was joined into.
type Meta = (usize, Option<SocketAddr>, bool, Option<Bytes>);

/// One `recvmmsg` of up to `vlen` datagrams; how many were read (`Err(WouldBlock)`: none).
/// `each` is called after the scratch region is let go of.
fn recv_into(
    fd: std::os::fd::RawFd,
    addrs: Addresses,
    vlen: usize,
    each: &mut Each<'_>,
) -> io::Result<usize> {
    let stride = stride();
    let mut area = take_area(MAX_BATCH * stride);
    let mut meta: [Meta; MAX_BATCH] = std::array::from_fn(|_| (0, None, false, None));
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
            let mut heads = area.chunks_mut(stride);
            let mut tails = s.mem.chunks_mut(SLOT);
            let mut iovs: [[IoSliceMut<'_>; 2]; MAX_BATCH] = std::array::from_fn(|_| {
                [
                    IoSliceMut::new(heads.next().unwrap_or(&mut [])),
                    IoSliceMut::new(tails.next().unwrap_or(&mut [])),
                ]
            });
            let iovs = iovs.iter_mut().take(vlen);
            let flags = MsgFlags::MSG_DONTWAIT;
            match addrs {
                Addresses::V4 => {
                    for (m, r) in meta
                        .iter_mut()
                        .zip(recvmmsg(fd, &mut s.v4, iovs, flags, None)?)
                    {
                        *m = (
                            r.bytes,
                            r.address.map(SocketAddr::from),
                            truncated(r.flags),
                            None,
                        );
                        count += 1;
                    }
                }
                Addresses::V6 => {
                    for (m, r) in meta
                        .iter_mut()
                        .zip(recvmmsg(fd, &mut s.v6, iovs, flags, None)?)
                    {
                        *m = (
                            r.bytes,
                            r.address.map(SocketAddr::from),
                            truncated(r.flags),
                            None,
                        );
                        count += 1;
                    }
                }
                Addresses::Skip => {
                    for (m, r) in meta
                        .iter_mut()
                        .zip(recvmmsg(fd, &mut s.none, iovs, flags, None)?)
                    {
                        *m = (r.bytes, None, truncated(r.flags), None);
                        count += 1;
                    }
                }
            }
        }
        // Datagrams longer than the stride: joined from their two pieces.
        for (i, m) in meta.iter_mut().take(count).enumerate() {
            let (len, _, truncated, joined) = m;
            if *len <= stride || *truncated {
                continue;
            }
            let head = area.get(i * stride..(i + 1) * stride).unwrap_or_default();
            let tail = s
                .mem
                .get(i * SLOT..i * SLOT + (*len - stride))
                .unwrap_or_default();
            let mut v = Vec::with_capacity(*len);
            v.extend_from_slice(head);
            v.extend_from_slice(tail);
            *joined = Some(Bytes::from(v));
            let _ = STRIDE.try_with(|c| {
                c.set(c.get().max(len.next_multiple_of(STRIDE_STEP)).min(SLOT));
            });
        }
        Ok::<(), io::Error>(())
    });
    let area = area.freeze();
    keep_area(&area);
    r?;
    for (i, (len, from, truncated, joined)) in meta.into_iter().take(count).enumerate() {
        if truncated {
            tracing::debug!(len, "truncated UDP datagram dropped");
            continue;
        }
        match joined {
            Some(b) => each(&b, 0..b.len(), from),
            None => each(&area, i * stride..i * stride + len, from),
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

    /// Receives `n` datagrams (bounded wait), each as its bytes, with the `Bytes` they lie in.
    fn receive(rx: &std::net::UdpSocket, n: usize, addrs: Addresses) -> Vec<(Bytes, Vec<u8>)> {
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(5);
        while got.len() < n {
            assert!(
                Instant::now() < end,
                "only {} of {n} datagrams came",
                got.len()
            );
            let mut each = |b: &Bytes, r: Range<usize>, from: Option<SocketAddr>| {
                assert_eq!(from.is_some(), addrs != Addresses::Skip);
                got.push((b.clone(), b[r].to_vec()));
            };
            match recv_batch_polled(rx, addrs, MAX_BATCH, &mut each) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
        }
        got
    }

    #[test]
    fn datagrams_longer_than_the_stride_come_whole_and_the_stride_grows() {
        let (rx, tx) = pair();
        assert_eq!(stride(), FIRST_STRIDE);
        // Up to the largest UDP payload over IPv4 on loopback.
        let lens = [
            12,
            1472,
            FIRST_STRIDE,
            FIRST_STRIDE + 1,
            3000,
            9000,
            65_507,
            100,
        ];
        for (i, &len) in lens.iter().enumerate() {
            tx.send(&datagram(i, len)).unwrap();
        }
        let got = receive(&rx, lens.len(), Addresses::V4);
        for (i, &len) in lens.iter().enumerate() {
            assert_eq!(got[i].1, datagram(i, len), "datagram {i} ({len} bytes)");
        }
        assert_eq!(stride(), SLOT, "grown to fit 65507 bytes");
        // At the grown stride, long ones lie in the area.
        tx.send(&datagram(9, 9000)).unwrap();
        let got = receive(&rx, 1, Addresses::Skip);
        assert_eq!(got[0].1, datagram(9, 9000));
        assert_eq!(got[0].0.len(), MAX_BATCH * SLOT);
        STRIDE.with(|c| c.set(FIRST_STRIDE));
    }

    #[test]
    fn areas_are_reused_only_once_nothing_refers_to_them() {
        let (rx, tx) = pair();
        tx.send(&datagram(1, 1400)).unwrap();
        let mut first = receive(&rx, 1, Addresses::V4);
        let (held, bytes) = first.pop().unwrap();
        let held_at = held.as_ptr();
        // Still referred to: the next call gets another area, and what is held is intact.
        for round in 2..40 {
            tx.send(&datagram(round, 1400)).unwrap();
            let got = receive(&rx, 1, Addresses::V4);
            assert_ne!(got[0].0.as_ptr(), held_at, "round {round}");
            assert_eq!(got[0].1, datagram(round, 1400));
        }
        assert_eq!(&held[..1400], &bytes[..]);
        assert_eq!(bytes, datagram(1, 1400));
        // Once every slice is dropped, the most recently used free area comes back.
        drop(held);
        tx.send(&datagram(50, 1400)).unwrap();
        let a = receive(&rx, 1, Addresses::V4).pop().unwrap().0.as_ptr();
        tx.send(&datagram(51, 1400)).unwrap();
        let b = receive(&rx, 1, Addresses::V4).pop().unwrap().0.as_ptr();
        assert_eq!(a, b, "a free area is reused");
        // The thread keeps a bounded number.
        assert!(AREAS.with_borrow(Vec::len) <= MAX_AREAS);
    }
}
