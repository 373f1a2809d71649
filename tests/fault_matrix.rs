//! The fault matrix: every RTSP-relevant fault of the mock camera against every transport (TCP
//! interleaved, UDP, RTSPS interleaved), asserting the outcome documented in
//! `camlink::rtsp::client` ("Outcomes under faults").
//!
//! [`CELLS`] is the single source of truth: one row per (fault, transport) with the outcome a
//! caller sees. Each cell runs in two phases against its own paced mock camera:
//!
//! 1. a plain [`Session`]: the error kind surfaced (or none), frames delivered before a
//!    mid-stream fault, loss reported exactly where packets are lost;
//! 2. for every cell that fails, a [`Supervisor`] with small backoffs: its first `Retrying`
//!    carries the same kind, and once the fault is cleared it plays again (a frame arrives)
//!    within [`recovery_bound`].
//!
//! No task or socket is left behind: each cell runs on its own current-thread runtime whose
//! alive tasks must drop back to zero once the session, supervisor and camera are dropped; the
//! process's open file descriptors (`/proc/self/fd`) must come back to their count before the
//! cell (checked per cell when the cells run one at a time, `CAMLINK_MATRIX_JOBS=1`, and over
//! the whole matrix otherwise, since concurrent cells share the process's descriptor table).
//!
//! `SoapFault` is not in the matrix: it is an ONVIF fault the RTSP server ignores.
//!
//! `CAMLINK_MATRIX_JOBS=N` sets how many cells run at once (default 8; 1 adds the per-cell
//! descriptor check, ~90 s here); `CAMLINK_MATRIX_ONLY=text` runs the cells whose name
//! (`AtStart(Stall) over Tls`) contains the text.

#![cfg(feature = "mock")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::mock::{AudioCodec, Fault, MockCamera, ProfileConfig, VideoCodec};
use camlink::onvif::tls::{TlsPolicy, parse_fingerprint};
use camlink::rtsp::client::{
    Event, Health, Item, Session, SessionOptions, Supervisor, SupervisorOptions, Timeouts,
    TransportMode,
};

/// How a cell's camera misbehaves.
#[derive(Debug)]
enum Inject {
    /// Nothing: the baseline.
    Nothing,
    /// This fault is on before the session opens.
    AtStart(Fault),
    /// This fault is switched on once [`FRAMES_BEFORE`] frames arrived.
    AfterFrames(Fault),
    /// The camera reboots (down 300 ms) once [`FRAMES_BEFORE`] frames arrived.
    Reboot,
    /// Nothing listens on the port (camera shut down before the session opens).
    NotListening,
}

/// The transport of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `rtsp://`, RTP interleaved on the TCP connection.
    Tcp,
    /// `rtsp://`, RTP over UDP unicast.
    Udp,
    /// `rtsps://` (pinned certificate), RTP interleaved on the TLS connection.
    Tls,
}

/// What the caller sees.
#[derive(Debug)]
enum Outcome {
    /// `Session::open` fails with this kind.
    OpenFails(ErrorKind),
    /// It plays: [`PLAY_FRAMES`] frames without error; `loss` says whether `Item::Loss` (and
    /// `Frame::loss_before`) must report lost packets, or must not.
    Plays { loss: bool },
    /// Frames (at least one), then one `Err` of this kind, then the end of the stream.
    Breaks(ErrorKind),
}

struct Cell {
    inject: Inject,
    via: Via,
    outcome: Outcome,
    /// Why, where the outcome is not obvious (shown when the cell fails).
    note: &'static str,
}

const fn cell(inject: Inject, via: Via, outcome: Outcome, note: &'static str) -> Cell {
    Cell {
        inject,
        via,
        outcome,
        note,
    }
}

use Inject::*;
use Outcome::*;
use Via::*;

const LOSS: f64 = 0.1;
/// A swap only shows as loss over TCP when both packets are of one stream (the mock may swap a
/// video packet with the next audio one): swap often enough that some always are.
const REORDER: f64 = 0.3;
const SLOW_OK: Duration = Duration::from_millis(300);
const SLOW_TOO: Duration = Duration::from_millis(2500);
const EXPIRE: Duration = Duration::from_millis(700);

/// The matrix: every RTSP-relevant fault × every transport.
#[rustfmt::skip]
static CELLS: &[Cell] = &[
    // The baseline.
    cell(Nothing, Tcp, Plays { loss: false }, ""),
    cell(Nothing, Udp, Plays { loss: false }, ""),
    cell(Nothing, Tls, Plays { loss: false }, ""),
    // Connections accepted and closed at once: over TLS the handshake fails, still Io.
    cell(AtStart(Fault::RefuseConnections), Tcp, OpenFails(ErrorKind::Io), ""),
    cell(AtStart(Fault::RefuseConnections), Udp, OpenFails(ErrorKind::Io), ""),
    cell(AtStart(Fault::RefuseConnections), Tls, OpenFails(ErrorKind::Io), "handshake cut"),
    // Requests read, connection closed without an answer.
    cell(AtStart(Fault::DropConnections), Tcp, OpenFails(ErrorKind::Io), ""),
    cell(AtStart(Fault::DropConnections), Udp, OpenFails(ErrorKind::Io), ""),
    cell(AtStart(Fault::DropConnections), Tls, OpenFails(ErrorKind::Io), ""),
    // No answer at all: Timeouts::response.
    cell(AtStart(Fault::Stall), Tcp, OpenFails(ErrorKind::Timeout), ""),
    cell(AtStart(Fault::Stall), Udp, OpenFails(ErrorKind::Timeout), ""),
    cell(AtStart(Fault::Stall), Tls, OpenFails(ErrorKind::Timeout), ""),
    // Slow answers within Timeouts::response are fine...
    cell(AtStart(Fault::SlowAnswers(SLOW_OK)), Tcp, Plays { loss: false }, ""),
    cell(AtStart(Fault::SlowAnswers(SLOW_OK)), Udp, Plays { loss: false }, ""),
    cell(AtStart(Fault::SlowAnswers(SLOW_OK)), Tls, Plays { loss: false }, ""),
    // ... and time out beyond it.
    cell(AtStart(Fault::SlowAnswers(SLOW_TOO)), Tcp, OpenFails(ErrorKind::Timeout), ""),
    cell(AtStart(Fault::SlowAnswers(SLOW_TOO)), Udp, OpenFails(ErrorKind::Timeout), ""),
    cell(AtStart(Fault::SlowAnswers(SLOW_TOO)), Tls, OpenFails(ErrorKind::Timeout), ""),
    // The RTSP connection closes after 100 packets.
    cell(AtStart(Fault::CloseMidStream { after_packets: 100 }), Tcp, Breaks(ErrorKind::Io), ""),
    cell(AtStart(Fault::CloseMidStream { after_packets: 100 }), Udp, Breaks(ErrorKind::Io), "the RTSP connection is watched while RTP comes over UDP"),
    cell(AtStart(Fault::CloseMidStream { after_packets: 100 }), Tls, Breaks(ErrorKind::Io), ""),
    // Packets lost: reported.
    cell(AtStart(Fault::PacketLoss(LOSS)), Tcp, Plays { loss: true }, ""),
    cell(AtStart(Fault::PacketLoss(LOSS)), Udp, Plays { loss: true }, ""),
    cell(AtStart(Fault::PacketLoss(LOSS)), Tls, Plays { loss: true }, ""),
    // Packets swapped: the UDP reorder buffer repairs them; interleaved, the late one is dropped.
    cell(AtStart(Fault::PacketReorder(REORDER)), Tcp, Plays { loss: true }, "late packet dropped"),
    cell(AtStart(Fault::PacketReorder(REORDER)), Udp, Plays { loss: false }, "reorder buffer"),
    cell(AtStart(Fault::PacketReorder(REORDER)), Tls, Plays { loss: true }, "late packet dropped"),
    // Packets sent twice: dropped silently everywhere.
    cell(AtStart(Fault::PacketDuplicate(LOSS)), Tcp, Plays { loss: false }, ""),
    cell(AtStart(Fault::PacketDuplicate(LOSS)), Udp, Plays { loss: false }, ""),
    cell(AtStart(Fault::PacketDuplicate(LOSS)), Tls, Plays { loss: false }, ""),
    // RTP stops while RTSP lives: Timeouts::no_data.
    cell(AfterFrames(Fault::StopRtp), Tcp, Breaks(ErrorKind::Timeout), ""),
    cell(AfterFrames(Fault::StopRtp), Udp, Breaks(ErrorKind::Timeout), ""),
    cell(AfterFrames(Fault::StopRtp), Tls, Breaks(ErrorKind::Timeout), ""),
    // The session is reaped early: RTP stops, Timeouts::no_data.
    cell(AtStart(Fault::ExpireSessionEarly(EXPIRE)), Tcp, Breaks(ErrorKind::Timeout), ""),
    cell(AtStart(Fault::ExpireSessionEarly(EXPIRE)), Udp, Breaks(ErrorKind::Timeout), ""),
    cell(AtStart(Fault::ExpireSessionEarly(EXPIRE)), Tls, Breaks(ErrorKind::Timeout), ""),
    // 401 whatever the credentials.
    cell(AtStart(Fault::Unauthorized), Tcp, OpenFails(ErrorKind::Unauthorized), ""),
    cell(AtStart(Fault::Unauthorized), Udp, OpenFails(ErrorKind::Unauthorized), ""),
    cell(AtStart(Fault::Unauthorized), Tls, OpenFails(ErrorKind::Unauthorized), ""),
    // Stale nonce after each use: followed transparently.
    cell(AtStart(Fault::RotateNonce), Tcp, Plays { loss: false }, ""),
    cell(AtStart(Fault::RotateNonce), Udp, Plays { loss: false }, ""),
    cell(AtStart(Fault::RotateNonce), Tls, Plays { loss: false }, ""),
    // A new session id at each SETUP: followed.
    cell(AtStart(Fault::ChangeSessionId), Tcp, Plays { loss: false }, ""),
    cell(AtStart(Fault::ChangeSessionId), Udp, Plays { loss: false }, ""),
    cell(AtStart(Fault::ChangeSessionId), Tls, Plays { loss: false }, ""),
    // A broken SDP: no usable stream.
    cell(AtStart(Fault::MalformedSdp), Tcp, OpenFails(ErrorKind::Unsupported), ""),
    cell(AtStart(Fault::MalformedSdp), Udp, OpenFails(ErrorKind::Unsupported), ""),
    cell(AtStart(Fault::MalformedSdp), Tls, OpenFails(ErrorKind::Unsupported), ""),
    // Reboot: every connection drops.
    cell(Reboot, Tcp, Breaks(ErrorKind::Io), ""),
    cell(Reboot, Udp, Breaks(ErrorKind::Io), "the RTSP connection is watched while RTP comes over UDP"),
    cell(Reboot, Tls, Breaks(ErrorKind::Io), ""),
    // Nothing listening.
    cell(NotListening, Tcp, OpenFails(ErrorKind::Unreachable), ""),
    cell(NotListening, Udp, OpenFails(ErrorKind::Unreachable), ""),
    cell(NotListening, Tls, OpenFails(ErrorKind::Unreachable), ""),
];

/// Frames read before a mid-stream fault is injected.
const FRAMES_BEFORE: usize = 10;
/// Frames a playing cell reads (video and audio; about 2 s of the paced camera).
const PLAY_FRAMES: usize = 100;
/// Longest any phase of a cell may take.
const PHASE_LIMIT: Duration = Duration::from_secs(20);
/// How long the tasks and descriptors get to go away after a cell.
const SETTLE: Duration = Duration::from_secs(2);

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_millis(1500),
        first_packet: Duration::from_millis(1500),
        no_data: Duration::from_millis(1500),
        teardown: Duration::from_millis(500),
    }
}

fn sup_opts() -> SupervisorOptions {
    SupervisorOptions {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        jitter: 0.2,
        stall_after: Duration::from_millis(500),
    }
}

/// Once the fault is cleared, the supervisor must play again within: the attempt in flight
/// (at worst a full response or first-packet timeout against the fault), the longest backoff
/// with its jitter, and a fresh open with its first frame (1.5 s of slack on a loaded 2-core
/// box: the mock answers in milliseconds and sends 25 frames a second).
fn recovery_bound() -> Duration {
    let t = timeouts();
    let s = sup_opts();
    t.response.max(t.first_packet).max(t.no_data)
        + s.max_backoff.mul_f64(1.0 + s.jitter)
        + Duration::from_millis(1500)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// What the open descriptors point at (for the failure message).
fn fd_targets() -> Vec<String> {
    let Ok(d) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    d.filter_map(|e| e.ok())
        .map(|e| {
            let t = std::fs::read_link(e.path()).unwrap_or_default();
            format!("{}->{}", e.file_name().to_string_lossy(), t.display())
        })
        .collect()
}

async fn camera() -> MockCamera {
    // Paced (real time): unpaced, UDP could overflow the socket buffer, which is real loss.
    MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![
            ProfileConfig::new("main", VideoCodec::H264, 320, 240).with_audio(AudioCodec::Pcmu),
        ])
        .discovery_port(None)
        .https_port(None)
        .start()
        .await
        .expect("mock camera")
}

fn url_and_options(cam: &MockCamera, via: Via) -> (String, SessionOptions) {
    let base = SessionOptions::new()
        .credentials(Credentials::new("admin", "secret"))
        .timeouts(timeouts());
    match via {
        Tcp => (cam.rtsp_url("main"), base.transport(TransportMode::Tcp)),
        Udp => (cam.rtsp_url("main"), base.transport(TransportMode::Udp)),
        Tls => {
            let fp = parse_fingerprint(cam.https_fingerprint().expect("tls identity"))
                .expect("fingerprint");
            (
                cam.rtsps_url("main").expect("rtsps on"),
                base.transport(TransportMode::Tcp)
                    .tls(TlsPolicy::PinnedSha256(fp)),
            )
        }
    }
}

#[derive(Debug, Default)]
struct Run {
    frames: usize,
    loss: u64,
    loss_before: u64,
    error: Option<camlink::Error>,
    ended_after_error: bool,
}

/// Reads until `frames` frames or an error (then checks the stream ends).
async fn read(s: &mut Session, frames: usize, r: &mut Run) {
    let _ = tokio::time::timeout(PHASE_LIMIT, async {
        while r.frames < frames {
            match s.next().await {
                None => break,
                Some(Err(e)) => {
                    r.error = Some(e);
                    r.ended_after_error = tokio::time::timeout(Duration::from_secs(2), s.next())
                        .await
                        .is_ok_and(|n| n.is_none());
                    break;
                }
                Some(Ok(Item::Loss { packets, .. })) => r.loss += packets,
                Some(Ok(i)) => {
                    if let Some(f) = i.frame() {
                        r.frames += 1;
                        r.loss_before += f.frame.loss_before;
                    }
                }
            }
        }
    })
    .await;
}

fn inject_now(cam: &Arc<MockCamera>, inject: &Inject) -> Option<tokio::task::JoinHandle<()>> {
    match inject {
        AfterFrames(f) => {
            cam.set_fault(f.clone());
            None
        }
        Reboot => {
            let c = cam.clone();
            Some(tokio::spawn(async move {
                c.reboot(Duration::from_millis(300)).await
            }))
        }
        _ => None,
    }
}

/// Phase 1: a plain session.
async fn session_phase(cell: &Cell) -> Result<(), String> {
    let cam = Arc::new(camera().await);
    let (url, opts) = url_and_options(&cam, cell.via);
    match &cell.inject {
        AtStart(f) => cam.set_fault(f.clone()),
        NotListening => {
            let c = Arc::try_unwrap(cam).map_err(|_| "camera shared")?;
            c.shutdown().await;
            let e = tokio::time::timeout(PHASE_LIMIT, Session::open(&url, opts))
                .await
                .map_err(|_| "open unbounded".to_string())?
                .err()
                .ok_or("open succeeded with nothing listening")?;
            return match &cell.outcome {
                OpenFails(k) if e.kind() == k => Ok(()),
                o => Err(format!(
                    "expected {o:?}, open failed with {:?}: {e}",
                    e.kind()
                )),
            };
        }
        _ => {}
    }
    let opened = tokio::time::timeout(PHASE_LIMIT, Session::open(&url, opts))
        .await
        .map_err(|_| "open unbounded".to_string())?;
    let mut s = match (opened, &cell.outcome) {
        (Err(e), OpenFails(k)) if e.kind() == k => return Ok(()),
        (Err(e), o) => {
            return Err(format!(
                "expected {o:?}, open failed with {:?}: {e}",
                e.kind()
            ));
        }
        (Ok(_), o @ OpenFails(_)) => return Err(format!("expected {o:?}, open succeeded")),
        (Ok(s), _) => s,
    };
    let mut r = Run::default();
    let mut reboot = None;
    if matches!(cell.inject, AfterFrames(_) | Reboot) {
        read(&mut s, FRAMES_BEFORE, &mut r).await;
        if r.error.is_some() || r.frames < FRAMES_BEFORE {
            return Err(format!("before the fault: {r:?}"));
        }
        reboot = inject_now(&cam, &cell.inject);
    }
    let want = match cell.outcome {
        Plays { .. } => PLAY_FRAMES,
        _ => usize::MAX,
    };
    read(&mut s, want, &mut r).await;
    if let Some(h) = reboot {
        let _ = h.await;
    }
    if r.loss != r.loss_before {
        return Err(format!("Item::Loss and Frame::loss_before disagree: {r:?}"));
    }
    match &cell.outcome {
        Plays { loss } => {
            if let Some(e) = &r.error {
                return Err(format!("expected to play, got {:?}: {e} ({r:?})", e.kind()));
            }
            if r.frames < PLAY_FRAMES {
                return Err(format!("only {} frames: {r:?}", r.frames));
            }
            if *loss != (r.loss > 0) {
                return Err(format!(
                    "loss expected: {loss}, reported: {} ({r:?})",
                    r.loss
                ));
            }
        }
        Breaks(k) => {
            match &r.error {
                Some(e) if e.kind() == k => {}
                _ => return Err(format!("expected frames then {k:?}: {r:?}")),
            }
            if r.frames == 0 {
                return Err(format!("no frame before the fault: {r:?}"));
            }
            if !r.ended_after_error {
                return Err(format!("the stream goes on after the error: {r:?}"));
            }
        }
        OpenFails(_) => unreachable!(),
    }
    drop(s);
    Ok(())
}

/// Phase 2: a supervisor retries with the cell's kind, and plays again once the fault is gone.
async fn supervisor_phase(cell: &Cell) -> Result<(), String> {
    let kind = match &cell.outcome {
        OpenFails(k) | Breaks(k) => k.clone(),
        Plays { .. } => return Ok(()),
    };
    if matches!(cell.inject, NotListening) {
        return Ok(()); // the port cannot be had again: no recovery to watch
    }
    let cam = Arc::new(camera().await);
    let (url, opts) = url_and_options(&cam, cell.via);
    if let AtStart(f) = &cell.inject {
        cam.set_fault(f.clone());
    }
    let mut sup = Supervisor::new(&url, opts, sup_opts());
    let mut injected = !matches!(cell.inject, AfterFrames(_) | Reboot);
    let mut reboot: Option<tokio::task::JoinHandle<()>> = None;
    let mut retrying: Option<ErrorKind> = None;
    let mut cleared_at: Option<Instant> = None;
    let mut discontinuity = false;
    let mut log = Vec::new();
    let outcome = tokio::time::timeout(PHASE_LIMIT, async {
        loop {
            // Once the fault has shown, clear it (for a reboot: wait until the camera is back).
            if retrying.is_some() && cleared_at.is_none() {
                if let Some(h) = reboot.take() {
                    let _ = h.await;
                }
                cam.clear_faults();
                cleared_at = Some(Instant::now());
            }
            let Some(ev) = sup.next().await else {
                return Err("the supervisor ended".to_string());
            };
            match ev {
                Event::Health(h) => {
                    log.push(format!("{h:?}"));
                    if let Health::Retrying { kind: k, .. } = h
                        && retrying.is_none()
                    {
                        if !injected {
                            return Err(format!("failed before the fault: {k:?}"));
                        }
                        if k != kind {
                            return Err(format!("first retry of kind {k:?}, expected {kind:?}"));
                        }
                        retrying = Some(k);
                    }
                }
                Event::Item(Item::Discontinuity { .. }) => discontinuity = true,
                Event::Item(i) if i.frame().is_some() => {
                    if !injected {
                        injected = true;
                        reboot = inject_now(&cam, &cell.inject);
                    } else if let Some(at) = cleared_at {
                        return Ok(at.elapsed());
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .map_err(|_| format!("supervisor: no recovery within {PHASE_LIMIT:?}: {log:?}"))?;
    let took = outcome.map_err(|e| format!("supervisor: {e}; {log:?}"))?;
    if took > recovery_bound() {
        return Err(format!(
            "supervisor played again {took:?} after the fault cleared (bound {:?}): {log:?}",
            recovery_bound()
        ));
    }
    if matches!(cell.outcome, Breaks(_)) && !discontinuity {
        return Err(format!("no Item::Discontinuity after the break: {log:?}"));
    }
    sup.stop().await;
    drop(sup);
    Ok(())
}

/// Runs one cell on its own runtime; checks its tasks are gone afterwards.
fn run_cell(cell: &Cell) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        let a = session_phase(cell)
            .await
            .map_err(|e| format!("session: {e}"));
        let b = supervisor_phase(cell).await;
        // Everything is dropped: tasks must end (teardowns are bounded by Timeouts::teardown).
        let m = tokio::runtime::Handle::current().metrics();
        let deadline = Instant::now() + SETTLE;
        while m.num_alive_tasks() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let tasks = m.num_alive_tasks();
        a.and(b)?;
        if tasks > 0 {
            return Err(format!("{tasks} tasks left behind"));
        }
        Ok(())
    });
    drop(rt);
    result
}

/// Waits (bounded) until the open descriptors are back to `baseline`; returns the count.
fn settle_fds(baseline: usize) -> usize {
    let deadline = Instant::now() + SETTLE;
    loop {
        let n = open_fds();
        if n <= baseline || Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fault_matrix() {
    let jobs: usize = std::env::var("CAMLINK_MATRIX_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .filter(|&j| j > 0)
        .unwrap_or(8);
    // CAMLINK_MATRIX_ONLY=text runs the cells whose name contains it.
    let only = std::env::var("CAMLINK_MATRIX_ONLY").unwrap_or_default();
    // tokio's signal driver opens a process-wide socket pair with the first runtime and keeps
    // it: build one runtime before the baseline so that the pair counts in it.
    drop(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    );
    let started = Instant::now();
    let baseline = open_fds();
    let before_targets = fd_targets();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(cell) = CELLS.get(i) else { break };
                    let name = format!("{:?} over {:?}", cell.inject, cell.via);
                    if !name.contains(&only) {
                        continue;
                    }
                    let before = open_fds();
                    let t = Instant::now();
                    let mut r = run_cell(cell);
                    if jobs == 1 && r.is_ok() {
                        let after = settle_fds(before);
                        if after != before {
                            r = Err(format!("{before} descriptors before, {after} after"));
                        }
                    }
                    eprintln!(
                        "{name}: {:?} in {:?}",
                        r.as_ref().map(|_| "ok"),
                        t.elapsed()
                    );
                    if let Err(e) = r {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{name} ({}): {e}", cell.note));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let after = settle_fds(baseline);
    assert_eq!(
        after,
        baseline,
        "descriptors left open by the matrix: before {before_targets:?}, after {:?}",
        fd_targets()
    );
    eprintln!("{} cells in {:?}", CELLS.len(), started.elapsed());
}

#[test]
fn the_matrix_covers_every_rtsp_fault_over_every_transport() {
    // Every RTSP-relevant fault name appears once per transport.
    let rtsp_faults = Fault::NAMES
        .iter()
        .map(|n| n.split(['=', '[']).next().unwrap_or(n))
        .filter(|n| *n != "soap-fault");
    for name in rtsp_faults {
        for via in [Tcp, Udp, Tls] {
            let n = CELLS
                .iter()
                .filter(|c| c.via == via)
                .filter(|c| match &c.inject {
                    AtStart(f) | AfterFrames(f) => f.name() == name,
                    _ => false,
                })
                .count();
            assert!(n >= 1, "{name} over {via:?} is not in the matrix");
        }
    }
}
