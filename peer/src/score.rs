//! Peer scoring: misbehaviour points per peer key that decay over time, and a ban for a peer
//! whose points cross a threshold.
//!
//! bitmarkd has none of this: a peer that serves invalid blocks, garbage or a chain it cannot
//! back up is retried for ever. The model is Lighthouse's (a small decaying score, a few
//! offence weights, a timed ban) with Zebra's scale (100 points bans); Bitcoin Core's
//! ban-at-once is kept for the two offences that cannot be an accident of timing: a peer of
//! another chain, and a peer registering under a key it did not authenticate with.
//!
//! # The numbers
//!
//! | offence | points | bans after |
//! |---|---|---|
//! | [`Offence::WrongChain`] | 100 | 1 |
//! | [`Offence::Impersonation`] | 100 | 1 |
//! | [`Offence::InvalidBlock`] | 60 | 2 within 5 minutes |
//! | [`Offence::LyingAboutChain`] | 40 | 3 within a few minutes (3 polls in a row) |
//! | [`Offence::MalformedReply`] | 25 | 5 within a few minutes |
//! | [`Offence::Timeout`] | 2 | never alone at the poll rate (see below) |
//!
//! Points halve every [`ScoreConfig::half_life`] (10 min), so offences spread over hours never
//! add up: one invalid block an hour is a bug somewhere, not an attack. One timeout per 30-s
//! poll settles at `2 / (1 - 2^(-30/600))` ≈ 59 points, so a slow or dead peer is never banned
//! for timeouts alone (back-off handles it), but two malformed replies on top of that ban it.
//!
//! A ban lasts [`ScoreConfig::ban_duration`] (30 min), doubled for each further ban of the
//! same key while it is remembered, up to [`ScoreConfig::max_ban_duration`] (24 h). Bans are
//! short on purpose: the bitmark network is small, and a bug on *our* side that makes every
//! peer look bad must not isolate the node for long (project-bitmark/bitmark#107). When a ban
//! ends the peer is on probation at half the threshold, which decays like any other points:
//! one more serious offence within the hour bans it again, for twice as long.
//!
//! The table is bounded ([`ScoreConfig::capacity`]): entries that have decayed to nothing are
//! dropped, and when it is full the least-penalised peer that is not banned makes room.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

const TARGET: &str = "peer::score";

/// A peer's public key (its CURVE server key): the identity the score table, the upstreams
/// and the connector key everything by.
pub type PeerKey = [u8; 32];

/// Points below which an entry that is not banned is forgotten.
const FORGET_BELOW: f64 = 1.0;

/// What a peer did wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offence {
    /// It runs another chain: its `R` reply names another chain, or it refuses ours with
    /// `invalid chain`/`incorrect chain`. Never useful, so banned at once.
    WrongChain,
    /// Its `R` claims another key than the CURVE key its connection authenticated with.
    /// Every bitmarkd node registers with the key pair it connects with, so this is never an
    /// accident: it is an attempt to take another node's place in our peer table.
    Impersonation,
    /// It sent a block that failed validation (header, proof of work, links, records).
    InvalidBlock,
    /// Its answers contradict each other: a block whose digest is not the one it gave for that
    /// height, a height it cannot serve a digest for.
    LyingAboutChain,
    /// A reply that is not a well-formed answer to the request (wrong function, frame count or
    /// size, an error where none can be).
    MalformedReply,
    /// No reply within the request timeout after it had registered us.
    Timeout,
}

impl Offence {
    /// The points this offence adds.
    pub const fn points(self) -> f64 {
        match self {
            Offence::WrongChain => 100.0,
            Offence::Impersonation => 100.0,
            Offence::InvalidBlock => 60.0,
            Offence::LyingAboutChain => 40.0,
            Offence::MalformedReply => 25.0,
            Offence::Timeout => 2.0,
        }
    }

    /// A few words for logs.
    pub const fn describe(self) -> &'static str {
        match self {
            Offence::WrongChain => "runs another chain",
            Offence::Impersonation => "registered under another key",
            Offence::InvalidBlock => "sent an invalid block",
            Offence::LyingAboutChain => "contradicted its own chain",
            Offence::MalformedReply => "sent a malformed reply",
            Offence::Timeout => "did not answer in time",
        }
    }
}

impl fmt::Display for Offence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Tuning of the score table; see the module documentation for why these defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreConfig {
    /// Points at which a peer is banned (100).
    pub ban_threshold: f64,
    /// Time for points to halve (10 min).
    pub half_life: Duration,
    /// Length of a first ban (30 min).
    pub ban_duration: Duration,
    /// Longest ban, however often the peer offends (24 h).
    pub max_ban_duration: Duration,
    /// Peers remembered at most (4096).
    pub capacity: usize,
}

impl Default for ScoreConfig {
    fn default() -> ScoreConfig {
        ScoreConfig {
            ban_threshold: 100.0,
            half_life: Duration::from_secs(600),
            ban_duration: Duration::from_secs(30 * 60),
            max_ban_duration: Duration::from_secs(24 * 3600),
            capacity: 4096,
        }
    }
}

/// Where a peer stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standing {
    /// Its points now (after decay).
    pub points: f64,
    /// The end of its ban, if it is banned.
    pub banned_until: Option<Instant>,
}

impl Standing {
    /// Whether the peer is banned.
    pub fn is_banned(&self) -> bool {
        self.banned_until.is_some()
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Points as of `updated`.
    points: f64,
    /// When `points` was computed; in the future while banned, so no decay happens during a ban.
    updated: Instant,
    /// The end of the current ban.
    banned_until: Option<Instant>,
    /// Bans so far, for doubling.
    bans: u32,
}

impl Entry {
    /// Bring the entry to `now`: end a ban that is over, decay the points.
    fn settle(&mut self, now: Instant, half_life: Duration) {
        if self.banned_until.is_some_and(|until| until <= now) {
            self.banned_until = None;
        }
        let elapsed = now.saturating_duration_since(self.updated);
        if !elapsed.is_zero() && !half_life.is_zero() {
            self.points *= 0.5f64.powf(elapsed.as_secs_f64() / half_life.as_secs_f64());
            self.updated = now;
        }
    }

    fn standing(&self) -> Standing {
        Standing { points: self.points, banned_until: self.banned_until }
    }

    fn forgettable(&self) -> bool {
        self.banned_until.is_none() && self.points < FORGET_BELOW
    }
}

/// The score table, shared by every upstream and the connector.
pub struct ScoreBoard {
    config: ScoreConfig,
    entries: Mutex<HashMap<PeerKey, Entry>>,
}

impl fmt::Debug for ScoreBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScoreBoard").field("config", &self.config).field("peers", &self.lock().len()).finish()
    }
}

impl Default for ScoreBoard {
    fn default() -> ScoreBoard {
        ScoreBoard::new(ScoreConfig::default())
    }
}

impl ScoreBoard {
    /// An empty table.
    pub fn new(config: ScoreConfig) -> ScoreBoard {
        ScoreBoard { config, entries: Mutex::new(HashMap::new()) }
    }

    /// The table's tuning.
    pub fn config(&self) -> &ScoreConfig {
        &self.config
    }

    /// Record `offence` by `key` at `now`, banning it if its points reach the threshold, and
    /// return where it stands. Offences reported while a peer is banned are ignored (they are
    /// late news of what got it banned).
    pub fn report(&self, key: &PeerKey, offence: Offence, now: Instant) -> Standing {
        let config = self.config;
        let mut entries = self.lock();
        if !entries.contains_key(key) {
            make_room(&mut entries, &config, now);
        }
        let entry = entries.entry(*key).or_insert(Entry { points: 0.0, updated: now, banned_until: None, bans: 0 });
        entry.settle(now, config.half_life);
        if entry.banned_until.is_some() {
            return entry.standing();
        }
        entry.points += offence.points();
        if entry.points < config.ban_threshold {
            debug!(target: TARGET, key = %hex(key), %offence, points = entry.points, "penalised");
            return entry.standing();
        }
        let doublings = entry.bans.min(16);
        let duration = config.ban_duration.saturating_mul(1 << doublings).min(config.max_ban_duration);
        let until = now + duration;
        entry.bans = entry.bans.saturating_add(1);
        entry.banned_until = Some(until);
        // Probation: half the threshold once the ban is over, decaying from then.
        entry.points = config.ban_threshold / 2.0;
        entry.updated = until;
        warn!(
            target: TARGET,
            key = %hex(key),
            %offence,
            ban_secs = duration.as_secs(),
            bans = entry.bans,
            "peer banned: {offence}, past {} points",
            config.ban_threshold
        );
        Standing { points: config.ban_threshold, banned_until: Some(until) }
    }

    /// Where `key` stands at `now` (no points and not banned if unknown).
    pub fn standing(&self, key: &PeerKey, now: Instant) -> Standing {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(key) else {
            return Standing { points: 0.0, banned_until: None };
        };
        let was_banned = entry.banned_until.is_some();
        entry.settle(now, self.config.half_life);
        if was_banned && entry.banned_until.is_none() {
            info!(target: TARGET, key = %hex(key), "ban over; on probation");
        }
        entry.standing()
    }

    /// The end of `key`'s ban, if it is banned at `now`.
    pub fn banned_until(&self, key: &PeerKey, now: Instant) -> Option<Instant> {
        self.standing(key, now).banned_until
    }

    /// Every peer banned at `now`, with the end of its ban.
    pub fn banned(&self, now: Instant) -> Vec<(PeerKey, Instant)> {
        let mut entries = self.lock();
        entries
            .iter_mut()
            .filter_map(|(key, entry)| {
                entry.settle(now, self.config.half_life);
                entry.banned_until.map(|until| (*key, until))
            })
            .collect()
    }

    /// Peers remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no peer is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PeerKey, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Make room for one more entry: forget decayed ones, then if still full drop the
/// least-penalised unbanned peer, or failing that the ban that ends first.
fn make_room(entries: &mut HashMap<PeerKey, Entry>, config: &ScoreConfig, now: Instant) {
    if entries.len() < config.capacity.max(1) {
        return;
    }
    entries.retain(|_, entry| {
        entry.settle(now, config.half_life);
        !entry.forgettable()
    });
    if entries.len() < config.capacity.max(1) {
        return;
    }
    let unbanned = entries
        .iter()
        .filter(|(_, e)| e.banned_until.is_none())
        .min_by(|(_, a), (_, b)| a.points.total_cmp(&b.points))
        .map(|(key, _)| *key);
    let victim = unbanned.or_else(|| entries.iter().min_by_key(|(_, e)| e.banned_until).map(|(key, _)| *key));
    if let Some(key) = victim {
        entries.remove(&key);
        debug!(target: TARGET, key = %hex(&key), "score table full; peer forgotten");
    }
}

/// Lower-case hex of a key, for logs.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn key(n: u8) -> PeerKey {
        [n; 32]
    }

    #[test]
    fn offences_add_up_to_a_ban() {
        let board = ScoreBoard::default();
        let t = Instant::now();
        let k = key(1);
        for n in 0..4 {
            assert!(!board.report(&k, Offence::MalformedReply, t + MIN * n).is_banned());
        }
        let t = t + 4 * MIN;
        let standing = board.report(&k, Offence::MalformedReply, t);
        assert_eq!(standing.banned_until, Some(t + 30 * MIN));
        assert_eq!(board.banned(t), [(k, t + 30 * MIN)]);
        assert_eq!(board.banned_until(&key(2), t), None);
    }

    #[test]
    fn wrong_chain_bans_at_once_and_invalid_blocks_on_the_second() {
        let board = ScoreBoard::default();
        let t = Instant::now();
        assert!(board.report(&key(1), Offence::WrongChain, t).is_banned());
        assert!(!board.report(&key(2), Offence::InvalidBlock, t).is_banned());
        assert!(board.report(&key(2), Offence::InvalidBlock, t + 5 * MIN).is_banned());
        assert!(!board.report(&key(3), Offence::InvalidBlock, t).is_banned());
        assert!(!board.report(&key(3), Offence::InvalidBlock, t + 7 * MIN).is_banned());
    }

    #[test]
    fn points_halve_every_half_life() {
        let board = ScoreBoard::default();
        let t = Instant::now();
        board.report(&key(1), Offence::LyingAboutChain, t);
        let later = board.standing(&key(1), t + 10 * MIN).points;
        assert!((later - 20.0).abs() < 1e-9, "{later}");
        let much_later = board.standing(&key(1), t + 30 * MIN).points;
        assert!((much_later - 5.0).abs() < 1e-9, "{much_later}");
        // Two lies far apart do not ban; three close together do.
        assert!(!board.report(&key(1), Offence::LyingAboutChain, t + 60 * MIN).is_banned());
        assert!(!board.report(&key(1), Offence::LyingAboutChain, t + 61 * MIN).is_banned());
        assert!(board.report(&key(1), Offence::LyingAboutChain, t + 62 * MIN).is_banned());
    }

    #[test]
    fn timeouts_alone_never_ban_at_the_poll_rate() {
        let board = ScoreBoard::default();
        let t = Instant::now();
        for k in 0..2000u32 {
            let standing = board.report(&key(1), Offence::Timeout, t + Duration::from_secs(30) * k);
            assert!(!standing.is_banned(), "banned after {k} timeouts at {}", standing.points);
        }
        let points = board.standing(&key(1), t + Duration::from_secs(30) * 2000).points;
        assert!(points > 50.0 && points < 60.0, "{points}");
        // ... but they make other offences count.
        let now = t + Duration::from_secs(30) * 2000;
        board.report(&key(1), Offence::MalformedReply, now);
        assert!(board.report(&key(1), Offence::MalformedReply, now).is_banned());
    }

    #[test]
    fn bans_end_on_probation_and_repeat_bans_double() {
        let board = ScoreBoard::default();
        let t = Instant::now();
        let k = key(3);
        board.report(&k, Offence::WrongChain, t);
        // Reports during a ban are ignored.
        board.report(&k, Offence::WrongChain, t + MIN);
        assert_eq!(board.banned_until(&k, t + MIN), Some(t + 30 * MIN));
        assert_eq!(board.banned_until(&k, t + 30 * MIN), None);
        let probation = board.standing(&k, t + 30 * MIN).points;
        assert!((probation - 50.0).abs() < 1e-9, "{probation}");
        // Banned again soon after: twice as long.
        let again = t + 31 * MIN;
        assert_eq!(board.report(&k, Offence::InvalidBlock, again).banned_until, Some(again + 60 * MIN));
        let third = again + 60 * MIN;
        assert_eq!(board.report(&k, Offence::WrongChain, third).banned_until, Some(third + 120 * MIN));
    }

    #[test]
    fn ban_length_is_capped() {
        let board = ScoreBoard::default();
        let mut t = Instant::now();
        let mut last = Duration::ZERO;
        for _ in 0..10 {
            let until = board.report(&key(4), Offence::WrongChain, t).banned_until.unwrap();
            last = until - t;
            t = until;
        }
        assert_eq!(last, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn the_table_is_bounded_and_keeps_the_worst() {
        let config = ScoreConfig { capacity: 4, ..ScoreConfig::default() };
        let board = ScoreBoard::new(config);
        let t = Instant::now();
        board.report(&key(1), Offence::WrongChain, t);
        board.report(&key(2), Offence::LyingAboutChain, t);
        board.report(&key(3), Offence::Timeout, t);
        board.report(&key(4), Offence::MalformedReply, t);
        // Full: the least-penalised unbanned peer (3) makes room.
        board.report(&key(5), Offence::MalformedReply, t);
        assert_eq!(board.len(), 4);
        assert_eq!(board.standing(&key(3), t).points, 0.0);
        assert!(board.banned_until(&key(1), t).is_some());
        assert_eq!(board.standing(&key(2), t).points, 40.0);
        // Decayed entries are forgotten first.
        let later = t + 200 * MIN;
        board.report(&key(6), Offence::Timeout, later);
        assert_eq!(board.len(), 1, "everything had decayed: only the new entry is left");
        // All banned: the ban that ends first goes.
        let board = ScoreBoard::new(ScoreConfig { capacity: 2, ..ScoreConfig::default() });
        board.report(&key(1), Offence::WrongChain, t);
        board.report(&key(2), Offence::WrongChain, t + MIN);
        board.report(&key(3), Offence::WrongChain, t + 2 * MIN);
        assert_eq!(board.len(), 2);
        assert_eq!(board.banned_until(&key(1), t + 2 * MIN), None);
        assert!(board.banned_until(&key(2), t + 2 * MIN).is_some());
    }
}
