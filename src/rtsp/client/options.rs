//! Per-session options.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::auth::Credentials;
use crate::codec::nal::NalFormat;
use crate::onvif::tls::TlsPolicy;
use crate::rtsp::headers::Range;
use crate::rtsp::session::KeepaliveMethod;

/// The `User-Agent` sent unless the options say otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("camlink/", env!("CARGO_PKG_VERSION"));

/// Longest [`SessionOptions::read_coalescing`].
pub const MAX_READ_COALESCING: Duration = Duration::from_secs(1);

/// How RTP travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportMode {
    /// Interleaved on the RTSP TCP (or TLS) connection.
    #[default]
    Tcp,
    /// UDP unicast, an even/odd port pair per stream.
    Udp,
    /// UDP multicast: the group and ports come from the server's `Transport` answer.
    Multicast,
    /// UDP first; TCP when UDP SETUP is refused or no packet arrives within
    /// [`Timeouts::first_packet`]; UDP when the server refuses TCP.
    Auto,
}

/// What happens to the server-side session when a [`Session`](super::Session) is dropped or
/// torn down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeardownPolicy {
    /// Send TEARDOWN (bounded by [`Timeouts::teardown`]) when the server would otherwise keep
    /// streaming: UDP or multicast sessions, and servers known to keep stale sessions alive
    /// (old live555). Over TCP, closing the connection ends the session on other servers.
    #[default]
    Auto,
    /// Always send TEARDOWN.
    Always,
    /// Never send TEARDOWN; just close the connection.
    Never,
}

/// Time limits of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up. Default 10 s.
    pub connect: Duration,
    /// Each RTSP response. Default 10 s.
    pub response: Duration,
    /// The first RTP packet after PLAY. Default 10 s.
    pub first_packet: Duration,
    /// Longest silence (no RTP, no RTCP) while playing. Default 10 s.
    pub no_data: Duration,
    /// TEARDOWN, when sent. Default 2 s.
    pub teardown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(10),
            first_packet: Duration::from_secs(10),
            no_data: Duration::from_secs(10),
            teardown: Duration::from_secs(2),
        }
    }
}

/// ONVIF replay (Profile G) request headers for PLAY.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// `Range` (e.g. `clock=20240101T000000Z-`).
    pub range: Option<Range>,
    /// `Scale` (playback speed; negative for reverse).
    pub scale: Option<f64>,
    /// Send `Rate-Control: no` (the server sends as fast as it reads the recording).
    pub rate_control_off: bool,
    /// Send `Immediate: yes`.
    pub immediate: bool,
}

/// Options of a [`Session`](super::Session).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionOptions {
    /// Credentials, used instead of those in the URL when given.
    pub credentials: Option<Credentials>,
    /// Transport of the media.
    pub transport: TransportMode,
    /// `User-Agent` (`None` sends none).
    pub user_agent: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// TEARDOWN policy.
    pub teardown: TeardownPolicy,
    /// Keepalive method.
    pub keepalive: KeepaliveMethod,
    /// Local UDP ports to take even/odd pairs from (`None`: any free pair).
    pub udp_ports: Option<RangeInclusive<u16>>,
    /// How RTCP receiver reports are sent: the interval (also over TCP, for cameras that want
    /// traffic). Default 5 s.
    pub receiver_report_interval: Duration,
    /// UDP reorder buffer: packets held. Default 64.
    pub reorder_depth: usize,
    /// UDP reorder buffer: longest a packet waits for a missing one. Default 50 ms.
    pub reorder_delay: Duration,
    /// Socket receive buffer asked for UDP sockets (bytes). Default 4 MiB.
    pub udp_receive_buffer: usize,
    /// Free space kept in the RTSP connection's read buffer before each read (bytes): the
    /// most one read takes. Default [`READ_CHUNK`](super::READ_CHUNK) (256 KiB), clamped to
    /// [`MIN_READ_CHUNK`](super::MIN_READ_CHUNK)..=[`MAX_READ_CHUNK`](super::MAX_READ_CHUNK).
    /// Over UDP the same size is reserved at a time for datagrams.
    ///
    /// Over plain TCP and UDP the buffer is not the session's: it comes from a small pool per
    /// thread when the socket is readable and goes back before the session waits again (a
    /// waiting session keeps at most the tail of a frame not yet complete, 8 KiB), so
    /// hundreds of sessions share a few buffers and the size costs no memory per session.
    /// Payloads that codecs keep as slices (audio, metadata, JPEG) keep their part of it
    /// alive until dropped. RTSPS keeps a buffer of this size per session.
    pub read_buffer: usize,
    /// Read coalescing while playing, Linux and Android: one wake-up of the session handles
    /// several frames instead of one. Frames then come out in bursts, up to about this much
    /// later than without it; in exchange a stream costs less CPU (at 200 ms, in
    /// `scripts/bench-sessions.sh`: about 45 % of it with one TCP session, half with 500 TCP
    /// sessions, about 60 % with 500 UDP sessions, see `benches/README.md`): for
    /// recording rather than live view. Default zero (off: each arrival is read at once); at most
    /// [`MAX_READ_COALESCING`]. Other systems ignore it.
    ///
    /// - Over TCP (or TLS), the kernel lets about three quarters of this interval of the
    ///   stream collect in the socket before it wakes the session (the socket's receive
    ///   low-water mark, `SO_RCVLOWAT`, follows the stream's rate); when less comes, the
    ///   session reads what is there one interval (plus 64 ms, a margin that saves a timer
    ///   wake-up per read) after its previous read. Responses awaited by
    ///   [`Session`](super::Session) calls are not held back.
    /// - Over UDP, the RTP sockets are left out of the runtime's readiness polling (Linux
    ///   would wake the session for every datagram) and drained on a clock: at most this
    ///   interval apart, sooner when their receive buffer (see
    ///   [`udp_receive_buffer`](Self::udp_receive_buffer)) was more than a quarter full at the
    ///   previous drain, so that a fast stream or a small buffer does not overflow (the clock
    ///   starts at 10 ms and lengthens as the fill allows; the fill is read every eighth
    ///   drain and estimated in between from what the drains read). A burst larger than the buffer
    ///   within one tick is still lost, as it would be for any reader that falls behind. RTCP
    ///   sockets wake the session as usual.
    pub read_coalescing: Duration,
    /// How H.264/H.265 frames come out.
    pub nal_format: NalFormat,
    /// Allow Basic authentication over plain RTSP.
    pub basic_over_plaintext: bool,
    /// RTSPS certificate trust.
    pub tls: TlsPolicy,
    /// Ask for the ONVIF audio backchannel (`Require: www.onvif.org/ver20/backchannel`).
    pub backchannel: bool,
    /// ONVIF replay headers for PLAY.
    pub replay: Option<Replay>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            credentials: None,
            transport: TransportMode::Tcp,
            user_agent: Some(DEFAULT_USER_AGENT.to_owned()),
            timeouts: Timeouts::default(),
            teardown: TeardownPolicy::Auto,
            keepalive: KeepaliveMethod::Auto,
            udp_ports: None,
            receiver_report_interval: Duration::from_secs(5),
            reorder_depth: 64,
            reorder_delay: Duration::from_millis(50),
            udp_receive_buffer: 4 * 1024 * 1024,
            read_buffer: super::READ_CHUNK,
            read_coalescing: Duration::ZERO,
            nal_format: NalFormat::AnnexB,
            basic_over_plaintext: false,
            tls: TlsPolicy::Verify,
            backchannel: false,
            replay: None,
        }
    }
}

impl SessionOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the credentials (instead of any in the URL).
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.credentials = Some(c);
        self
    }
    /// Sets the transport.
    pub fn transport(mut self, t: TransportMode) -> Self {
        self.transport = t;
        self
    }
    /// Sets the `User-Agent` (`None`: no header).
    pub fn user_agent(mut self, ua: Option<String>) -> Self {
        self.user_agent = ua;
        self
    }
    /// Sets the time limits.
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }
    /// Sets the TEARDOWN policy.
    pub fn teardown(mut self, p: TeardownPolicy) -> Self {
        self.teardown = p;
        self
    }
    /// Sets the keepalive method.
    pub fn keepalive(mut self, k: KeepaliveMethod) -> Self {
        self.keepalive = k;
        self
    }
    /// Sets the local UDP port range.
    pub fn udp_ports(mut self, r: RangeInclusive<u16>) -> Self {
        self.udp_ports = Some(r);
        self
    }
    /// Sets the NAL unit format of video frames.
    pub fn nal_format(mut self, f: NalFormat) -> Self {
        self.nal_format = f;
        self
    }
    /// Allows Basic authentication over plain RTSP.
    pub fn basic_over_plaintext(mut self, allow: bool) -> Self {
        self.basic_over_plaintext = allow;
        self
    }
    /// Sets the RTSPS certificate trust.
    pub fn tls(mut self, p: TlsPolicy) -> Self {
        self.tls = p;
        self
    }
    /// Asks for the ONVIF backchannel.
    pub fn backchannel(mut self, on: bool) -> Self {
        self.backchannel = on;
        self
    }
    /// Sets ONVIF replay headers.
    pub fn replay(mut self, r: Replay) -> Self {
        self.replay = Some(r);
        self
    }
    /// Sets the free space kept in the read buffer before each read (see
    /// [`read_buffer`](Self::read_buffer)).
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes;
        self
    }
    /// Sets the read coalescing interval (see [`read_coalescing`](Self::read_coalescing));
    /// longer than [`MAX_READ_COALESCING`] is lowered to it.
    pub fn read_coalescing(mut self, d: Duration) -> Self {
        self.read_coalescing = d.min(MAX_READ_COALESCING);
        self
    }
    /// Sets the RTCP receiver report interval.
    pub fn receiver_report_interval(mut self, d: Duration) -> Self {
        self.receiver_report_interval = d;
        self
    }
}
