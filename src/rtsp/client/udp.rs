//! UDP media: an even/odd port pair per stream, large socket receive buffers, batched
//! non-blocking reads (up to 32 datagrams per `recvmmsg` on Linux and Android, one per call
//! elsewhere), a reorder buffer per stream, NAT hole punching and RTCP back to the server.
//! Multicast joins the group the server's `Transport` names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::rtp::packet::MAX_PACKET_LEN;
use crate::rtp::rtcp::build_receiver_report_with_cname;
use crate::rtp::{ReorderBuffer, RtpPacket};
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
pub(crate) enum UdpPacket {
    Rtp(RtpPacket),
    Rtcp(Bytes),
}

/// The sockets of one stream.
#[derive(Debug)]
pub(crate) struct UdpStream {
    rtp: UdpSocket,
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
    pub(crate) fn bind_pair(
        ip: IpAddr,
        range: Option<RangeInclusive<u16>>,
        rcvbuf: usize,
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
                rtp: tokio_socket(rtp)?,
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
    pub(crate) fn join_multicast(t: &Transport, local: IpAddr, rcvbuf: usize) -> Result<UdpStream> {
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
            rtp: tokio_socket(rtp)?,
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
            let _ = self.rtp.send_to(&pkt, to).await;
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
    /// Datagrams from unexpected sources, dropped.
    pub(crate) foreign: u64,
}

impl UdpMedia {
    pub(crate) fn new(depth: usize, delay: Duration, chunk: usize) -> UdpMedia {
        let chunk = chunk.clamp(RECV_BUFFER, super::MAX_READ_CHUNK.max(RECV_BUFFER));
        UdpMedia {
            streams: Vec::new(),
            chunk,
            depth,
            delay,
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

    /// Waits until any socket is readable.
    pub(crate) async fn wait_readable(&self) -> Result<()> {
        std::future::poll_fn(|cx| {
            for (_, s, _) in &self.streams {
                for sock in [&s.rtp, &s.rtcp] {
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

    /// When a reorder buffer gives up on a missing packet.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.streams
            .iter()
            .filter_map(|(_, _, r)| r.next_deadline())
            .min()
    }

    /// Reads every datagram ready (non-blocking), and hands out the packets in order.
    pub(crate) fn drain_ready(&mut self, now: Instant, f: &mut impl FnMut(usize, UdpPacket)) {
        let mut buf = super::bufpool::take(self.chunk);
        let chunk = self.chunk;
        let foreign = &mut self.foreign;
        for (k, s, reorder) in &mut self.streams {
            let k = *k;
            let mut rtp = |data: Bytes, from: SocketAddr| {
                if s.source.is_some_and(|ip| ip != from.ip()) {
                    *foreign += 1;
                    return;
                }
                match RtpPacket::parse(data) {
                    Ok(p) => {
                        reorder.push(p, now);
                        while let Some(r) = reorder.pop(now) {
                            f(k, UdpPacket::Rtp(r.packet));
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "malformed RTP datagram"),
                }
            };
            let mut left = MAX_DATAGRAMS_PER_DRAIN;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            while left > 0 {
                let mut each = |d: super::udp_batch::Datagram<'_>| {
                    if d.truncated {
                        tracing::debug!(len = d.data.len(), "truncated UDP datagram dropped");
                        return;
                    }
                    let Some(from) = d.from else { return };
                    reserve(&mut buf, chunk, d.data.len());
                    buf.extend_from_slice(d.data);
                    rtp(buf.split().freeze(), from);
                };
                match super::udp_batch::recv_batch(&s.rtp, s.v6, left, &mut each) {
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
                left -= 1;
                let Some(from) = recv_one(&s.rtp, &mut buf, chunk) else {
                    break;
                };
                rtp(buf.split().freeze(), from);
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
        // Reused by the next drain of any session on this thread once the packets it holds
        // (in reorder buffers, or kept by frames) are gone.
        super::bufpool::give(buf);
    }
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
