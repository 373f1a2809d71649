//! `camlink ports HOST [--ports LIST]`: which camera services a host offers.
//!
//! JSON: an array of `{"port", "open", "service", "url", "tls", "tls_sha256", "server",
//! "auth_schemes", "risks"}`. `service` is `onvif`, `rtsp`, `http`, `https` or `unknown` (open
//! but unidentified) for an open port, and `null` for a closed one.

use camlink::discovery::ports::{self, HostReport, MAX_PORTS, PortProbeOptions, Risk};
use camlink::{Error, Result};
use serde_json::{Value, json};

use crate::device::print_json;

/// Options of `camlink ports`.
#[derive(clap::Args, Debug)]
pub struct PortsArgs {
    /// The host: a name or an address (no port).
    host: String,
    /// Ports to check: a comma-separated list with ranges, e.g. `80,443,554,8000-8010`
    /// (default: 80,443,554,322,8000,8080,8081,8443,8554,8899,37777).
    #[arg(long, value_name = "LIST")]
    ports: Option<String>,
    /// Connection timeout per port, in seconds.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    timeout: f64,
}

/// Parses `80,443,8000-8010` (duplicates dropped, order kept), at most [`MAX_PORTS`] ports.
pub fn parse_port_list(list: &str) -> Result<Vec<u16>> {
    let bad = |item: &str| {
        Error::invalid_input(format!(
            "bad port {item:?} in --ports (want e.g. 80,443,8000-8010)"
        ))
    };
    let port = |s: &str| -> Result<u16> {
        match s.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(bad(s)),
        }
    };
    let mut out: Vec<u16> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (lo, hi) = match item.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => {
                let p = port(item)?;
                (p, p)
            }
        };
        if lo > hi {
            return Err(bad(item));
        }
        for p in lo..=hi {
            if !out.contains(&p) {
                if out.len() >= MAX_PORTS {
                    return Err(Error::invalid_input(format!(
                        "--ports lists more than {MAX_PORTS} ports"
                    )));
                }
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::invalid_input("--ports lists no port"));
    }
    Ok(out)
}

fn risk_text(r: &Risk) -> (u16, String) {
    match r {
        Risk::PlainHttpWhereHttpsAvailable { port, tls_port } => (
            *port,
            format!("plain HTTP although HTTPS is offered on port {tls_port}"),
        ),
        Risk::PlainRtspWhereRtspsAvailable { port, tls_port } => (
            *port,
            format!("plain RTSP although RTSPS is offered on port {tls_port}"),
        ),
        Risk::BasicAuthOnPlainText { port } => (
            *port,
            "Basic authentication on a plain-text port (the password crosses the network readable)"
                .to_string(),
        ),
    }
}

/// The JSON array of the shape, with the extra fields.
pub fn report_json(report: &HostReport) -> Value {
    let risks: Vec<(u16, String)> = report.risks.iter().map(risk_text).collect();
    Value::Array(
        report
            .ports
            .iter()
            .map(|p| {
                json!({
                    "port": p.port,
                    "open": p.open,
                    "service": p.service.map(|s| s.as_str()),
                    "url": p.url,
                    "tls": p.tls,
                    "tls_sha256": p.tls_sha256,
                    "server": p.server,
                    "auth_schemes": p.auth_schemes,
                    "risks": risks.iter().filter(|(port, _)| *port == p.port).map(|(_, t)| t).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

pub async fn run(args: PortsArgs, json: bool) -> Result<()> {
    let mut options = PortProbeOptions::default();
    if let Some(list) = &args.ports {
        options.ports = parse_port_list(list)?;
    }
    options.connect_timeout = crate::device::seconds(
        args.timeout,
        "--timeout",
        crate::device::MAX_REQUEST_TIMEOUT,
    )?;
    let report = ports::probe_host(&args.host, &options).await?;
    if json {
        print_json(&report_json(&report));
        return Ok(());
    }
    println!("{}:", report.host);
    for p in &report.ports {
        if !p.open {
            println!("  {:>5}  closed", p.port);
            continue;
        }
        let service = p.service.map(|s| s.as_str()).unwrap_or("unknown");
        let tls = if p.tls && service != "https" {
            "+tls"
        } else {
            ""
        };
        let mut line = format!(
            "  {:>5}  {:<12} {}",
            p.port,
            format!("{service}{tls}"),
            p.url.as_deref().unwrap_or("")
        );
        if let Some(s) = &p.server {
            line.push_str(&format!("  (server: {s})"));
        }
        println!("{line}");
        if let Some(fp) = &p.tls_sha256 {
            println!("         certificate SHA-256 {fp}");
        }
    }
    match &report.control_url {
        Some(u) => println!("control (ONVIF): {u}"),
        None => println!("control (ONVIF): none found"),
    }
    match &report.media_url {
        Some(u) => println!("media (RTSP):    {u}"),
        None => println!("media (RTSP):    none found"),
    }
    for r in &report.risks {
        let (port, text) = risk_text(r);
        println!("warning: port {port}: {text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_port_list;

    #[test]
    fn port_lists_with_ranges() {
        assert_eq!(
            parse_port_list("80, 443,8000-8002,80").unwrap(),
            vec![80, 443, 8000, 8001, 8002]
        );
        assert!(parse_port_list("0").is_err());
        assert!(parse_port_list("70000").is_err());
        assert!(parse_port_list("9-3").is_err());
        assert!(parse_port_list(",").is_err());
        assert!(parse_port_list("1-65535").is_err(), "capped");
    }

    proptest::proptest! {
        #[test]
        fn any_port_list_is_parsed_or_refused_without_panic(list in ".{0,64}") {
            if let Ok(ports) = parse_port_list(&list) {
                proptest::prop_assert!(!ports.is_empty());
                proptest::prop_assert!(ports.len() <= super::MAX_PORTS);
                proptest::prop_assert!(!ports.contains(&0));
            }
        }
    }
}
