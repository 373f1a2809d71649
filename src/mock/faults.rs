//! Faults a test can switch on per mock camera, at start or while it runs.
//!
//! Each fault has a stable name for the CLI (`camlink mock --fault NAME`), parsed by
//! [`Fault::from_str`](std::str::FromStr). Packet faults are seeded and deterministic: the same
//! seed and the same packets give the same drops.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, Result};

/// One injectable fault.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Accept TCP connections and close them at once (ONVIF and RTSP).
    RefuseConnections,
    /// Read each request, then close the connection without answering.
    DropConnections,
    /// Close the RTSP connection after this many RTP packets of a session were sent.
    CloseMidStream {
        /// Packets sent before the close.
        after_packets: u32,
    },
    /// Accept and read requests but never answer.
    Stall,
    /// Answer every request after a delay.
    SlowAnswers(Duration),
    /// Drop this fraction (0..=1) of RTP packets.
    PacketLoss(f64),
    /// Swap this fraction of RTP packets with the next one.
    PacketReorder(f64),
    /// Send this fraction of RTP packets twice.
    PacketDuplicate(f64),
    /// Stop sending RTP (and RTCP) while RTSP stays alive.
    StopRtp,
    /// Reap RTSP sessions after this idle time, whatever timeout was announced.
    ExpireSessionEarly(Duration),
    /// Answer 401 to every request, whatever the credentials.
    Unauthorized,
    /// Declare every digest nonce stale as soon as it was used once (`stale=true`).
    RotateNonce,
    /// Give each SETUP a new session id, even within one session.
    ChangeSessionId,
    /// Serve a malformed SDP on DESCRIBE.
    MalformedSdp,
    /// Answer this ONVIF operation (local name, e.g. `GetProfiles`) with a SOAP fault.
    SoapFault {
        /// The operation's local name.
        operation: String,
    },
}

impl Fault {
    /// The stable name of the fault (without its parameter).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RefuseConnections => "refuse",
            Fault::DropConnections => "drop",
            Fault::CloseMidStream { .. } => "close-mid-stream",
            Fault::Stall => "stall",
            Fault::SlowAnswers(_) => "slow",
            Fault::PacketLoss(_) => "loss",
            Fault::PacketReorder(_) => "reorder",
            Fault::PacketDuplicate(_) => "duplicate",
            Fault::StopRtp => "stop-rtp",
            Fault::ExpireSessionEarly(_) => "expire-session",
            Fault::Unauthorized => "401",
            Fault::RotateNonce => "stale-nonce",
            Fault::ChangeSessionId => "session-id-change",
            Fault::MalformedSdp => "malformed-sdp",
            Fault::SoapFault { .. } => "soap-fault",
        }
    }

    /// Every fault name with the form of its parameter, for help texts.
    pub const NAMES: &'static [&'static str] = &[
        "refuse",
        "drop",
        "close-mid-stream[=PACKETS]",
        "stall",
        "slow[=MILLISECONDS]",
        "loss=FRACTION",
        "reorder=FRACTION",
        "duplicate=FRACTION",
        "stop-rtp",
        "expire-session[=SECONDS]",
        "401",
        "stale-nonce",
        "session-id-change",
        "malformed-sdp",
        "soap-fault=OPERATION",
    ];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::CloseMidStream { after_packets } => {
                write!(f, "close-mid-stream={after_packets}")
            }
            Fault::SlowAnswers(d) => write!(f, "slow={}", d.as_millis()),
            Fault::PacketLoss(x) => write!(f, "loss={x}"),
            Fault::PacketReorder(x) => write!(f, "reorder={x}"),
            Fault::PacketDuplicate(x) => write!(f, "duplicate={x}"),
            Fault::ExpireSessionEarly(d) => write!(f, "expire-session={}", d.as_secs()),
            Fault::SoapFault { operation } => write!(f, "soap-fault={operation}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Fault {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (name, arg) = match s.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (s.trim(), None),
        };
        let bad = || {
            Error::invalid_input(format!(
                "unknown fault {s:?}; known: {}",
                Fault::NAMES.join(", ")
            ))
        };
        let fraction = |a: Option<&str>| -> Result<f64> {
            let v: f64 = a.ok_or_else(bad)?.parse().map_err(|_| bad())?;
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(Error::invalid_input(format!(
                    "fault {name}: fraction {v} is not within 0..=1"
                )))
            }
        };
        let number = |a: Option<&str>, default: u64| -> Result<u64> {
            match a {
                None => Ok(default),
                Some(a) => a.parse().map_err(|_| bad()),
            }
        };
        Ok(match name {
            "refuse" => Fault::RefuseConnections,
            "drop" => Fault::DropConnections,
            "close-mid-stream" => Fault::CloseMidStream {
                after_packets: u32::try_from(number(arg, 100)?).map_err(|_| bad())?,
            },
            "stall" => Fault::Stall,
            "slow" => Fault::SlowAnswers(Duration::from_millis(number(arg, 2000)?)),
            "loss" => Fault::PacketLoss(fraction(arg)?),
            "reorder" => Fault::PacketReorder(fraction(arg)?),
            "duplicate" => Fault::PacketDuplicate(fraction(arg)?),
            "stop-rtp" => Fault::StopRtp,
            "expire-session" => Fault::ExpireSessionEarly(Duration::from_secs(number(arg, 2)?)),
            "401" | "unauthorized" => Fault::Unauthorized,
            "stale-nonce" => Fault::RotateNonce,
            "session-id-change" => Fault::ChangeSessionId,
            "malformed-sdp" => Fault::MalformedSdp,
            "soap-fault" => Fault::SoapFault {
                operation: arg.filter(|a| !a.is_empty()).ok_or_else(bad)?.to_string(),
            },
            _ => return Err(bad()),
        })
    }
}

/// The faults in force on one camera, shared by its servers.
#[derive(Debug, Default)]
pub struct FaultSet {
    active: Mutex<Vec<Fault>>,
}

impl FaultSet {
    /// Switches a fault on (replacing one of the same name).
    pub fn set(&self, fault: Fault) {
        let mut a = self.lock();
        a.retain(|f| f.name() != fault.name());
        a.push(fault);
    }

    /// Switches off the fault with this name.
    pub fn clear(&self, name: &str) {
        self.lock().retain(|f| f.name() != name);
    }

    /// Switches every fault off.
    pub fn clear_all(&self) {
        self.lock().clear();
    }

    /// The faults in force.
    pub fn active(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// Whether a fault with this name is on.
    pub fn is_on(&self, name: &str) -> bool {
        self.lock().iter().any(|f| f.name() == name)
    }

    /// The fault with this name, if on.
    pub fn get(&self, name: &str) -> Option<Fault> {
        self.lock().iter().find(|f| f.name() == name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        // A poisoned lock only means a panic elsewhere while holding it; the list is still valid.
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A small deterministic random source (SplitMix64) for packet faults.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            "refuse",
            "drop",
            "close-mid-stream=40",
            "stall",
            "slow=1500",
            "loss=0.1",
            "reorder=0.05",
            "duplicate=0.2",
            "stop-rtp",
            "expire-session=3",
            "401",
            "stale-nonce",
            "session-id-change",
            "malformed-sdp",
            "soap-fault=GetProfiles",
        ] {
            let f: Fault = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
        }
        assert!("loss=2".parse::<Fault>().is_err());
        assert!("soap-fault".parse::<Fault>().is_err());
        assert!("nonsense".parse::<Fault>().is_err());
    }

    #[test]
    fn fault_set() {
        let s = FaultSet::default();
        s.set(Fault::PacketLoss(0.1));
        s.set(Fault::PacketLoss(0.3));
        assert_eq!(s.active(), vec![Fault::PacketLoss(0.3)]);
        assert!(s.is_on("loss"));
        s.clear("loss");
        assert!(!s.is_on("loss"));
    }

    #[test]
    fn seeded_rng_is_deterministic_and_fair() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let hits = (0..10_000).filter(|_| a.chance(0.1)).count();
        let hits_b = (0..10_000).filter(|_| b.chance(0.1)).count();
        assert_eq!(hits, hits_b);
        assert!((800..1200).contains(&hits), "{hits}");
        assert!(!SeededRng::new(1).chance(0.0));
    }
}
