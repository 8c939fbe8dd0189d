//! refserver: the tokio driver for the protocol crates; a thin `main` over the library
//! (`refserver::Builder`), which embedding programs use the same way.
//!
//! `refserver` with no arguments serves the demo site (`refserver/site/public`) on
//! `127.0.0.1:8080`; `--config FILE` reads a TOML configuration (see `config.rs` and the
//! README); `--listen ADDR --root DIR` serves a directory. It prints one
//! `listening on http://ADDR/` line per listener on stdout once bound; logs go to stderr
//! (`RUST_LOG` filters them), the access log to stdout by default.

// fcgi-proto's example FastCGI application, which the demo's `/fcgi/` route spawns as this
// binary (`--fastcgi-echo-app`), so `cargo run` needs nothing else built.
#[allow(dead_code, unreachable_pub)]
#[path = "../../fcgi-proto/examples/echo_app.rs"]
mod echo_app;

use clap::Parser;
use refserver::{Builder, Config, ConfigError, RuntimeLayout};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// A web server built on Sans-IO protocol crates: static files, status page, and the
/// route slots for CGI and FastCGI.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML). Without it: the demo site, or `--root`.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on, repeatable: `127.0.0.1:8080`, `[::1]:8080`, `unix:/path`.
    /// Replaces the configuration's `listen`. Port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    listen: Vec<String>,
    /// Serve this directory as static files (instead of the demo site).
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    root: Option<PathBuf>,
    /// Worker threads (0: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Runtime layout: one current-thread runtime per worker with `SO_REUSEPORT`
    /// listeners, or one multi-thread runtime.
    #[arg(long, value_enum)]
    runtime: Option<RuntimeLayout>,
    /// Access log: `stdout`, `off` or a file path.
    #[arg(long, value_name = "TARGET")]
    access_log: Option<String>,
    /// Check the configuration, print it with every default filled in, and exit.
    #[arg(long)]
    check: bool,
    /// Serve fcgi-proto's example FastCGI application on the listening socket on fd 0
    /// (what the demo's `/fcgi/` route spawns), instead of running the server.
    #[arg(long, hide = true)]
    fastcgi_echo_app: bool,
}

impl Cli {
    /// The configuration these arguments describe.
    fn config(&self) -> Result<Config, ConfigError> {
        let mut config = match (&self.config, &self.root) {
            (Some(path), _) => Config::load(path)?,
            (None, Some(root)) => Config::for_static_root(root.clone()),
            (None, None) => {
                let mut config = Config::demo_site();
                config.add_routes_first(&demo_fastcgi_route())?;
                config
            }
        };
        if !self.listen.is_empty() {
            config.set_listen(self.listen.clone());
        }
        if let Some(workers) = self.workers {
            config.set_workers(workers);
        }
        if let Some(runtime) = self.runtime {
            config.set_runtime(runtime);
        }
        if let Some(log) = &self.access_log {
            config.set_access_log(log.clone());
        }
        // Compiling the routes checks the static directories exist (and, the binary
        // registering no handlers, refuses `handler` routes by name).
        match Builder::new(config.clone()).check() {
            Err(refserver::Error::Config(e)) => Err(e),
            _ => Ok(config),
        }
    }
}

/// The demo's FastCGI route: fcgi-proto's example application, two processes of this very
/// binary spawned and supervised by the server.
fn demo_fastcgi_route() -> String {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("refserver"));
    format!(
        "[[route]]\nprefix = \"/fcgi/\"\nfastcgi = {{ program = \"/demo/echo\", spawn = {{ command = [{:?}, \"--fastcgi-echo-app\"], processes = 2 }} }}\n",
        exe.display().to_string()
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.fastcgi_echo_app {
        return match echo_app::run_inherited() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("refserver --fastcgi-echo-app: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match cli.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("refserver: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    let running = Builder::new(config)
        .signals(true)
        .reload_from(move || cli.config())
        .start();
    let running = match running {
        Ok(running) => running,
        Err(e) => {
            eprintln!("refserver: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    for listening in running.listeners() {
        let _ = writeln!(stdout, "listening on {listening}");
    }
    let _ = stdout.flush();
    drop(stdout);
    running.wait();
    // Worker threads still holding a session past the drain deadline are not waited for.
    std::process::exit(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_serve_the_demo_site_on_loopback() {
        let cli = Cli::parse_from(["refserver"]);
        let config = cli.config().unwrap();
        assert_eq!(config.listen(), ["127.0.0.1:8080"]);
        let printed = config.to_toml();
        assert!(printed.contains("site/public\""), "{printed}");
        assert!(printed.contains("[route.status]"), "{printed}");
    }

    #[test]
    fn flags_override_the_configuration() {
        let cli = Cli::parse_from([
            "refserver",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "[::1]:0",
            "--workers",
            "3",
            "--runtime",
            "multi-thread",
            "--access-log",
            "off",
        ]);
        let config = cli.config().unwrap();
        assert_eq!(config.listen(), ["127.0.0.1:0", "[::1]:0"]);
        assert_eq!(config.workers(), 3);
        assert_eq!(config.runtime(), RuntimeLayout::MultiThread);
        assert_eq!(config.access_log(), "off");
    }

    #[test]
    fn root_and_config_exclude_each_other() {
        assert!(Cli::try_parse_from(["refserver", "--root", "x", "--config", "y"]).is_err());
        let cli = Cli::parse_from(["refserver", "--root", "/no/such/dir"]);
        assert!(cli.config().is_err());
    }
}
