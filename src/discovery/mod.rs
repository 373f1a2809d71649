//! Finding cameras: WS-Discovery (multicast, unicast, subnet sweep, Hello/Bye), a WS-Discovery
//! responder for mock cameras, and a port probe that tells which services a host offers.
//!
//! * [`ws_discovery`]: the pure message layer (Probe, ProbeMatches, Hello, Bye).
//! * [`scopes`]: the well-known ONVIF scopes, decoded.
//! * [`responder`]: the device side (which matches to send; a UDP responder task).
//! * [`probe`]: the client side (search, sweep, listen).
//! * [`ports`]: which services a host offers on the usual camera ports.
//! * [`dns`] and [`mdns`]: DNS-SD browsing for `_rtsp._tcp`, `_onvif._tcp`, `_http._tcp` and
//!   `_axis-video._tcp`.

pub mod dns;
pub mod mdns;
pub mod merge;
mod net;
pub mod ports;
pub mod probe;
pub mod responder;
pub mod scopes;
pub mod ws_discovery;

pub use net::ipv4_interfaces;
