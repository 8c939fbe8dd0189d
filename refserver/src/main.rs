//! refserver: the tokio driver for the protocol crates.
//!
//! Placeholder until issue 8: parses its command line and reports what it would serve.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Command line of `refserver`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory to serve as static files.
    #[arg(long, default_value = "refserver/site/public")]
    root: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    println!(
        "refserver {}: would serve {} on http://{}/ (server not built yet, see issue 8)",
        env!("CARGO_PKG_VERSION"),
        cli.root.display(),
        cli.listen
    );
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::Parser;

    #[test]
    fn cli_defaults_to_the_demo_site_on_loopback() {
        let cli = Cli::parse_from(["refserver"]);
        assert_eq!(cli.listen.to_string(), "127.0.0.1:8080");
        assert!(cli.root.ends_with("site/public"));
    }
}
