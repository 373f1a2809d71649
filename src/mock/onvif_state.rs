//! The mock camera's ONVIF state: a simulated PTZ head that moves over time, presets, imaging
//! settings, event subscriptions with their queues, and the host name. Pure: time comes in.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::config::ProfileConfig;

/// Most presets kept.
pub const MAX_PRESETS: usize = 32;
/// Most live event subscriptions.
pub const MAX_SUBSCRIPTIONS: usize = 64;
/// Most messages queued per subscription (the oldest is dropped first).
pub const MAX_QUEUED_EVENTS: usize = 256;
/// Longest a continuous move lasts without a timeout.
pub const MAX_CONTINUOUS_MOVE: Duration = Duration::from_secs(10);

/// A PTZ position: pan and tilt in -1..=1, zoom in 0..=1 (the generic ONVIF spaces).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PtzPosition {
    /// Pan.
    pub pan: f64,
    /// Tilt.
    pub tilt: f64,
    /// Zoom.
    pub zoom: f64,
}

impl PtzPosition {
    fn clamped(self) -> Self {
        PtzPosition {
            pan: self.pan.clamp(-1.0, 1.0),
            tilt: self.tilt.clamp(-1.0, 1.0),
            zoom: self.zoom.clamp(0.0, 1.0),
        }
    }
}

/// A continuous move in progress.
#[derive(Debug, Clone, Copy)]
struct Motion {
    from: PtzPosition,
    velocity: PtzPosition,
    started: Instant,
    until: Instant,
}

/// The simulated PTZ head.
#[derive(Debug, Clone, Default)]
pub struct PtzHead {
    rest: PtzPosition,
    motion: Option<Motion>,
    /// Presets: token → (name, position).
    pub presets: BTreeMap<String, (String, PtzPosition)>,
    next_preset: u32,
}

impl PtzHead {
    /// Where the head is at `now`.
    pub fn position(&self, now: Instant) -> PtzPosition {
        match self.motion {
            None => self.rest,
            Some(m) => {
                let t = now
                    .min(m.until)
                    .saturating_duration_since(m.started)
                    .as_secs_f64();
                PtzPosition {
                    pan: m.from.pan + m.velocity.pan * t,
                    tilt: m.from.tilt + m.velocity.tilt * t,
                    zoom: m.from.zoom + m.velocity.zoom * t,
                }
                .clamped()
            }
        }
    }

    /// Whether a move is in progress at `now`.
    pub fn moving(&self, now: Instant) -> bool {
        self.motion.is_some_and(|m| now < m.until)
    }

    /// Starts moving with a velocity (units per second) for `timeout` (bounded).
    pub fn continuous(&mut self, velocity: PtzPosition, timeout: Option<Duration>, now: Instant) {
        let from = self.position(now);
        let d = timeout
            .unwrap_or(MAX_CONTINUOUS_MOVE)
            .min(MAX_CONTINUOUS_MOVE);
        self.rest = from;
        self.motion = Some(Motion {
            from,
            velocity,
            started: now,
            until: now + d,
        });
    }

    /// Stops where the head is.
    pub fn stop(&mut self, now: Instant) {
        self.rest = self.position(now);
        self.motion = None;
    }

    /// Jumps to a position.
    pub fn absolute(&mut self, target: PtzPosition, now: Instant) {
        self.stop(now);
        self.rest = target.clamped();
    }

    /// Moves by an offset.
    pub fn relative(&mut self, delta: PtzPosition, now: Instant) {
        let p = self.position(now);
        self.absolute(
            PtzPosition {
                pan: p.pan + delta.pan,
                tilt: p.tilt + delta.tilt,
                zoom: p.zoom + delta.zoom,
            },
            now,
        );
    }

    /// Stores the current position as a preset (a new one, or `token` when given and known).
    pub fn set_preset(
        &mut self,
        name: Option<&str>,
        token: Option<&str>,
        now: Instant,
    ) -> Option<String> {
        let token = match token {
            Some(t) if self.presets.contains_key(t) => t.to_string(),
            Some(_) => return None,
            None => {
                if self.presets.len() >= MAX_PRESETS {
                    return None;
                }
                self.next_preset += 1;
                format!("preset_{}", self.next_preset)
            }
        };
        let name = name.map(str::to_string).unwrap_or_else(|| token.clone());
        let pos = self.position(now);
        self.presets.insert(token.clone(), (name, pos));
        Some(token)
    }
}

/// Imaging settings (0..=100 scales).
#[derive(Debug, Clone, PartialEq)]
pub struct Imaging {
    /// Brightness.
    pub brightness: f64,
    /// Colour saturation.
    pub color_saturation: f64,
    /// Contrast.
    pub contrast: f64,
    /// Sharpness.
    pub sharpness: f64,
    /// IR cut filter: `ON`, `OFF` or `AUTO`.
    pub ir_cut_filter: String,
}

impl Default for Imaging {
    fn default() -> Self {
        Imaging {
            brightness: 50.0,
            color_saturation: 50.0,
            contrast: 50.0,
            sharpness: 50.0,
            ir_cut_filter: "AUTO".into(),
        }
    }
}

/// One event notification.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMessage {
    /// Topic, e.g. `tns1:RuleEngine/CellMotionDetector/Motion`.
    pub topic: String,
    /// Camera time, Unix seconds.
    pub utc: i64,
    /// `Initialized`, `Changed` or `Deleted`.
    pub operation: &'static str,
    /// Source simple items.
    pub source: Vec<(String, String)>,
    /// Data simple items.
    pub data: Vec<(String, String)>,
}

/// A pull-point subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// When it expires unless renewed.
    pub expires: Instant,
    /// Messages waiting to be pulled.
    pub queue: VecDeque<EventMessage>,
}

/// Everything ONVIF that changes while the camera runs.
#[derive(Debug, Clone)]
pub struct OnvifState {
    /// The PTZ head.
    pub ptz: PtzHead,
    /// Imaging settings.
    pub imaging: Imaging,
    /// Subscriptions by id.
    pub subscriptions: BTreeMap<u64, Subscription>,
    next_subscription: u64,
    /// Host name.
    pub hostname: String,
    /// Whether the device uses NTP (SetSystemDateAndTime).
    pub ntp: bool,
    /// The last motion state published.
    pub motion: bool,
}

impl OnvifState {
    /// Fresh state.
    pub fn new(_profiles: &[ProfileConfig]) -> Self {
        OnvifState {
            ptz: PtzHead::default(),
            imaging: Imaging::default(),
            subscriptions: BTreeMap::new(),
            next_subscription: 0,
            hostname: "camlink-mock".into(),
            ntp: false,
            motion: false,
        }
    }

    /// Opens a subscription; `None` when too many are open.
    pub fn subscribe(&mut self, lifetime: Duration, now: Instant) -> Option<u64> {
        self.expire(now);
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return None;
        }
        self.next_subscription += 1;
        let id = self.next_subscription;
        self.subscriptions.insert(
            id,
            Subscription {
                expires: now + lifetime,
                queue: VecDeque::new(),
            },
        );
        Some(id)
    }

    /// Drops expired subscriptions.
    pub fn expire(&mut self, now: Instant) {
        self.subscriptions.retain(|_, s| s.expires > now);
    }

    /// Queues a message on every live subscription.
    pub fn publish(&mut self, msg: EventMessage, now: Instant) {
        self.expire(now);
        for s in self.subscriptions.values_mut() {
            if s.queue.len() >= MAX_QUEUED_EVENTS {
                s.queue.pop_front();
            }
            s.queue.push_back(msg.clone());
        }
    }

    /// Forgets all subscriptions and motion (a reboot).
    pub fn reboot(&mut self) {
        self.subscriptions.clear();
        self.ptz.motion = None;
        self.motion = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuous_move_moves_then_stops_at_timeout() {
        let t0 = Instant::now();
        let mut h = PtzHead::default();
        h.continuous(
            PtzPosition {
                pan: 0.5,
                tilt: -0.25,
                zoom: 0.0,
            },
            Some(Duration::from_secs(1)),
            t0,
        );
        assert!(h.moving(t0 + Duration::from_millis(500)));
        let p = h.position(t0 + Duration::from_millis(500));
        assert!((p.pan - 0.25).abs() < 1e-9 && (p.tilt + 0.125).abs() < 1e-9);
        let end = h.position(t0 + Duration::from_secs(5));
        assert!((end.pan - 0.5).abs() < 1e-9);
        assert!(!h.moving(t0 + Duration::from_secs(5)));
        h.absolute(
            PtzPosition {
                pan: 3.0,
                tilt: 0.0,
                zoom: -1.0,
            },
            t0,
        );
        assert_eq!(
            h.position(t0),
            PtzPosition {
                pan: 1.0,
                tilt: 0.0,
                zoom: 0.0
            }
        );
    }

    #[test]
    fn presets_are_bounded() {
        let t0 = Instant::now();
        let mut h = PtzHead::default();
        for _ in 0..MAX_PRESETS {
            assert!(h.set_preset(None, None, t0).is_some());
        }
        assert!(h.set_preset(None, None, t0).is_none());
        assert!(h.set_preset(Some("x"), Some("unknown"), t0).is_none());
    }

    #[test]
    fn subscriptions_expire_and_queue_is_bounded() {
        let t0 = Instant::now();
        let mut s = OnvifState::new(&[]);
        let id = s.subscribe(Duration::from_secs(10), t0).unwrap();
        let msg = EventMessage {
            topic: "t".into(),
            utc: 0,
            operation: "Changed",
            source: vec![],
            data: vec![],
        };
        for _ in 0..MAX_QUEUED_EVENTS + 10 {
            s.publish(msg.clone(), t0);
        }
        assert_eq!(s.subscriptions[&id].queue.len(), MAX_QUEUED_EVENTS);
        s.expire(t0 + Duration::from_secs(11));
        assert!(s.subscriptions.is_empty());
    }
}
