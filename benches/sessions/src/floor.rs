//! The floor: the least a client can pay for the same streams, as a reference for how close
//! camlink is to the machine's limit (issue 9). No library: a bare RTSP dialogue (SETUP, PLAY)
//! with the light sender, then only what any RTSP client must do to hand out frames — take
//! the bytes out of the kernel, find each RTP packet (the interleaved header over TCP, one
//! datagram over UDP), read its sequence number, timestamp and marker bit, and count a frame at
//! each marker. No depacketizing, no copy of a payload, no RTCP, no keepalive.
//!
//! The reads are the cheapest the socket API offers here: over TCP, 256 KiB reads; over UDP,
//! `recvmmsg` batches from a 4 MiB receive buffer (camlink's settings); both into one buffer per
//! thread that its sessions share, so that it stays in the CPU cache. With `--coalesce-ms T`
//! the floor sleeps T ms between batches and then reads everything queued (no readiness
//! wake-ups at all); without, it waits for readiness like a live-view client.
//!
//! Only for the light sender (`serve --sender light`), whose dialogue it knows.

use std::collections::VecDeque;
use std::os::fd::AsRawFd as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::client::{FrameSource, Transport, VideoFrame};

/// Bytes per TCP read (camlink's default read buffer).
const TCP_READ: usize = 256 * 1024;
/// Datagrams per `recvmmsg` call (camlink's most, `udp_batch::MAX_BATCH`), and the room for
/// each (the light sender's datagrams are at most 1412 bytes).
const BATCH: usize = 128;
const DATAGRAM: usize = 2048;
/// UDP receive buffer asked for (camlink asks the same; the kernel caps it at rmem_max).
const UDP_RCVBUF: usize = 4 * 1024 * 1024;
/// Bound on each step of the RTSP dialogue.
const DIALOGUE_TIMEOUT: Duration = Duration::from_secs(10);

/// A playing floor session.
pub struct Floor {
    /// The RTSP connection; after PLAY over TCP, the media's too.
    ctrl: Io<TcpStream, std::net::TcpStream>,
    /// RTP over UDP (with the RTCP socket, kept open and never read).
    udp: Option<(
        Io<tokio::net::UdpSocket, std::net::UdpSocket>,
        std::net::UdpSocket,
    )>,
    coalesce: Option<Duration>,
    /// TCP: the dialogue's bytes, then the partial interleaved frame a read ended in.
    carry: Vec<u8>,
    frames: VecDeque<VideoFrame>,
    rtp: RtpTrack,
}

/// A socket in tokio's readiness polling (woken per arrival), or, with coalescing, a plain
/// non-blocking one read only when the interval is over (no wake-up at all in between, as
/// camlink's coalescing UDP sockets).
enum Io<T, S> {
    Polled(T),
    Plain(S),
    /// Between the two (never seen outside `into_plain`).
    Gone,
}

/// What the floor keeps of the RTP stream: sequence numbers for losses, the extended timestamp
/// and the bytes of the frame in progress.
#[derive(Default)]
struct RtpTrack {
    last_seq: Option<u16>,
    lost: u64,
    last_ts: Option<(u32, i64)>,
    frame_bytes: usize,
}

impl RtpTrack {
    /// One RTP packet; a frame ends at its marker bit.
    fn packet(&mut self, p: &[u8], out: &mut VecDeque<VideoFrame>) {
        if p.len() < 12 || p[0] >> 6 != 2 {
            return;
        }
        let seq = u16::from_be_bytes([p[2], p[3]]);
        if let Some(last) = self.last_seq {
            let gap = seq.wrapping_sub(last);
            if gap > 1 && gap < 0x8000 {
                self.lost += u64::from(gap - 1);
            }
        }
        self.last_seq = Some(seq);
        let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        let ext = match self.last_ts {
            Some((last, ext)) => ext + i64::from(ts.wrapping_sub(last) as i32),
            None => i64::from(ts),
        };
        self.last_ts = Some((ts, ext));
        self.frame_bytes += p.len() - 12;
        if p[1] & 0x80 != 0 {
            out.push_back((ext, self.frame_bytes, std::mem::take(&mut self.lost)));
            self.frame_bytes = 0;
        }
    }
}

impl Floor {
    /// SETUP and PLAY against the light sender at `url` (`rtsp://host:port/...`).
    pub async fn open(
        url: &str,
        transport: Transport,
        coalesce: Option<Duration>,
    ) -> Result<Floor, String> {
        let u = url::Url::parse(url).map_err(|e| e.to_string())?;
        let host = u.host_str().ok_or("no host in url")?.to_owned();
        let port = u.port().unwrap_or(554);
        let ctrl =
            tokio::time::timeout(DIALOGUE_TIMEOUT, TcpStream::connect((host.as_str(), port)))
                .await
                .map_err(|_| "connect timed out".to_owned())?
                .map_err(|e| e.to_string())?;
        let _ = ctrl.set_nodelay(true);
        let (udp, transport_header) = match transport {
            Transport::Tcp => (None, "RTP/AVP/TCP;unicast;interleaved=0-1".to_owned()),
            Transport::Udp => {
                let (rtp, rtcp) = udp_pair()?;
                let a = rtp.local_addr().map_err(|e| e.to_string())?.port();
                set_rcvbuf(&rtp);
                rtp.set_nonblocking(true).map_err(|e| e.to_string())?;
                let rtp = if coalesce.is_some() {
                    Io::Plain(rtp)
                } else {
                    Io::Polled(tokio::net::UdpSocket::from_std(rtp).map_err(|e| e.to_string())?)
                };
                (
                    Some((rtp, rtcp)),
                    format!("RTP/AVP;unicast;client_port={a}-{}", a + 1),
                )
            }
        };
        let mut f = Floor {
            ctrl: Io::Polled(ctrl),
            udp,
            coalesce,
            carry: Vec::new(),
            frames: VecDeque::new(),
            rtp: RtpTrack::default(),
        };
        let base = format!("rtsp://{host}:{port}/stream/");
        f.request(&format!(
            "SETUP {base}trackID=1 RTSP/1.0\r\nCSeq: 1\r\nTransport: {transport_header}\r\n\r\n"
        ))
        .await?;
        f.request(&format!(
            "PLAY {base} RTSP/1.0\r\nCSeq: 2\r\nSession: 1\r\nRange: npt=0.000-\r\n\r\n"
        ))
        .await?;
        if coalesce.is_some()
            && f.udp.is_none()
            && let Io::Polled(c) = std::mem::replace(&mut f.ctrl, Io::Gone)
        {
            f.ctrl = Io::Plain(c.into_std().map_err(|e| e.to_string())?);
        }
        Ok(f)
    }

    /// Sends a request and reads its response head (the light sender sends no body after
    /// SETUP or PLAY); bytes after it (interleaved data) stay in `carry`.
    async fn request(&mut self, req: &str) -> Result<(), String> {
        let Io::Polled(ctrl) = &mut self.ctrl else {
            return Err("floor: no dialogue after PLAY".to_owned());
        };
        let buf = &mut self.carry;
        let step = async {
            ctrl.write_all(req.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            loop {
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    if !head.starts_with("RTSP/1.0 200") {
                        return Err(format!(
                            "floor: {}",
                            head.lines().next().unwrap_or_default()
                        ));
                    }
                    return Ok(());
                }
                if buf.len() > 64 * 1024 {
                    return Err("floor: response head too long".to_owned());
                }
                let n = ctrl.read_buf(buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("floor: connection closed".to_owned());
                }
            }
        };
        tokio::time::timeout(DIALOGUE_TIMEOUT, step)
            .await
            .map_err(|_| "floor: response timed out".to_owned())?
    }

    /// Reads one batch (waiting for readiness, or sleeping the coalescing interval first) and
    /// parses the packets in it. `Ok(false)`: the stream ended.
    async fn read_batch(&mut self) -> Result<bool, String> {
        if let Some(t) = self.coalesce {
            tokio::time::sleep(t).await;
        }
        loop {
            if let Io::Polled(c) = &self.ctrl
                && self.udp.is_none()
            {
                c.readable().await.map_err(|e| e.to_string())?;
            }
            if let Some((Io::Polled(u), _)) = &self.udp {
                u.readable().await.map_err(|e| e.to_string())?;
            }
            let r = match &mut self.udp {
                None => read_tcp(&self.ctrl, &mut self.carry, &mut self.rtp, &mut self.frames),
                Some((u, _)) => read_udp(u, &mut self.rtp, &mut self.frames),
            };
            match r {
                Ok(Some(full)) => {
                    if !full {
                        return Ok(true);
                    }
                }
                Ok(None) => return Ok(false),
                // Polled: readiness was stale (tokio cleared it); plain: drained.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.coalesce.is_some() {
                        return Ok(true);
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// One TCP read into this thread's buffer (shared by its sessions, so that it stays in the CPU
/// cache, as camlink's pooled read buffers do), after the carried partial frame; parses what
/// it can and carries the rest. `Some(filled)`: whether the read took all the room it had;
/// `None`: the end of the stream.
fn read_tcp(
    ctrl: &Io<TcpStream, std::net::TcpStream>,
    carry: &mut Vec<u8>,
    rtp: &mut RtpTrack,
    frames: &mut VecDeque<VideoFrame>,
) -> std::io::Result<Option<bool>> {
    READ_BUF.with_borrow_mut(|buf| {
        let c = carry.len();
        // Zeroed once per thread (the largest carry is one interleaved frame, < 64 KiB + 4).
        if buf.len() < c + TCP_READ {
            buf.resize(c + TCP_READ, 0);
        }
        buf[..c].copy_from_slice(carry);
        let room = &mut buf[c..c + TCP_READ];
        let n = match ctrl {
            Io::Polled(s) => s.try_read(room)?,
            Io::Plain(s) => std::io::Read::read(&mut &*s, room)?,
            Io::Gone => return Err(std::io::Error::other("no connection")),
        };
        if n == 0 {
            return Ok(None);
        }
        let used = parse_interleaved(&buf[..c + n], rtp, frames);
        carry.clear();
        carry.extend_from_slice(&buf[used..c + n]);
        Ok(Some(n == TCP_READ))
    })
}

/// One `recvmmsg` into this thread's scratch datagrams; parses them. `Some(filled)`: whether
/// the batch was full.
fn read_udp(
    u: &Io<tokio::net::UdpSocket, std::net::UdpSocket>,
    rtp: &mut RtpTrack,
    frames: &mut VecDeque<VideoFrame>,
) -> std::io::Result<Option<bool>> {
    SCRATCH.with_borrow_mut(|scratch| {
        let lens = match u {
            Io::Polled(s) => s.try_io(tokio::io::Interest::READABLE, || {
                recv_batch(s.as_raw_fd(), scratch)
            })?,
            Io::Plain(s) => recv_batch(s.as_raw_fd(), scratch)?,
            Io::Gone => return Err(std::io::Error::other("no socket")),
        };
        for (d, &n) in scratch.iter().zip(&lens) {
            rtp.packet(&d[..n], frames);
        }
        Ok(Some(lens.len() == BATCH))
    })
}

impl FrameSource for Floor {
    const LIB: &str = "floor";
    async fn next_frame(&mut self) -> Option<Result<Option<VideoFrame>, String>> {
        loop {
            if let Some(f) = self.frames.pop_front() {
                return Some(Ok(Some(f)));
            }
            match self.read_batch().await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

thread_local! {
    /// TCP reads of the sessions on this thread.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// UDP datagrams of the sessions on this thread.
    static SCRATCH: std::cell::RefCell<Vec<[u8; DATAGRAM]>> =
        std::cell::RefCell::new(vec![[0u8; DATAGRAM]; BATCH]);
}

/// Every complete interleaved frame at the front of `buf` (RTP on channel 0; others skipped);
/// the bytes used (what follows is the start of an incomplete one).
fn parse_interleaved(buf: &[u8], rtp: &mut RtpTrack, out: &mut VecDeque<VideoFrame>) -> usize {
    let mut at = 0;
    while buf.len() >= at + 4 && buf[at] == b'$' {
        let len = usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]));
        if buf.len() < at + 4 + len {
            break;
        }
        if buf[at + 1] == 0 {
            rtp.packet(&buf[at + 4..at + 4 + len], out);
        }
        at += 4 + len;
    }
    at
}

/// One `recvmmsg` of up to [`BATCH`] datagrams into `scratch`, without waiting; their lengths.
fn recv_batch(fd: i32, scratch: &mut [[u8; DATAGRAM]]) -> std::io::Result<Vec<usize>> {
    let n = scratch.len().min(BATCH);
    let mut iov: Vec<libc::iovec> = scratch[..n]
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: DATAGRAM,
        })
        .collect();
    // SAFETY: an all-zero mmsghdr is valid (no name, no control data); each gets one iovec
    // below, pointing into `scratch`, which outlives the call.
    let mut msgs: Vec<libc::mmsghdr> = (0..n).map(|_| unsafe { std::mem::zeroed() }).collect();
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs` holds `n` initialised headers whose buffers are valid for writes of
    // DATAGRAM bytes each; MSG_DONTWAIT never blocks; no timeout pointer.
    let got = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if got < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(msgs[..got as usize]
        .iter()
        .map(|m| (m.msg_len as usize).min(DATAGRAM))
        .collect())
}

/// Asks for a [`UDP_RCVBUF`]-byte receive buffer (best effort).
fn set_rcvbuf(s: &std::net::UdpSocket) {
    let v = UDP_RCVBUF as libc::c_int;
    // SAFETY: a c_int option value of the size passed, on a socket we own.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// An even/odd pair of UDP ports on loopback (RTP, RTCP).
fn udp_pair() -> Result<(std::net::UdpSocket, std::net::UdpSocket), String> {
    for _ in 0..100 {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let p = a.local_addr().map_err(|e| e.to_string())?.port();
        if p % 2 != 0 || p == u16::MAX {
            continue;
        }
        if let Ok(b) = std::net::UdpSocket::bind(("127.0.0.1", p + 1)) {
            return Ok((a, b));
        }
    }
    Err("no free UDP port pair".to_owned())
}
