//! Many datagrams per system call (`recvmmsg`, Linux and Android).
//!
//! Datagrams land in slots of a scratch area the thread keeps (zeroed once, so that no unsafe
//! code is needed to hand it to the kernel) and are copied from there into the session's pooled
//! buffer: a copy of bytes still in the cache costs far less than the system call per datagram
//! it replaces. Every slot holds the largest UDP payload, so no datagram is ever cut short; the
//! area is allocated zeroed (fresh pages from the system) and only the pages datagrams were
//! written to become resident: one or two per slot for datagrams of an Ethernet-sized path.

use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd as _;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrIn, SockaddrIn6, getsockopt, recvmmsg};
use nix::{getsockopt_impl, libc, sockopt_impl};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::coalesce::Fill;

/// Most datagrams read by one call.
pub(crate) const MAX_BATCH: usize = 32;
/// Bytes of a slot: the largest UDP payload fits.
pub(crate) const SLOT: usize = 64 * 1024;

/// A datagram read by [`recv_batch`].
pub(crate) struct Datagram<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) from: Option<SocketAddr>,
    /// Longer than its slot (not possible over IPv4 or IPv6 without jumbograms): the rest was
    /// discarded by the kernel.
    pub(crate) truncated: bool,
}

struct Scratch {
    mem: Vec<u8>,
    // One set of headers per address family: the kernel writes the address length back into
    // them, and a shorter IPv4 length must not be offered to an IPv6 socket.
    v4: MultiHeaders<SockaddrIn>,
    v6: MultiHeaders<SockaddrIn6>,
}

thread_local! {
    static SCRATCH_AREA: RefCell<Option<Scratch>> = const { RefCell::new(None) };
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
    v6: bool,
    want: usize,
    each: &mut dyn FnMut(Datagram<'_>),
) -> io::Result<Batch> {
    let vlen = want.clamp(1, MAX_BATCH);
    let mut count = 0;
    let r = sock.try_io(Interest::READABLE, || {
        count = recv_into(sock.as_raw_fd(), v6, vlen, each)?;
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
    v6: bool,
    want: usize,
    each: &mut dyn FnMut(Datagram<'_>),
) -> io::Result<Batch> {
    let vlen = want.clamp(1, MAX_BATCH);
    let count = recv_into(sock.as_raw_fd(), v6, vlen, each)?;
    Ok(Batch {
        count,
        drained: count < vlen,
    })
}

/// One `recvmmsg` of up to `vlen` datagrams; how many were read (`Err(WouldBlock)`: none).
fn recv_into(
    fd: std::os::fd::RawFd,
    v6: bool,
    vlen: usize,
    each: &mut dyn FnMut(Datagram<'_>),
) -> io::Result<usize> {
    let mut count = 0;
    SCRATCH_AREA.with(|cell| {
        let mut guard = cell
            .try_borrow_mut()
            .map_err(|_| io::Error::other("UDP scratch area in use"))?;
        let s = guard.get_or_insert_with(|| Scratch {
            mem: vec![0; MAX_BATCH * SLOT],
            v4: MultiHeaders::preallocate(MAX_BATCH, None),
            v6: MultiHeaders::preallocate(MAX_BATCH, None),
        });
        let mut meta = [(0usize, None::<SocketAddr>, false); MAX_BATCH];
        {
            let mut chunks = s.mem.chunks_mut(SLOT);
            let mut iovs: [[IoSliceMut<'_>; 1]; MAX_BATCH] =
                std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or(&mut []))]);
            let iovs = iovs.iter_mut().take(vlen);
            let flags = MsgFlags::MSG_DONTWAIT;
            if v6 {
                for (m, r) in meta
                    .iter_mut()
                    .zip(recvmmsg(fd, &mut s.v6, iovs, flags, None)?)
                {
                    *m = (r.bytes, r.address.map(SocketAddr::from), truncated(r.flags));
                    count += 1;
                }
            } else {
                for (m, r) in meta
                    .iter_mut()
                    .zip(recvmmsg(fd, &mut s.v4, iovs, flags, None)?)
                {
                    *m = (r.bytes, r.address.map(SocketAddr::from), truncated(r.flags));
                    count += 1;
                }
            }
        }
        for (i, &(len, from, truncated)) in meta.iter().take(count).enumerate() {
            let at = i * SLOT;
            let data = s.mem.get(at..at + len.min(SLOT)).unwrap_or_default();
            each(Datagram {
                data,
                from,
                truncated,
            });
        }
        Ok(count)
    })
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
