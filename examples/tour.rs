//! The camlink tour: everything camlink does, against a mock camera it starts in-process.
//!
//! ```text
//! cargo run --example tour --all-features                       # against the embedded mock
//! CAMLINK_PASSWORD=... cargo run --example tour --all-features -- --url 192.0.2.10 --user admin
//! ```
//!
//! With `--url` it runs the read-only part of the walk against a real camera: discovery of that
//! host, device information and clock offset, profiles and stream URIs, a snapshot. It never
//! moves a real camera's PTZ head and never changes its settings.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use camlink::auth::Credentials;
use camlink::discovery::probe::{DiscoveryOptions, discover_all};
use camlink::mock::MockCamera;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::media::StreamTransport;
use camlink::onvif::ptz::PtzVector;
use camlink::rtsp::client::{
    Event, Health, Item, Session, SessionOptions, Supervisor, SupervisorOptions, TransportMode,
};

type BoxError = Box<dyn std::error::Error>;

struct Args {
    url: Option<String>,
    user: String,
}

fn args() -> Result<Args, BoxError> {
    let mut a = Args {
        url: None,
        user: "admin".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--url" => a.url = Some(it.next().ok_or("--url needs a value")?),
            "--user" => a.user = it.next().ok_or("--user needs a value")?,
            "-h" | "--help" => {
                println!(
                    "usage: tour [--url DEVICE --user USER]   (password from CAMLINK_PASSWORD)"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(a)
}

fn section(title: &str) {
    println!("\n== {title}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let started = Instant::now();
    let args = args()?;
    // Logs on stderr when RUST_LOG is set (e.g. RUST_LOG=camlink=debug).
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    println!("camlink {} tour", env!("CARGO_PKG_VERSION"));

    // A real camera, or the mock camera started right here on free loopback ports.
    let (mock, device, creds) = match &args.url {
        Some(url) => {
            let password = std::env::var("CAMLINK_PASSWORD").unwrap_or_default();
            (
                None,
                url.clone(),
                Credentials::new(args.user.clone(), password),
            )
        }
        None => {
            // The mock's password: CAMLINK_PASSWORD when set, else a fixed one.
            let password = std::env::var("CAMLINK_PASSWORD").unwrap_or_else(|_| "tour-Pa55".into());
            let cam = MockCamera::builder()
                .credentials("admin", &password)
                .clock_offset(90) // its clock runs 90 s ahead, as real cameras' clocks do
                .start()
                .await?;
            section("mock camera");
            println!("ONVIF   {}", cam.device_service_url());
            println!("RTSP    {}", cam.rtsp_url("main"));
            let url = cam.device_service_url();
            (Some(cam), url, Credentials::new("admin", password))
        }
    };

    section("discovery (WS-Discovery unicast probe)");
    let target: Option<SocketAddr> = match &mock {
        Some(cam) => cam
            .ports()
            .discovery
            .map(|p| SocketAddr::new(cam.bind_addr(), p)),
        None => camlink::onvif::client::device_url(&device)?
            .host_str()
            .and_then(|h| h.parse().ok())
            .map(|ip| SocketAddr::new(ip, 3702)),
    };
    match target {
        Some(t) => {
            let found = discover_all(DiscoveryOptions {
                timeout: Duration::from_millis(1500),
                multicast: false,
                catch_multicast_replies: false,
                targets: vec![t],
                ..DiscoveryOptions::default()
            })
            .await?;
            for d in &found {
                println!(
                    "found {} at {:?} (name {:?}, hardware {:?})",
                    d.endpoint.address,
                    d.endpoint.xaddrs,
                    d.scopes.name.as_deref().unwrap_or("?"),
                    d.scopes.hardware.as_deref().unwrap_or("?")
                );
            }
            if found.is_empty() {
                println!("no answer from {t}");
            }
        }
        None => println!("(no address to probe)"),
    }

    section("device");
    let client = OnvifClient::connect(
        &device,
        OnvifOptions {
            credentials: Some(creds.clone()),
            ..OnvifOptions::default()
        },
    )
    .await?;
    let info = client.device_information().await?;
    println!(
        "{} {} firmware {} serial {}",
        info.manufacturer, info.model, info.firmware_version, info.serial_number
    );
    println!(
        "camera clock offset: {:+} s (used for WS-Security tokens)",
        client.clock_offset()
    );

    section("profiles");
    let profiles = client.profiles().await?;
    for p in &profiles {
        let video = p
            .video_encoder
            .as_ref()
            .map(|v| {
                let res = v
                    .resolution
                    .as_ref()
                    .map(|r| format!("{}x{}", r.width, r.height))
                    .unwrap_or_default();
                format!("{:?} {res}", v.encoding)
            })
            .unwrap_or_else(|| "no video".into());
        let uri = client
            .stream_uri(&p.token, StreamTransport::RtspTcp)
            .await?;
        println!("{:<6} {video:<16} {}", p.token, uri.uri);
    }

    if let Some(first) = profiles.first() {
        section("snapshot");
        let snap = client.snapshot(&first.token).await?;
        let path = std::env::temp_dir().join(format!("camlink-tour-{}.jpg", std::process::id()));
        std::fs::write(&path, &snap.data)?;
        println!(
            "{} bytes of JPEG saved to {}",
            snap.data.len(),
            path.display()
        );
    }

    if let Some(cam) = &mock {
        section("PTZ");
        let token = "main";
        client
            .continuous_move(
                token,
                PtzVector {
                    pan_tilt: Some((0.5, 0.25)),
                    zoom: Some(0.2),
                },
                Some(Duration::from_millis(400)),
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let st = client.ptz_status(token).await?;
        println!("moved for 0.4 s: position {:?}", st.position);
        let (pan, tilt, zoom) = cam.ptz_position();
        println!("the mock agrees: pan {pan:.2} tilt {tilt:.2} zoom {zoom:.2}");

        section("events");
        let mut events = client.subscribe().with_wait(Duration::from_secs(1));
        cam.trigger_motion(true);
        for _ in 0..2 {
            match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
                Ok(Some(Ok(n))) => {
                    println!("{} {:?} data {:?}", n.topic, n.property_operation, n.data)
                }
                Ok(Some(Err(e))) => println!("event error: {e}"),
                Ok(None) | Err(_) => {
                    println!("no event in time");
                    break;
                }
            }
            cam.trigger_motion(false);
        }
    }

    // RTSP: a few seconds over TCP, then over UDP, with per-stream figures.
    if let Some(first) = profiles.first() {
        let uri = client
            .stream_uri(&first.token, StreamTransport::RtspTcp)
            .await?
            .uri;
        for (name, mode) in [("TCP", TransportMode::Tcp), ("UDP", TransportMode::Udp)] {
            section(&format!("RTSP over {name}: {uri}"));
            let opts = SessionOptions::new()
                .credentials(creds.clone())
                .transport(mode);
            match play_for(&uri, opts, Duration::from_secs(3)).await {
                Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                Err(e) => println!("could not play: {e}"),
            }
        }
    }

    // A fault: the camera reboots under a supervised session, which comes back by itself.
    if let Some(cam) = &mock {
        section("supervised session through a camera reboot");
        let opts = SessionOptions::new().credentials(creds.clone());
        let mut sup = Supervisor::new(&cam.rtsp_url("main"), opts, SupervisorOptions::default());
        let watch = async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            let (mut plays, mut frames_after) = (0, 0u32);
            while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, sup.next()).await {
                match ev {
                    Event::Health(h) => {
                        println!("health: {}", describe_health(&h));
                        if h == Health::Playing {
                            plays += 1;
                        }
                    }
                    Event::Item(Item::Discontinuity { error }) => {
                        println!("discontinuity after: {} ({})", error.kind().name(), error);
                    }
                    Event::Item(Item::Video(_)) if plays >= 2 => {
                        frames_after += 1;
                        if frames_after == 25 {
                            println!("playing again: {frames_after} video frames since the reboot");
                            break;
                        }
                    }
                    _ => {}
                }
            }
        };
        let reboot = async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            println!("camera reboots (down for 1 s)");
            cam.reboot(Duration::from_secs(1)).await;
        };
        tokio::join!(watch, reboot);
        sup.stop().await;
    }

    section("done");
    if let Some(cam) = mock {
        cam.shutdown().await;
    }
    println!("tour finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn describe_health(h: &Health) -> String {
    match h {
        Health::Retrying {
            attempt,
            delay,
            kind,
            ..
        } => {
            format!(
                "retrying (attempt {attempt}, in {delay:?}, last error: {})",
                kind.name()
            )
        }
        other => format!("{other:?}"),
    }
}

/// Plays `url` for `how_long` and sums up each stream: frames, key frames, fps, bitrate, loss.
async fn play_for(
    url: &str,
    opts: SessionOptions,
    how_long: Duration,
) -> camlink::Result<Vec<String>> {
    #[derive(Default)]
    struct Stats {
        frames: u64,
        keys: u64,
        bytes: u64,
        lost: u64,
    }
    let mut session = Session::describe(url, opts).await?;
    let names: Vec<String> = session
        .streams()
        .iter()
        .map(|s| format!("#{} {:?} {}", s.index, s.kind, s.codec.name()))
        .collect();
    session.setup_all().await?;
    let transport = session.transport();
    session.play().await?;
    let mut stats: Vec<Stats> = names.iter().map(|_| Stats::default()).collect();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + how_long;
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, session.next()).await {
        match item? {
            Item::Loss { stream, packets } => {
                if let Some(s) = stats.get_mut(stream) {
                    s.lost += packets;
                }
            }
            other => {
                if let Some(f) = other.frame()
                    && let Some(s) = stats.get_mut(f.stream)
                {
                    s.frames += 1;
                    s.keys += u64::from(f.frame.keyframe);
                    s.bytes += f.frame.payload.len() as u64;
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let _ = session.teardown().await;
    let mut lines = vec![format!("transport {transport:?}, {secs:.1} s")];
    for (name, s) in names.iter().zip(&stats) {
        lines.push(format!(
            "  {name:<18} {:>4} frames ({} key) {:>5.1} fps {:>7.0} kbit/s  {} packets lost",
            s.frames,
            s.keys,
            s.frames as f64 / secs,
            s.bytes as f64 * 8.0 / secs / 1000.0,
            s.lost
        ));
    }
    Ok(lines)
}
