//! The measuring client: N sessions of one library against a sender, frames read for a fixed
//! time, then one `key=value` line with frames, losses, bytes, CPU and peak RSS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::proc_stats;
use crate::synth;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lib {
    Camlink,
    Retina,
    /// The floor: no library, the least any client pays (see `floor.rs`).
    Floor,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Transport {
    Tcp,
    Udp,
}

pub struct Args {
    pub lib: Lib,
    pub sessions: usize,
    pub secs: f64,
    pub transport: Transport,
    pub url: String,
    /// camlink only: `SessionOptions::read_buffer` (None: the default).
    pub read_buffer: Option<usize>,
    /// camlink: `SessionOptions::read_coalescing` in ms (None: the default, off); floor: the
    /// interval between its batches.
    pub coalesce_ms: Option<u64>,
}

/// Frames and bytes received, counted per shard so that sessions on different worker threads
/// do not contend on one cache line for every frame (the harness's own cost, not the
/// libraries').
#[repr(align(128))]
#[derive(Default)]
struct Shard {
    frames: AtomicU64,
    bytes: AtomicU64,
}

const SHARDS: usize = 16;

/// Counters summed over all sessions.
#[derive(Default)]
struct Counters {
    /// Frames and frame payload bytes received (whole run), by session number modulo SHARDS.
    shards: [Shard; SHARDS],
    /// Packets the library reported lost.
    packets_lost: AtomicU64,
    /// Frames missing: from the RTP timestamps of the first and last frame of each session
    /// (one frame every 3600 ticks) minus the frames received.
    frames_missing: AtomicU64,
    sessions_ok: AtomicU64,
    sessions_failed: AtomicU64,
    /// Sessions that ended early with an error while reading.
    sessions_broken: AtomicU64,
}

/// Per-session frame bookkeeping.
struct Track {
    first_ts: Option<i64>,
    last_ts: i64,
    frames: u64,
    shard: usize,
}

impl Counters {
    /// Frames and bytes received so far, over all shards.
    fn totals(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(f, b), s| {
            (
                f + s.frames.load(Ordering::Relaxed),
                b + s.bytes.load(Ordering::Relaxed),
            )
        })
    }
}

impl Track {
    fn new(session: usize) -> Self {
        Track {
            first_ts: None,
            last_ts: 0,
            frames: 0,
            shard: session % SHARDS,
        }
    }
    fn frame(&mut self, c: &Counters, ts: i64, bytes: usize, lost: u64) {
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        self.last_ts = ts;
        self.frames += 1;
        let shard = &c.shards[self.shard];
        shard.frames.fetch_add(1, Ordering::Relaxed);
        shard.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        if lost > 0 {
            c.packets_lost.fetch_add(lost, Ordering::Relaxed);
        }
    }
    fn finish(&self, c: &Counters) {
        if let Some(first) = self.first_ts {
            let span = (self.last_ts - first).max(0) as u64;
            let expected = span / u64::from(synth::TICKS_PER_FRAME) + 1;
            c.frames_missing
                .fetch_add(expected.saturating_sub(self.frames), Ordering::Relaxed);
        }
    }
}

/// Sessions set up at once (bounded so that 500 DESCRIBEs do not all time out together).
const SETUP_CONCURRENCY: usize = 32;

pub fn run(args: Args) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> Result<String, String> {
    let counters = Arc::new(Counters::default());
    let rss_before = proc_stats::rss_kib();
    let setup_gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let playing = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(args.sessions);
    let setup_start = Instant::now();
    for id in 0..args.sessions {
        let c = counters.clone();
        let gate = setup_gate.clone();
        let url = args.url.clone();
        let stop = stop_rx.clone();
        let playing = playing.clone();
        let (lib, transport) = (args.lib, args.transport);
        let tune = (args.read_buffer, args.coalesce_ms);
        tasks.push(tokio::spawn(async move {
            let r = match lib {
                Lib::Camlink => {
                    camlink_session(id, &url, transport, tune, gate, &c, stop, &playing).await
                }
                Lib::Retina => retina_session(id, &url, transport, gate, &c, stop, &playing).await,
                Lib::Floor => {
                    floor_session(id, &url, transport, tune.1, gate, &c, stop, &playing).await
                }
            };
            if let Err(e) = r {
                eprintln!("client: session error: {e}");
            }
        }));
    }
    // Wait until every session plays (or failed), bounded.
    let setup_deadline = setup_start + Duration::from_secs(60);
    loop {
        let done =
            playing.load(Ordering::Relaxed) + counters.sessions_failed.load(Ordering::Relaxed);
        if done >= args.sessions as u64 || Instant::now() > setup_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let setup_secs = setup_start.elapsed().as_secs_f64();
    // The measured window.
    let cpu0 = proc_stats::cpu_secs();
    let sched0 = proc_stats::sched_cpu_secs();
    let (frames0, bytes0) = counters.totals();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.secs)).await;
    let window = t0.elapsed().as_secs_f64();
    let cpu1 = proc_stats::cpu_secs();
    let sched1 = proc_stats::sched_cpu_secs();
    let (frames1, bytes1) = counters.totals();
    let (frames, bytes) = (frames1 - frames0, bytes1 - bytes0);
    let peak_rss = proc_stats::peak_rss_kib();
    let (heap_used, heap_free, heap_mmap) = proc_stats::malloc_kib();
    let _ = stop_tx.send(true);
    // Bounded as a whole: a session that gets no frame never sees the stop signal; the
    // runtime's end cancels it.
    let deadline = Instant::now() + Duration::from_secs(10);
    for t in tasks {
        let _ = tokio::time::timeout_at(deadline, t).await;
    }
    let c = &counters;
    let sessions_ok = c.sessions_ok.load(Ordering::Relaxed);
    let (user, sys) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    // The scheduler's exact run time when available, else getrusage (tick-sampled).
    let (cpu, cpu_source) = match (sched0, sched1) {
        (Some(a), Some(b)) => (b - a, "schedstat"),
        _ => (user + sys, "getrusage"),
    };
    let stream_minutes = sessions_ok.max(1) as f64 * window / 60.0;
    Ok(format!(
        "lib={lib}{rb} transport={tr} sessions={n} sessions_ok={sessions_ok} sessions_failed={failed} sessions_broken={broken} \
         setup_s={setup_secs:.2} secs={window:.2} frames={frames} frames_lost={missing} packets_lost={plost} bytes={bytes} \
         mbit_s={mbit:.1} cpu_user_s={user:.2} cpu_sys_s={sys:.2} cpu_s={cpu:.4} cpu_source={cpu_source} cpu_s_per_stream_min={cpm:.4} \
         rss_start_kib={rss_before} peak_rss_kib={peak_rss} rss_kib_per_session={rps:.0} \
         heap_used_kib={heap_used} heap_free_kib={heap_free} heap_mmap_kib={heap_mmap}",
        lib = match args.lib {
            Lib::Camlink => "camlink",
            Lib::Retina => "retina",
            Lib::Floor => "floor",
        },
        tr = match args.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        },
        n = args.sessions,
        rb = match (args.lib, args.read_buffer, args.coalesce_ms) {
            (Lib::Camlink, Some(b), None) => format!("-rb{}k", b / 1024),
            (Lib::Camlink, None, Some(ms)) => format!("-co{ms}ms"),
            (Lib::Camlink, Some(b), Some(ms)) => format!("-rb{}k-co{ms}ms", b / 1024),
            (Lib::Floor, _, Some(ms)) => format!("-co{ms}ms"),
            _ => String::new(),
        },
        failed = c.sessions_failed.load(Ordering::Relaxed),
        broken = c.sessions_broken.load(Ordering::Relaxed),
        missing = c.frames_missing.load(Ordering::Relaxed),
        plost = c.packets_lost.load(Ordering::Relaxed),
        mbit = bytes as f64 * 8.0 / window / 1e6,
        cpm = cpu / stream_minutes,
        rps = peak_rss as f64 / args.sessions.max(1) as f64,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn camlink_session(
    id: usize,
    url: &str,
    transport: Transport,
    (read_buffer, coalesce_ms): (Option<usize>, Option<u64>),
    gate: Arc<Semaphore>,
    c: &Counters,
    stop: tokio::sync::watch::Receiver<bool>,
    playing: &AtomicU64,
) -> Result<(), String> {
    use camlink::codec::nal::NalFormat;
    use camlink::rtsp::client::{Session, SessionOptions, TransportMode};
    let mut opts = SessionOptions::new()
        .transport(match transport {
            Transport::Tcp => TransportMode::Tcp,
            Transport::Udp => TransportMode::Udp,
        })
        // The same frame format as retina's default (4-byte lengths, no inserted parameter sets).
        .nal_format(NalFormat::LengthPrefixed);
    if let Some(b) = read_buffer {
        opts = opts.read_buffer(b);
    }
    if let Some(ms) = coalesce_ms {
        opts = opts.read_coalescing(std::time::Duration::from_millis(ms));
    }
    let session = {
        let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
        match Session::open(url, opts).await {
            Ok(s) => s,
            Err(e) => {
                c.sessions_failed.fetch_add(1, Ordering::Relaxed);
                return Err(format!("camlink open: {e}"));
            }
        }
    };
    play_loop(id, c, stop, playing, session).await
}

impl FrameSource for camlink::rtsp::client::Session {
    const LIB: &str = "camlink";
    async fn next_frame(&mut self) -> Option<Result<Option<VideoFrame>, String>> {
        use camlink::rtsp::client::Item;
        let item = self.next().await?;
        Some(item.map_err(|e| e.to_string()).map(|item| match item {
            Item::Video(f) => Some((
                f.frame.timestamp,
                f.frame.payload.len(),
                f.frame.loss_before,
            )),
            // Losses are also reported on the next frame (`loss_before`), counted there.
            _ => None,
        }))
    }
}

async fn retina_session(
    id: usize,
    url: &str,
    transport: Transport,
    gate: Arc<Semaphore>,
    c: &Counters,
    stop: tokio::sync::watch::Receiver<bool>,
    playing: &AtomicU64,
) -> Result<(), String> {
    use retina::client::{PlayOptions, Session, SessionOptions, SetupOptions};
    let url = url::Url::parse(url).map_err(|e| e.to_string())?;
    let opened = {
        let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
        async {
            let mut s = Session::describe(
                url,
                SessionOptions::default().user_agent("camlink-bench-sessions".into()),
            )
            .await
            .map_err(|e| e.to_string())?;
            let video = s
                .streams()
                .iter()
                .position(|s| s.media() == "video")
                .ok_or("no video stream")?;
            let t = match transport {
                Transport::Tcp => retina::client::Transport::Tcp(Default::default()),
                Transport::Udp => retina::client::Transport::Udp(Default::default()),
            };
            s.setup(video, SetupOptions::default().transport(t))
                .await
                .map_err(|e| e.to_string())?;
            let p = s
                .play(PlayOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            p.demuxed().map_err(|e| e.to_string())
        }
        .await
    };
    let session = match opened {
        Ok(s) => s,
        Err(e) => {
            c.sessions_failed.fetch_add(1, Ordering::Relaxed);
            return Err(format!("retina open: {e}"));
        }
    };
    play_loop(id, c, stop, playing, session).await
}

impl FrameSource for retina::client::Demuxed {
    const LIB: &str = "retina";
    async fn next_frame(&mut self) -> Option<Result<Option<VideoFrame>, String>> {
        use retina::codec::CodecItem;
        let item = self.next().await?;
        Some(item.map_err(|e| e.to_string()).map(|item| match item {
            CodecItem::VideoFrame(f) => Some((
                f.timestamp().timestamp(),
                f.data().len(),
                u64::from(f.loss()),
            )),
            _ => None,
        }))
    }
}

#[allow(clippy::too_many_arguments)]
async fn floor_session(
    id: usize,
    url: &str,
    transport: Transport,
    coalesce_ms: Option<u64>,
    gate: Arc<Semaphore>,
    c: &Counters,
    stop: tokio::sync::watch::Receiver<bool>,
    playing: &AtomicU64,
) -> Result<(), String> {
    let opened = {
        let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
        crate::floor::Floor::open(url, transport, coalesce_ms.map(Duration::from_millis)).await
    };
    let session = match opened {
        Ok(s) => s,
        Err(e) => {
            c.sessions_failed.fetch_add(1, Ordering::Relaxed);
            return Err(format!("floor open: {e}"));
        }
    };
    play_loop(id, c, stop, playing, session).await
}

/// A video frame as the measure sees it: timestamp, payload length, packets lost before it.
pub(crate) type VideoFrame = (i64, usize, u64);

/// A playing session of either library (or the floor).
pub(crate) trait FrameSource {
    const LIB: &str;
    /// The next item: `None` at the end, `Ok(None)` for anything but a video frame.
    async fn next_frame(&mut self) -> Option<Result<Option<VideoFrame>, String>>;
}

/// The measured part of a session, the same for both libraries: frames until the end or the
/// stop signal, counted in `c`.
async fn play_loop<S: FrameSource>(
    id: usize,
    c: &Counters,
    stop: tokio::sync::watch::Receiver<bool>,
    playing: &AtomicU64,
    mut session: S,
) -> Result<(), String> {
    c.sessions_ok.fetch_add(1, Ordering::Relaxed);
    playing.fetch_add(1, Ordering::Relaxed);
    let mut track = Track::new(id);
    let mut err = None;
    // The stop signal is checked between frames (one comes every 40 ms), not raced against
    // each `next()`: the harness's own cost per frame stays out of the measure.
    while !stop.has_changed().unwrap_or(true) {
        match session.next_frame().await {
            None => break,
            Some(Err(e)) => {
                err = Some(format!("{} next: {e}", S::LIB));
                c.sessions_broken.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Some(Ok(Some((ts, len, lost)))) => track.frame(c, ts, len, lost),
            Some(Ok(None)) => {}
        }
    }
    track.finish(c);
    err.map_or(Ok(()), Err)
}
