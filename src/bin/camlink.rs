//! The `camlink` command-line tool (feature `cli`).

use clap::Parser;

/// camlink: find IP cameras, check their credentials and ports, and see their streams.
#[derive(Parser, Debug)]
#[command(name = "camlink", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("camlink {}: no commands yet", env!("CARGO_PKG_VERSION"));
}
