//! `camlink mock`: run a mock camera until Ctrl-C.

use std::net::IpAddr;
use std::path::PathBuf;

use camlink::mock::{Fault, MockCamera};

/// Options of `camlink mock`.
#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// A camera fixture folder (camera.toml, replayed ONVIF/RTSP/discovery answers).
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// ONVIF HTTP port (0 = a free port).
    #[arg(long)]
    http_port: Option<u16>,
    /// ONVIF HTTPS port (0 = a free port).
    #[arg(long)]
    https_port: Option<u16>,
    /// RTSP port (0 = a free port).
    #[arg(long)]
    rtsp_port: Option<u16>,
    /// WS-Discovery UDP port (0 = a free port).
    #[arg(long, default_value_t = 3702)]
    discovery_port: u16,
    /// User name the camera accepts (default admin).
    #[arg(long)]
    user: Option<String>,
    /// Password the camera accepts (default admin); prefer --password-env.
    #[arg(long)]
    password: Option<String>,
    /// Environment variable holding the password.
    #[arg(long, default_value = "CAMLINK_PASSWORD")]
    password_env: String,
    /// Accept requests without credentials.
    #[arg(long)]
    no_auth: bool,
    /// A fault to switch on (repeatable), e.g. `loss=0.05`, `stall`, `401`, `soap-fault=GetProfiles`.
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
    /// Send media as fast as possible instead of in real time.
    #[arg(long)]
    unpaced: bool,
}

pub async fn run(args: MockArgs, json: bool) -> camlink::Result<()> {
    let mut b = MockCamera::builder().bind(args.bind);
    if let Some(dir) = &args.fixture {
        b = b.fixture(dir)?;
    }
    if let Some(p) = args.http_port {
        b = b.http_port(p);
    }
    if let Some(p) = args.https_port {
        b = b.https_port(Some(p));
    }
    if let Some(p) = args.rtsp_port {
        b = b.rtsp_port(p);
    }
    b = b.discovery_port(Some(args.discovery_port));
    let password = args
        .password
        .clone()
        .or_else(|| std::env::var(&args.password_env).ok());
    if args.no_auth {
        b = b.no_auth();
    } else if args.user.is_some() || password.is_some() {
        let user = args.user.clone().unwrap_or_else(|| "admin".into());
        b = b.credentials(&user, password.as_deref().unwrap_or("admin"));
    }
    for f in &args.faults {
        b = b.fault(f.parse::<Fault>()?);
    }
    b = b.unpaced(args.unpaced);
    let cam = b.start().await?;
    // Listen for Ctrl-C before telling anyone we are ready, so that a signal sent right after
    // the URLs appear stops us cleanly.
    let interrupted = interrupt_listener()?;
    print_urls(&cam, json);
    interrupted.await;
    eprintln!("stopping");
    cam.shutdown().await;
    Ok(())
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM; the handlers are installed now.
#[cfg(unix)]
fn interrupt_listener() -> camlink::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| camlink::Error::io(e, "installing the Ctrl-C handler"))?;
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| camlink::Error::io(e, "installing the SIGTERM handler"))?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn interrupt_listener() -> camlink::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

fn print_urls(cam: &MockCamera, json: bool) {
    let cfg = cam.config();
    let profiles: Vec<_> = cfg.profiles.iter().map(|p| p.token.clone()).collect();
    if json {
        let v = serde_json::json!({
            "device_service": cam.device_service_url(),
            "https_device_service": cam.https_device_service_url(),
            "https_fingerprint_sha256": cam.https_fingerprint(),
            "rtsp": profiles.iter().map(|t| serde_json::json!({"profile": t, "url": cam.rtsp_url(t)})).collect::<Vec<_>>(),
            "snapshots": profiles.iter().map(|t| serde_json::json!({"profile": t, "url": cam.snapshot_url(t)})).collect::<Vec<_>>(),
            "discovery_port": cam.ports().discovery,
            "user": cfg.credentials.as_ref().map(|(u, _)| u.clone()),
        });
        println!("{v}");
    } else {
        println!(
            "camlink mock camera \"{} {}\" on {}",
            cfg.identity.manufacturer,
            cfg.identity.model,
            cam.bind_addr()
        );
        println!("  ONVIF device service: {}", cam.device_service_url());
        if let (Some(u), Some(fp)) = (cam.https_device_service_url(), cam.https_fingerprint()) {
            println!("  ONVIF over HTTPS:     {u}");
            println!("  HTTPS SHA-256:        {fp}");
        }
        for t in &profiles {
            println!("  RTSP {t:<16} {}", cam.rtsp_url(t));
        }
        for t in &profiles {
            println!("  snapshot {t:<12} {}", cam.snapshot_url(t));
        }
        if let Some(p) = cam.ports().discovery {
            println!("  WS-Discovery:         udp {}:{p}", cam.bind_addr());
        }
        match &cfg.credentials {
            Some((u, _)) => println!("  credentials:          user {u} (password not shown)"),
            None => println!("  credentials:          none required"),
        }
        println!("Press Ctrl-C to stop.");
    }
}
