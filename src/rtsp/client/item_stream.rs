//! [`Session::into_stream`]: the items as a `futures_core::Stream`.

use super::item::Item;
use super::session::Session;
use crate::Result;

impl Session {
    /// The items as a [`futures_core::Stream`] (one boxed future per item handed out; use
    /// [`next`](Self::next) on the hot path).
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Item>> + Send {
        ItemStream {
            state: StreamState::Idle(Some(Box::new(self))),
        }
    }
}

enum StreamState {
    Idle(Option<Box<Session>>),
    Busy(ItemFuture),
}

type ItemFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = (Option<Result<Item>>, Box<Session>)> + Send>,
>;

struct ItemStream {
    state: StreamState,
}

impl futures_core::Stream for ItemStream {
    type Item = Result<Item>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        loop {
            match &mut self.state {
                StreamState::Idle(s) => {
                    let Some(mut s) = s.take() else {
                        return std::task::Poll::Ready(None);
                    };
                    if let Some(i) = s.pending.pop_front() {
                        self.state = StreamState::Idle(Some(s));
                        return std::task::Poll::Ready(Some(Ok(i)));
                    }
                    self.state = StreamState::Busy(Box::pin(async move {
                        let r = s.next().await;
                        (r, s)
                    }));
                }
                StreamState::Busy(f) => {
                    let (r, s) = std::task::ready!(f.as_mut().poll(cx));
                    self.state = StreamState::Idle(r.is_some().then_some(s));
                    return std::task::Poll::Ready(r);
                }
            }
        }
    }
}
