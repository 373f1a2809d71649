//! Socket helpers shared by the discovery IO shells (UDP with SO_REUSEADDR, multicast).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::{Error, Result};

/// Time-to-live of multicast datagrams we send: one hop, the local link (WS-Discovery and mDNS
/// are link-local).
pub(crate) const MULTICAST_TTL: u32 = 1;

/// A non-blocking UDP socket bound to `bind`, with SO_REUSEADDR when `reuse` (so that several
/// listeners can share a multicast port) and the port is a given one: on port 0 Linux would
/// let the ephemeral port it picks be one another SO_REUSEADDR socket already has, and the two
/// would share each other's datagrams.
pub(crate) fn udp_socket(bind: SocketAddr, reuse: bool) -> Result<UdpSocket> {
    let reuse = reuse && bind.port() != 0;
    let domain = if bind.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| Error::io(e, "create UDP socket"))?;
    if reuse {
        sock.set_reuse_address(true)
            .map_err(|e| Error::io(e, "set SO_REUSEADDR"))?;
    }
    if bind.is_ipv6() {
        // Best effort: an IPv6 socket that also takes IPv4 is not what we want here.
        let _ = sock.set_only_v6(true);
    }
    sock.bind(&bind.into())
        .map_err(|e| Error::io(e, format!("bind UDP {bind}")).with_peer(bind.to_string()))?;
    sock.set_nonblocking(true)
        .map_err(|e| Error::io(e, "set non-blocking"))?;
    UdpSocket::from_std(sock.into()).map_err(|e| Error::io(e, "register UDP socket"))
}

/// A UDP socket for sending multicast out of the interface with address `iface` (bound to it on
/// an ephemeral port, so that unicast answers come back to it).
pub(crate) fn multicast_sender(iface: Ipv4Addr) -> Result<UdpSocket> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| Error::io(e, "create UDP socket"))?;
    sock.set_multicast_if_v4(&iface)
        .map_err(|e| Error::io(e, format!("set multicast interface {iface}")))?;
    sock.set_multicast_ttl_v4(MULTICAST_TTL)
        .map_err(|e| Error::io(e, "set multicast TTL"))?;
    sock.set_multicast_loop_v4(true)
        .map_err(|e| Error::io(e, "set multicast loop"))?;
    let bind = SocketAddr::new(IpAddr::V4(iface), 0);
    sock.bind(&bind.into())
        .map_err(|e| Error::io(e, format!("bind UDP {bind}")))?;
    sock.set_nonblocking(true)
        .map_err(|e| Error::io(e, "set non-blocking"))?;
    UdpSocket::from_std(sock.into()).map_err(|e| Error::io(e, "register UDP socket"))
}

/// A socket bound to `bind` (SO_REUSEADDR) that has joined `group` on interface `iface`.
pub(crate) fn multicast_listener(
    bind: SocketAddr,
    group: Ipv4Addr,
    iface: Ipv4Addr,
) -> Result<UdpSocket> {
    let sock = udp_socket(bind, true)?;
    sock.join_multicast_v4(group, iface)
        .map_err(|e| Error::io(e, format!("join {group} on {iface}")))?;
    sock.set_multicast_ttl_v4(MULTICAST_TTL)
        .map_err(|e| Error::io(e, "set multicast TTL"))?;
    Ok(sock)
}

/// The IPv4 addresses of this host's interfaces that are up: non-loopback ones, or loopback
/// alone when there is nothing else (a test network namespace).
pub fn ipv4_interfaces() -> Result<Vec<Ipv4Addr>> {
    let all = if_addrs::get_if_addrs().map_err(|e| Error::io(e, "list network interfaces"))?;
    let mut v4: Vec<Ipv4Addr> = all
        .iter()
        .filter_map(|i| match i.ip() {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .collect();
    v4.sort();
    v4.dedup();
    let outside: Vec<Ipv4Addr> = v4.iter().copied().filter(|a| !a.is_loopback()).collect();
    Ok(if outside.is_empty() { v4 } else { outside })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ephemeral_ports_are_never_shared_even_when_reuse_is_asked() {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let socks: Vec<UdpSocket> = (0..300).map(|_| udp_socket(any, true).unwrap()).collect();
        let mut ports: Vec<u16> = socks
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect();
        ports.sort_unstable();
        let n = ports.len();
        ports.dedup();
        assert_eq!(ports.len(), n, "two sockets got the same ephemeral port");
    }
}
