//! `camlink-bench-sessions`: concurrent RTSP sessions, camlink vs retina 0.4.21.
//!
//! ```text
//! camlink-bench-sessions serve  [--sender light|mock] [--port P] [--rate R] [--bitrate BPS]
//! camlink-bench-sessions client --lib camlink|retina|floor --url URL [--sessions N] [--secs T]
//!                               [--transport tcp|udp] [--read-buffer BYTES (camlink)] [--coalesce-ms MS (camlink, floor)]
//! ```
//!
//! `serve` prints `url=<rtsp url>` on stdout, then (light sender) a stats line on stderr every
//! few seconds, until killed. `client` prints one `key=value` line on stdout.
//! See `scripts/bench-sessions.sh` for the whole benchmark.

mod client;
mod floor;
mod light;
mod proc_stats;
mod synth;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn usage() -> ! {
    eprintln!(
        "usage: camlink-bench-sessions serve [--sender light|mock] [--port P] [--rate R] [--bitrate BPS]\n\
         \x20      camlink-bench-sessions client --lib camlink|retina|floor --url URL [--sessions N] [--secs T] [--transport tcp|udp] [--read-buffer BYTES] [--coalesce-ms MS]"
    );
    std::process::exit(2)
}

/// `--key value` pairs after the subcommand.
fn flags(args: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let Some(k) = k.strip_prefix("--") else {
            usage()
        };
        let Some(v) = it.next() else { usage() };
        out.push((k.to_owned(), v.clone()));
    }
    out
}

fn get<T: std::str::FromStr>(f: &[(String, String)], key: &str, default: T) -> T {
    match f.iter().rev().find(|(k, _)| k == key) {
        Some((_, v)) => v.parse().unwrap_or_else(|_| {
            eprintln!("bad value for --{key}: {v}");
            usage()
        }),
        None => default,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else { usage() };
    let f = flags(&args[1..]);
    match cmd.as_str() {
        "serve" => serve(&f),
        "client" => {
            let lib = match get(&f, "lib", String::new()).as_str() {
                "camlink" => client::Lib::Camlink,
                "retina" => client::Lib::Retina,
                "floor" => client::Lib::Floor,
                _ => usage(),
            };
            let transport = match get(&f, "transport", "tcp".to_owned()).as_str() {
                "tcp" => client::Transport::Tcp,
                "udp" => client::Transport::Udp,
                _ => usage(),
            };
            let url: String = get(&f, "url", String::new());
            if url.is_empty() {
                usage()
            }
            let a = client::Args {
                lib,
                sessions: get(&f, "sessions", 1usize),
                secs: get(&f, "secs", 10.0f64),
                transport,
                url,
                read_buffer: f
                    .iter()
                    .any(|(k, _)| k == "read-buffer")
                    .then(|| get(&f, "read-buffer", 0usize)),
                coalesce_ms: f
                    .iter()
                    .any(|(k, _)| k == "coalesce-ms")
                    .then(|| get(&f, "coalesce-ms", 0u64)),
            };
            match client::run(a) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("client: {e}");
                    std::process::exit(1)
                }
            }
        }
        _ => usage(),
    }
}

fn serve(f: &[(String, String)]) {
    let sender: String = get(f, "sender", "light".to_owned());
    let port: u16 = get(f, "port", 0);
    let rate: f64 = get(f, "rate", 1.0);
    let bitrate: u32 = get(f, "bitrate", 4_000_000);
    let stats_secs: f64 = get(f, "stats-secs", 5.0);
    if !(rate > 0.0 && rate <= 1000.0) {
        usage()
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        match sender.as_str() {
            "light" => {
                let stream = Arc::new(synth::Stream::new(bitrate));
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("bind");
                let port = listener.local_addr().expect("addr").port();
                println!("url=rtsp://127.0.0.1:{port}/stream");
                let _ = std::io::stdout().flush();
                eprintln!(
                    "serve: light sender, {} packets / {} payload bytes per 2 s GOP, rate {rate}x",
                    stream.gop_packets(),
                    stream.gop_bytes
                );
                let stats = Arc::new(light::Stats::default());
                tokio::spawn(light::serve(listener, stream, rate, stats.clone()));
                let mut last = (0u64, 0u64, tokio::time::Instant::now());
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal");
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs_f64(stats_secs)) => {}
                        _ = term.recv() => break,
                        _ = tokio::signal::ctrl_c() => break,
                    }
                    let b = stats.bytes.load(Ordering::Relaxed);
                    let fr = stats.frames.load(Ordering::Relaxed);
                    let dt = last.2.elapsed().as_secs_f64();
                    eprintln!(
                        "serve: playing={} sent_mbit_s={:.1} frames_s={:.0} late_frames={} max_lag_ms={:.1}",
                        stats.playing.load(Ordering::Relaxed),
                        (b - last.0) as f64 * 8.0 / dt / 1e6,
                        (fr - last.1) as f64 / dt,
                        stats.late_frames.load(Ordering::Relaxed),
                        stats.max_lag_us.load(Ordering::Relaxed) as f64 / 1000.0,
                    );
                    last = (b, fr, tokio::time::Instant::now());
                }
            }
            "mock" => {
                use camlink::mock::{MockCamera, ProfileConfig, VideoCodec};
                if rate != 1.0 {
                    eprintln!("serve: the mock camera paces in real time only (--rate 1)");
                    std::process::exit(2)
                }
                let p = ProfileConfig::new("main", VideoCodec::H264, 640, 360).with_synthetic(bitrate);
                let cam = MockCamera::builder()
                    .no_auth()
                    .rtsp_port(port)
                    .rtsps_port(None)
                    .https_port(None)
                    .discovery_port(None)
                    .session_timeout(Duration::from_secs(120))
                    .profiles(vec![p])
                    .start()
                    .await
                    .expect("mock camera");
                println!("url={}", cam.rtsp_url("main"));
                let _ = std::io::stdout().flush();
                eprintln!("serve: mock camera, synthetic H.264 at {bitrate} bit/s");
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal");
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                cam.shutdown().await;
            }
            _ => usage(),
        }
    });
}
