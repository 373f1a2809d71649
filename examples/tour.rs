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
            let cam = MockCamera::builder()
                .credentials("admin", "tour-Pa55")
                .clock_offset(90) // its clock runs 90 s ahead, as real cameras' clocks do
                .start()
                .await?;
            section("mock camera");
            println!("ONVIF   {}", cam.device_service_url());
            println!("RTSP    {}", cam.rtsp_url("main"));
            let url = cam.device_service_url();
            (Some(cam), url, Credentials::new("admin", "tour-Pa55"))
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

    section("done");
    if let Some(cam) = mock {
        cam.shutdown().await;
    }
    println!("tour finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
