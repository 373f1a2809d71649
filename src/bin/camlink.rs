//! The `camlink` command-line tool (feature `cli`): find cameras, check their credentials and
//! ports, see their streams, and run mock cameras.
//!
//! ```text
//! camlink discover [--timeout S] [--interface ADDR] [--port P] [--target HOST[:PORT]]
//! camlink ports HOST [--ports 80,443,554,8000-8010]
//! camlink info DEVICE --user admin            # password from $CAMLINK_PASSWORD
//! camlink profiles DEVICE --user admin [--rtsp-port P]
//! camlink snapshot DEVICE --user admin [--profile TOKEN] -o picture.jpg
//! camlink ptz DEVICE --user admin [--profile TOKEN] status | move --pan X --tilt Y --zoom Z
//!     [--duration S] | stop | presets | goto PRESET | home
//! camlink events DEVICE --user admin [--duration S]
//! camlink mock [--fixture DIR] ...
//! ```
//!
//! `DEVICE` is `host`, `host:port` or a device service URL. `--json` (anywhere on the line)
//! prints machine-readable JSON on stdout. Passwords come from an environment variable
//! (`--password-env VAR`, default `CAMLINK_PASSWORD`) or the URL, and are never printed.
//! Errors go to stderr with their kind (`error[unauthorized]: ...`) and exit code 1.

use clap::{Parser, Subcommand};

#[path = "camlink/device.rs"]
mod device;
#[path = "camlink/discover_cmd.rs"]
mod discover_cmd;
#[path = "camlink/events_cmd.rs"]
mod events_cmd;
#[path = "camlink/info_cmd.rs"]
mod info_cmd;
#[path = "camlink/mock_cmd.rs"]
mod mock_cmd;
#[path = "camlink/ports_cmd.rs"]
mod ports_cmd;
#[path = "camlink/profiles_cmd.rs"]
mod profiles_cmd;
#[path = "camlink/ptz_cmd.rs"]
mod ptz_cmd;
#[path = "camlink/rtsp_cmd.rs"]
mod rtsp_cmd;
#[path = "camlink/snapshot_cmd.rs"]
mod snapshot_cmd;

/// camlink: talk to IP cameras (ONVIF, RTSP, discovery) and run mock cameras.
#[derive(Parser, Debug)]
#[command(name = "camlink", version, about, propagate_version = true)]
struct Cli {
    /// Machine-readable JSON on stdout instead of human output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find cameras on the network (WS-Discovery), or probe one host with --target.
    Discover(discover_cmd::DiscoverArgs),
    /// Check which camera services (ONVIF, RTSP, HTTP, HTTPS) a host offers on which port.
    Ports(ports_cmd::PortsArgs),
    /// Show who a camera is (model, firmware, serial), its clock offset and its services.
    Info(info_cmd::InfoArgs),
    /// List a camera's media profiles with their codecs, stream and snapshot URIs.
    Profiles(profiles_cmd::ProfilesArgs),
    /// Save a snapshot image of a profile.
    Snapshot(snapshot_cmd::SnapshotArgs),
    /// Pan, tilt and zoom: status, move, stop, presets, goto, home.
    Ptz(ptz_cmd::PtzArgs),
    /// Print the camera's events (motion, tampering, inputs) as they arrive.
    Events(events_cmd::EventsArgs),
    /// Show the streams an RTSP URL offers (DESCRIBE).
    Describe(rtsp_cmd::DescribeArgs),
    /// Play an RTSP URL for a while and sum up each stream; optionally save the video.
    Play(rtsp_cmd::PlayArgs),
    /// Run a mock camera (ONVIF + RTSP + WS-Discovery) until interrupted.
    Mock(mock_cmd::MockArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(&camlink::Error::io(e, "cannot start the async runtime")),
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Discover(args) => discover_cmd::run(args, cli.json).await,
            Command::Ports(args) => ports_cmd::run(args, cli.json).await,
            Command::Info(args) => info_cmd::run(args, cli.json).await,
            Command::Profiles(args) => profiles_cmd::run(args, cli.json).await,
            Command::Snapshot(args) => snapshot_cmd::run(args, cli.json).await,
            Command::Ptz(args) => ptz_cmd::run(args, cli.json).await,
            Command::Events(args) => events_cmd::run(args, cli.json).await,
            Command::Describe(args) => rtsp_cmd::describe(args, cli.json).await,
            Command::Play(args) => rtsp_cmd::play(args, cli.json).await,
            Command::Mock(args) => mock_cmd::run(args, cli.json).await,
        }
    });
    if let Err(e) = result {
        fail(&e);
    }
}

/// `--help` and `--version` print and exit 0; a bad command line is an `invalid_input` error
/// with exit code 1, like every other error.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.to_string();
    eprint!(
        "error[invalid_input]: {}",
        text.strip_prefix("error: ").unwrap_or(&text)
    );
    std::process::exit(1);
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints the error with its kind and exits 1 (URL user-info and credential headers redacted,
/// should any have slipped into the message).
fn fail(e: &camlink::Error) -> ! {
    let message = e.to_string();
    // `error[timeout]: timeout: ...` says it twice; keep kinds whose text adds something
    // (`error[http_status]: HTTP status 404: ...`).
    let name = e.kind().name();
    let message = message
        .strip_prefix(&format!("{name}: "))
        .unwrap_or(&message);
    eprintln!("error[{name}]: {}", camlink::redact::redact_text(message));
    std::process::exit(1);
}
