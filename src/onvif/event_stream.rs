//! [`EventStream`]: notifications from a pull point that renews itself and survives camera
//! reboots (see [`OnvifClient::subscribe`]).

use std::collections::VecDeque;
use std::time::Duration;

use crate::onvif::client::OnvifClient;
use crate::onvif::events::{Notification, Subscription};
use crate::{Error, ErrorKind, Result};

/// Shortest time between two pulls that returned nothing.
const MIN_EMPTY_PULL_INTERVAL: Duration = Duration::from_secs(1);

/// Most consecutive failures of an event stream before it reports an error.
pub const MAX_EVENT_FAILURES: u32 = 5;

/// Notifications from a pull-point subscription; see [`OnvifClient::subscribe`].
///
/// Call [`next`](Self::next) in a loop; [`close`](Self::close) unsubscribes.
#[derive(Debug)]
pub struct EventStream {
    client: OnvifClient,
    sub: Option<Subscription>,
    lifetime: Duration,
    wait: Duration,
    pending: VecDeque<Notification>,
    failures: u32,
    renew_supported: bool,
}

impl EventStream {
    pub(crate) fn new(client: OnvifClient) -> Self {
        EventStream {
            client,
            sub: None,
            lifetime: Duration::from_secs(60),
            wait: Duration::from_secs(10),
            pending: VecDeque::new(),
            failures: 0,
            renew_supported: true,
        }
    }

    /// Sets how long each subscription lives between renewals (default 60 s).
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.max(Duration::from_secs(10));
        self
    }

    /// Sets how long each PullMessages waits on the camera (default 10 s).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait.max(Duration::from_secs(1));
        self
    }

    /// The current subscription, if any.
    pub fn subscription(&self) -> Option<&Subscription> {
        self.sub.as_ref()
    }

    /// The next notification. `Some(Err(_))` on a fatal error (wrong credentials, no event
    /// service) or after [`MAX_EVENT_FAILURES`] failures in a row; the stream can be polled
    /// again after an error.
    pub async fn next(&mut self) -> Option<Result<Notification>> {
        // Cancel-safe: the subscription stays in `self.sub` while a request is in flight, so a
        // `next()` dropped mid-pull (a `select!`, a timeout) leaves it usable, and `close()`
        // can still unsubscribe. (Notifications the camera hands to the abandoned pull are lost:
        // the camera cannot tell.)
        loop {
            if let Some(n) = self.pending.pop_front() {
                return Some(Ok(n));
            }
            if self.sub.is_none() {
                match self.client.create_pull_point(self.lifetime).await {
                    Ok(s) => self.sub = Some(s),
                    Err(e) => match self.failed(e).await {
                        Some(e) => return Some(Err(e)),
                        None => continue,
                    },
                }
            }
            let Some(current) = self.sub.clone() else {
                continue;
            };
            match self.renew_if_due(current).await {
                Some(s) => self.sub = Some(s),
                None => {
                    self.sub = None;
                    continue;
                }
            }
            let Some(sub) = self.sub.clone() else {
                continue;
            };
            let started = tokio::time::Instant::now();
            match self.client.pull_messages(&sub, self.wait, 100).await {
                Ok(m) => {
                    self.failures = 0;
                    if let (Some(t), Some(s)) = (m.termination_time, self.sub.as_mut()) {
                        s.termination_time = Some(t);
                    }
                    self.pending.extend(m.messages);
                    if self.pending.is_empty() {
                        // A camera that answers an empty pull at once (ignoring Timeout) must not
                        // be polled in a tight loop.
                        let floor = (self.wait / 2).min(MIN_EMPTY_PULL_INTERVAL);
                        tokio::time::sleep_until(started + floor).await;
                    }
                }
                Err(e) => {
                    tracing::info!("pull point failed ({e}); subscribing again");
                    self.sub = None;
                    if let Some(e) = self.failed(e).await {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// The notifications as a [`futures_core::Stream`] (one boxed future per notification).
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Notification>> + Send {
        type Pending = std::pin::Pin<
            Box<
                dyn std::future::Future<Output = (Option<Result<Notification>>, EventStream)>
                    + Send,
            >,
        >;
        struct S {
            idle: Option<EventStream>,
            busy: Option<Pending>,
        }
        impl futures_core::Stream for S {
            type Item = Result<Notification>;
            fn poll_next(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                if self.busy.is_none() {
                    let Some(mut es) = self.idle.take() else {
                        return std::task::Poll::Ready(None);
                    };
                    self.busy = Some(Box::pin(async move {
                        let n = es.next().await;
                        (n, es)
                    }));
                }
                let Some(fut) = self.busy.as_mut() else {
                    return std::task::Poll::Ready(None);
                };
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Pending => std::task::Poll::Pending,
                    std::task::Poll::Ready((item, es)) => {
                        self.busy = None;
                        self.idle = Some(es);
                        std::task::Poll::Ready(item)
                    }
                }
            }
        }
        S {
            idle: Some(self),
            busy: None,
        }
    }

    /// Renews when less than half the lifetime is left; `None` means the subscription was
    /// dropped and a new one is needed.
    async fn renew_if_due(&mut self, sub: Subscription) -> Option<Subscription> {
        let Some(term) = sub.termination_time else {
            return Some(sub);
        };
        let now = self.client.camera_now();
        let half = i64::try_from(self.lifetime.as_secs() / 2).unwrap_or(i64::MAX);
        if term.saturating_sub(now) > half {
            return Some(sub);
        }
        if !self.renew_supported {
            return None;
        }
        let want = now.saturating_add(i64::try_from(self.lifetime.as_secs()).unwrap_or(60));
        match self.client.renew(&sub, want).await {
            Ok(t) => {
                let mut sub = sub;
                sub.termination_time = Some(t.unwrap_or(want));
                Some(sub)
            }
            Err(e) if e.kind() == &ErrorKind::Unsupported => {
                tracing::debug!("camera does not renew subscriptions; will re-subscribe");
                self.renew_supported = false;
                None
            }
            Err(e) => {
                tracing::info!("renew failed ({e}); subscribing again");
                None
            }
        }
    }

    /// Counts a failure; returns the error when it should reach the caller.
    async fn failed(&mut self, e: Error) -> Option<Error> {
        self.failures = self.failures.saturating_add(1);
        let fatal = matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Unsupported);
        if fatal || self.failures >= MAX_EVENT_FAILURES {
            self.failures = 0;
            return Some(e);
        }
        tokio::time::sleep(Duration::from_millis(
            200u64.saturating_mul(u64::from(self.failures)),
        ))
        .await;
        None
    }

    /// Unsubscribes (best effort: a camera that already forgot the subscription is fine).
    pub async fn close(mut self) -> Result<()> {
        match self.sub.take() {
            Some(s) => match self.client.unsubscribe(&s).await {
                Err(e) if e.kind() != &ErrorKind::Unsupported => Err(e),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }
}
