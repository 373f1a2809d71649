//! UDP media: an even/odd port pair per stream, large socket receive buffers, batched
//! non-blocking reads (up to 32 datagrams per `recvmmsg` on Linux and Android, one per call
//! elsewhere), a reorder buffer per stream, NAT hole punching and RTCP back to the server.
//! Multicast joins the group the server's `Transport` names.
//!
//! With read coalescing ([`SessionOptions::read_coalescing`](super::SessionOptions::read_coalescing),
//! Linux and Android), the RTP sockets stay out of tokio's readiness polling (Linux wakes a
//! datagram socket's waiter for every datagram) and are drained on a [`DrainClock`] whose tick
//! follows how full their receive buffers get.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::coalesce::{DrainClock, Fill};
use crate::rtp::packet::MAX_PACKET_LEN;
use crate::rtp::rtcp::build_receiver_report_with_cname;
use crate::rtp::{ReorderBuffer, RtpPacket, RtpPacketRef};
use crate::rtsp::headers::{Delivery, Transport};
use crate::{Error, ErrorKind, Result};

/// Attempts at finding a free even/odd port pair.
pub const MAX_BIND_ATTEMPTS: usize = 64;
/// Datagrams read from one socket per wake-up before the others get a turn.
pub const MAX_DATAGRAMS_PER_DRAIN: usize = 256;
/// Smallest shared receive buffer datagrams are read into (room for two of the largest
/// datagrams); its size is otherwise [`SessionOptions::read_buffer`](super::SessionOptions::read_buffer).
pub const RECV_BUFFER: usize = 2 * (MAX_PACKET_LEN + 1);

/// A packet out of the UDP side, in order.
pub(crate) enum UdpPacket<'a> {
    Rtp(RtpPacket),
    /// An RTP packet that came in order with nothing held back (the usual case), borrowed
    /// from `source`, the datagrams of one receive call (depacketizers refer to it).
    RtpShared(RtpPacketRef<'a>, &'a Bytes),
    Rtcp(Bytes),
}

/// The RTP socket of a stream.
#[derive(Debug)]
enum RtpSocket {
    /// In tokio's readiness polling: a datagram wakes the session.
    Reactor(UdpSocket),
    /// Outside it (read coalescing): drained at the session's [`DrainClock`] ticks.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Polled(std::net::UdpSocket),
}

impl RtpSocket {
    /// `polled`: left out of tokio's readiness polling, where the fill of its receive buffer
    /// can be read (else in it, as without coalescing).
    fn new(s: std::net::UdpSocket, polled: bool) -> Result<RtpSocket> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if polled {
            match super::udp_batch::fill(&s) {
                Ok(_) => return Ok(RtpSocket::Polled(s)),
                Err(e) => tracing::debug!(error = %e, "SO_MEMINFO unreadable: no UDP coalescing"),
            }
        }
        let _ = polled;
        Ok(RtpSocket::Reactor(tokio_socket(s)?))
    }

    /// How full the receive buffer of a polled socket is (`None`: a socket in the readiness
    /// polling).
    fn fill(&self) -> Option<std::io::Result<Fill>> {
        match self {
            RtpSocket::Reactor(_) => None,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            RtpSocket::Polled(p) => Some(super::udp_batch::fill(p)),
        }
    }

    fn is_polled(&self) -> bool {
        match self {
            RtpSocket::Reactor(_) => false,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            RtpSocket::Polled(_) => true,
        }
    }

    /// Sends one datagram (best effort).
    async fn send_to(&self, pkt: &[u8], to: SocketAddr) {
        match self {
            RtpSocket::Reactor(s) => {
                let _ = s.send_to(pkt, to).await;
            }
            // Non-blocking: a full send buffer drops it, as the network could.
            #[cfg(any(target_os = "linux", target_os = "android"))]
            RtpSocket::Polled(s) => {
                let _ = s.send_to(pkt, to);
            }
        }
    }
}

/// The sockets of one stream.
#[derive(Debug)]
pub(crate) struct UdpStream {
    rtp: RtpSocket,
    rtcp: UdpSocket,
    rtp_port: u16,
    server_rtp: Option<SocketAddr>,
    server_rtcp: Option<SocketAddr>,
    /// Datagrams from other sources than this are ignored (unicast).
    source: Option<IpAddr>,
    /// The RTP socket is an IPv6 one.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    v6: bool,
}

fn udp_socket(
    addr: SocketAddr,
    rcvbuf: usize,
    reuse: bool,
) -> std::io::Result<std::net::UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if reuse {
        s.set_reuse_address(true)?;
    }
    s.bind(&addr.into())?;
    if rcvbuf > 0 {
        if let Err(e) = s.set_recv_buffer_size(rcvbuf) {
            tracing::debug!(error = %e, "SO_RCVBUF not set");
        }
        // Linux caps the value at net.core.rmem_max (and reports twice what it keeps).
        tracing::debug!(
            asked = rcvbuf,
            got = s.recv_buffer_size().unwrap_or(0),
            "UDP receive buffer"
        );
    }
    s.set_nonblocking(true)?;
    Ok(s.into())
}

fn tokio_socket(s: std::net::UdpSocket) -> Result<UdpSocket> {
    UdpSocket::from_std(s).map_err(|e| Error::io(e, "UDP socket"))
}

impl UdpStream {
    /// Binds an even RTP port and the odd RTCP port above it on `ip`, from `range` if given.
    /// `polled`: the RTP socket is to be drained on a clock (read coalescing).
    pub(crate) fn bind_pair(
        ip: IpAddr,
        range: Option<RangeInclusive<u16>>,
        rcvbuf: usize,
        polled: bool,
    ) -> Result<UdpStream> {
        let start = crate::auth::random_u64();
        for attempt in 0..MAX_BIND_ATTEMPTS {
            let port = match &range {
                Some(r) => {
                    let lo = r.start().next_multiple_of(2);
                    let hi = *r.end();
                    if hi <= lo {
                        return Err(Error::invalid_input(
                            "UDP port range holds no even/odd pair",
                        ));
                    }
                    let pairs = u64::from((hi - lo) / 2) + 1;
                    let n = (start.wrapping_add(attempt as u64)) % pairs;
                    let p = u64::from(lo) + 2 * n;
                    match u16::try_from(p) {
                        Ok(p) if p < hi => p,
                        _ => continue,
                    }
                }
                None => 0,
            };
            let Ok(rtp) = udp_socket(SocketAddr::new(ip, port), rcvbuf, false) else {
                continue;
            };
            let Ok(got) = rtp.local_addr().map(|a| a.port()) else {
                continue;
            };
            if got % 2 != 0 || got == u16::MAX {
                continue;
            }
            let Ok(rtcp) = udp_socket(SocketAddr::new(ip, got + 1), 0, false) else {
                continue;
            };
            return Ok(UdpStream {
                rtp: RtpSocket::new(rtp, polled)?,
                rtcp: tokio_socket(rtcp)?,
                rtp_port: got,
                server_rtp: None,
                server_rtcp: None,
                source: None,
                v6: ip.is_ipv6(),
            });
        }
        Err(Error::new(
            ErrorKind::Io,
            "no free even/odd UDP port pair found",
        ))
    }

    /// Binds the group's ports from a multicast `Transport` answer and joins the group.
    /// `polled`: as for [`bind_pair`](Self::bind_pair).
    pub(crate) fn join_multicast(
        t: &Transport,
        local: IpAddr,
        rcvbuf: usize,
        polled: bool,
    ) -> Result<UdpStream> {
        if t.delivery != Some(Delivery::Multicast) {
            return Err(Error::new(
                ErrorKind::Protocol,
                "asked for multicast, the camera answered unicast",
            ));
        }
        let group: IpAddr = t
            .destination
            .as_deref()
            .and_then(|d| d.trim().parse().ok())
            .ok_or_else(|| {
                Error::new(ErrorKind::Protocol, "multicast answer without destination")
            })?;
        let (p1, p2) = t
            .port
            .or(t.client_port)
            .ok_or_else(|| Error::new(ErrorKind::Protocol, "multicast answer without port"))?;
        let p2 = p2.unwrap_or(p1.saturating_add(1));
        let any = match group {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let rtp = udp_socket(SocketAddr::new(any, p1), rcvbuf, true)
            .map_err(|e| Error::io(e, "multicast RTP socket"))?;
        let rtcp = udp_socket(SocketAddr::new(any, p2), 0, true)
            .map_err(|e| Error::io(e, "multicast RTCP socket"))?;
        for s in [&rtp, &rtcp] {
            match (group, local) {
                (IpAddr::V4(g), IpAddr::V4(l)) => s.join_multicast_v4(&g, &l),
                (IpAddr::V4(g), _) => s.join_multicast_v4(&g, &Ipv4Addr::UNSPECIFIED),
                (IpAddr::V6(g), _) => s.join_multicast_v6(&g, 0),
            }
            .map_err(|e| Error::io(e, "joining the multicast group"))?;
        }
        Ok(UdpStream {
            rtp: RtpSocket::new(rtp, polled)?,
            rtcp: tokio_socket(rtcp)?,
            rtp_port: p1,
            server_rtp: None,
            server_rtcp: None,
            source: None,
            v6: group.is_ipv6(),
        })
    }

    pub(crate) fn rtp_port(&self) -> u16 {
        self.rtp_port
    }

    /// Takes the server ports (and source) of the `Transport` answer.
    pub(crate) fn set_server(&mut self, t: &Transport, server_ip: IpAddr) {
        let ip = t
            .source
            .as_deref()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(server_ip);
        if t.delivery != Some(Delivery::Multicast) {
            self.source = Some(ip);
        }
        if let Some((a, b)) = t.server_port {
            self.server_rtp = Some(SocketAddr::new(ip, a));
            self.server_rtcp = Some(SocketAddr::new(ip, b.unwrap_or(a.saturating_add(1))));
        }
    }

    /// Sends a first packet to each server port so that NATs and firewalls on the way let the
    /// server's packets in: an RTP header without payload, and an empty receiver report.
    pub(crate) async fn punch_holes(&self, ssrc: u32) {
        if let Some(to) = self.server_rtp {
            // Version 2, payload type 0x7f-masked dynamic, no payload.
            let mut pkt = [0u8; 12];
            pkt[0] = 0x80;
            pkt[1] = 96;
            pkt[8..12].copy_from_slice(&ssrc.to_be_bytes());
            self.rtp.send_to(&pkt, to).await;
        }
        if let Some(to) = self.server_rtcp
            && let Ok(rr) = build_receiver_report_with_cname(ssrc, &[], "camlink")
        {
            let _ = self.rtcp.send_to(&rr, to).await;
        }
    }
}

/// All UDP streams of a session.
#[derive(Debug)]
pub(crate) struct UdpMedia {
    streams: Vec<(usize, UdpStream, ReorderBuffer)>,
    /// Bytes reserved at a time for datagrams, in a buffer of the thread's pool
    /// ([`bufpool`](super::bufpool)) taken for each drain and given back after it.
    chunk: usize,
    depth: usize,
    delay: Duration,
    /// When polled RTP sockets are drained next (read coalescing).
    clock: DrainClock,
    /// Datagrams from unexpected sources, dropped.
    pub(crate) foreign: u64,
}

impl UdpMedia {
    /// `coalesce`: [`SessionOptions::read_coalescing`](super::SessionOptions::read_coalescing)
    /// (the longest a polled socket waits between drains).
    pub(crate) fn new(depth: usize, delay: Duration, chunk: usize, coalesce: Duration) -> UdpMedia {
        let chunk = chunk.clamp(RECV_BUFFER, super::MAX_READ_CHUNK.max(RECV_BUFFER));
        UdpMedia {
            streams: Vec::new(),
            chunk,
            depth,
            delay,
            clock: DrainClock::new(coalesce),
            foreign: 0,
        }
    }

    pub(crate) fn add(&mut self, k: usize, s: UdpStream) {
        let r = ReorderBuffer::new(self.depth, self.delay);
        self.streams.push((k, s, r));
    }

    pub(crate) fn rtp_ports(&self) -> Vec<u16> {
        self.streams.iter().map(|(_, s, _)| s.rtp_port).collect()
    }

    pub(crate) fn has(&self, k: usize) -> bool {
        self.streams.iter().any(|(i, _, _)| *i == k)
    }

    /// Sends an RTCP packet to the server's RTCP port of stream `k` (best effort).
    pub(crate) async fn send_rtcp(&self, k: usize, pkt: &[u8]) {
        if let Some((_, s, _)) = self.streams.iter().find(|(i, _, _)| *i == k)
            && let Some(to) = s.server_rtcp
        {
            let _ = s.rtcp.send_to(pkt, to).await;
        }
    }

    /// Waits until any socket in tokio's readiness polling is readable.
    pub(crate) async fn wait_readable(&self) -> Result<()> {
        std::future::poll_fn(|cx| {
            for (_, s, _) in &self.streams {
                let rtp = match &s.rtp {
                    RtpSocket::Reactor(r) => Some(r),
                    #[cfg(any(target_os = "linux", target_os = "android"))]
                    RtpSocket::Polled(_) => None,
                };
                for sock in rtp.into_iter().chain([&s.rtcp]) {
                    match sock.poll_recv_ready(cx) {
                        std::task::Poll::Ready(r) => {
                            return std::task::Poll::Ready(
                                r.map_err(|e| Error::io(e, "UDP receive")),
                            );
                        }
                        std::task::Poll::Pending => {}
                    }
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// When a reorder buffer gives up on a missing packet, or polled sockets are to be drained.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let drain = self.polled().then(|| self.clock.next()).flatten();
        self.streams
            .iter()
            .filter_map(|(_, _, r)| r.next_deadline())
            .chain(drain)
            .min()
    }

    /// Whether any RTP socket is drained on the clock.
    fn polled(&self) -> bool {
        self.streams.iter().any(|(_, s, _)| s.rtp.is_polled())
    }

    /// Reads every datagram ready (non-blocking), and hands out the packets in order.
    pub(crate) fn drain_ready(&mut self, now: Instant, f: &mut impl FnMut(usize, UdpPacket<'_>)) {
        let mut buf = super::bufpool::take(self.chunk);
        let chunk = self.chunk;
        let foreign = &mut self.foreign;
        // Polled sockets (only when their drain is due): the fullest receive buffer, and
        // whether one was left unread.
        let due = self.clock.due(now);
        let mut fill: Option<Fill> = None;
        let mut polled = false;
        let mut more = false;
        for (k, s, reorder) in &mut self.streams {
            let k = *k;
            // Datagram `range` of `source` (what one receive call read), from `from`: handed on
            // borrowed when it comes in order with nothing held back, else through the
            // reorder buffer.
            let mut rtp = |source: &Bytes, range: std::ops::Range<usize>, from: SocketAddr| {
                if s.source.is_some_and(|ip| ip != from.ip()) {
                    *foreign += 1;
                    return;
                }
                let data = source.get(range.clone()).unwrap_or_default();
                match RtpPacketRef::parse(data) {
                    Ok(p) if reorder.pass_in_order(p.sequence_number()) => {
                        f(k, UdpPacket::RtpShared(p, source));
                    }
                    Ok(_) => {
                        if let Ok(p) = RtpPacket::parse(source.slice(range)) {
                            reorder.push(p, now);
                        }
                        while let Some(r) = reorder.pop(now) {
                            f(k, UdpPacket::Rtp(r.packet));
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "malformed RTP datagram"),
                }
            };
            // RTP sockets drained on the clock are left alone until it is due.
            let mut left = if s.rtp.is_polled() && !due {
                0
            } else {
                MAX_DATAGRAMS_PER_DRAIN
            };
            if left > 0
                && let Some(r) = s.rtp.fill()
            {
                polled = true;
                match r {
                    Ok(f) => {
                        if fill.is_none_or(|g| fullness(f) > fullness(g)) {
                            fill = Some(f);
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "SO_MEMINFO unreadable"),
                }
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            while left > 0 {
                // The datagrams of one call side by side in `buf`, handed on once it is frozen
                // (so that in-order packets can be borrowed from one `Bytes`).
                let unset = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
                let mut got = [(0usize, 0usize, unset); super::udp_batch::MAX_BATCH];
                let mut n = 0;
                let mut each = |d: super::udp_batch::Datagram<'_>| {
                    if d.truncated {
                        tracing::debug!(len = d.data.len(), "truncated UDP datagram dropped");
                        return;
                    }
                    let (Some(from), Some(slot)) = (d.from, got.get_mut(n)) else {
                        return;
                    };
                    reserve(&mut buf, chunk, d.data.len());
                    let start = buf.len();
                    buf.extend_from_slice(d.data);
                    *slot = (start, buf.len(), from);
                    n += 1;
                };
                let batch = match &s.rtp {
                    RtpSocket::Reactor(r) => super::udp_batch::recv_batch(r, s.v6, left, &mut each),
                    RtpSocket::Polled(p) => {
                        super::udp_batch::recv_batch_polled(p, s.v6, left, &mut each)
                    }
                };
                if n > 0 {
                    let source = buf.split().freeze();
                    for &(start, end, from) in &got[..n] {
                        rtp(&source, start..end, from);
                    }
                }
                match batch {
                    Ok(b) => {
                        left = left.saturating_sub(b.count);
                        if b.drained {
                            break;
                        }
                    }
                    Err(e) => {
                        if e.kind() != std::io::ErrorKind::WouldBlock {
                            // ICMP port unreachable and the like: not fatal for UDP.
                            tracing::debug!(error = %e, "UDP receive error");
                        }
                        break;
                    }
                }
            }
            // Elsewhere, one datagram per call, straight into the pooled buffer.
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            while left > 0 {
                let RtpSocket::Reactor(sock) = &s.rtp;
                let Some(from) = recv_one(sock, &mut buf, chunk) else {
                    break;
                };
                left -= 1;
                let source = buf.split().freeze();
                rtp(&source, 0..source.len(), from);
            }
            // Its fair share read, and maybe more waiting: drained again at once.
            more |= s.rtp.is_polled() && due && left == 0;
            // Packets whose wait for a missing one is over, also when nothing new came (the
            // session woke for the reorder deadline).
            while let Some(r) = reorder.pop(now) {
                f(k, UdpPacket::Rtp(r.packet));
            }
            for _ in 0..MAX_DATAGRAMS_PER_DRAIN {
                let Some(from) = recv_one(&s.rtcp, &mut buf, chunk) else {
                    break;
                };
                let data = buf.split().freeze();
                if s.source.is_some_and(|ip| ip != from.ip()) {
                    *foreign += 1;
                    continue;
                }
                f(k, UdpPacket::Rtcp(data));
            }
        }
        if polled {
            self.clock.on_drain(now, fill, more);
        }
        // Reused by the next drain of any session on this thread once the packets it holds
        // (in reorder buffers, or kept by frames) are gone.
        super::bufpool::give(buf);
    }
}

/// A fill as a fraction of its buffer, in millionths, for comparing buffers of other sizes.
fn fullness(f: Fill) -> u128 {
    (f.queued as u128) * 1_000_000 / (f.capacity as u128).max(1)
}

/// Reads one datagram (non-blocking) onto the end of `buf`; `None` when there is none (or on
/// an error, which is not fatal for UDP: ICMP port unreachable and the like).
fn recv_one(sock: &UdpSocket, buf: &mut BytesMut, chunk: usize) -> Option<SocketAddr> {
    reserve(buf, chunk, MAX_PACKET_LEN + 1);
    match sock.try_recv_buf_from(buf) {
        Ok((_, from)) => Some(from),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::WouldBlock {
                tracing::debug!(error = %e, "UDP receive error");
            }
            None
        }
    }
}

/// Makes room for `need` more bytes in `buf`, `chunk` at a time.
fn reserve(buf: &mut BytesMut, chunk: usize, need: usize) {
    if buf.capacity() - buf.len() < need {
        buf.reserve(chunk.max(need));
    }
}
