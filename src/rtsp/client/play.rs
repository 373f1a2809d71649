//! The play loop of a [`Session`]: interleaved and UDP packets to items, keepalives, RTCP
//! receiver reports, the no-data deadline, the backchannel.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::item::Item;
use super::session::{Route, Session, State};
use super::stream::RxStream;
use super::udp::UdpPacket;
use crate::rtp::rtcp::build_receiver_report_with_cname;
use crate::rtp::{RtpPacket, RtpPacketRef};
use crate::rtsp::framing::Item as Framed;
use crate::rtsp::message::{Message, Response};
use crate::{Error, ErrorKind, Result};

/// RTCP CNAME this client sends.
const CNAME: &str = "camlink";

impl Session {
    /// The next item while playing; `None` after the end (after TEARDOWN, or after an error
    /// was returned once). Frames still held when an error occurs come out before it.
    pub async fn next(&mut self) -> Option<Result<Item>> {
        loop {
            if let Some(i) = self.pending.pop_front() {
                return Some(Ok(i));
            }
            if let Some(e) = self.deferred_error.take() {
                return Some(Err(e));
            }
            if self.state != State::Playing {
                return None;
            }
            if let Err(e) = self.step().await {
                self.state = State::Closed;
                let pending = &mut self.pending;
                let mut out = |i| pending.push_back(i);
                for r in &mut self.rx {
                    r.flush(&mut out);
                }
                self.deferred_error = Some(e.or_peer(self.peer()));
            }
        }
    }

    /// One round: handle buffered data, deadlines, then wait for more bytes (or a deadline).
    pub(super) async fn step(&mut self) -> Result<()> {
        // Output left over by a cancelled `next` goes first.
        let limit = self.opts.timeouts.response;
        if let Some(c) = self.conn.as_mut()
            && c.has_queued()
        {
            c.flush(limit).await?;
        }
        let now = super::now();
        // Interleaved packets that came in while a response was awaited.
        while let Some((ch, payload)) = self.early.pop_front() {
            self.on_interleaved(ch, payload, now);
        }
        for (k, n) in std::mem::take(&mut self.early_dropped)
            .into_iter()
            .enumerate()
        {
            if let (true, Some(r)) = (n > 0, self.rx.get(k)) {
                self.pending.push_back(Item::Loss {
                    stream: r.index,
                    packets: n,
                });
            }
        }
        // Everything already framed.
        loop {
            // RTP packets of H.264 / H.265 streams: parsed and depacketized where they lie in
            // the read buffer (the payload is copied into the access unit anyway).
            if self.on_interleaved_in_place(now) {
                if !self.pending.is_empty() {
                    return Ok(());
                }
                continue;
            }
            // Other interleaved frames without building an item.
            if let Some((channel, payload)) = self.conn()?.framer.next_data() {
                self.on_interleaved(channel, payload, now);
                if !self.pending.is_empty() {
                    return Ok(());
                }
                continue;
            }
            let item = self.conn()?.framer.next_item()?;
            match item {
                Some(Framed::Data { channel, payload }) => {
                    self.on_interleaved(channel, payload, now);
                }
                Some(Framed::Message(Message::Response(r))) => self.on_async_response(&r)?,
                Some(Framed::Message(Message::Request(req))) => {
                    self.answer_server_request(&req).await?
                }
                None => break,
            }
            if !self.pending.is_empty() {
                return Ok(());
            }
        }
        if let Some(udp) = self.udp.as_mut() {
            let pending = &mut self.pending;
            let rx = &mut self.rx;
            let mut got = false;
            udp.drain_ready(now, &mut |k, pkt| {
                got = true;
                let Some(r) = rx.get_mut(k) else { return };
                let mut out = |i| pending.push_back(i);
                match pkt {
                    UdpPacket::Rtp(p) => r.on_rtp(&p, now, &mut out),
                    UdpPacket::RtpShared(p, source) if r.borrowed => {
                        r.on_rtp_shared(&p, source, now, &mut out)
                    }
                    // A depacketizer that keeps whole packets gets one of its own (no copy).
                    UdpPacket::RtpShared(p, source) => {
                        if let Ok(p) = RtpPacket::parse(source.slice_ref(p.raw())) {
                            r.on_rtp(&p, now, &mut out)
                        }
                    }
                    UdpPacket::Rtcp(b) => r.on_rtcp(&b, now, &mut out),
                }
            });
            if got {
                self.last_data = now;
                self.got_data = true;
            }
            if !self.pending.is_empty() {
                return Ok(());
            }
        }
        // Deadlines.
        let silence = if self.got_data {
            self.opts.timeouts.no_data
        } else {
            self.opts.timeouts.first_packet
        };
        let data_deadline = self.last_data + silence;
        if now >= data_deadline {
            let what = if self.got_data {
                "no RTP or RTCP data within the no-data timeout"
            } else {
                "no first RTP packet within the first-packet timeout"
            };
            return Err(Error::timeout(what));
        }
        if let Some(k) = self.core.next_keepalive()
            && now >= k
        {
            self.send_keepalive(now).await?;
        }
        if now >= self.next_rr {
            self.next_rr = now + self.opts.receiver_report_interval;
            self.send_receiver_reports(now).await?;
        }
        let mut deadline = data_deadline.min(self.next_rr);
        if let Some(k) = self.core.next_keepalive() {
            deadline = deadline.min(k);
        }
        if let Some(d) = self.udp.as_ref().and_then(|u| u.next_deadline()) {
            deadline = deadline.min(d);
        }
        // Read coalescing: over TCP, read what has come by this time, low-water mark or not;
        // over UDP, the next drain of the polled sockets is among the UDP deadlines above.
        let coalesce = !self.opts.read_coalescing.is_zero();
        let read_by = if coalesce && self.udp.is_none() {
            self.conn.as_ref().and_then(|c| c.coalesce_deadline())
        } else {
            None
        };
        if let Some(d) = read_by {
            deadline = deadline.min(d);
        }
        let deadline = tokio::time::Instant::from_std(deadline);
        // One timer for the session's life: moved earlier when a deadline comes sooner, left
        // alone when deadlines move later (it then wakes the loop early, once, and is set
        // again), instead of a timer set and cleared at every wake-up; read coalescing, whose
        // deadline moves later at every read, replaces it instead (below).
        if coalesce
            && self
                .sleep
                .as_ref()
                .is_some_and(|s| deadline > s.deadline() && !s.is_elapsed())
        {
            // Coalescing moves the deadline later at each read, and the timer must follow
            // (no early wake-up per read). A later deadline given to `reset` only extends the
            // timer: tokio's wheel keeps it in its old slot and wakes the runtime there to
            // move it, a wake-up per read; a new timer is filed where it belongs.
            self.sleep = None;
        }
        let sleep = match &mut self.sleep {
            Some(s) => {
                if deadline < s.deadline() || s.is_elapsed() {
                    s.as_mut().reset(deadline);
                }
                s
            }
            None => self
                .sleep
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::Io, "the RTSP connection is closed"))?;
        // Waiting: unfinished frames let go of the buffers they refer to (copying what they
        // hold of them), unless only the TCP read buffer is concerned and the next read still
        // has room in it (then it is found again, pinned or not, at the next wake-up).
        if self.udp.is_some() || !conn.read_buffer_stays() {
            for r in &mut self.rx {
                r.release_buffers();
            }
        }
        conn.park_read_buffer();
        match self.udp.as_mut() {
            None if coalesce => {
                tokio::select! {
                    r = conn.read_more_coalesced() => { r?; }
                    _ = sleep.as_mut() => {
                        if read_by.is_some_and(|d| super::now() >= d) {
                            conn.read_now()?;
                        }
                    }
                }
            }
            None => {
                tokio::select! {
                    r = conn.read_more() => { r?; }
                    _ = sleep.as_mut() => {}
                }
            }
            Some(udp) => {
                tokio::select! {
                    r = conn.read_more() => { r?; }
                    r = udp.wait_readable() => { r?; }
                    _ = sleep.as_mut() => {}
                }
            }
        }
        Ok(())
    }

    fn on_interleaved(&mut self, channel: u8, payload: Bytes, now: Instant) {
        let Some(route) = self.channels.get(usize::from(channel)).copied().flatten() else {
            tracing::trace!(channel, "data on a channel not set up");
            return;
        };
        self.last_data = now;
        self.got_data = true;
        let (k, rtcp) = match route {
            Route::Rtp(k) => (k, false),
            Route::Rtcp(k) => (k, true),
        };
        feed(&mut self.rx, k, rtcp, payload, now, &mut self.pending);
    }

    /// Handles the complete interleaved frames at the front of the read buffer that are RTP
    /// packets of streams whose depacketizers take borrowed packets, as long as there are
    /// such frames in a row; `false` if there was none. The run is taken out of the buffer as
    /// one [`Bytes`] (no copy) and each packet is given to its depacketizer where it lies, so
    /// that frames can refer to it instead of copying it (one reference count per run, not one
    /// per packet).
    fn on_interleaved_in_place(&mut self, now: Instant) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let (channels, rx, cache) = (&self.channels, &self.rx, &mut self.in_place);
        let mut end = 0;
        while let Some((channel, frame)) = conn.framer.peek_data_at(end) {
            if in_place_stream(channels, rx, cache, channel).is_none() {
                break;
            }
            end += 4 + frame.len();
        }
        if end == 0 {
            return false;
        }
        let run = conn.framer.take_peeked(end);
        let mut at = 0;
        while let Some((channel, frame)) = crate::rtsp::framing::data_at(&run, at) {
            at += 4 + frame.len();
            let k = in_place_stream(&self.channels, &self.rx, &mut self.in_place, channel);
            let Some(r) = k.and_then(|k| self.rx.get_mut(k)) else {
                continue;
            };
            let pending = &mut self.pending;
            let mut out = |i| pending.push_back(i);
            match RtpPacketRef::parse(frame) {
                Ok(pkt) => r.on_rtp_shared(&pkt, &run, now, &mut out),
                Err(e) => {
                    r.bad_packets += 1;
                    tracing::debug!(stream = r.index, error = %e, "malformed RTP packet");
                }
            }
        }
        self.last_data = now;
        self.got_data = true;
        true
    }

    fn on_async_response(&mut self, r: &Response) -> Result<()> {
        let c = r.headers.cseq();
        if c.is_some() && c == self.keepalive_cseq {
            self.keepalive_cseq = None;
            let peer = self.peer();
            self.core
                .on_keepalive_response(r, super::now())
                .map_err(|e| e.with_peer(peer))?;
        } else {
            tracing::debug!(cseq = ?c, status = r.status, "unexpected response ignored");
        }
        Ok(())
    }

    async fn send_keepalive(&mut self, now: Instant) -> Result<()> {
        if self.keepalive_cseq.is_some() {
            tracing::debug!("previous keepalive unanswered");
        }
        let url = self.aggregate.to_string();
        let req = self.core.keepalive_request(&url, now)?;
        self.keepalive_cseq = Some(self.core.last_cseq());
        tracing::debug!(method = req.method.as_str(), "keepalive");
        self.send(&req).await
    }

    async fn send_receiver_reports(&mut self, now: Instant) -> Result<()> {
        let ssrc = self.rr_ssrc;
        let limit = self.opts.timeouts.response;
        for k in 0..self.rx.len() {
            let Some(r) = self.rx.get_mut(k) else {
                continue;
            };
            let Some(src) = r.ssrc else { continue };
            let block = r.tracker.report_block_at(src, now);
            let pkt = build_receiver_report_with_cname(ssrc, &[block], CNAME)?;
            if let Some(udp) = self.udp.as_mut()
                && udp.has(k)
            {
                udp.send_rtcp(k, &pkt).await;
                continue;
            }
            let ch = self
                .channels
                .iter()
                .position(|c| *c == Some(Route::Rtcp(k)))
                .and_then(|c| u8::try_from(c).ok());
            if let (Some(ch), Some(conn)) = (ch, self.conn.as_mut()) {
                conn.write_with(limit, |out| crate::rtsp::framing::write_data(out, ch, &pkt))
                    .await?;
            }
        }
        Ok(())
    }

    /// Sends RTP packets on a backchannel stream set up with [`setup`](Self::setup)
    /// (interleaved over TCP). The packets come from a packetizer
    /// ([`crate::codec::g711::G711Packetizer`]).
    pub async fn send_backchannel(&mut self, stream: usize, packets: &[Bytes]) -> Result<()> {
        let k = self
            .rx
            .iter()
            .position(|r| r.index == stream)
            .ok_or_else(|| Error::invalid_input("backchannel stream not set up"))?;
        let ch = self
            .channels
            .iter()
            .position(|c| *c == Some(Route::Rtp(k)))
            .and_then(|c| u8::try_from(c).ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "backchannel only over TCP interleaved",
                )
            })?;
        let limit = self.opts.timeouts.response;
        self.conn()?
            .write_with(limit, |out| {
                for p in packets {
                    crate::rtsp::framing::write_data(out, ch, p)?;
                }
                Ok(())
            })
            .await
    }
}

/// The stream whose RTP packets come on `channel`, if its depacketizer takes borrowed packets
/// ([`RxStream::borrowed`]); `cache` remembers the last channel found.
#[inline]
fn in_place_stream(
    channels: &[Option<Route>],
    rx: &[RxStream],
    cache: &mut Option<(u8, usize)>,
    channel: u8,
) -> Option<usize> {
    if let Some((c, k)) = *cache
        && c == channel
    {
        return Some(k);
    }
    let Some(Route::Rtp(k)) = channels.get(usize::from(channel)).copied().flatten() else {
        return None;
    };
    if !rx.get(k).is_some_and(|r| r.borrowed) {
        return None;
    }
    *cache = Some((channel, k));
    Some(k)
}

/// Feeds one packet to set-up stream `k`.
fn feed(
    rx: &mut [RxStream],
    k: usize,
    rtcp: bool,
    payload: Bytes,
    now: Instant,
    pending: &mut VecDeque<Item>,
) {
    let Some(r) = rx.get_mut(k) else { return };
    let mut out = |i| pending.push_back(i);
    if rtcp {
        r.on_rtcp(&payload, now, &mut out);
        return;
    }
    match RtpPacket::parse(payload) {
        Ok(pkt) => r.on_rtp(&pkt, now, &mut out),
        Err(e) => {
            r.bad_packets += 1;
            tracing::debug!(stream = r.index, error = %e, "malformed RTP packet");
        }
    }
}
