//! UDP media: an even/odd port pair per stream, large socket receive buffers, batched
//! non-blocking reads (up to 128 datagrams per `recvmmsg` on Linux and Android, one per call
//! elsewhere), a reorder buffer per stream, NAT hole punching and RTCP back to the server.
//! Multicast joins the group the server's `Transport` names.
//!
//! Unicast RTP sockets (Linux and Android) carry a socket filter on the server's address, so
//! that the kernel drops datagrams from elsewhere before they are queued and receive calls
//! need not ask for each datagram's source ([`source_filter`]); elsewhere each source is
//! checked here.
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

use super::coalesce::{DrainClock, Fill, FillProbe};
use crate::rtp::packet::MAX_PACKET_LEN;
use crate::rtp::rtcp::build_receiver_report_with_cname;
use crate::rtp::{ReorderBuffer, RtpPacket, RtpPacketRef};
use crate::rtsp::headers::{Delivery, Transport};
use crate::{Error, ErrorKind, Result};

/// Attempts at finding a free even/odd port pair.
pub const MAX_BIND_ATTEMPTS: usize = 64;
/// Datagrams the first receive call of a stream's first drain asks for.
pub(crate) const FIRST_BATCH: usize = 16;
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
    /// Whether the kernel drops RTP datagrams from other sources than `source`.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    filter: Filter,
    /// When the fill of a polled RTP socket is read, and its estimates in between.
    probe: FillProbe,
    /// About what the previous drain read: the first receive call of a drain asks for that
    /// many (at least [`FIRST_BATCH`]; a call prepares room for each), into areas only if
    /// there were a few.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    batch_hint: usize,
    /// The RTP socket is an IPv6 one.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    v6: bool,
}

/// A socket filter on an RTP socket ([`source_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
enum Filter {
    /// None: each datagram's source is checked here.
    Off,
    /// Attached, but datagrams queued before it may still be there: sources checked here
    /// until a receive finds the queue empty.
    Attached,
    /// Every datagram queued comes from the expected source: no address is asked for.
    Clean,
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
                filter: Filter::Off,
                probe: FillProbe::default(),
                batch_hint: FIRST_BATCH,
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
            filter: Filter::Off,
            probe: FillProbe::default(),
            batch_hint: FIRST_BATCH,
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
            self.filter_source(ip);
        }
        if let Some((a, b)) = t.server_port {
            self.server_rtp = Some(SocketAddr::new(ip, a));
            self.server_rtcp = Some(SocketAddr::new(ip, b.unwrap_or(a.saturating_add(1))));
        }
    }

    /// Has the kernel drop RTP datagrams from other sources than `ip` (Linux and Android; else,
    /// or if that fails, each datagram's source is checked here).
    fn filter_source(&mut self, ip: IpAddr) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let r = match &self.rtp {
                RtpSocket::Reactor(s) => {
                    socket2::SockRef::from(s).attach_filter(&source_filter(ip))
                }
                RtpSocket::Polled(s) => socket2::SockRef::from(s).attach_filter(&source_filter(ip)),
            };
            self.filter = match r {
                Ok(()) => Filter::Attached,
                Err(e) => {
                    tracing::debug!(error = %e, "no RTP source filter: sources checked per datagram");
                    Filter::Off
                }
            };
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = ip;
    }

    /// The source addresses a receive call on the RTP socket needs.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn addresses(&self) -> super::udp_batch::Addresses {
        use super::udp_batch::Addresses;
        if self.source.is_none() || self.filter == Filter::Clean {
            Addresses::Skip
        } else if self.v6 {
            Addresses::V6
        } else {
            Addresses::V4
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
            // Sources to check here: none once the kernel filters them.
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let mut addrs = s.addresses();
            let expected = s.source;
            let mut rtp = |source: &Bytes,
                           range: std::ops::Range<usize>,
                           from: Option<SocketAddr>,
                           filtered: bool| {
                let foreign_source = match (expected, from) {
                    (Some(ip), Some(from)) => ip.to_canonical() != from.ip().to_canonical(),
                    (Some(_), None) => !filtered,
                    (None, _) => false,
                };
                if foreign_source {
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
            // A polled socket due for a drain: its fill, read now or estimated afterwards.
            let probing = left > 0 && s.rtp.is_polled();
            let reading = if probing && s.probe.due() {
                s.rtp.fill()
            } else {
                None
            };
            #[cfg_attr(
                not(any(target_os = "linux", target_os = "android")),
                allow(unused_mut)
            )]
            let (mut bytes, mut datagrams) = (0usize, 0usize);
            // Whether the socket was found empty (not stopped by the fair share or an error).
            #[cfg_attr(
                not(any(target_os = "linux", target_os = "android")),
                allow(unused_mut)
            )]
            let mut emptied = false;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            while left > 0 {
                // Each datagram where the call put it (in-order packets are borrowed from
                // the call's area, see `udp_batch`).
                let filtered = addrs == super::udp_batch::Addresses::Skip;
                // The first call asks for about what the previous drain read; more calls (a
                // burst) for as many as one call takes.
                let want = if datagrams == 0 {
                    left.min(s.batch_hint.max(FIRST_BATCH))
                } else {
                    left
                };
                // Areas pay off when a drain brings several datagrams (see `udp_batch`).
                let in_areas = s.batch_hint >= super::udp_batch::AREA_SLOTS / 4;
                let mut each = |source: &Bytes, range: std::ops::Range<usize>, from| {
                    bytes += range.len();
                    datagrams += 1;
                    rtp(source, range, from, filtered);
                };
                let mut spill = super::udp_batch::Spill {
                    buf: &mut buf,
                    chunk,
                };
                let batch = match &s.rtp {
                    RtpSocket::Reactor(r) => super::udp_batch::recv_batch(
                        r, addrs, want, in_areas, &mut spill, &mut each,
                    ),
                    RtpSocket::Polled(p) => super::udp_batch::recv_batch_polled(
                        p, addrs, want, in_areas, &mut spill, &mut each,
                    ),
                };
                match batch {
                    Ok(b) => {
                        left = left.saturating_sub(b.count);
                        if b.drained {
                            emptied = true;
                            // The kernel found the queue empty after these datagrams (not just
                            // tokio's readiness: some were read): whatever came before the
                            // source filter has been read and checked.
                            if s.filter == Filter::Attached {
                                s.filter = Filter::Clean;
                                addrs = s.addresses();
                            }
                            break;
                        }
                    }
                    Err(e) => {
                        if e.kind() == std::io::ErrorKind::WouldBlock {
                            emptied = true;
                        } else {
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
                rtp(&source, 0..source.len(), Some(from), false);
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if datagrams > 0 {
                s.batch_hint = (datagrams + datagrams / 4).min(super::udp_batch::MAX_BATCH);
            }
            if probing {
                polled = true;
                let f = match reading {
                    Some(Ok(f)) => {
                        s.probe.on_reading(f, bytes, datagrams, emptied);
                        Some(f)
                    }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "SO_MEMINFO unreadable");
                        None
                    }
                    None => s.probe.estimate(bytes, datagrams, emptied),
                };
                if let Some(f) = f
                    && fill.is_none_or(|g| fullness(f) > fullness(g))
                {
                    fill = Some(f);
                }
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

/// A classic BPF program for `SO_ATTACH_FILTER` that keeps the datagrams whose IP source is
/// `ip` and drops the others before they are queued: the kernel checks the source, so that a
/// receive call need not copy out an address per datagram (and a flood from elsewhere cannot
/// fill the receive buffer). The filter reads the IP header (`SKF_NET_OFF`): its version, then
/// the source address word by word. An IPv4-mapped IPv6 `ip` matches IPv4 packets from that
/// IPv4 address (what an IPv6 socket receives from an IPv4 peer).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn source_filter(ip: IpAddr) -> Vec<socket2::SockFilter> {
    use socket2::SockFilter;
    // <linux/filter.h> (the classic BPF ABI).
    const LD_B_ABS: u16 = 0x30;
    const LD_W_ABS: u16 = 0x20;
    const AND_K: u16 = 0x54;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const NET: u32 = (-0x10_0000i32) as u32; // SKF_NET_OFF
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    // (version, offset of the source address, its words).
    let (version, at, words): (u32, u32, Vec<u32>) = match ip {
        IpAddr::V4(a) => (4, 12, vec![u32::from_be_bytes(a.octets())]),
        IpAddr::V6(a) => (
            6,
            8,
            a.octets()
                .chunks_exact(4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                .collect(),
        ),
    };
    // 0 ldb version; 1 and 0xf0; 2 jeq; then a load and a jeq per word; keep; drop. A
    // match goes on to the next instruction, a mismatch jumps to the drop.
    let drop_at = 4 + 2 * words.len();
    let to_drop = |i: usize| u8::try_from(drop_at - i - 1).unwrap_or(0);
    let mut p = vec![
        SockFilter::new(LD_B_ABS, 0, 0, NET),
        SockFilter::new(AND_K, 0, 0, 0xf0),
        SockFilter::new(JEQ_K, 0, to_drop(2), version << 4),
    ];
    for (k, w) in words.iter().enumerate() {
        let i = 3 + 2 * k;
        p.push(SockFilter::new(
            LD_W_ABS,
            0,
            0,
            NET.wrapping_add(at + 4 * k as u32),
        ));
        p.push(SockFilter::new(JEQ_K, 0, to_drop(i + 1), *w));
    }
    p.push(SockFilter::new(RET_K, 0, 0, u32::MAX));
    p.push(SockFilter::new(RET_K, 0, 0, 0));
    p
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use nix::sys::socket::getsockopt;
    use nix::{getsockopt_impl, libc, sockopt_impl};

    // All nine `SO_MEMINFO` counters; the ninth counts the datagrams dropped (by a socket
    // filter among others).
    sockopt_impl!(
        MemInfoAll,
        GetOnly,
        libc::SOL_SOCKET,
        libc::SO_MEMINFO,
        [u32; 9]
    );

    fn drops(s: &impl std::os::fd::AsFd) -> u32 {
        getsockopt(s, MemInfoAll).expect("SO_MEMINFO")[8]
    }

    /// Waits (bounded) until `s` has dropped `n` datagrams.
    fn wait_drops(s: &impl std::os::fd::AsFd, n: u32) {
        let end = Instant::now() + Duration::from_secs(5);
        while drops(s) < n {
            assert!(
                Instant::now() < end,
                "the datagram was neither queued nor dropped"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn rtp_datagram(seq: u16) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 7, 0x65, 0xaa, 0xbb]);
        p
    }

    /// Drains `m` once (its clock due); the sequence numbers of the RTP packets it handed out.
    fn drain(m: &mut UdpMedia) -> Vec<u16> {
        let mut seqs = Vec::new();
        m.drain_ready(
            Instant::now() + Duration::from_secs(3600),
            &mut |_, p| match p {
                UdpPacket::Rtp(p) => seqs.push(p.sequence_number()),
                UdpPacket::RtpShared(p, _) => seqs.push(p.sequence_number()),
                UdpPacket::Rtcp(_) => {}
            },
        );
        seqs
    }

    fn transport(source: &str) -> Transport {
        Transport::parse(&format!(
            "RTP/AVP;unicast;source={source};server_port=6970-6971"
        ))
    }

    #[test]
    fn source_filter_drops_other_sources_in_the_kernel() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let mut buf = [0u8; 64];
        // Another IPv4 source (TEST-NET-1: never an address here), an IPv6 one, and the
        // sender's own address mapped into IPv6, which must match.
        for (ip, kept) in [
            ("192.0.2.1", false),
            ("2001:db8::1", false),
            ("::ffff:127.0.0.2", false),
            ("127.0.0.1", true),
            ("::ffff:127.0.0.1", true),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            socket2::SockRef::from(&rx)
                .attach_filter(&source_filter(ip))
                .unwrap();
            let before = drops(&rx);
            tx.send_to(b"x", to).unwrap();
            if kept {
                let end = Instant::now() + Duration::from_secs(5);
                let n = loop {
                    match rx.recv(&mut buf) {
                        Ok(n) => break n,
                        Err(_) if Instant::now() < end => {
                            std::thread::sleep(Duration::from_millis(1))
                        }
                        Err(e) => panic!("{ip}: kept datagram not received: {e}"),
                    }
                };
                assert_eq!(n, 1, "{ip}");
                assert_eq!(drops(&rx), before, "{ip}");
            } else {
                wait_drops(&rx, before + 1);
                assert!(
                    rx.recv(&mut buf).is_err(),
                    "{ip}: dropped datagram was queued"
                );
            }
        }
    }

    #[test]
    fn source_filter_on_ipv6() {
        let Ok(rx) = std::net::UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine
        };
        rx.set_nonblocking(true).unwrap();
        let tx = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let to = rx.local_addr().unwrap();
        let mut buf = [0u8; 64];
        socket2::SockRef::from(&rx)
            .attach_filter(&source_filter("::2".parse().unwrap()))
            .unwrap();
        tx.send_to(b"x", to).unwrap();
        wait_drops(&rx, 1);
        assert!(rx.recv(&mut buf).is_err());
        socket2::SockRef::from(&rx)
            .attach_filter(&source_filter("::1".parse().unwrap()))
            .unwrap();
        tx.send_to(b"y", to).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            match rx.recv(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"y");
                    break;
                }
                Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("kept datagram not received: {e}"),
            }
        }
        assert_eq!(drops(&rx), 1);
    }

    /// A stream on a polled RTP socket (`polled`) or one in tokio's polling; and a sender on
    /// 127.0.0.1 aimed at it.
    fn stream(polled: bool) -> (UdpMedia, std::net::UdpSocket, SocketAddr) {
        let s =
            UdpStream::bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST), None, 1 << 20, polled).unwrap();
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, s.rtp_port()));
        let coalesce = if polled {
            Duration::from_millis(50)
        } else {
            Duration::ZERO
        };
        let mut m = UdpMedia::new(16, Duration::from_millis(100), 64 * 1024, coalesce);
        m.add(0, s);
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        (m, tx, to)
    }

    fn set_server(m: &mut UdpMedia, source: &str) {
        m.streams[0]
            .1
            .set_server(&transport(source), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    /// Lets tokio see the sockets in its polling readable (bounded).
    async fn settle(m: &UdpMedia) {
        let _ = tokio::time::timeout(Duration::from_millis(5), m.wait_readable()).await;
    }

    /// Drains until `want` packets came (bounded); all the sequence numbers seen.
    async fn drain_until(m: &mut UdpMedia, want: usize) -> Vec<u16> {
        let end = Instant::now() + Duration::from_secs(5);
        let mut seqs = Vec::new();
        while seqs.len() < want && Instant::now() < end {
            settle(m).await;
            seqs.extend(drain(m));
        }
        seqs
    }

    #[tokio::test]
    async fn packets_from_the_server_pass_with_and_without_addresses() {
        for polled in [false, true] {
            let (mut m, tx, to) = stream(polled);
            set_server(&mut m, "127.0.0.1");
            assert_eq!(m.streams[0].1.filter, Filter::Attached, "polled {polled}");
            for seq in 1..=3 {
                tx.send_to(&rtp_datagram(seq), to).unwrap();
            }
            assert_eq!(drain_until(&mut m, 3).await, [1, 2, 3], "polled {polled}");
            // A receive found the queue empty: no more addresses asked for.
            assert_eq!(m.streams[0].1.filter, Filter::Clean, "polled {polled}");
            for seq in 4..=6 {
                tx.send_to(&rtp_datagram(seq), to).unwrap();
            }
            assert_eq!(drain_until(&mut m, 3).await, [4, 5, 6], "polled {polled}");
            assert_eq!(m.foreign, 0);
        }
    }

    #[tokio::test]
    async fn packets_from_elsewhere_are_dropped_also_those_queued_before_the_filter() {
        for polled in [false, true] {
            let (mut m, tx, to) = stream(polled);
            // Queued before the server (and so the filter) is known.
            tx.send_to(&rtp_datagram(1), to).unwrap();
            let rtp = match &m.streams[0].1.rtp {
                RtpSocket::Reactor(s) => socket2::SockRef::from(s).local_addr().unwrap(),
                RtpSocket::Polled(s) => socket2::SockRef::from(s).local_addr().unwrap(),
            };
            assert_eq!(rtp.as_socket().unwrap(), to);
            std::thread::sleep(Duration::from_millis(20));
            set_server(&mut m, "192.0.2.1");
            assert_eq!(m.streams[0].1.filter, Filter::Attached);
            // Checked here (and counted) ...
            let end = Instant::now() + Duration::from_secs(5);
            while m.foreign == 0 && Instant::now() < end {
                settle(&m).await;
                assert_eq!(drain(&mut m), Vec::<u16>::new(), "polled {polled}");
            }
            assert_eq!(m.foreign, 1, "polled {polled}");
            // ... and later ones dropped by the kernel.
            let before = match &m.streams[0].1.rtp {
                RtpSocket::Reactor(s) => drops(s),
                RtpSocket::Polled(s) => drops(s),
            };
            tx.send_to(&rtp_datagram(2), to).unwrap();
            match &m.streams[0].1.rtp {
                RtpSocket::Reactor(s) => wait_drops(s, before + 1),
                RtpSocket::Polled(s) => wait_drops(s, before + 1),
            }
            settle(&m).await;
            assert_eq!(drain(&mut m), Vec::<u16>::new(), "polled {polled}");
        }
    }

    #[tokio::test]
    async fn a_drain_asks_for_about_what_the_previous_one_read() {
        let (mut m, tx, to) = stream(true);
        set_server(&mut m, "127.0.0.1");
        assert_eq!(m.streams[0].1.batch_hint, FIRST_BATCH);
        // 40 datagrams: a first call of 16, then one asking for all the rest. (Should the
        // kernel queue them over more than one drain, the hint follows the last one.)
        for seq in 0..40 {
            tx.send_to(&rtp_datagram(seq), to).unwrap();
        }
        let (mut n, mut last) = (0, 0);
        let end = Instant::now() + Duration::from_secs(5);
        while n < 40 && Instant::now() < end {
            settle(&m).await;
            let got = drain(&mut m).len();
            if got > 0 {
                (n, last) = (n + got, got);
            }
        }
        assert_eq!(n, 40);
        assert_eq!(m.streams[0].1.batch_hint, last + last / 4);
        for seq in 40..42 {
            tx.send_to(&rtp_datagram(seq), to).unwrap();
        }
        assert_eq!(drain_until(&mut m, 2).await, [40, 41]);
        // (or one each, if they came apart)
        assert!([2, 1].contains(&m.streams[0].1.batch_hint));
    }
}
