//! `camlink events DEVICE [--duration S]`: print the camera's events as they arrive.
//!
//! JSON: one object per line, `{"time", "topic", "source": {..}, "data": {..}, "key": {..},
//! "topic_path", "property_operation"}` (`time` is the camera's `xs:dateTime`, or null).

use std::time::Duration;

use camlink::Result;
use camlink::onvif::events::{Notification, PropertyOperation};
use serde_json::{Map, Value, json};

use crate::device::{DeviceArgs, MAX_DURATION, print_json, seconds};

/// Longest single PullMessages wait.
const MAX_PULL_WAIT: Duration = Duration::from_secs(10);
/// Longest subscription lifetime asked for (renewed before it ends).
const MAX_LIFETIME: Duration = Duration::from_secs(60);

/// Options of `camlink events`.
#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// How long to listen, in seconds.
    #[arg(long, value_name = "S", default_value_t = 30.0)]
    duration: f64,
    /// Stop after this many events (default: listen for the whole duration).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

fn items(list: &[(String, String)]) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// The JSON line of one notification.
pub fn notification_json(n: &Notification) -> Value {
    json!({
        "time": n.utc_time.map(camlink::datetime::format_utc),
        "topic": n.topic,
        "topic_path": n.topic_path(),
        "property_operation": n.property_operation.as_ref().map(|p| match p {
            PropertyOperation::Initialized => "Initialized",
            PropertyOperation::Changed => "Changed",
            PropertyOperation::Deleted => "Deleted",
        }),
        "source": items(&n.source),
        "key": items(&n.key),
        "data": items(&n.data),
    })
}

fn human(n: &Notification) -> String {
    let pairs = |l: &[(String, String)]| {
        l.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let time = n
        .utc_time
        .map(camlink::datetime::format_utc)
        .unwrap_or_else(|| "(no time)".into());
    let mut line = format!("{time} {}", n.topic_path());
    if !n.data.is_empty() {
        line.push_str(&format!("  {}", pairs(&n.data)));
    }
    if !n.source.is_empty() {
        line.push_str(&format!("  [{}]", pairs(&n.source)));
    }
    line
}

pub async fn run(args: EventsArgs, json: bool) -> Result<()> {
    let duration = seconds(args.duration, "--duration", MAX_DURATION)?;
    let camera = args.device.connect().await?;
    let deadline = tokio::time::Instant::now() + duration;
    // Short pulls and a short lifetime: when the time is up in the middle of a pull, the
    // subscription left behind on the camera expires soon.
    let mut stream = camera
        .subscribe()
        .with_wait(duration.min(MAX_PULL_WAIT))
        .with_lifetime(
            duration
                .saturating_add(Duration::from_secs(10))
                .min(MAX_LIFETIME),
        );
    if !json {
        eprintln!("listening for {} s...", duration.as_secs_f64());
    }
    let mut count = 0u64;
    let mut result = Ok(());
    // Ctrl-C ends the listening early, like the end of the duration: we still unsubscribe.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    while args.count.is_none_or(|max| count < max) {
        let next = tokio::select! {
            n = tokio::time::timeout_at(deadline, stream.next()) => n,
            _ = &mut interrupted => break,
        };
        match next {
            Err(_) | Ok(None) => break,
            Ok(Some(Ok(n))) => {
                count += 1;
                if json {
                    print_json(&notification_json(&n));
                } else {
                    println!("{}", human(&n));
                }
            }
            Ok(Some(Err(e))) => {
                result = Err(e);
                break;
            }
        }
    }
    // Unsubscribe, bounded (the camera may be gone).
    let close_wait = seconds(
        args.device.timeout,
        "--timeout",
        crate::device::MAX_REQUEST_TIMEOUT,
    )?;
    match tokio::time::timeout(close_wait, stream.close()).await {
        Ok(Err(e)) => tracing::debug!("unsubscribe failed: {e}"),
        Err(_) => tracing::debug!("unsubscribe timed out"),
        Ok(Ok(())) => {}
    }
    if !json && result.is_ok() {
        eprintln!("{count} event(s)");
    }
    result
}
