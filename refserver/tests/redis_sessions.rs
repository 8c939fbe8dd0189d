//! Visitor sessions shared by several instances in Redis (`[visitor_sessions] store =
//! "redis://..."`), end to end: two `embedded` example processes started with `--config`
//! and one `redis-server` of the test's own, on free loopback ports.
//!
//! | what | test |
//! |---|---|
//! | a visit counted on A counts on B; rotation and logout on one hold on the other | `two_instances_share_visits_rotation_and_logout` |
//! | idle expiry is the key's TTL; the absolute deadline holds whatever the activity | `sessions_expire_in_redis_when_idle_and_at_their_absolute_deadline` |
//! | Redis killed: session routes 503, others 200, nothing hangs; restarted: sessions again | `redis_killed_and_restarted_without_restarting_the_servers` |
//! | Redis hanging (SIGSTOP): 503 within the timeout | `a_hanging_redis_costs_a_session_request_its_timeout_and_no_more` |
//! | sticky FastCGI upstreams: every instance sends a visitor to the same upstream; without Redis, served unsticky | `sticky_upstreams_are_shared_by_two_instances` |
//!
//! Every test is bounded in time (Redis calls have a 300 ms timeout here) and its
//! processes are killed on drop. Without `redis-server` the tests print SKIP, and fail
//! under `CI=true`.

mod common;

use common::fcgi_app::TestApp;
use common::redis::Redis;
use common::{Resp, Server, TempDir, demo_site, embedded_example, eventually};
use std::io::Write;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

/// The configuration both instances of a test read: the demo site, the status page, and
/// sessions in `redis` under a prefix of the test's own.
fn config(redis: &Redis, name: &str, sessions: &str) -> String {
    format!(
        "access_log = \"off\"\nworkers = 1\n\n[visitor_sessions]\nstore = \"{url}\"\n\
         key_prefix = \"it-{name}:\"\ntimeout_ms = 300\nconnect_timeout_ms = 300\n\
         reconnect_max_delay_ms = 200\n{sessions}\n\n\
         [[route]]\nprefix = \"/status\"\nstatus = {{}}\n\n\
         [[route]]\nprefix = \"/\"\nstatic = {{ dir = \"{site}\" }}\n",
        url = redis.url(),
        site = demo_site().display(),
    )
}

fn instance(name: &str, config: &str) -> Server {
    Server::start_program_with_config(name, &embedded_example(), Some(config), &[])
}

/// One request on a fresh connection (so a dead one never hides a hang), bounded.
fn get(server: &Server, path: &str, cookie: Option<&str>) -> Resp {
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{cookie}Connection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    common::read_whole_response(&mut s, false)
}

/// The `id=...` pair a response sets, if any.
fn set_cookie(r: &Resp) -> Option<String> {
    Some(r.header("set-cookie")?.split(';').next()?.to_owned())
}

fn status_json(server: &Server) -> serde_json::Value {
    let r = get(server, "/status?format=json", None);
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn two_instances_share_visits_rotation_and_logout() {
    let Some(redis) = Redis::start("redis-share") else {
        return;
    };
    let config = config(&redis, "share", "");
    let a = instance("redis-share-a", &config);
    let b = instance("redis-share-b", &config);

    let r = get(&a, "/visits", None);
    assert_eq!((r.status, r.text().as_str()), (200, "1"), "{}", r.head);
    let cookie = set_cookie(&r).expect("a new session sets its cookie");
    // Created on A, counted on B, and on A again: one session, two servers.
    assert_eq!(get(&b, "/visits", Some(&cookie)).text(), "2");
    assert_eq!(get(&a, "/visits", Some(&cookie)).text(), "3");
    // It lives in Redis under the prefix, with the idle timeout as its TTL.
    let key = format!("it-share:session:{}", &cookie[3..]);
    let ttl = redis.command(&format!("PTTL {key}")).unwrap();
    let ttl: i64 = ttl.trim_start_matches(':').trim().parse().unwrap();
    assert!(ttl > 29 * 60 * 1000 && ttl <= 30 * 60 * 1000, "{ttl}");

    // Login on B: a new id for the same data; the old one is dead on A too.
    let r = get(&b, "/visits/login", Some(&cookie));
    assert_eq!(r.text(), "3");
    let rotated = set_cookie(&r).expect("rotation sets the new id");
    assert_ne!(rotated, cookie);
    assert_eq!(get(&a, "/visits", Some(&rotated)).text(), "4");
    let r = get(&a, "/visits", Some(&cookie));
    assert_eq!(r.text(), "1", "the old id names nothing on A");
    let stray = set_cookie(&r).unwrap();

    // Logout on B ends it on A.
    let r = get(&b, "/visits/logout", Some(&rotated));
    assert_eq!(r.text(), "bye");
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(get(&a, "/visits", Some(&rotated)).text(), "1");
    assert_eq!(
        redis.command(&format!("EXISTS it-share:session:{}", &rotated[3..])),
        Some(":0\r\n".to_owned())
    );
    // The session A made for the old cookie is its own.
    assert_eq!(get(&b, "/visits", Some(&stray)).text(), "2");

    // Both status pages show the store, up, with its latency.
    for server in [&a, &b] {
        let store = &status_json(server)["visitor_store"];
        assert_eq!(store["store"], redis.url(), "{store}");
        assert_eq!(store["up"], true, "{store}");
        assert!(store["latency_p99_us"].as_u64().unwrap() > 0, "{store}");
        assert_eq!(store["errors"], 0, "{store}");
    }
}

#[test]
fn sessions_expire_in_redis_when_idle_and_at_their_absolute_deadline() {
    let Some(redis) = Redis::start("redis-expiry") else {
        return;
    };
    let config = config(
        &redis,
        "expiry",
        "idle_timeout_ms = 600\nabsolute_timeout_ms = 1500",
    );
    let a = instance("redis-expiry-a", &config);
    let b = instance("redis-expiry-b", &config);

    // Idle: a pause past 600 ms ends it, and Redis has dropped the key by itself.
    let r = get(&a, "/visits", None);
    let cookie = set_cookie(&r).unwrap();
    let key = format!("EXISTS it-expiry:session:{}", &cookie[3..]);
    assert_eq!(redis.command(&key).as_deref(), Some(":1\r\n"));
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(
        redis.command(&key).as_deref(),
        Some(":0\r\n"),
        "the TTL ran out"
    );
    let r = get(&b, "/visits", Some(&cookie));
    assert_eq!(r.text(), "1", "expired while idle");

    // Absolute: visits every 250 ms, on A and B in turn, keep it alive, but not past
    // 1500 ms.
    let cookie = set_cookie(&r).unwrap();
    let born = Instant::now();
    let mut last = 1;
    for turn in 0.. {
        std::thread::sleep(Duration::from_millis(250));
        let server = if turn % 2 == 0 { &a } else { &b };
        let n: u64 = get(server, "/visits", Some(&cookie))
            .text()
            .parse()
            .unwrap();
        if n == 1 {
            let lived = born.elapsed();
            assert!(
                lived >= Duration::from_millis(1400),
                "ended early: {lived:?}"
            );
            assert!(last >= 4, "was kept alive by activity: {last} visits");
            break;
        }
        assert_eq!(n, last + 1);
        last = n;
        assert!(born.elapsed() < Duration::from_secs(4), "never expired");
    }
}

#[test]
fn redis_killed_and_restarted_without_restarting_the_servers() {
    let Some(mut redis) = Redis::start("redis-restart") else {
        return;
    };
    let config = config(&redis, "restart", "");
    let a = instance("redis-restart-a", &config);
    let r = get(&a, "/visits", None);
    assert_eq!(r.text(), "1");
    let cookie = set_cookie(&r).unwrap();

    redis.kill();
    for _ in 0..5 {
        let started = Instant::now();
        let r = get(&a, "/visits", Some(&cookie));
        assert_eq!(r.status, 503, "{}", r.head);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // A visitor without a cookie needs the store too, once it sets a value.
        assert_eq!(get(&a, "/visits", None).status, 503);
        // Every other route keeps serving.
        assert_eq!(get(&a, "/", None).status, 200);
        assert_eq!(get(&a, "/hello", Some(&cookie)).status, 200);
        assert_eq!(get(&a, "/app/greet/x", None).text(), "Hello, x");
    }
    assert!(
        eventually(Duration::from_secs(5), || status_json(&a)["visitor_store"]
            ["up"]
            == false),
        "the status page shows the store down"
    );
    let store = &status_json(&a)["visitor_store"];
    assert!(store["errors"].as_u64().unwrap() >= 10, "{store}");
    assert!(store["last_error"].is_string(), "{store}");
    // The log says so, rate-limited.
    let log = a.stderr_log();
    assert!(log.contains("answering 503"), "{log}");

    // Back on the same port, empty (no persistence): new sessions work again, from
    // the same server process.
    redis.restart();
    assert!(
        eventually(Duration::from_secs(10), || get(&a, "/visits", None).status
            == 200),
        "sessions came back"
    );
    let r = get(&a, "/visits", Some(&cookie));
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "1"),
        "Redis kept nothing"
    );
    let fresh = set_cookie(&r).unwrap();
    assert_eq!(get(&a, "/visits", Some(&fresh)).text(), "2");
    assert!(
        eventually(Duration::from_secs(5), || status_json(&a)["visitor_store"]
            ["up"]
            == true),
        "the status page shows the store up again"
    );
}

#[test]
fn a_hanging_redis_costs_a_session_request_its_timeout_and_no_more() {
    let Some(redis) = Redis::start("redis-hang") else {
        return;
    };
    let config = config(&redis, "hang", "");
    let a = instance("redis-hang-a", &config);
    let r = get(&a, "/visits", None);
    let cookie = set_cookie(&r).unwrap();

    redis.pause();
    let started = Instant::now();
    let r = get(&a, "/visits", Some(&cookie));
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.head);
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1500),
        "answered after {took:?}, the timeout is 300 ms"
    );
    assert_eq!(get(&a, "/", None).status, 200);
    assert_eq!(
        status_json(&a)["visitor_store"]["timeouts"]
            .as_u64()
            .map(|n| n >= 1),
        Some(true)
    );

    redis.resume();
    assert!(
        eventually(Duration::from_secs(10), || get(
            &a,
            "/visits",
            Some(&cookie)
        )
        .text()
            == "2"),
        "the session is back once Redis answers"
    );
}

#[test]
fn sticky_upstreams_are_shared_by_two_instances() {
    let Some(redis) = Redis::start("redis-sticky") else {
        return;
    };
    let dir_x = TempDir::new("redis-sticky-x");
    let dir_y = TempDir::new("redis-sticky-y");
    let x = TestApp::start(&dir_x.0, true);
    let y = TestApp::start(&dir_y.0, true);
    // The instances list the upstreams in opposite orders: with nobody busy, each on its
    // own would send a new visitor to its first.
    let route = |first: &TestApp, second: &TestApp| {
        format!(
            "[[route]]\nprefix = \"/app/\"\nfastcgi = {{ upstreams = [\"unix:{}\", \"unix:{}\"], program = \"/srv/app\", sticky_cookie = \"fcgi_upstream\" }}\n",
            first.socket.display(),
            second.socket.display()
        )
    };
    let base = format!(
        "access_log = \"off\"\nworkers = 1\n[visitor_sessions]\nstore = \"{}\"\nkey_prefix = \"it-sticky:\"\ntimeout_ms = 300\n",
        redis.url()
    );
    let a = Server::start(
        "redis-sticky-a",
        Some(&format!("{base}{}", route(&x, &y))),
        &[],
    );
    let b = Server::start(
        "redis-sticky-b",
        Some(&format!("{base}{}", route(&y, &x))),
        &[],
    );

    let served = |app: &TestApp| app.stats.requests.load(SeqCst);
    let first = get(&a, "/app/hello", None);
    assert_eq!(first.text(), "hello");
    let cookie = first
        .header("set-cookie")
        .expect("a new visitor gets the cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("fcgi_upstream="), "{cookie}");
    assert_eq!((served(&x), served(&y)), (1, 0), "A's first choice");
    for turn in 0..10 {
        let server = if turn % 2 == 0 { &b } else { &a };
        let r = get(server, "/app/hello", Some(&format!("x=1; {cookie}")));
        assert_eq!(r.text(), "hello");
        assert!(
            r.header("set-cookie").is_none(),
            "a kept visitor keeps its cookie"
        );
    }
    assert_eq!(
        (served(&x), served(&y)),
        (11, 0),
        "B sent the visitor where A keeps it"
    );
    // A visitor B meets first is kept on B's first choice, by A as well.
    let r = get(&b, "/app/hello", None);
    let other = r.header("set-cookie").unwrap();
    let other = other.split(';').next().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(get(&a, "/app/hello", Some(&other)).text(), "hello");
    }
    assert_eq!((served(&x), served(&y)), (11, 4));

    // Without the store, stickiness is a preference lost, not an outage: served (by the
    // least busy), no cookie, within the store's timeout.
    drop(redis);
    for server in [&a, &b] {
        let started = Instant::now();
        let r = get(server, "/app/hello", Some(&cookie));
        assert_eq!((r.status, r.text().as_str()), (200, "hello"), "{}", r.head);
        assert!(r.header("set-cookie").is_none());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
