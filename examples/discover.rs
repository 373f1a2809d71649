//! Find cameras with WS-Discovery, then check which ports the first one offers.
//!
//! ```text
//! cargo run --example discover --features mock                  # finds a mock camera
//! cargo run --example discover --features mock -- --multicast   # searches your network
//! cargo run --example discover --features mock -- --url 192.0.2.10   # one camera, by unicast
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use camlink::discovery::ports::{PortProbeOptions, probe_ports};
use camlink::discovery::probe::{Discovered, DiscoveryOptions, discover};
use camlink::mock::MockCamera;

/// Searches, printing each camera as it answers; returns them all.
pub async fn find_cameras(options: DiscoveryOptions) -> camlink::Result<Vec<Discovered>> {
    // Answers stream in until the timeout; each device is reported once, whichever form of
    // probe (current or legacy WS-Addressing) it answered.
    let mut answers = discover(options).await?;
    let mut found = Vec::new();
    while let Some(camera) = answers.recv().await {
        println!(
            "{} {} [{}]",
            camera.host(),
            camera.scopes.name.as_deref().unwrap_or("(no name)"),
            camera.scopes.hardware.as_deref().unwrap_or("unknown model")
        );
        for xaddr in &camera.endpoint.xaddrs {
            println!("  device service {xaddr}");
        }
        found.push(camera);
    }
    Ok(found)
}

/// Probes `ports` on `host` and prints what answers and which URLs to use.
pub async fn check_ports(host: IpAddr, ports: Vec<u16>) -> camlink::Result<Option<String>> {
    let options = PortProbeOptions {
        ports,
        ..PortProbeOptions::default()
    };
    let report = probe_ports(host, &options).await?;
    for p in report.ports.iter().filter(|p| p.open) {
        let service = p.service.map(|s| s.as_str()).unwrap_or("unknown");
        let tls = if p.tls { " (TLS)" } else { "" };
        println!(
            "  port {:>5}: {service}{tls} {}",
            p.port,
            p.url.as_deref().unwrap_or("")
        );
    }
    println!("  control URL: {:?}", report.control_url);
    println!("  media URL:   {:?}", report.media_url);
    for risk in &report.risks {
        println!("  risk: {risk:?}");
    }
    Ok(report.control_url)
}

#[tokio::main]
async fn main() -> camlink::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .iter()
        .position(|a| a == "--url")
        .and_then(|i| args.get(i + 1));
    if args.iter().any(|a| a == "--multicast") {
        // Every IPv4 interface, both probe forms, repeated within the timeout.
        let found = find_cameras(DiscoveryOptions::default()).await?;
        println!("{} camera(s)", found.len());
        return Ok(());
    }
    if let Some(host) = url {
        // `192.0.2.10` or `192.0.2.10:3702`: a camera on another subnet.
        let target: SocketAddr = host
            .parse()
            .or_else(|_| host.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 3702)))
            .map_err(|_| camlink::Error::invalid_input("--url wants an IP address here"))?;
        let found = find_cameras(DiscoveryOptions::unicast([target])).await?;
        println!("{} camera(s)", found.len());
        let ports = camlink::discovery::ports::DEFAULT_PORTS.to_vec();
        check_ports(target.ip(), ports).await?;
        return Ok(());
    }
    // No camera given: a mock camera answers probes on a free loopback port.
    let camera = MockCamera::builder().start().await?;
    let Some(port) = camera.ports().discovery else {
        return Err(camlink::Error::invalid_input(
            "the mock has no discovery responder",
        ));
    };
    let options = DiscoveryOptions {
        timeout: Duration::from_secs(1),
        ..DiscoveryOptions::unicast([SocketAddr::new(camera.bind_addr(), port)])
    };
    let found = find_cameras(options).await?;
    if let Some(first) = found.first() {
        let p = camera.ports();
        let mut ports = vec![p.http, p.rtsp];
        ports.extend(p.https);
        check_ports(first.host(), ports).await?;
    }
    camera.shutdown().await;
    Ok(())
}
