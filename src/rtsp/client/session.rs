//! [`Session`]: DESCRIBE → SETUP → PLAY → items, over one RTSP connection.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use url::Url;

use super::connection::Connection;
use super::item::Item;
use super::options::{SessionOptions, TeardownPolicy, TransportMode};
use super::stream::{RxStream, StreamInfo};
use super::udp::{UdpMedia, UdpStream};
use crate::auth::Credentials;
use crate::rtsp::framing::Item as Framed;
use crate::rtsp::headers::{Delivery, LowerTransport, Range, Transport};
use crate::rtsp::message::{Message, Method, Request, RequestBuilder, Response, names};
use crate::rtsp::sdp::SessionDescription;
use crate::rtsp::session::{ClientSession, Next};
use crate::{Error, ErrorKind, Result};

/// Interleaved packets that arrive while a response is awaited, kept for the item stream;
/// older ones are dropped (and reported as loss) beyond this.
pub const MAX_EARLY_PACKETS: usize = 1024;
/// Requests from the server answered while one response is awaited, before giving up.
pub const MAX_MESSAGES_PER_RESPONSE: usize = 64;
/// The `Require` value of the ONVIF audio backchannel.
pub const BACKCHANNEL_REQUIRE: &str = "www.onvif.org/ver20/backchannel";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Described,
    Playing,
    Closed,
}

/// Where a set-up stream's packets arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Rtp(usize),
    Rtcp(usize),
}

/// One RTSP session with a camera. See the [module docs](super).
pub struct Session {
    pub(super) url: Url,
    pub(super) opts: SessionOptions,
    pub(super) core: ClientSession,
    pub(super) conn: Option<Connection>,
    pub(super) sdp: SessionDescription,
    pub(super) aggregate: Url,
    pub(super) streams: Vec<StreamInfo>,
    /// Receive side of each stream set up; `channels` and the UDP sockets point into it.
    pub(super) rx: Vec<RxStream>,
    /// Interleaved channel → stream set up.
    pub(super) channels: Vec<Option<Route>>,
    /// The interleaved channel last handled in place and its stream (a copy of what
    /// `channels` and `rx` say, kept in the session itself: one cache miss less per wake-up
    /// among hundreds of sessions). Cleared whenever `channels` or `rx` change.
    pub(super) in_place: Option<(u8, usize)>,
    /// The transport chosen by the first SETUP.
    pub(super) transport: Option<LowerTransport>,
    pub(super) udp: Option<UdpMedia>,
    pub(super) early: VecDeque<(u8, Bytes)>,
    /// Early packets dropped, per stream set up (index into `rx`).
    pub(super) early_dropped: Vec<u64>,
    pub(super) pending: VecDeque<Item>,
    pub(super) state: State,
    pub(super) keepalive_cseq: Option<u32>,
    pub(super) last_data: Instant,
    pub(super) got_data: bool,
    pub(super) next_rr: Instant,
    pub(super) server: Option<String>,
    pub(super) rr_ssrc: u32,
    pub(super) deferred_error: Option<Error>,
    /// The play loop's timer (created at its first wait, inside the runtime).
    pub(super) sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("url", &crate::redact::redact_url_str(self.url.as_str()))
            .field("state", &self.state)
            .field("streams", &self.streams.len())
            .field("set_up", &self.rx.len())
            .finish()
    }
}

impl Session {
    /// Connects and sends DESCRIBE (following redirects a bounded number of times).
    ///
    /// Credentials come from `opts`, else from the URL's user-info (then removed from the URL).
    pub async fn describe(url: &str, opts: SessionOptions) -> Result<Session> {
        let parsed = Url::parse(url).map_err(|_| Error::invalid_input("not a URL"))?;
        let mut opts = opts;
        if opts.credentials.is_none() {
            opts.credentials = Credentials::from_url(&parsed);
        }
        let mut url = Credentials::strip_url(&parsed);
        let mut hops = 0u32;
        loop {
            let conn = Connection::connect(&url, &opts).await?;
            let core = ClientSession::new(opts.credentials.clone(), conn.is_tls())
                .with_basic_over_plaintext(opts.basic_over_plaintext)
                .with_user_agent(opts.user_agent.clone())
                .with_require(opts.backchannel.then(|| BACKCHANNEL_REQUIRE.to_owned()))
                .with_keepalive(opts.keepalive);
            let now = super::now();
            let mut s = Session {
                aggregate: url.clone(),
                url: url.clone(),
                opts: opts.clone(),
                core,
                conn: Some(conn),
                sdp: SessionDescription::default(),
                streams: Vec::new(),
                rx: Vec::new(),
                channels: vec![None; 256],
                in_place: None,
                transport: None,
                udp: None,
                early: VecDeque::new(),
                early_dropped: Vec::new(),
                pending: VecDeque::new(),
                state: State::Described,
                keepalive_cseq: None,
                last_data: now,
                got_data: false,
                next_rr: now,
                server: None,
                rr_ssrc: crate::auth::random_u64() as u32,
                deferred_error: None,
                sleep: None,
            };
            // OPTIONS first: learns the keepalive methods; failures are not fatal.
            let target = url.to_string();
            match s.exchange(Method::Options, &target, |b| b).await {
                Ok(Next::Done) | Ok(Next::Redirect(_)) => {}
                Ok(Next::Resend) => {}
                Err(e) if matches!(e.kind(), ErrorKind::RtspStatus(_)) => {
                    tracing::debug!(error = %e, "OPTIONS refused");
                }
                Err(e) => return Err(e),
            }
            let resp = match s
                .exchange_response(Method::Describe, &target, |b| {
                    b.header(names::ACCEPT, "application/sdp")
                })
                .await?
            {
                (Next::Redirect(to), _) => {
                    hops += 1;
                    if hops > crate::rtsp::session::MAX_REDIRECTS {
                        return Err(Error::new(ErrorKind::Protocol, "too many redirects"));
                    }
                    tracing::debug!("DESCRIBE redirected");
                    url = Credentials::strip_url(&to);
                    continue;
                }
                (_, r) => r,
            };
            s.server = resp.headers.get(names::SERVER).map(str::to_owned);
            let sdp = SessionDescription::parse(&resp.body)
                .map_err(|e| e.with_method("DESCRIBE").with_peer(s.peer()))?;
            let base = resp.base_url(&url);
            s.aggregate = sdp.control_url(&base).unwrap_or(base.clone());
            s.streams = sdp
                .media
                .iter()
                .enumerate()
                .filter_map(|(i, m)| StreamInfo::from_media(i, m, &base).ok())
                .collect();
            s.sdp = sdp;
            return Ok(s);
        }
    }

    /// DESCRIBE, SETUP of every supported receive stream, PLAY.
    pub async fn open(url: &str, opts: SessionOptions) -> Result<Session> {
        let mut s = Session::describe(url, opts).await?;
        s.setup_all().await?;
        s.play().await?;
        Ok(s)
    }

    /// The streams the camera offers.
    pub fn streams(&self) -> &[StreamInfo] {
        &self.streams
    }

    /// The session description.
    pub fn sdp(&self) -> &SessionDescription {
        &self.sdp
    }

    /// The session id, after SETUP.
    pub fn session_id(&self) -> Option<&str> {
        self.core.session_id()
    }

    /// The `Server` header of the DESCRIBE answer.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// SHA-256 fingerprint of the server certificate (RTSPS), to pin it.
    pub fn tls_fingerprint(&self) -> Option<[u8; 32]> {
        self.conn.as_ref().and_then(|c| c.tls_fingerprint)
    }

    /// The lower transport in use once a stream is set up.
    pub fn transport(&self) -> Option<LowerTransport> {
        self.transport.clone()
    }

    /// The local RTP ports of the UDP streams set up (RTCP is on the port above each).
    pub fn local_udp_ports(&self) -> Vec<u16> {
        self.udp.as_ref().map(|u| u.rtp_ports()).unwrap_or_default()
    }

    pub(super) fn peer(&self) -> String {
        self.conn
            .as_ref()
            .map(|c| c.peer.clone())
            .unwrap_or_default()
    }

    pub(super) fn conn(&mut self) -> Result<&mut Connection> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::Io, "the RTSP connection is closed"))
    }

    /// SETUP of every stream camlink can receive (backchannels and unknown codecs left out).
    pub async fn setup_all(&mut self) -> Result<()> {
        let wanted: Vec<usize> = self
            .streams
            .iter()
            .filter(|s| s.is_supported() && !s.backchannel)
            .map(|s| s.index)
            .collect();
        if wanted.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the camera offers no stream camlink can receive",
            ));
        }
        for i in wanted {
            self.setup(i).await?;
        }
        Ok(())
    }

    /// SETUP of one stream (by [`StreamInfo::index`]).
    pub async fn setup(&mut self, stream: usize) -> Result<()> {
        if self.state != State::Described {
            return Err(Error::invalid_input("SETUP after PLAY"));
        }
        let info = self
            .streams
            .iter()
            .find(|s| s.index == stream)
            .cloned()
            .ok_or_else(|| Error::invalid_input("no such stream"))?;
        if self.rx.iter().any(|r| r.index == stream) {
            return Ok(());
        }
        let rx = RxStream::new(&info, self.opts.nal_format)?;
        let mode = match self.transport {
            Some(LowerTransport::Tcp) => TransportMode::Tcp,
            Some(LowerTransport::Udp) if self.opts.transport == TransportMode::Multicast => {
                TransportMode::Multicast
            }
            Some(LowerTransport::Udp) => TransportMode::Udp,
            None => self.opts.transport,
        };
        let order: &[TransportMode] = match mode {
            TransportMode::Auto => &[TransportMode::Udp, TransportMode::Tcp],
            TransportMode::Tcp => &[TransportMode::Tcp],
            TransportMode::Udp => &[TransportMode::Udp],
            TransportMode::Multicast => &[TransportMode::Multicast],
        };
        let mut last_err = None;
        for m in order {
            match self.setup_with(&info, *m).await {
                Ok(route) => {
                    let k = self.rx.len();
                    self.rx.push(rx);
                    match route {
                        SetupRoute::Interleaved(rtp, rtcp) => {
                            self.in_place = None;
                            self.channels[usize::from(rtp)] = Some(Route::Rtp(k));
                            if let Some(c) = rtcp {
                                self.channels[usize::from(c)] = Some(Route::Rtcp(k));
                            }
                            self.transport = Some(LowerTransport::Tcp);
                        }
                        SetupRoute::Udp(u) => {
                            let media = self.udp.get_or_insert_with(|| {
                                UdpMedia::new(
                                    self.opts.reorder_depth,
                                    self.opts.reorder_delay,
                                    self.opts.read_buffer,
                                    self.opts.read_coalescing,
                                )
                            });
                            media.add(k, *u);
                            self.transport = Some(LowerTransport::Udp);
                        }
                    }
                    return Ok(());
                }
                Err(e) => {
                    let retry = matches!(
                        e.kind(),
                        ErrorKind::RtspStatus(461) | ErrorKind::RtspStatus(400)
                    ) && order.len() > 1;
                    if !retry {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, "transport refused; trying the next one");
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| Error::new(ErrorKind::Protocol, "SETUP failed")))
    }

    async fn setup_with(&mut self, info: &StreamInfo, mode: TransportMode) -> Result<SetupRoute> {
        let control = info.control.to_string();
        match mode {
            TransportMode::Tcp | TransportMode::Auto => {
                let used = self.channels.iter().filter(|c| c.is_some()).count();
                let rtp = u8::try_from(used.next_multiple_of(2))
                    .map_err(|_| Error::limit("interleaved channels", 256))?;
                let spec = Transport::tcp_interleaved(rtp);
                let (_, resp) = self
                    .exchange_response(Method::Setup, &control, |b| {
                        b.transport(std::slice::from_ref(&spec))
                    })
                    .await?;
                let t = resp
                    .headers
                    .get(names::TRANSPORT)
                    .map(Transport::parse_list)
                    .and_then(|l| l.into_iter().next());
                let (a, b) = match t.as_ref() {
                    Some(t) if t.lower == LowerTransport::Udp && !t.explicit_lower => {
                        // Some cameras echo without the /TCP; trust the interleaved channels.
                        t.interleaved.unwrap_or((rtp, rtp.checked_add(1)))
                    }
                    Some(t) => t.interleaved.unwrap_or((rtp, rtp.checked_add(1))),
                    None => (rtp, rtp.checked_add(1)),
                };
                Ok(SetupRoute::Interleaved(a, b))
            }
            TransportMode::Udp | TransportMode::Multicast => {
                let multicast = mode == TransportMode::Multicast;
                let local_ip = self
                    .conn
                    .as_ref()
                    .and_then(|c| c.local)
                    .map(|a| a.ip())
                    .ok_or_else(|| Error::new(ErrorKind::Io, "no local address"))?;
                let server_ip = self
                    .conn
                    .as_ref()
                    .and_then(|c| c.remote)
                    .map(|a| a.ip())
                    .ok_or_else(|| Error::new(ErrorKind::Io, "no peer address"))?;
                // Read coalescing: RTP sockets drained on a clock.
                let polled = !self.opts.read_coalescing.is_zero();
                let (spec, pair) = if multicast {
                    let spec = Transport {
                        profile: "RTP/AVP".into(),
                        delivery: Some(Delivery::Multicast),
                        ..Transport::default()
                    };
                    (spec, None)
                } else {
                    let pair = UdpStream::bind_pair(
                        local_ip,
                        self.opts.udp_ports.clone(),
                        self.opts.udp_receive_buffer,
                        polled,
                    )?;
                    (Transport::udp_unicast(pair.rtp_port()), Some(pair))
                };
                let (_, resp) = self
                    .exchange_response(Method::Setup, &control, |b| {
                        b.transport(std::slice::from_ref(&spec))
                    })
                    .await?;
                let t = resp
                    .headers
                    .get(names::TRANSPORT)
                    .map(Transport::parse_list)
                    .and_then(|l| l.into_iter().next())
                    .ok_or_else(|| {
                        Error::new(ErrorKind::Protocol, "SETUP answer without Transport")
                            .with_method("SETUP")
                    })?;
                if t.lower == LowerTransport::Tcp {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        "asked for UDP, the camera answered TCP",
                    ));
                }
                let mut pair = match pair {
                    Some(p) => p,
                    None => UdpStream::join_multicast(
                        &t,
                        local_ip,
                        self.opts.udp_receive_buffer,
                        polled,
                    )?,
                };
                pair.set_server(&t, server_ip);
                pair.punch_holes(self.rr_ssrc).await;
                Ok(SetupRoute::Udp(Box::new(pair)))
            }
        }
    }

    /// PLAY (the aggregate control URL), with the replay headers if the options ask for them.
    ///
    /// With [`TransportMode::Auto`] over UDP, PLAY also waits for the first packet; when none
    /// comes within [`Timeouts::first_packet`](super::Timeouts::first_packet), the session is
    /// torn down and set up again over TCP interleaved on the same connection.
    pub async fn play(&mut self) -> Result<()> {
        self.play_once().await?;
        if self.opts.transport != TransportMode::Auto || self.transport != Some(LowerTransport::Udp)
        {
            return Ok(());
        }
        while !self.got_data && self.pending.is_empty() {
            match self.step().await {
                Ok(()) => {}
                Err(e) if e.kind() == &ErrorKind::Timeout && !self.got_data => {
                    tracing::info!("no UDP packet arrived; falling back to TCP interleaved");
                    return self.fall_back_to_tcp().await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn fall_back_to_tcp(&mut self) -> Result<()> {
        if let Err(e) = self.send_teardown().await {
            tracing::debug!(error = %e, "TEARDOWN before the TCP fallback failed");
        }
        let set: Vec<usize> = self.rx.iter().map(|r| r.index).collect();
        self.rx.clear();
        self.udp = None;
        self.channels = vec![None; 256];
        self.in_place = None;
        self.transport = None;
        self.pending.clear();
        self.early.clear();
        self.state = State::Described;
        self.opts.transport = TransportMode::Tcp;
        for i in set {
            self.setup(i).await?;
        }
        self.play_once().await
    }

    /// Sends TEARDOWN (bounded by the teardown timeout) and forgets the session id.
    async fn send_teardown(&mut self) -> Result<()> {
        let url = self.aggregate.to_string();
        let limit = self.opts.timeouts.teardown;
        let r = tokio::time::timeout(limit, async {
            let req = self.core.request(Method::Teardown, &url).build()?;
            let cseq = self.core.last_cseq();
            self.send(&req).await?;
            self.read_response(cseq).await.map(|_| ())
        })
        .await;
        self.core.clear_session();
        match r {
            Err(_) => Err(Error::timeout("TEARDOWN")),
            Ok(r) => r,
        }
    }

    async fn play_once(&mut self) -> Result<()> {
        if self.rx.is_empty() {
            return Err(Error::invalid_input("PLAY before any SETUP"));
        }
        if self.state == State::Playing {
            return Ok(());
        }
        let url = self.aggregate.to_string();
        let replay = self.opts.replay.clone();
        self.exchange_response(Method::Play, &url, |mut b| {
            match &replay {
                Some(r) => {
                    if let Some(range) = &r.range {
                        b = b.range(range);
                    }
                    if let Some(s) = r.scale {
                        b = b.header(names::SCALE, format!("{s:.1}"));
                    }
                    if r.rate_control_off {
                        b = b.header(names::RATE_CONTROL, "no");
                    }
                    if r.immediate {
                        b = b.header("Immediate", "yes");
                    }
                }
                None => {
                    b = b.range(&Range::Npt {
                        start: Some(crate::rtsp::headers::NptTime::Seconds(0.0)),
                        end: None,
                    });
                }
            }
            b
        })
        .await?;
        self.state = State::Playing;
        let now = super::now();
        self.last_data = now;
        self.got_data = false;
        self.next_rr = now + self.opts.receiver_report_interval;
        Ok(())
    }

    /// Sends one request and reads its answer. Handles 401 (resend) itself.
    async fn exchange(
        &mut self,
        method: Method,
        url: &str,
        extra: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Next> {
        Ok(self.exchange_response(method, url, extra).await?.0)
    }

    async fn exchange_response(
        &mut self,
        method: Method,
        url: &str,
        extra: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<(Next, Response)> {
        loop {
            let req = extra(self.core.request(method.clone(), url)).build()?;
            let cseq = self.core.last_cseq();
            self.send(&req).await?;
            let resp = self
                .read_response(cseq)
                .await
                .map_err(|e| e.or_peer(self.peer()).with_method(method.as_str()))?;
            let peer = self.peer();
            match self
                .core
                .on_response(&method, &resp, super::now())
                .map_err(|e| e.with_peer(&peer))?
            {
                Next::Resend => continue,
                n => return Ok((n, resp)),
            }
        }
    }

    pub(super) async fn send(&mut self, req: &Request) -> Result<()> {
        let limit = self.opts.timeouts.response;
        self.conn()?
            .write_with(limit, |out| {
                req.write_to(out);
                Ok(())
            })
            .await
    }

    /// Reads until the response with `cseq` arrives (bounded by the response timeout).
    async fn read_response(&mut self, cseq: u32) -> Result<Response> {
        let deadline = tokio::time::Instant::now() + self.opts.timeouts.response;
        let mut others = 0usize;
        loop {
            let item = self.conn()?.framer.next_item()?;
            match item {
                Some(Framed::Message(Message::Response(r))) => {
                    match r.headers.cseq() {
                        Some(c) if c != cseq => {
                            if Some(c) == self.keepalive_cseq {
                                self.keepalive_cseq = None;
                            }
                            tracing::debug!(got = c, want = cseq, "response to an older request");
                        }
                        _ => return Ok(r),
                    }
                    others += 1;
                }
                Some(Framed::Message(Message::Request(req))) => {
                    self.answer_server_request(&req).await?;
                    others += 1;
                }
                Some(Framed::Data { channel, payload }) => {
                    if self.early.len() >= MAX_EARLY_PACKETS {
                        let dropped = self.early.pop_front().map(|e| e.0);
                        if let Some(Some(Route::Rtp(k))) =
                            dropped.and_then(|c| self.channels.get(usize::from(c)).copied())
                        {
                            if self.early_dropped.len() <= k {
                                self.early_dropped.resize(k + 1, 0);
                            }
                            if let Some(n) = self.early_dropped.get_mut(k) {
                                *n += 1;
                            }
                        }
                    }
                    self.early.push_back((channel, payload));
                }
                None => {
                    let conn = self.conn()?;
                    conn.park_read_buffer();
                    match tokio::time::timeout_at(deadline, conn.read_more()).await {
                        Err(_) => {
                            return Err(Error::timeout("RTSP response").with_cseq(cseq));
                        }
                        Ok(r) => {
                            r?;
                        }
                    }
                }
            }
            if others > MAX_MESSAGES_PER_RESPONSE {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    "too many unrelated messages while waiting for a response",
                ));
            }
        }
    }

    /// A request from the server (`OPTIONS`, `GET_PARAMETER`, `ANNOUNCE`...): 200 to the
    /// keepalive-like ones, 501 to the rest.
    pub(super) async fn answer_server_request(&mut self, req: &Request) -> Result<()> {
        let status = match req.method {
            Method::Options | Method::GetParameter | Method::SetParameter => 200,
            _ => 501,
        };
        let mut b = Response::builder(status);
        if let Some(c) = req.headers.cseq() {
            b = b.cseq(c);
        }
        let r = b.build()?;
        let limit = self.opts.timeouts.response;
        self.conn()?
            .write_with(limit, |out| {
                r.write_to(out);
                Ok(())
            })
            .await
    }

    /// Ends the session: TEARDOWN (unless the policy says never; bounded by the teardown
    /// timeout), then closes the connection.
    pub async fn teardown(mut self) -> Result<()> {
        self.teardown_inner(true).await
    }

    async fn teardown_inner(&mut self, explicit: bool) -> Result<()> {
        let send = self.core.session_id().is_some()
            && (explicit && self.opts.teardown != TeardownPolicy::Never
                || wants_teardown(
                    self.opts.teardown,
                    self.transport.clone(),
                    self.server.as_deref(),
                ));
        self.state = State::Closed;
        let mut result = Ok(());
        if send {
            result = self.send_teardown().await;
        }
        if let Some(mut c) = self.conn.take() {
            c.shutdown().await;
        }
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.state == State::Closed || self.conn.is_none() {
            return;
        }
        if !wants_teardown(
            self.opts.teardown,
            self.transport.clone(),
            self.server.as_deref(),
        ) || self.core.session_id().is_none()
        {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // TEARDOWN in the background, bounded by the teardown timeout.
        let url = self.aggregate.to_string();
        let Ok(req) = self.core.request(Method::Teardown, &url).build() else {
            return;
        };
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let limit = self.opts.timeouts.teardown;
        handle.spawn(async move {
            let _ = tokio::time::timeout(limit, async {
                let _ = conn
                    .write_with(limit, |out| {
                        req.write_to(out);
                        Ok(())
                    })
                    .await;
                // Wait for the answer (or the close) so the server sees the request.
                let _ = conn.read_more().await;
            })
            .await;
            conn.shutdown().await;
        });
    }
}

enum SetupRoute {
    Interleaved(u8, Option<u8>),
    Udp(Box<UdpStream>),
}

/// Whether the policy asks for TEARDOWN.
fn wants_teardown(
    policy: TeardownPolicy,
    transport: Option<LowerTransport>,
    server: Option<&str>,
) -> bool {
    match policy {
        TeardownPolicy::Always => true,
        TeardownPolicy::Never => false,
        TeardownPolicy::Auto => {
            transport == Some(LowerTransport::Udp) || server.is_some_and(is_stale_session_server)
        }
    }
}

/// live555 before 2017.06.22 keeps streaming to sessions whose TCP connection closed.
fn is_stale_session_server(server: &str) -> bool {
    let Some(rest) = server
        .to_ascii_lowercase()
        .split("live555 streaming media v")
        .nth(1)
        .map(str::to_owned)
    else {
        return false;
    };
    let ver: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = ver.split('.').filter_map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (y, m, d) < (2017, 6, 22)
}
