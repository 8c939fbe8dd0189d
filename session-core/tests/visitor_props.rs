//! Property tests for visitor sessions: the cookie codec and the expiring store.
//!
//! The store is checked against a model (a plain list of what each issued id should be)
//! over random sequences of operations and clock ticks on a simulated clock.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use session_core::visitor::{
    CookieHeader, Error, MemoryStore, SameSite, SessionId, SetCookie, Store, StoreLimits, WhenFull,
};

mod strategies {
    use super::*;

    /// RFC 9110 `token`, avoiding the `__Host-`/`__Secure-` prefixes (tested on their own).
    pub(super) fn cookie_name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#$%&'*+.^`|~-][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}"
    }

    /// RFC 6265 `cookie-octet`s.
    pub(super) fn cookie_value() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just(0x21u8),
                0x23u8..=0x2B,
                0x2Du8..=0x3A,
                0x3Cu8..=0x5B,
                0x5Du8..=0x7E
            ],
            0..24,
        )
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
    }

    pub(super) fn same_site() -> impl Strategy<Value = Option<SameSite>> {
        prop_oneof![
            Just(None),
            Just(Some(SameSite::Strict)),
            Just(Some(SameSite::Lax)),
            Just(Some(SameSite::None)),
        ]
    }

    /// Optional whitespace as browsers and proxies may add it.
    pub(super) fn ows() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(" "), Just("\t"), Just("  ")]
    }

    /// Any string, biased towards the bytes that matter to a cookie header.
    pub(super) fn hostile_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range('a', 'z'),
                1 => Just(';'), 1 => Just('='), 1 => Just('"'), 1 => Just(' '),
                1 => Just('\r'), 1 => Just('\n'), 1 => Just(','), 1 => Just('\\'),
                1 => Just('\0'), 1 => Just('é'), 1 => any::<char>(),
            ],
            0..20,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    #[derive(Debug, Clone)]
    pub(super) enum Op {
        /// Move the clock forward.
        Tick(u64),
        Insert,
        /// Index into the ids issued so far (modulo), or a stranger when none.
        Get(usize),
        Touch(usize),
        Remove(usize),
        Rotate(usize),
        Purge,
        Stranger,
    }

    pub(super) fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..4_000).prop_map(Op::Tick),
            3 => Just(Op::Insert),
            2 => any::<usize>().prop_map(Op::Get),
            3 => any::<usize>().prop_map(Op::Touch),
            1 => any::<usize>().prop_map(Op::Remove),
            1 => any::<usize>().prop_map(Op::Rotate),
            1 => Just(Op::Purge),
            1 => Just(Op::Stranger),
        ]
    }
}

use strategies::Op;

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_cookie_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes at all: no panic, and every pair handed out obeys RFC 6265's grammar.
    #[test]
    fn cookie_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let cookies = CookieHeader::parse(&bytes);
        for (name, value) in cookies.iter() {
            prop_assert!(is_token(name), "{name:?}");
            prop_assert!(is_cookie_value(value), "{value:?}");
        }
        let _ = cookies.get("id");
    }

    /// `get_all` (names compared first) agrees with filtering `iter` (everything checked).
    #[test]
    fn get_all_agrees_with_iter(text in strategies::hostile_text(), name in "[a-z;= ]{0,2}") {
        let cookies = CookieHeader::parse(text.as_bytes());
        let fast: Vec<&str> = cookies.get_all(&name).collect();
        let slow: Vec<&str> = cookies.iter().filter(|(n, _)| *n == name).map(|(_, v)| v).collect();
        prop_assert_eq!(cookies.get(&name), slow.first().copied());
        prop_assert_eq!(fast, slow);
    }

    /// Same, with input made of the characters that matter.
    #[test]
    fn cookie_parse_hostile_text(text in strategies::hostile_text()) {
        for (name, value) in CookieHeader::parse(text.as_bytes()).iter() {
            prop_assert!(is_token(name));
            prop_assert!(is_cookie_value(value));
        }
    }

    /// What we set is what the browser sends back: the first pair of a `Set-Cookie` value,
    /// and a `Cookie` header of many pairs with any whitespace and quoting, read back intact.
    #[test]
    fn build_then_parse_round_trip(
        pairs in proptest::collection::vec(
            (strategies::cookie_name(), strategies::cookie_value(), any::<bool>(), strategies::ows()),
            1..6,
        ),
        secure in any::<bool>(),
        http_only in any::<bool>(),
        same_site in strategies::same_site(),
        max_age in proptest::option::of(0u64..1_000_000_000),
    ) {
        for (name, value, _, _) in &pairs {
            let cookie = SetCookie::new(name, value)
                .secure(secure)
                .http_only(http_only)
                .same_site(same_site)
                .max_age(max_age.map(Duration::from_secs));
            match cookie.encode() {
                Ok(header) => {
                    prop_assert!(!header.contains(['\r', '\n']));
                    let first = CookieHeader::parse(header.as_bytes()).iter().next();
                    prop_assert_eq!(first, Some((name.as_str(), value.as_str())));
                }
                Err(err) => {
                    prop_assert_eq!(err, Error::SameSiteNoneWithoutSecure);
                    prop_assert!(!secure && same_site == Some(SameSite::None));
                }
            }
        }
        let header: Vec<String> = pairs
            .iter()
            .map(|(name, value, quoted, ows)| {
                if *quoted {
                    format!("{ows}{name}{ows}={ows}\"{value}\"{ows}")
                } else {
                    format!("{ows}{name}={value}{ows}")
                }
            })
            .collect();
        let header = header.join(";");
        let parsed: Vec<(&str, &str)> = CookieHeader::parse(header.as_bytes()).iter().collect();
        let expected: Vec<(&str, &str)> =
            pairs.iter().map(|(n, v, _, _)| (n.as_str(), v.as_str())).collect();
        prop_assert_eq!(parsed, expected);
    }

    /// Whatever strings a caller passes, a header comes out only if it cannot inject.
    #[test]
    fn set_cookie_never_injects(
        name in strategies::hostile_text(),
        value in strategies::hostile_text(),
        path in proptest::option::of(strategies::hostile_text()),
        domain in proptest::option::of(strategies::hostile_text()),
    ) {
        let cookie = SetCookie::new(&name, &value).path(path.as_deref()).domain(domain.as_deref());
        if let Ok(header) = cookie.encode() {
            prop_assert!(header.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()));
            prop_assert!(is_token(&name) && is_cookie_value(&value));
            // Exactly the attributes we wrote: no extra `;` smuggled in.
            let expected = 1 + 3 + usize::from(path.is_some()) + usize::from(domain.is_some());
            prop_assert_eq!(header.split("; ").count(), expected);
        }
    }

    /// Ids survive the cookie trip, and no text other than their own spelling parses.
    #[test]
    fn session_id_round_trip(bytes in any::<[u8; 16]>(), text in "\\PC{0,40}") {
        let id = SessionId::from_bytes(bytes);
        prop_assert_eq!(SessionId::parse(id.encode().as_str()), Ok(id));
        if let Ok(parsed) = SessionId::parse(&text) {
            let encoded = parsed.encode();
            prop_assert_eq!(encoded.as_str(), text.as_str());
        }
    }
}

/// What the model believes about one issued id.
#[derive(Debug, Clone)]
struct ModelEntry {
    id: SessionId,
    value: u32,
    created: Instant,
    last_seen: Instant,
    /// False once removed, rotated away, or (under eviction) possibly evicted.
    present: bool,
}

const IDLE: Duration = Duration::from_secs(10);
const ABSOLUTE: Duration = Duration::from_secs(25);

impl ModelEntry {
    fn deadline(&self) -> Instant {
        (self.created + ABSOLUTE).min(self.last_seen + IDLE)
    }

    fn live(&self, now: Instant) -> bool {
        self.present && now < self.deadline()
    }
}

/// Runs `ops` against a store and a model; under `Refuse` the two must agree exactly, under
/// eviction the store may forget live entries but must never invent or resurrect one.
fn run_model(ops: &[Op], capacity: usize, when_full: WhenFull) -> Result<(), TestCaseError> {
    let mut limits = StoreLimits::default();
    limits.idle_timeout = IDLE;
    limits.absolute_timeout = ABSOLUTE;
    limits.capacity = capacity;
    limits.when_full = when_full;
    let exact = when_full == WhenFull::Refuse;
    let mut store = MemoryStore::new(limits);
    let mut model: Vec<ModelEntry> = Vec::new();
    let mut now = Instant::now();
    let mut next_value = 0u32;
    let stranger = SessionId::from_bytes([0x42; 16]);

    for op in ops {
        match *op {
            Op::Tick(ms) => now += Duration::from_millis(ms),
            Op::Insert => {
                next_value += 1;
                let live = model.iter().filter(|e| e.live(now)).count();
                match store.insert(next_value, now) {
                    Ok(id) => {
                        if exact {
                            prop_assert!(live < capacity, "inserted past capacity");
                        } else if live >= capacity {
                            // Eviction took some live entry; the model no longer knows which.
                            // Only entries the store still holds stay checkable.
                            for entry in &mut model {
                                entry.present &= store.get(&entry.id, now).is_some();
                            }
                        }
                        prop_assert!(model.iter().all(|e| e.id != id), "id reused");
                        model.push(ModelEntry {
                            id,
                            value: next_value,
                            created: now,
                            last_seen: now,
                            present: true,
                        });
                    }
                    Err(Error::StoreFull { capacity: c }) => {
                        prop_assert_eq!(c, capacity);
                        if exact {
                            prop_assert!(live >= capacity, "refused below capacity");
                        } else {
                            prop_assert_eq!(capacity, 0);
                        }
                    }
                    Err(other) => prop_assert!(false, "insert failed: {other:?}"),
                }
            }
            Op::Get(i) | Op::Touch(i) | Op::Remove(i) | Op::Rotate(i) if model.is_empty() => {
                let _ = i;
                prop_assert!(store.get(&stranger, now).is_none());
            }
            Op::Get(i) => {
                let entry = &model[i % model.len()];
                let got = store.get(&entry.id, now).copied();
                check(entry, got, now, exact)?;
            }
            Op::Touch(i) => {
                let index = i % model.len();
                let got = store.touch(&model[index].id, now).copied();
                check(&model[index], got, now, exact)?;
                if got.is_some() {
                    model[index].last_seen = now;
                } else {
                    model[index].present = false;
                }
            }
            Op::Remove(i) => {
                let index = i % model.len();
                let got = store.remove(&model[index].id, now);
                check(&model[index], got, now, exact)?;
                model[index].present = false;
                prop_assert!(store.get(&model[index].id, now).is_none());
            }
            Op::Rotate(i) => {
                let index = i % model.len();
                let old = model[index].clone();
                match store.rotate(&old.id, now) {
                    Ok(new_id) => {
                        prop_assert!(old.live(now), "rotated a dead session");
                        prop_assert!(store.get(&old.id, now).is_none(), "old id still works");
                        prop_assert!(model.iter().all(|e| e.id != new_id), "id reused");
                        model[index].present = false;
                        model.push(ModelEntry {
                            id: new_id,
                            last_seen: now,
                            present: true,
                            ..old
                        });
                    }
                    Err(err) => {
                        prop_assert_eq!(err, Error::UnknownSession);
                        prop_assert!(!exact || !old.live(now), "live session not rotated");
                        model[index].present = false;
                    }
                }
            }
            Op::Purge => {
                store.purge_expired(now);
                if let Some(next) = store.poll_timeout() {
                    prop_assert!(next > now, "purge left a dead entry");
                }
            }
            Op::Stranger => {
                prop_assert!(store.get(&stranger, now).is_none());
                prop_assert!(store.touch(&stranger, now).is_none());
            }
        }
        // Invariants after every step.
        prop_assert!(store.len() <= capacity, "{} > {capacity}", store.len());
        let live: Vec<&ModelEntry> = model.iter().filter(|e| e.live(now)).collect();
        if exact {
            prop_assert!(store.len() >= live.len());
        }
        match store.poll_timeout() {
            None => prop_assert!(store.is_empty()),
            Some(next) => {
                for entry in live {
                    if store.get(&entry.id, now).is_some() {
                        prop_assert!(next <= entry.deadline(), "poll_timeout after a deadline");
                    }
                }
            }
        }
    }
    Ok(())
}

/// A store answer against the model: never a dead or unknown entry, never a wrong value;
/// under `Refuse`, also never a miss for a live one.
fn check(
    entry: &ModelEntry,
    got: Option<u32>,
    now: Instant,
    exact: bool,
) -> Result<(), TestCaseError> {
    match got {
        Some(value) => {
            prop_assert!(entry.live(now), "returned a dead entry");
            prop_assert_eq!(value, entry.value);
        }
        None => prop_assert!(!exact || !entry.live(now), "lost a live entry"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn store_refusing_matches_model(
        ops in proptest::collection::vec(strategies::op(), 0..200),
        capacity in 0usize..8,
    ) {
        run_model(&ops, capacity, WhenFull::Refuse)?;
    }

    #[test]
    fn store_evicting_never_exceeds_capacity_or_returns_dead(
        ops in proptest::collection::vec(strategies::op(), 0..200),
        capacity in 0usize..8,
    ) {
        run_model(&ops, capacity, WhenFull::EvictSoonestExpiry)?;
    }
}

/// Hours of simulated time in a blink: a visitor active every 9 seconds lives exactly until
/// the absolute timeout, one that pauses 10 seconds dies at the idle timeout.
#[test]
fn hours_of_simulated_time() {
    let mut limits = StoreLimits::default();
    limits.idle_timeout = IDLE;
    limits.absolute_timeout = Duration::from_secs(4 * 3600);
    let mut store = MemoryStore::new(limits);
    let start = Instant::now();
    let busy = store.insert("busy", start).unwrap();
    let mut now = start;
    while now < start + Duration::from_secs(4 * 3600) {
        assert_eq!(
            store.touch(&busy, now).copied(),
            Some("busy"),
            "{:?}",
            now - start
        );
        now += Duration::from_secs(9);
    }
    assert_eq!(store.touch(&busy, now), None);

    let idler = store.insert("idler", now).unwrap();
    assert_eq!(store.poll_timeout(), Some(now + IDLE));
    assert_eq!(store.get(&idler, now + IDLE), None);
    assert_eq!(store.purge_expired(now + IDLE), 1);
    assert!(store.is_empty());
}

/// The `__Host-` prefix is checked however the name is cased, with a real id as the value.
#[test]
fn host_prefixed_session_cookie() {
    let id = SessionId::generate().unwrap();
    let encoded = id.encode();
    let header = SetCookie::new("__Host-id", encoded.as_str())
        .encode()
        .unwrap();
    let back = CookieHeader::parse(header.as_bytes())
        .get("__Host-id")
        .unwrap();
    assert_eq!(SessionId::parse(back).unwrap(), id);
    assert_eq!(
        SetCookie::new("__host-ID", encoded.as_str())
            .secure(false)
            .encode(),
        Err(Error::HostPrefixViolation)
    );
}
