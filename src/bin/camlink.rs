//! The `camlink` command-line tool (feature `cli`): find cameras, check their credentials and
//! ports, see their streams, and run mock cameras.
//!
//! Errors go to stderr with their kind (`error[unauthorized]: ...`) and exit code 1.

use clap::{Parser, Subcommand};

#[path = "camlink/mock_cmd.rs"]
mod mock_cmd;

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
    /// Run a mock camera (ONVIF + RTSP + WS-Discovery) until interrupted.
    Mock(mock_cmd::MockArgs),
}

fn main() {
    let cli = Cli::parse();
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
            Command::Mock(args) => mock_cmd::run(args, cli.json).await,
        }
    });
    if let Err(e) = result {
        fail(&e);
    }
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

/// Prints the error with its kind and exits 1.
fn fail(e: &camlink::Error) -> ! {
    eprintln!("error[{}]: {e}", e.kind().name());
    std::process::exit(1);
}
