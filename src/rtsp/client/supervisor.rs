//! [`Supervisor`]: keeps a stream alive for a VMS. It opens a [`Session`], hands out its
//! items, and after any failure reconnects with exponential backoff and jitter, reporting its
//! health along the way. The item stream continues across reconnects, with an
//! [`Item::Discontinuity`] before the first item of each new session.

use std::time::Duration;

use tokio::sync::watch;

use super::item::Item;
use super::options::SessionOptions;
use super::session::Session;
use crate::{Error, ErrorKind};

/// Backoff and stall detection of a [`Supervisor`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupervisorOptions {
    /// Delay before the first retry. Default 500 ms.
    pub initial_backoff: Duration,
    /// Longest delay between retries. Default 30 s.
    pub max_backoff: Duration,
    /// Random spread of each delay, as a fraction (0.2 = ±20 %). Default 0.2.
    pub jitter: f64,
    /// Silence after which the health turns [`Health::Stalled`] (the session itself fails
    /// after [`Timeouts::no_data`](super::Timeouts::no_data)). Default 2 s.
    pub stall_after: Duration,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        SupervisorOptions {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: 0.2,
            stall_after: Duration::from_secs(2),
        }
    }
}

impl SupervisorOptions {
    /// The delay before retry number `attempt` (1-based), with `unit` in 0..1 picking the
    /// jitter.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let j = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 - j + 2.0 * j * unit.clamp(0.0, 1.0);
        base.mul_f64(factor).min(self.max_backoff.mul_f64(1.0 + j))
    }
}

/// The health of a supervised stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Connecting (attempt 0 is the first connection).
    Connecting {
        /// Retries so far since the last good session.
        attempt: u32,
    },
    /// Playing: items flow.
    Playing,
    /// Playing, but nothing arrived for [`SupervisorOptions::stall_after`].
    Stalled,
    /// The last attempt or session failed; the next attempt starts after `delay`.
    Retrying {
        /// Retries so far since the last good session.
        attempt: u32,
        /// Wait before the next attempt.
        delay: Duration,
        /// Kind of the last error.
        kind: ErrorKind,
        /// The last error, as text.
        error: String,
    },
}

/// What a [`Supervisor`] hands out.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// An item of the current session.
    Item(Item),
    /// The health changed.
    Health(Health),
}

/// A self-healing stream: it opens a [`Session`], hands out its items, and after any failure
/// reconnects with exponential backoff and jitter, reporting its health along the way. The item
/// stream continues across reconnects, with an [`Item::Discontinuity`] before the first item of
/// each new session.
///
/// ```no_run
/// # async fn demo() {
/// use camlink::rtsp::client::{Event, SessionOptions, Supervisor, SupervisorOptions};
/// let mut sup = Supervisor::new("rtsp://192.0.2.10/live", SessionOptions::new(), SupervisorOptions::default());
/// while let Some(ev) = sup.next().await {
///     if let Event::Health(h) = ev { println!("{h:?}") }
/// }
/// # }
/// ```
pub struct Supervisor {
    url: String,
    opts: SessionOptions,
    sup: SupervisorOptions,
    session: Option<Session>,
    attempt: u32,
    last_error: Option<Error>,
    retry_at: Option<tokio::time::Instant>,
    announced: bool,
    stalled: bool,
    had_session: bool,
    /// A discontinuity to hand out before the first item of the new session.
    discontinuity: Option<Error>,
    health: watch::Sender<Health>,
    queue: std::collections::VecDeque<Event>,
    stopped: bool,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("url", &crate::redact::redact_url_str(&self.url))
            .field("attempt", &self.attempt)
            .field("health", &*self.health.borrow())
            .finish()
    }
}

impl Supervisor {
    /// A supervisor for `url`; nothing happens until [`next`](Self::next) is called.
    pub fn new(url: &str, opts: SessionOptions, sup: SupervisorOptions) -> Supervisor {
        let (health, _) = watch::channel(Health::Connecting { attempt: 0 });
        Supervisor {
            url: url.to_owned(),
            opts,
            sup,
            session: None,
            attempt: 0,
            last_error: None,
            retry_at: None,
            announced: false,
            stalled: false,
            had_session: false,
            discontinuity: None,
            health,
            queue: std::collections::VecDeque::new(),
            stopped: false,
        }
    }

    /// Watches the health (for a status page), besides the [`Event::Health`] events.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    fn set_health(&mut self, h: Health) {
        self.health.send_replace(h.clone());
        self.queue.push_back(Event::Health(h));
    }

    /// The next event. Only `None` after [`stop`](Self::stop).
    ///
    /// Cancel-safe between events: dropping the future loses no item (a session being opened
    /// is opened again).
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            if self.stopped {
                return None;
            }
            let Some(session) = self.session.as_mut() else {
                if let Some(at) = self.retry_at {
                    tokio::time::sleep_until(at).await;
                    self.retry_at = None;
                }
                if !self.announced {
                    // Hand out Connecting first; the connection starts at the next call.
                    self.announced = true;
                    self.set_health(Health::Connecting {
                        attempt: self.attempt,
                    });
                    continue;
                }
                self.announced = false;
                let opened = Session::open(&self.url, self.opts.clone()).await;
                match opened {
                    Ok(s) => {
                        self.session = Some(s);
                        self.stalled = false;
                        if self.had_session {
                            self.discontinuity = self.last_error.take();
                        }
                        self.had_session = true;
                        self.set_health(Health::Playing);
                    }
                    Err(e) => self.failed(e),
                }
                continue;
            };
            match tokio::time::timeout(self.sup.stall_after, session.next()).await {
                Err(_) => {
                    if !self.stalled {
                        self.stalled = true;
                        self.set_health(Health::Stalled);
                    }
                }
                Ok(Some(Ok(item))) => {
                    self.attempt = 0;
                    if self.stalled {
                        self.stalled = false;
                        self.set_health(Health::Playing);
                    }
                    if let Some(error) = self.discontinuity.take() {
                        self.queue
                            .push_back(Event::Item(Item::Discontinuity { error }));
                    }
                    self.queue.push_back(Event::Item(item));
                }
                Ok(Some(Err(e))) => {
                    self.session = None;
                    self.failed(e);
                }
                Ok(None) => {
                    self.session = None;
                    self.failed(Error::new(ErrorKind::Io, "the session ended"));
                }
            }
        }
    }

    fn failed(&mut self, e: Error) {
        self.attempt = self.attempt.saturating_add(1);
        let unit = (crate::auth::random_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let delay = self.sup.backoff(self.attempt, unit);
        tracing::info!(attempt = self.attempt, ?delay, error = %e, "supervised RTSP session failed; retrying");
        self.retry_at = Some(tokio::time::Instant::now() + delay);
        self.set_health(Health::Retrying {
            attempt: self.attempt,
            delay,
            kind: e.kind().clone(),
            error: e.to_string(),
        });
        // Keep the first error of a run of failures as the discontinuity's cause.
        if self.last_error.is_none() || !self.had_session {
            self.last_error = Some(e);
        }
    }

    /// Stops: the current session is torn down (bounded) and `next` returns `None`.
    pub async fn stop(&mut self) {
        self.stopped = true;
        self.queue.clear();
        if let Some(s) = self.session.take() {
            let _ = s.teardown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let o = SupervisorOptions::default();
        assert_eq!(o.backoff(1, 0.5), Duration::from_millis(500));
        assert_eq!(o.backoff(2, 0.5), Duration::from_millis(1000));
        assert_eq!(o.backoff(4, 0.5), Duration::from_millis(4000));
        assert_eq!(o.backoff(40, 0.5), Duration::from_secs(30));
        assert_eq!(o.backoff(1, 0.0), Duration::from_millis(400));
        assert_eq!(o.backoff(1, 1.0), Duration::from_millis(600));
        assert!(o.backoff(u32::MAX, 1.0) <= Duration::from_secs(36));
    }
}
