//! `camlink discover`: find cameras with WS-Discovery (multicast, or unicast with `--target`).
//!
//! JSON: an array of `{"endpoint", "xaddrs", "scopes", "name", "hardware", "types", "profiles",
//! "locations", "mac", "from", "legacy_form"}`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use camlink::discovery::probe::{Discovered, DiscoveryOptions, MAX_TARGETS, MAX_TIMEOUT, discover};
use camlink::discovery::ws_discovery::ProbeForm;
use camlink::{Error, ErrorKind, Result};
use serde_json::{Value, json};

use crate::device::{print_json, seconds};

/// Options of `camlink discover`.
#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    /// How long to collect answers, in seconds.
    #[arg(long, value_name = "S", default_value_t = 3.0)]
    timeout: f64,
    /// IPv4 address of a local interface to probe from (repeatable; default: every interface).
    #[arg(long = "interface", value_name = "ADDR")]
    interfaces: Vec<Ipv4Addr>,
    /// The WS-Discovery UDP port.
    #[arg(long, value_name = "P", default_value_t = 3702)]
    port: u16,
    /// Send a unicast probe to HOST (`host` or `host:port`) instead of the multicast group
    /// (repeatable): for a camera on another subnet.
    #[arg(long = "target", value_name = "HOST")]
    targets: Vec<String>,
}

/// Resolves `host`, `host:port`, `[v6]:port` (port 0 when absent: the `--port` applies).
async fn resolve_target(target: &str, wait: Duration) -> Result<Vec<SocketAddr>> {
    let t = target.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Ok(vec![sa]);
    }
    let bare = t.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, 0)]);
    }
    let (host, port) = match t.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| Error::invalid_input(format!("bad port in --target {t:?}")))?,
        ),
        None => (t, 0),
    };
    if host.is_empty() || host.len() > 253 {
        return Err(Error::invalid_input(format!("bad --target {t:?}")));
    }
    let addrs = tokio::time::timeout(wait, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| Error::timeout("resolving the --target host").with_peer(host))?
        .map_err(|e| Error::io(e, "resolving the --target host").with_peer(host))?;
    let list: Vec<SocketAddr> = addrs.collect();
    if list.is_empty() {
        return Err(
            Error::new(ErrorKind::Unreachable, "the --target host has no address").with_peer(host),
        );
    }
    Ok(list)
}

/// The JSON of one device.
pub fn device_json(d: &Discovered) -> Value {
    json!({
        "endpoint": d.endpoint.address,
        "xaddrs": d.endpoint.xaddrs,
        "scopes": d.endpoint.scopes,
        "name": d.scopes.name,
        "hardware": d.scopes.hardware,
        "types": d.endpoint.types.iter().map(|t| format!("{{{}}}{}", t.namespace, t.local)).collect::<Vec<_>>(),
        "profiles": d.scopes.profiles,
        "locations": d.scopes.locations,
        "mac": d.scopes.mac,
        "from": d.from.to_string(),
        "legacy_form": d.form == ProbeForm::Legacy,
    })
}

pub async fn run(args: DiscoverArgs, json: bool) -> Result<()> {
    let timeout = seconds(args.timeout, "--timeout", MAX_TIMEOUT)?;
    if args.targets.len() > MAX_TARGETS {
        return Err(Error::invalid_input(format!(
            "more than {MAX_TARGETS} --target"
        )));
    }
    let mut targets = Vec::new();
    for t in &args.targets {
        targets.extend(resolve_target(t, Duration::from_secs(3)).await?);
    }
    let unicast = !targets.is_empty();
    let options = DiscoveryOptions {
        timeout,
        port: args.port,
        multicast: !unicast,
        catch_multicast_replies: !unicast,
        interfaces: args.interfaces.clone(),
        targets,
        ..DiscoveryOptions::default()
    };
    if !json {
        let how = if unicast {
            format!("unicast probe to {}", args.targets.join(", "))
        } else {
            format!("multicast probe on port {}", args.port)
        };
        eprintln!("searching for {} s ({how})...", timeout.as_secs_f64());
    }
    let mut rx = discover(options).await?;
    let mut found = Vec::new();
    // The stream ends at the timeout; the extra second only guards against a stuck socket task.
    let deadline = tokio::time::Instant::now() + timeout + Duration::from_secs(1);
    while let Ok(Some(d)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if !json {
            print_human(&d);
        }
        found.push(d);
    }
    if json {
        print_json(&Value::Array(found.iter().map(device_json).collect()));
    } else {
        eprintln!("{} device(s) found", found.len());
    }
    Ok(())
}

fn print_human(d: &Discovered) {
    let name = d.scopes.name.as_deref().unwrap_or("(no name)");
    let hw = d.scopes.hardware.as_deref().unwrap_or("(unknown model)");
    println!("{} {name} [{hw}]", d.host());
    for x in &d.endpoint.xaddrs {
        println!("  device service: {x}");
    }
    if !d.scopes.profiles.is_empty() {
        println!("  ONVIF profiles: {}", d.scopes.profiles.join(", "));
    }
    println!("  endpoint:       {}", d.endpoint.address);
}

#[cfg(test)]
mod tests {
    use super::resolve_target;
    use std::time::Duration;

    #[tokio::test]
    async fn targets_with_and_without_port() {
        let w = Duration::from_secs(2);
        assert_eq!(
            resolve_target("127.0.0.1:3702", w).await.unwrap()[0].to_string(),
            "127.0.0.1:3702"
        );
        assert_eq!(
            resolve_target("127.0.0.1", w).await.unwrap()[0].to_string(),
            "127.0.0.1:0"
        );
        assert_eq!(
            resolve_target("[::1]", w).await.unwrap()[0].to_string(),
            "[::1]:0"
        );
        assert!(resolve_target("localhost:notaport", w).await.is_err());
    }
}
