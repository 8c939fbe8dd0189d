//! Server-side session state: the `Store` trait and an expiring, bounded in-memory store.
//!
//! Every entry has two deadlines (OWASP "Session Expiration"): an *idle* one, pushed back by
//! each [`Store::touch`], and an *absolute* one, fixed when the session is created and kept
//! across [`Store::rotate`]. An entry is dead from the first instant that reaches either; no
//! method ever hands back a dead entry, whether or not [`Store::purge_expired`] has run yet.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::{Error, SessionId};

/// The longest timeout a [`MemoryStore`] honours; longer ones are cut to this (a century).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// How many fresh ids [`MemoryStore`] draws before it decides the generator is broken.
/// With 128 random bits even one collision means the generator is not random.
const ID_ATTEMPTS: usize = 4;

/// Server-side storage of visitor sessions, keyed by [`SessionId`].
///
/// Sans-IO: every method that depends on time takes `now` from the caller. A store never
/// returns an entry whose idle or absolute deadline is at or before `now`. Only the store
/// makes ids ([`insert`](Self::insert), [`rotate`](Self::rotate)), so an id a client made up
/// can never name a session (OWASP "strict" session management).
pub trait Store {
    /// What is kept per session (for sticky routing, an upstream index).
    type Value;

    /// The value of a live session, without counting this as activity.
    fn get(&self, id: &SessionId, now: Instant) -> Option<&Self::Value>;

    /// The value of a live session, counting this as activity: the idle deadline moves to
    /// `now + idle_timeout` (never past the absolute deadline). Call it once per request that
    /// presents the id. A dead entry is dropped and `None` returned.
    fn touch(&mut self, id: &SessionId, now: Instant) -> Option<&mut Self::Value>;

    /// Starts a session holding `value` and returns its new id.
    ///
    /// # Errors
    /// [`Error::StoreFull`] when at capacity and the store refuses, [`Error::RandomUnavailable`]
    /// when no id could be made.
    fn insert(&mut self, value: Self::Value, now: Instant) -> Result<SessionId, Error>;

    /// Ends a session on the server (logout): its id is dead from now on. Returns the value
    /// if the session was still live.
    fn remove(&mut self, id: &SessionId, now: Instant) -> Option<Self::Value>;

    /// Moves a live session to a new id and kills the old one; call it on every privilege
    /// change (login, logout, role change) against session fixation. The value and the
    /// absolute deadline carry over; the rotation counts as activity.
    ///
    /// # Errors
    /// [`Error::UnknownSession`] if `id` is not live; [`Error::RandomUnavailable`] if no new id
    /// could be made, in which case nothing changed and the caller must not raise privileges.
    fn rotate(&mut self, id: &SessionId, now: Instant) -> Result<SessionId, Error>;

    /// Drops every entry dead at `now` and returns how many. Call it when `now` reaches
    /// [`poll_timeout`](Self::poll_timeout); correctness does not depend on it, memory does.
    fn purge_expired(&mut self, now: Instant) -> usize;

    /// The earliest instant at which some entry dies, or `None` when the store is empty.
    ///
    /// The value may change after any call to `touch`, `insert`, `remove`, `rotate` or
    /// `purge_expired`; ask again after each.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// What [`MemoryStore::insert`] does when the store holds [`StoreLimits::capacity`] live
/// sessions (dead ones are purged first, so they never count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WhenFull {
    /// Refuse the new session with [`Error::StoreFull`] (the default). Live visitors keep
    /// their sessions, and a flood of new sessions cannot push them out; the caller serves
    /// the newcomer without a session (for sticky routing: any upstream) or answers 503.
    #[default]
    Refuse,
    /// Drop the live session closest to its deadline to make room. New visitors always get a
    /// session, but a flood of new sessions ends the quietest live ones early.
    EvictSoonestExpiry,
}

/// Limits of a [`MemoryStore`]. Build from [`StoreLimits::default`] and change fields.
///
/// ```
/// use std::time::Duration;
/// use session_core::visitor::{StoreLimits, WhenFull};
///
/// let mut limits = StoreLimits::default();
/// limits.idle_timeout = Duration::from_secs(5 * 60);
/// limits.capacity = 10_000;
/// limits.when_full = WhenFull::EvictSoonestExpiry;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreLimits {
    /// A session dies this long after its last [`Store::touch`]. Default 30 minutes, the top
    /// of OWASP's range for low-risk applications; use 2-5 minutes for high-value ones.
    pub idle_timeout: Duration,
    /// A session dies this long after its [`Store::insert`], however active. Default 8 hours
    /// (a working day, OWASP's upper suggestion).
    pub absolute_timeout: Duration,
    /// The most sessions held at once. Default 100 000.
    pub capacity: usize,
    /// What happens to a new session at capacity. Default [`WhenFull::Refuse`].
    pub when_full: WhenFull,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(8 * 60 * 60),
            capacity: 100_000,
            when_full: WhenFull::Refuse,
        }
    }
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    created: Instant,
    last_seen: Instant,
    /// The earlier of the idle and absolute deadlines; the entry is dead at `expires <= now`.
    expires: Instant,
    /// Tie-breaker in the expiry index, so the index never needs to order session ids.
    seq: u64,
}

/// An expiring, bounded, in-memory [`Store`] generic over the stored value.
///
/// Lookups are a hash-map probe (the id's equality check is constant-time); deadlines are
/// kept in an ordered index, so [`poll_timeout`](Store::poll_timeout) is O(log n) and
/// purging or evicting costs O(log n) per entry. It never holds more than
/// [`StoreLimits::capacity`] entries.
///
/// # Sticky sessions
///
/// The server keeps each visitor on the FastCGI upstream it first went to by storing the
/// upstream's index:
///
/// ```
/// use std::time::{Duration, Instant};
/// use session_core::visitor::{
///     CookieHeader, Error, MemoryStore, SessionId, SetCookie, Store, StoreLimits,
/// };
///
/// const COOKIE: &str = "__Host-upstream";
/// const UPSTREAMS: usize = 3;
///
/// /// Picks the upstream for one request; returns it and a `Set-Cookie` value to send, if any.
/// fn route(
///     store: &mut MemoryStore<usize>,
///     next: &mut usize,
///     cookie_header: &[u8],
///     now: Instant,
/// ) -> Result<(usize, Option<String>), Error> {
///     // A visitor we know: same upstream as before (a planted or stale id simply misses).
///     let known = CookieHeader::parse(cookie_header)
///         .get_all(COOKIE)
///         .filter_map(|value| SessionId::parse(value).ok())
///         .find_map(|id| store.touch(&id, now).copied());
///     if let Some(upstream) = known {
///         return Ok((upstream, None));
///     }
///     // A new visitor: round-robin, then remember the choice.
///     let upstream = *next % UPSTREAMS;
///     *next += 1;
///     match store.insert(upstream, now) {
///         Ok(id) => {
///             let cookie = SetCookie::new(COOKIE, id.encode().as_str()).encode()?;
///             Ok((upstream, Some(cookie)))
///         }
///         // Full: serve this request anyway, just not sticky.
///         Err(Error::StoreFull { .. }) => Ok((upstream, None)),
///         Err(other) => Err(other),
///     }
/// }
///
/// let mut store = MemoryStore::new(StoreLimits::default());
/// let mut next = 0;
/// let start = Instant::now(); // the driver's clock; the store never reads one
///
/// // Alice arrives without a cookie and is given upstream 0.
/// let (alice, set_cookie) = route(&mut store, &mut next, b"", start)?;
/// let set_cookie = set_cookie.expect("a new visitor gets a cookie");
/// let id = CookieHeader::parse(set_cookie.as_bytes()).get(COOKIE).unwrap_or_default();
/// let alice_cookie = format!("{COOKIE}={id}");
///
/// // Bob is next in the rotation.
/// let (bob, _) = route(&mut store, &mut next, b"theme=dark", start)?;
/// assert_ne!(alice, bob);
///
/// // Alice comes back ten minutes later: same upstream, no new cookie.
/// let later = start + Duration::from_secs(600);
/// assert_eq!(route(&mut store, &mut next, alice_cookie.as_bytes(), later)?, (alice, None));
///
/// // After 31 idle minutes her session is gone; she is routed afresh and gets a new cookie.
/// let much_later = later + Duration::from_secs(31 * 60);
/// let (_, fresh) = route(&mut store, &mut next, alice_cookie.as_bytes(), much_later)?;
/// assert!(fresh.is_some());
///
/// // The driver sleeps until the next expiry and purges: Bob's session is the one left to drop
/// // (touching Alice's dead id above already dropped hers).
/// assert!(store.poll_timeout().is_some());
/// assert_eq!(store.purge_expired(much_later), 1);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore<V> {
    limits: StoreLimits,
    entries: HashMap<SessionId, Entry<V>>,
    by_expiry: BTreeMap<(Instant, u64), SessionId>,
    next_seq: u64,
}

impl<V> MemoryStore<V> {
    /// An empty store. Timeouts longer than [`MAX_TIMEOUT`] are cut to it.
    #[must_use]
    pub fn new(limits: StoreLimits) -> Self {
        let limits = StoreLimits {
            idle_timeout: limits.idle_timeout.min(MAX_TIMEOUT),
            absolute_timeout: limits.absolute_timeout.min(MAX_TIMEOUT),
            ..limits
        };
        Self {
            limits,
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// The limits in force (after [`MAX_TIMEOUT`] was applied).
    #[must_use]
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    /// How many entries are held, dead ones not yet purged included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earlier of `last_seen + idle` and `created + absolute`. If the platform cannot
    /// represent a deadline, the session dies at once: failing closed beats living forever.
    fn deadline(&self, created: Instant, last_seen: Instant) -> Instant {
        let absolute = created
            .checked_add(self.limits.absolute_timeout)
            .unwrap_or(created);
        let idle = last_seen
            .checked_add(self.limits.idle_timeout)
            .unwrap_or(last_seen);
        absolute.min(idle)
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        seq
    }

    /// A fresh id not naming any entry.
    fn fresh_id(&self) -> Result<SessionId, Error> {
        for _ in 0..ID_ATTEMPTS {
            let id = SessionId::generate()?;
            if !self.entries.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(Error::RandomUnavailable)
    }

    /// Removes an entry from both maps.
    fn unlink(&mut self, id: &SessionId) -> Option<Entry<V>> {
        let entry = self.entries.remove(id)?;
        self.by_expiry.remove(&(entry.expires, entry.seq));
        Some(entry)
    }

    /// Makes room for one more entry, or says why not.
    fn make_room(&mut self, now: Instant) -> Result<(), Error> {
        if self.entries.len() < self.limits.capacity {
            return Ok(());
        }
        self.purge_expired(now);
        while self.entries.len() >= self.limits.capacity {
            let full = Error::StoreFull {
                capacity: self.limits.capacity,
            };
            if self.limits.when_full == WhenFull::Refuse {
                return Err(full);
            }
            let (_, id) = self.by_expiry.pop_first().ok_or(full)?;
            self.entries.remove(&id);
        }
        Ok(())
    }
}

impl<V> Store for MemoryStore<V> {
    type Value = V;

    fn get(&self, id: &SessionId, now: Instant) -> Option<&V> {
        self.entries
            .get(id)
            .filter(|entry| now < entry.expires)
            .map(|entry| &entry.value)
    }

    fn touch(&mut self, id: &SessionId, now: Instant) -> Option<&mut V> {
        let (created, last_seen, old_key) = {
            let entry = self.entries.get(id)?;
            (entry.created, entry.last_seen, (entry.expires, entry.seq))
        };
        if now >= old_key.0 {
            self.unlink(id);
            return None;
        }
        // A caller's clock that steps back must not shorten or lengthen a session.
        let last_seen = last_seen.max(now);
        let expires = self.deadline(created, last_seen);
        self.by_expiry.remove(&old_key);
        self.by_expiry.insert((expires, old_key.1), *id);
        let entry = self.entries.get_mut(id)?;
        entry.last_seen = last_seen;
        entry.expires = expires;
        Some(&mut entry.value)
    }

    fn insert(&mut self, value: V, now: Instant) -> Result<SessionId, Error> {
        let id = self.fresh_id()?;
        self.make_room(now)?;
        let expires = self.deadline(now, now);
        let seq = self.take_seq();
        self.by_expiry.insert((expires, seq), id);
        self.entries.insert(
            id,
            Entry {
                value,
                created: now,
                last_seen: now,
                expires,
                seq,
            },
        );
        Ok(id)
    }

    fn remove(&mut self, id: &SessionId, now: Instant) -> Option<V> {
        self.unlink(id)
            .filter(|entry| now < entry.expires)
            .map(|entry| entry.value)
    }

    fn rotate(&mut self, id: &SessionId, now: Instant) -> Result<SessionId, Error> {
        match self.entries.get(id) {
            Some(entry) if now < entry.expires => {}
            Some(_) => {
                self.unlink(id);
                return Err(Error::UnknownSession);
            }
            None => return Err(Error::UnknownSession),
        }
        let new_id = self.fresh_id()?;
        let mut entry = self.unlink(id).ok_or(Error::UnknownSession)?;
        entry.last_seen = entry.last_seen.max(now);
        entry.expires = self.deadline(entry.created, entry.last_seen);
        entry.seq = self.take_seq();
        self.by_expiry.insert((entry.expires, entry.seq), new_id);
        self.entries.insert(new_id, entry);
        Ok(new_id)
    }

    fn purge_expired(&mut self, now: Instant) -> usize {
        let mut purged = 0;
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            self.entries.remove(&id);
            purged += 1;
        }
        purged
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.by_expiry
            .first_key_value()
            .map(|(&(expires, _), _)| expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn limits(idle: u64, absolute: u64, capacity: usize, when_full: WhenFull) -> StoreLimits {
        StoreLimits {
            idle_timeout: MIN * u32::try_from(idle).unwrap(),
            absolute_timeout: MIN * u32::try_from(absolute).unwrap(),
            capacity,
            when_full,
        }
    }

    fn store(idle: u64, absolute: u64, capacity: usize) -> MemoryStore<u32> {
        MemoryStore::new(limits(idle, absolute, capacity, WhenFull::Refuse))
    }

    #[test]
    fn insert_then_get_and_touch() {
        let t0 = Instant::now();
        let mut s = store(10, 60, 4);
        let id = s.insert(7, t0).unwrap();
        assert_eq!(s.get(&id, t0), Some(&7));
        *s.touch(&id, t0 + MIN).unwrap() = 8;
        assert_eq!(s.get(&id, t0 + MIN), Some(&8));
        assert_eq!(s.len(), 1);
        assert!(!s.is_empty());
    }

    #[test]
    fn unknown_id_misses() {
        let t0 = Instant::now();
        let mut s = store(10, 60, 4);
        s.insert(1, t0).unwrap();
        let stranger = SessionId::from_bytes([0; 16]);
        assert_eq!(s.get(&stranger, t0), None);
        assert_eq!(s.touch(&stranger, t0), None);
        assert_eq!(s.remove(&stranger, t0), None);
        assert_eq!(s.rotate(&stranger, t0), Err(Error::UnknownSession));
    }

    #[test]
    fn idle_timeout_is_exclusive_at_the_deadline() {
        let t0 = Instant::now();
        let mut s = store(10, 60, 4);
        let id = s.insert(1, t0).unwrap();
        let just_before = t0 + 10 * MIN - Duration::from_nanos(1);
        assert_eq!(s.get(&id, just_before), Some(&1));
        assert_eq!(s.get(&id, t0 + 10 * MIN), None, "dead at the deadline");
        assert_eq!(s.touch(&id, t0 + 10 * MIN), None);
        assert!(s.is_empty(), "touching a dead entry drops it");
    }

    #[test]
    fn touch_pushes_idle_deadline_back() {
        let t0 = Instant::now();
        let mut s = store(10, 60, 4);
        let id = s.insert(1, t0).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + 10 * MIN));
        for minute in (9..50).step_by(9) {
            assert!(s.touch(&id, t0 + minute * MIN).is_some(), "{minute}");
        }
        assert_eq!(s.poll_timeout(), Some(t0 + 55 * MIN));
        assert_eq!(s.get(&id, t0 + 54 * MIN), Some(&1));
    }

    #[test]
    fn absolute_timeout_wins_over_activity() {
        let t0 = Instant::now();
        let mut s = store(10, 30, 4);
        let id = s.insert(1, t0).unwrap();
        for minute in (5..30).step_by(5) {
            assert!(s.touch(&id, t0 + minute * MIN).is_some());
        }
        assert_eq!(s.poll_timeout(), Some(t0 + 30 * MIN));
        assert_eq!(s.touch(&id, t0 + 30 * MIN), None);
    }

    #[test]
    fn clock_stepping_back_does_not_move_deadlines() {
        let t0 = Instant::now() + 60 * MIN;
        let mut s = store(10, 60, 4);
        let id = s.insert(1, t0).unwrap();
        assert!(s.touch(&id, t0 + 5 * MIN).is_some());
        assert!(s.touch(&id, t0 - 30 * MIN).is_some());
        assert_eq!(s.poll_timeout(), Some(t0 + 15 * MIN));
    }

    #[test]
    fn rotate_moves_value_and_kills_old_id() {
        let t0 = Instant::now();
        let mut s = store(10, 30, 4);
        let old = s.insert(5, t0).unwrap();
        let new = s.rotate(&old, t0 + 8 * MIN).unwrap();
        assert_ne!(old, new);
        assert_eq!(s.get(&old, t0 + 8 * MIN), None);
        assert_eq!(s.touch(&old, t0 + 8 * MIN), None);
        assert_eq!(s.rotate(&old, t0 + 8 * MIN), Err(Error::UnknownSession));
        assert_eq!(s.get(&new, t0 + 17 * MIN), Some(&5), "rotation is activity");
        assert_eq!(s.len(), 1);
        // The absolute deadline carries over: rotation cannot extend a session's life.
        assert!(s.touch(&new, t0 + 17 * MIN).is_some());
        assert!(s.touch(&new, t0 + 25 * MIN).is_some());
        assert_eq!(s.poll_timeout(), Some(t0 + 30 * MIN));
        assert_eq!(s.get(&new, t0 + 30 * MIN), None);
    }

    #[test]
    fn rotate_refuses_a_dead_session() {
        let t0 = Instant::now();
        let mut s = store(10, 30, 4);
        let id = s.insert(5, t0).unwrap();
        assert_eq!(s.rotate(&id, t0 + 10 * MIN), Err(Error::UnknownSession));
        assert!(s.is_empty());
    }

    #[test]
    fn remove_invalidates_and_returns_only_live_values() {
        let t0 = Instant::now();
        let mut s = store(10, 30, 4);
        let a = s.insert(1, t0).unwrap();
        let b = s.insert(2, t0).unwrap();
        assert_eq!(s.remove(&a, t0), Some(1));
        assert_eq!(s.get(&a, t0), None);
        assert_eq!(s.remove(&a, t0), None);
        assert_eq!(
            s.remove(&b, t0 + 10 * MIN),
            None,
            "dead value is not handed back"
        );
        assert!(s.is_empty());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn purge_and_poll_timeout() {
        let t0 = Instant::now();
        let mut s = store(10, 60, 8);
        let a = s.insert(1, t0).unwrap();
        let _b = s.insert(2, t0 + MIN).unwrap();
        let _c = s.insert(3, t0 + 2 * MIN).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + 10 * MIN));
        assert_eq!(s.purge_expired(t0 + 10 * MIN), 1);
        assert_eq!(s.get(&a, t0), None);
        assert_eq!(s.poll_timeout(), Some(t0 + 11 * MIN));
        assert_eq!(s.purge_expired(t0 + 5 * MIN), 0);
        assert_eq!(s.purge_expired(t0 + 60 * MIN), 2);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn refuse_at_capacity_after_purging_the_dead() {
        let t0 = Instant::now();
        let mut s = store(10, 60, 2);
        let a = s.insert(1, t0).unwrap();
        let b = s.insert(2, t0 + MIN).unwrap();
        assert_eq!(
            s.insert(3, t0 + 2 * MIN),
            Err(Error::StoreFull { capacity: 2 })
        );
        assert_eq!(s.get(&a, t0 + 2 * MIN), Some(&1));
        assert_eq!(s.get(&b, t0 + 2 * MIN), Some(&2));
        // Once `a` is dead its slot is free again.
        let c = s.insert(3, t0 + 10 * MIN).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(&c, t0 + 10 * MIN), Some(&3));
    }

    #[test]
    fn evict_soonest_expiry_at_capacity() {
        let t0 = Instant::now();
        let mut s = MemoryStore::new(limits(10, 60, 2, WhenFull::EvictSoonestExpiry));
        let a = s.insert(1, t0).unwrap();
        let b = s.insert(2, t0 + MIN).unwrap();
        assert!(s.touch(&a, t0 + 2 * MIN).is_some()); // now `b` expires first
        let c = s.insert(3, t0 + 3 * MIN).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(&b, t0 + 3 * MIN), None);
        assert_eq!(s.get(&a, t0 + 3 * MIN), Some(&1));
        assert_eq!(s.get(&c, t0 + 3 * MIN), Some(&3));
    }

    #[test]
    fn zero_capacity_always_refuses() {
        let t0 = Instant::now();
        for when_full in [WhenFull::Refuse, WhenFull::EvictSoonestExpiry] {
            let mut s: MemoryStore<()> = MemoryStore::new(limits(10, 60, 0, when_full));
            assert_eq!(s.insert((), t0), Err(Error::StoreFull { capacity: 0 }));
        }
    }

    #[test]
    fn huge_timeouts_are_clamped_not_panics() {
        let t0 = Instant::now();
        let mut s = MemoryStore::new(StoreLimits {
            idle_timeout: Duration::MAX,
            absolute_timeout: Duration::MAX,
            capacity: 1,
            when_full: WhenFull::Refuse,
        });
        assert_eq!(s.limits().idle_timeout, MAX_TIMEOUT);
        let id = s.insert(1, t0).unwrap();
        assert_eq!(s.get(&id, t0 + 50 * 365 * 24 * 60 * MIN / 60), Some(&1));
    }

    #[test]
    fn zero_idle_timeout_means_dead_at_once() {
        let t0 = Instant::now();
        let mut s = store(0, 60, 1);
        let id = s.insert(1, t0).unwrap();
        assert_eq!(s.get(&id, t0), None);
        // The dead entry does not block the next insert.
        assert!(s.insert(2, t0).is_ok());
    }

    #[test]
    fn default_limits_follow_owasp_ranges() {
        let d = StoreLimits::default();
        assert_eq!(d.idle_timeout, 30 * MIN);
        assert_eq!(d.absolute_timeout, 8 * 60 * MIN);
        assert_eq!(d.when_full, WhenFull::Refuse);
    }
}
