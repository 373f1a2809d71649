//! `camlink info DEVICE`: who the camera is, its clock offset and its services.

use camlink::onvif::device::{self, Service};
use camlink::onvif::policy::{RewritePolicy, Target, UriKind, rewrite_uri};
use camlink::{ErrorKind, Result};
use serde_json::json;

use crate::device::{DeviceArgs, print_json};

/// Options of `camlink info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    device: DeviceArgs,
}

pub async fn run(args: InfoArgs, json: bool) -> Result<()> {
    let camera = args.device.connect().await?;
    let info = camera.device_information().await?;
    let offset = camera.clock_offset();
    let services = match camera
        .call(camera.device_url().as_str(), &device::get_services(false))
        .await
        .and_then(|el| device::parse_services(&el))
    {
        Ok(list) => list,
        Err(e) if e.kind() == &ErrorKind::Unauthorized => return Err(e),
        // Older cameras have no GetServices: list what GetCapabilities says.
        Err(e) => {
            tracing::debug!("GetServices failed ({e}); using GetCapabilities");
            from_capabilities(&camera.capabilities().await?)
        }
    };
    // The ports the camera believes it serves on (behind port forwarding they differ from the
    // ones reached from here); optional: many cameras refuse it to non-admin users.
    let protocols = match camera.network_protocols().await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::debug!("GetNetworkProtocols failed: {e}");
            None
        }
    };
    let version = |s: &Service| s.version.map(|(major, minor)| format!("{major}.{minor}"));
    // Point the XAddrs at the address connected to, as the client does for its own calls (a
    // camera behind NAT reports its internal address); the reported one is kept beside it.
    let target = Target::of(camera.device_url());
    let usable = |x: &str| match &target {
        Some(t) => rewrite_uri(x, UriKind::Http, t, RewritePolicy::HostAndPort, None),
        None => x.to_string(),
    };
    if json {
        print_json(&json!({
            "manufacturer": info.manufacturer,
            "model": info.model,
            "firmware_version": info.firmware_version,
            "serial_number": info.serial_number,
            "hardware_id": info.hardware_id,
            "clock_offset_seconds": offset,
            "camera_time": camlink::datetime::format_utc(camera.camera_now()),
            "device_url": camera.device_url().as_str(),
            "network_protocols": protocols.as_ref().map(|list| list.iter().map(|p| json!({
                "name": p.name,
                "enabled": p.enabled,
                "ports": p.ports,
            })).collect::<Vec<_>>()),
            "services": services.iter().map(|s| json!({
                "namespace": s.namespace,
                "xaddr": usable(&s.xaddr),
                "reported_xaddr": s.xaddr,
                "version": version(s),
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!("{} {}", info.manufacturer, info.model);
    println!("  firmware:     {}", info.firmware_version);
    println!("  serial:       {}", info.serial_number);
    println!("  hardware id:  {}", info.hardware_id);
    println!("  device URL:   {}", camera.device_url());
    println!(
        "  camera clock: {} ({})",
        camlink::datetime::format_utc(camera.camera_now()),
        describe_offset(offset)
    );
    if let Some(list) = &protocols {
        let text: Vec<String> = list
            .iter()
            .filter(|p| p.enabled)
            .map(|p| {
                let ports: Vec<String> = p.ports.iter().map(u16::to_string).collect();
                format!("{} {}", p.name, ports.join(","))
            })
            .collect();
        println!("  camera ports: {}", text.join(", "));
    }
    println!("  services:");
    for s in &services {
        let x = usable(&s.xaddr);
        let reported = if x == s.xaddr {
            String::new()
        } else {
            format!(" (reported as {})", s.xaddr)
        };
        println!(
            "    {:<6} {:<45} {x}{reported}",
            version(s).unwrap_or_else(|| "-".into()),
            s.namespace,
        );
    }
    Ok(())
}

/// `+7200 s` → "2 h 0 min ahead of this machine".
fn describe_offset(offset: i64) -> String {
    let a = offset.unsigned_abs();
    if a <= 2 {
        return "in step with this machine".into();
    }
    let side = if offset > 0 { "ahead of" } else { "behind" };
    let amount = if a >= 3600 {
        format!("{} h {} min", a / 3600, (a % 3600) / 60)
    } else if a >= 60 {
        format!("{} min {} s", a / 60, a % 60)
    } else {
        format!("{a} s")
    };
    format!("{amount} {side} this machine")
}

fn from_capabilities(c: &device::Capabilities) -> Vec<Service> {
    use camlink::onvif::soap::ns;
    [
        (ns::TDS, &c.device),
        (ns::TRT, &c.media),
        (ns::TEV, &c.events),
        (ns::TIMG, &c.imaging),
        (ns::TPTZ, &c.ptz),
    ]
    .into_iter()
    .filter_map(|(namespace, x)| {
        Some(Service {
            namespace: namespace.to_string(),
            xaddr: x.clone()?,
            version: None,
            capabilities: None,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::describe_offset;

    #[test]
    fn offsets_read_naturally() {
        assert_eq!(describe_offset(7200), "2 h 0 min ahead of this machine");
        assert_eq!(describe_offset(-90), "1 min 30 s behind this machine");
        assert_eq!(describe_offset(1), "in step with this machine");
        assert!(describe_offset(i64::MIN).contains("behind"));
    }
}
