//! The scenarios of the report, one file each, in the order the report shows them.

pub(crate) mod c10k;
pub(crate) mod cgi;
pub(crate) mod fastcgi;
pub(crate) mod idle_memory;
pub(crate) mod ladder;
pub(crate) mod plaintext;
pub(crate) mod slow_clients;
pub(crate) mod static_files;
pub(crate) mod tls;
pub(crate) mod visitor_sessions;

use crate::measure::Progress;
use crate::servers::{Server, Site};
use std::io;

/// What every scenario runs with.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) site: &'a Site,
    pub(crate) progress: &'a Progress,
    /// Alternating rounds per comparison.
    pub(crate) rounds: usize,
    /// Seconds per wrk run.
    pub(crate) secs: u64,
    /// `--quick`: shorter long-running scenarios.
    pub(crate) quick: bool,
}

/// A scenario: its name on the command line and in the report, and how to run it.
pub(crate) struct Scenario {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) run: fn(&Ctx<'_>) -> io::Result<Vec<crate::report::Section>>,
}

/// Every scenario, in report order.
pub(crate) const ALL: [Scenario; 10] = [
    Scenario {
        key: "plaintext",
        name: "1. plaintext",
        run: plaintext::run,
    },
    Scenario {
        key: "static",
        name: "2. static files",
        run: static_files::run,
    },
    Scenario {
        key: "idle",
        name: "3. memory per idle session",
        run: idle_memory::run,
    },
    Scenario {
        key: "slow",
        name: "4. slow clients",
        run: slow_clients::run,
    },
    Scenario {
        key: "cgi",
        name: "5. CGI",
        run: cgi::run,
    },
    Scenario {
        key: "fastcgi",
        name: "6. FastCGI",
        run: fastcgi::run,
    },
    Scenario {
        key: "ladder",
        name: "7. the cost ladder",
        run: ladder::run,
    },
    Scenario {
        key: "c10k",
        name: "8. C10K",
        run: c10k::run,
    },
    Scenario {
        key: "tls",
        name: "9. TLS",
        run: tls::run,
    },
    Scenario {
        key: "visitors",
        name: "10. visitor sessions",
        run: visitor_sessions::run,
    },
];

/// Every peer a scenario ran without, for the exit status (`CI=true`: a failure).
static NOT_RUN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A peer that could not be started: noted (the report says why), the scenario goes on
/// without it.
pub(crate) fn optional(started: io::Result<Server>, missing: &mut Vec<String>) -> Option<Server> {
    started
        .map_err(|e| {
            NOT_RUN
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(e.to_string());
            missing.push(e.to_string());
        })
        .ok()
}

/// The peers left out so far.
pub(crate) fn left_out() -> Vec<String> {
    NOT_RUN.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The sentence a section adds for peers it ran without.
pub(crate) fn not_run(missing: &[String]) -> String {
    if missing.is_empty() {
        String::new()
    } else {
        format!(" Not run: {}.", missing.join("; "))
    }
}

/// refserver with these routes, and the `--baseline` build beside it when one was given
/// (its row is `refserver-base`).
pub(crate) fn refservers(ctx: &Ctx<'_>, routes: &str, ready_path: &str) -> io::Result<Vec<Server>> {
    let site = ctx.site;
    let mut all = vec![crate::servers::refserver(
        site,
        "refserver",
        routes,
        ready_path,
    )?];
    if let Some(base) = &site.baseline {
        all.push(crate::servers::refserver_build(
            site,
            base,
            "refserver-base",
            routes,
            ready_path,
        )?);
    }
    Ok(all)
}

/// refserver's `respond` route (and the `--baseline` build's) and nginx's `return 200` on
/// `/plaintext`; nginx is `None` (and noted in `missing`) when it cannot be started.
pub(crate) fn plaintext_servers(
    ctx: &Ctx<'_>,
    missing: &mut Vec<String>,
) -> io::Result<(Vec<Server>, Option<Server>)> {
    let rs = refservers(ctx, PLAINTEXT_ROUTE, "/plaintext")?;
    let nginx = crate::servers::nginx(
        ctx.site,
        "nginx",
        "",
        NGINX_PLAINTEXT,
        Vec::new(),
        "/plaintext",
    );
    Ok((rs, optional(nginx, missing)))
}

/// refserver's `respond` route for `/plaintext`.
pub(crate) const PLAINTEXT_ROUTE: &str = "[[route]]\nprefix = \"/plaintext\"\n\
    respond = { status = 200, content_type = \"text/plain\", body = \"Hello, World!\" }\n";

/// nginx's `return 200` for `/plaintext`.
pub(crate) const NGINX_PLAINTEXT: &str =
    "    location /plaintext { default_type text/plain; return 200 \"Hello, World!\"; }";
