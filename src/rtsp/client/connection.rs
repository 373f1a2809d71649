//! One RTSP connection: TCP or TLS, a [`Framer`] over one large read buffer, writes bounded in
//! time.

use std::future::Future as _;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use url::Url;

use super::coalesce::Coalescer;
use super::options::SessionOptions;
use crate::rtsp::framing::{Framer, Limits};
use crate::{Error, ErrorKind, Result};

/// Default port of `rtsp://`.
pub const RTSP_PORT: u16 = 554;
/// Default port of `rtsps://`.
pub const RTSPS_PORT: u16 = 322;
/// Free space kept in the read buffer before each read (one large read per wake-up): the
/// default of [`SessionOptions::read_buffer`].
pub const READ_CHUNK: usize = 256 * 1024;
/// Smallest [`SessionOptions::read_buffer`] (smaller values are raised to it).
pub const MIN_READ_CHUNK: usize = 4 * 1024;
/// Largest [`SessionOptions::read_buffer`] (larger values are lowered to it).
pub const MAX_READ_CHUNK: usize = 16 * 1024 * 1024;
/// Most bytes a waiting plain-TCP connection keeps of a partly received frame; with more, it
/// keeps its whole read buffer until the frame is complete.
pub const MAX_CARRY: usize = 8 * 1024;
/// Most bytes queued for writing (requests, RTCP, backchannel audio) before writes fail.
pub const MAX_QUEUED_WRITE: usize = 1024 * 1024;

enum Io {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// A connected RTSP byte stream and its framer.
pub(crate) struct Connection {
    io: Io,
    pub(crate) framer: Framer,
    /// `host:port` of the peer, for errors.
    pub(crate) peer: String,
    pub(crate) local: Option<std::net::SocketAddr>,
    pub(crate) remote: Option<std::net::SocketAddr>,
    /// SHA-256 of the certificate the server presented (RTSPS).
    pub(crate) tls_fingerprint: Option<[u8; 32]>,
    out: BytesMut,
    /// Free space reserved before each read ([`SessionOptions::read_buffer`], clamped).
    read_chunk: usize,
    /// The framer's buffer is a large one from the thread's pool (plain TCP).
    pooled: bool,
    /// The last read filled all the room it had.
    filled: bool,
    /// Read coalescing while playing ([`SessionOptions::read_coalescing`]).
    coalesce: Option<Coalescer>,
    /// The socket's receive low-water mark as last set (1: the system's default).
    low_water: usize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("tls", &matches!(self.io, Io::Tls(_)))
            .finish()
    }
}

impl Connection {
    /// Connects to the host of `url` (`rtsp://` on 554, `rtsps://` on 322 by default).
    pub(crate) async fn connect(url: &Url, opts: &SessionOptions) -> Result<Connection> {
        let tls = match url.scheme() {
            "rtsp" => false,
            "rtsps" => true,
            other => {
                return Err(Error::invalid_input(format!(
                    "unsupported URL scheme {other:?} (rtsp or rtsps)"
                )));
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| Error::invalid_input("URL without a host"))?;
        let port = url
            .port()
            .unwrap_or(if tls { RTSPS_PORT } else { RTSP_PORT });
        let host_for_connect = host.trim_start_matches('[').trim_end_matches(']');
        let peer = if host_for_connect.contains(':') {
            format!("[{host_for_connect}]:{port}")
        } else {
            format!("{host_for_connect}:{port}")
        };
        let tcp = match tokio::time::timeout(
            opts.timeouts.connect,
            TcpStream::connect((host_for_connect, port)),
        )
        .await
        {
            Err(_) => return Err(Error::timeout("RTSP connect").with_peer(&peer)),
            Ok(Err(e)) => {
                let kind = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::AddrNotAvailable => ErrorKind::Unreachable,
                    _ => ErrorKind::Io,
                };
                return Err(Error::new(kind, "cannot connect")
                    .with_source(e)
                    .with_peer(&peer));
            }
            Ok(Ok(s)) => s,
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().ok();
        let remote = tcp.peer_addr().ok();
        let mut tls_fingerprint = None;
        let io = if tls {
            let seen = Arc::new(Mutex::new(None));
            let cfg = crate::onvif::tls::client_config(&opts.tls, seen.clone())?;
            let name = rustls::pki_types::ServerName::try_from(host_for_connect.to_owned())
                .map_err(|_| Error::invalid_input("host name not usable for TLS"))?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
            let r = tokio::time::timeout(opts.timeouts.connect, connector.connect(name, tcp)).await;
            tls_fingerprint = seen.lock().ok().and_then(|g| *g);
            match r {
                Err(_) => return Err(Error::timeout("RTSPS handshake").with_peer(&peer)),
                Ok(Err(e)) => {
                    let is_cert = e
                        .get_ref()
                        .and_then(|i| i.downcast_ref::<rustls::Error>())
                        .is_some_and(|r| {
                            matches!(
                                r,
                                rustls::Error::InvalidCertificate(_)
                                    | rustls::Error::NoCertificatesPresented
                            )
                        });
                    let kind = if is_cert {
                        ErrorKind::TlsCertificate
                    } else {
                        ErrorKind::Io
                    };
                    return Err(Error::new(kind, "RTSPS handshake failed")
                        .with_source(e)
                        .with_peer(&peer));
                }
                Ok(Ok(s)) => Io::Tls(Box::new(s)),
            }
        } else {
            Io::Tcp(tcp)
        };
        let mut framer = Framer::new(Limits::default());
        // Plain TCP reads into buffers of the thread's pool; TLS reads through rustls into
        // the connection's own buffer (allocated at the first read).
        *framer.read_buf() = BytesMut::new();
        framer.leave_room_to_caller();
        let read_chunk = opts.read_buffer.clamp(MIN_READ_CHUNK, MAX_READ_CHUNK);
        Ok(Connection {
            io,
            framer,
            peer,
            local,
            remote,
            tls_fingerprint,
            out: BytesMut::with_capacity(2048),
            read_chunk,
            pooled: false,
            filled: false,
            // Only where the low-water mark can be set: elsewhere a deadline per interval
            // would only add wake-ups.
            coalesce: (low_water::SUPPORTED && !opts.read_coalescing.is_zero())
                .then(|| Coalescer::new(opts.read_coalescing, read_chunk)),
            low_water: 1,
        })
    }

    /// Whether the connection is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.io, Io::Tls(_))
    }

    /// Queues `f`'s output and writes everything queued within `limit`.
    ///
    /// Cancel-safe: bytes not written when the future is dropped (or the time runs out) stay
    /// queued and go out first at the next write or [`flush`](Self::flush).
    pub(crate) async fn write_with(
        &mut self,
        limit: Duration,
        f: impl FnOnce(&mut BytesMut) -> Result<()>,
    ) -> Result<()> {
        if self.out.len() > MAX_QUEUED_WRITE {
            return Err(Error::limit("queued RTSP output", MAX_QUEUED_WRITE).with_peer(&self.peer));
        }
        f(&mut self.out)?;
        self.flush(limit).await
    }

    /// Whether bytes wait to be written.
    pub(crate) fn has_queued(&self) -> bool {
        !self.out.is_empty()
    }

    /// Writes what is queued within `limit`.
    pub(crate) async fn flush(&mut self, limit: Duration) -> Result<()> {
        let peer = &self.peer;
        let out = &mut self.out;
        let io = &mut self.io;
        let w = async {
            while !out.is_empty() {
                let n = match io {
                    Io::Tcp(s) => s.write(out).await?,
                    Io::Tls(s) => s.write(out).await?,
                };
                if n == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::WriteZero));
                }
                out.advance(n);
            }
            match io {
                Io::Tcp(s) => s.flush().await,
                Io::Tls(s) => s.flush().await,
            }
        };
        match tokio::time::timeout(limit, w).await {
            Err(_) => Err(Error::timeout("RTSP write").with_peer(peer)),
            Ok(Err(e)) => Err(Error::io(e, "RTSP write").with_peer(peer)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Reads what is available (one large read) into the framer. End of stream is an
    /// [`ErrorKind::Io`] error.
    ///
    /// Plain TCP waits for readiness first and only then takes a buffer from the thread's pool
    /// ([`bufpool`](super::bufpool)), so that a waiting session holds none; see
    /// [`park_read_buffer`](Self::park_read_buffer).
    pub(crate) async fn read_more(&mut self) -> Result<usize> {
        if let Some(c) = &mut self.coalesce {
            c.reset();
        }
        self.set_low_water(1)?;
        self.read_some().await
    }

    /// [`read_more`](Self::read_more) while playing with read coalescing: the kernel wakes the
    /// session once about [`SessionOptions::read_coalescing`] of the stream is queued (or at
    /// [`coalesce_deadline`](Self::coalesce_deadline), see [`read_now`](Self::read_now)).
    pub(crate) async fn read_more_coalesced(&mut self) -> Result<usize> {
        let n = self.read_some().await?;
        if let Some(c) = &mut self.coalesce {
            let mark = c.on_read(n, super::now());
            let cur = self.low_water;
            if mark.abs_diff(cur) > cur / 2 {
                // Not fatal: reads go on, with more wake-ups.
                let _ = self.set_low_water(mark);
            }
        }
        Ok(n)
    }

    /// When a coalescing session reads whatever has come, whether or not the low-water mark
    /// was reached (`None`: no coalescing, or the mark is 1).
    pub(crate) fn coalesce_deadline(&self) -> Option<std::time::Instant> {
        self.coalesce.as_ref().and_then(Coalescer::deadline)
    }

    /// At the [`coalesce_deadline`](Self::coalesce_deadline): the low-water mark goes back to
    /// one byte until the next read, which sets it again from the rate it sees.
    pub(crate) fn read_now(&mut self) -> Result<()> {
        if let Some(c) = &mut self.coalesce {
            c.on_deadline();
        }
        self.set_low_water(1)
    }

    fn set_low_water(&mut self, bytes: usize) -> Result<()> {
        if self.low_water == bytes {
            return Ok(());
        }
        let tcp = match &self.io {
            Io::Tcp(s) => s,
            Io::Tls(s) => s.get_ref().0,
        };
        match low_water::set(tcp, bytes) {
            Ok(()) => {
                self.low_water = bytes;
                Ok(())
            }
            // Never raised where it cannot be set.
            Err(_) if self.low_water == 1 => Ok(()),
            Err(e) => Err(Error::io(e, "setting SO_RCVLOWAT").with_peer(&self.peer)),
        }
    }

    async fn read_some(&mut self) -> Result<usize> {
        let r = match &mut self.io {
            Io::Tcp(s) => loop {
                if let Err(e) = s.readable().await {
                    break Err(e);
                }
                let need = room_needed(self.read_chunk, &self.framer);
                let buf = self.framer.read_buf();
                if buf.capacity() - buf.len() < need {
                    let want = self.read_chunk.max(buf.len() + need);
                    let mut fresh = super::bufpool::take(want);
                    fresh.extend_from_slice(buf);
                    super::bufpool::give(std::mem::replace(buf, fresh));
                    self.pooled = true;
                }
                // One poll of a read: on a short read tokio knows the socket is drained (no
                // second read to see it would block); if readiness was stale, the buffer goes
                // back before waiting again.
                let room = buf.capacity() - buf.len();
                let polled = {
                    let mut read = std::pin::pin!(s.read_buf(buf));
                    std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await
                };
                match polled {
                    Poll::Ready(r) => {
                        self.filled = matches!(r, Ok(n) if n == room);
                        break r;
                    }
                    Poll::Pending => {
                        self.filled = false;
                        park(&mut self.framer, &mut self.pooled);
                    }
                }
            },
            Io::Tls(s) => {
                let need = room_needed(self.read_chunk, &self.framer);
                let buf = self.framer.read_buf();
                if buf.capacity() - buf.len() < need {
                    buf.reserve(self.read_chunk.max(need));
                }
                s.read_buf(buf).await
            }
        };
        match r {
            Ok(0) => Err(
                Error::new(ErrorKind::Io, "the server closed the connection").with_peer(&self.peer),
            ),
            Ok(n) => Ok(n),
            Err(e) => Err(Error::io(e, "RTSP read").with_peer(&self.peer)),
        }
    }

    /// Before waiting for the camera: gives the read buffer back to the thread's pool when
    /// what it holds is at most [`MAX_CARRY`] bytes (the tail of a frame not yet complete),
    /// which are kept in a small buffer of their own. Plain TCP only (TLS keeps its buffer).
    ///
    /// Not after a read that filled all the room it had: more bytes are most likely waiting
    /// (a stream faster than the reads), and the buffer is kept for the next read.
    pub(crate) fn park_read_buffer(&mut self) {
        if !self.filled {
            park(&mut self.framer, &mut self.pooled);
        }
    }

    /// Whether the next read still has room in the read buffer (it is not replaced nor
    /// grown): frames being assembled may then go on referring to it. A buffer given back to
    /// the pool while it waits is taken again at the next wake-up (the most recent first), or
    /// by another session of the thread, which then uses the room after what is pinned.
    pub(crate) fn read_buffer_stays(&self) -> bool {
        self.framer.room() >= room_needed(self.read_chunk, &self.framer)
    }

    /// Closes the write side (bounded in time).
    pub(crate) async fn shutdown(&mut self) {
        let f = async {
            match &mut self.io {
                Io::Tcp(s) => s.shutdown().await,
                Io::Tls(s) => s.shutdown().await,
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), f).await;
    }
}

/// The socket receive low-water mark (`SO_RCVLOWAT`): on Linux, a TCP socket is reported
/// readable (and its waiters woken) only once that many bytes are queued, or at the end of
/// the stream or an error; a read still returns what is there.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod low_water {
    // nix has no ready-made option for it; its macro builds one (the FFI call stays in nix).
    use nix::{libc, setsockopt_impl, sockopt_impl};

    pub(super) const SUPPORTED: bool = true;
    sockopt_impl!(
        RcvLowat,
        SetOnly,
        libc::SOL_SOCKET,
        libc::SO_RCVLOWAT,
        usize
    );

    pub(super) fn set(s: &tokio::net::TcpStream, bytes: usize) -> std::io::Result<()> {
        nix::sys::socket::setsockopt(s, RcvLowat, &bytes).map_err(std::io::Error::from)
    }
}

/// Elsewhere the low-water mark is left alone (no read coalescing).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod low_water {
    pub(super) const SUPPORTED: bool = false;

    pub(super) fn set(_: &tokio::net::TcpStream, _: usize) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// Free room a read needs in the buffer: a quarter of a read (`read_chunk`), and the rest of
/// an interleaved frame begun.
fn room_needed(read_chunk: usize, framer: &Framer) -> usize {
    (read_chunk / 4).max(framer.wanted())
}

/// See [`Connection::park_read_buffer`]. `pooled`: the framer's buffer came from the pool.
fn park(framer: &mut Framer, pooled: &mut bool) {
    let buf = framer.read_buf();
    if !*pooled || buf.len() > MAX_CARRY {
        return;
    }
    *pooled = false;
    let carry = if buf.is_empty() {
        BytesMut::new()
    } else {
        BytesMut::from(&buf[..])
    };
    super::bufpool::give(std::mem::replace(buf, carry));
}
