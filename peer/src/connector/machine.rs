//! The state machine (bitmarkd `connector.go:351-594`, `docs/protocol.md#state-machine`).

use super::clients::{ClientError, Clients, Command};
use super::config::ConnectorConfig;
use super::fetch::Source;
use super::forks::{find_fork, ForkPoint};
use super::hooks::{Events, Scoring};
use super::local::{Digester, LocalChain};
use super::mode::{Mode, ModeHandle};
use super::pass::{self, PassEnd, PassHooks, PassParts, PassPlan};
use super::progress::{ProgressHandle, RateMeter, Watchdog};
use super::remote::{short_key, PeerKey};
use super::state::State;
use super::voting::{elect, Election, Vote};
use super::workers::Workers;
use super::TARGET;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, error, info, warn};

/// What to do after [`Connector::process`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// Wait for the next tick.
    Wait,
    /// A pass of FetchBlocks finished and more remain: handle pending commands, then call
    /// again at once (bitmarkd waits for the next tick, capping sync at 200 blocks per 15 s).
    Again,
}

/// Whether the machine keeps going within one [`Connector::process`].
enum Flow {
    Continue,
    Stop,
    Yield,
}

/// Steps of the machine within one call, at most: bitmarkd's loop has no bound (a refused
/// fork spins between HighestBlock and ForkDetect); ours stops here.
const MAX_STEPS: usize = 16;

/// What the connector works with, besides its configuration.
pub struct Parts {
    /// The local chain.
    pub chain: Arc<dyn LocalChain>,
    /// Argon2d digest workers.
    pub digester: Arc<dyn Digester>,
    /// The peers.
    pub clients: Clients,
    /// Where penalties go.
    pub scoring: Arc<dyn Scoring>,
    /// Where other news goes.
    pub events: Arc<dyn Events>,
    /// The mode cell the rest of the node reads.
    pub mode: ModeHandle,
    /// Where the fast-sync sampling choices come from: the operating system's generator in a
    /// node (`rand::rngs::OsRng`), so that no peer can predict which blocks are checked and
    /// forge the others; a seeded one in tests and simulations, which then replay exactly.
    pub rng: Box<dyn RngCore + Send>,
}

/// The connector: a state machine driven by ticks ([`Connector::process`]) and announce
/// commands ([`Connector::command`]). [`super::spawn`] runs it on its own thread; the
/// simulation drives it in virtual time.
pub struct Connector {
    config: ConnectorConfig,
    chain: Arc<dyn LocalChain>,
    digester: Arc<dyn Digester>,
    clients: Clients,
    scoring: Arc<dyn Scoring>,
    events: Arc<dyn Events>,
    mode: ModeHandle,
    progress: ProgressHandle,
    state: State,
    /// Peers left out of elections and fetches until the given time.
    excluded: HashMap<PeerKey, Instant>,
    /// Fast sync is on (configuration) and not suspended by a failed sample.
    fast_sync: bool,
    rng: Box<dyn RngCore + Send>,
    /// The fetch passes' threads, kept between passes: twice the peers a pass fetches from,
    /// so a pass finds threads even while some finish a slow request of the last one.
    fetchers: Workers,
    watchdog: Watchdog,
    rate: Option<RateMeter>,
    /// Set to shut down: a pass in progress ends after the block being stored.
    stopping: Arc<AtomicBool>,
    /// The client count last logged as below the minimum: said again only when it changes,
    /// not every cycle (the upstreams' own errors say why they are not connected).
    below_minimum_logged: Option<usize>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("state", &self.state).field("clients", &self.clients).finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector in Connecting, with the mode set to Resynchronise.
    pub fn new(config: ConnectorConfig, parts: Parts) -> Connector {
        parts.mode.set(Mode::Resynchronise);
        let fast_sync = config.fast_sync;
        let fetchers = Workers::new("sync-fetch", config.fetch_peers.max(1).saturating_mul(2));
        Connector {
            config,
            chain: parts.chain,
            digester: parts.digester,
            clients: parts.clients,
            scoring: parts.scoring,
            events: parts.events,
            mode: parts.mode,
            progress: ProgressHandle::default(),
            state: State::Connecting,
            excluded: HashMap::new(),
            fast_sync,
            rng: parts.rng,
            fetchers,
            watchdog: Watchdog::default(),
            rate: None,
            stopping: Arc::new(AtomicBool::new(false)),
            below_minimum_logged: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The mode cell.
    pub fn mode(&self) -> ModeHandle {
        self.mode.clone()
    }

    /// The progress signal.
    pub fn progress(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// The clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The flag that stops the connector from another thread: a fetch pass in progress ends
    /// within about 100 ms (after the block being stored), and [`Connector::process`] then
    /// does nothing.
    pub fn stopper(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// The configuration.
    pub fn config(&self) -> &ConnectorConfig {
        &self.config
    }

    /// Peers currently left out, with the end of their exclusion.
    pub fn excluded(&self) -> Vec<(PeerKey, Instant)> {
        self.excluded.iter().map(|(k, t)| (*k, *t)).collect()
    }

    /// Apply an announce command (between ticks, as bitmarkd's run loop does).
    pub fn command(&mut self, command: Command) -> Result<(), ClientError> {
        let result = self.clients.apply(command);
        if let Err(e) = &result {
            warn!(target: TARGET, %e, "connect upstream error");
        }
        result
    }

    /// One tick: run the machine until it pauses (bitmarkd's `process`).
    pub fn process(&mut self, now: Instant) -> Pause {
        if self.stopping.load(Ordering::SeqCst) {
            return Pause::Wait;
        }
        self.excluded.retain(|_, until| *until > now);
        self.watch(now);
        let mut pause = Pause::Wait;
        for _ in 0..MAX_STEPS {
            let name = self.state.name();
            debug!(target: TARGET, state = name, "current state");
            self.progress.update(|p| p.state = name);
            match self.step(now) {
                Flow::Continue => continue,
                Flow::Stop => break,
                Flow::Yield => {
                    pause = Pause::Again;
                    break;
                }
            }
        }
        let height = self.chain.height();
        let (state, mode) = (self.state.name(), self.mode.get().name());
        let rate = self.rate;
        self.progress.update(|p| {
            p.state = state;
            p.mode = mode;
            p.height = height;
            if let Some(r) = rate {
                p.done = height.saturating_sub(r.start_height());
                p.rate = r.rate(height);
            }
        });
        pause
    }

    /// The stall watchdog: behind and no new block for `stall_cycles` → log loudly and elect
    /// again (leaving out the source of a fetch under way, if any).
    fn watch(&mut self, now: Instant) {
        let height = self.chain.height();
        let behind = self.progress.get().target > height;
        if !self.watchdog.stalled(now, height, behind, self.config.stall_time()) {
            return;
        }
        let source = self.state.election().map(|e| e.source.key);
        error!(
            target: TARGET,
            height,
            target_height = self.progress.get().target,
            state = self.state.name(),
            source = source.map(|k| short_key(&k)),
            "sync stalled: no new block for {} cycles while behind; electing again",
            self.config.stall_cycles
        );
        if let Some(key) = source {
            self.exclude(key, now);
        }
        self.progress.update(|p| p.stalls += 1);
        self.state = State::HighestBlock;
    }

    fn step(&mut self, now: Instant) -> Flow {
        match std::mem::take(&mut self.state) {
            State::Connecting => self.connecting(),
            State::HighestBlock => self.highest_block(now),
            State::ForkDetect { election } => self.fork_detect(election, now),
            State::FetchBlocks { election, next, pivot } => self.fetch_blocks(election, next, pivot, now),
            State::Rebuild => {
                self.state = State::Sampling { samples: 0 };
                self.mode.set(Mode::Normal);
                self.fast_sync = self.config.fast_sync;
                self.rate = None;
                info!(target: TARGET, height = self.chain.height(), "in step with the network: mode Normal");
                Flow::Stop
            }
            State::Sampling { samples } => self.sampling(samples, now),
        }
    }

    fn count_clients(&self) -> usize {
        let count = self.clients.registered();
        self.progress.update(|p| p.clients = count);
        count
    }

    fn log_below_minimum(&mut self, count: usize) {
        if self.below_minimum_logged == Some(count) {
            debug!(target: TARGET, connections = count, minimum = self.config.minimum_clients, "below minimum client count");
        } else {
            warn!(target: TARGET, connections = count, minimum = self.config.minimum_clients,
                  "below minimum client count (each upstream's lastError in /status says why)");
            self.below_minimum_logged = Some(count);
        }
    }

    fn connecting(&mut self) -> Flow {
        self.mode.set(Mode::Resynchronise);
        let count = self.count_clients();
        if count >= self.config.minimum_clients {
            info!(target: TARGET, connections = count, "enough connections");
            self.below_minimum_logged = None;
            self.state = State::HighestBlock;
        } else {
            self.log_below_minimum(count);
            self.events.reconnect();
            self.state = State::Connecting;
        }
        Flow::Stop
    }

    fn highest_block(&mut self, now: Instant) -> Flow {
        let Some(election) = self.election(now) else {
            warn!(target: TARGET, "highest block: no election");
            self.state = State::Connecting;
            return Flow::Stop;
        };
        let height = self.chain.height();
        if self.has_better_chain(&election, height) {
            info!(target: TARGET, height = election.height(), source = short_key(&election.source.key), "better chain");
            self.state = State::ForkDetect { election: Some(election) };
            Flow::Continue
        } else if self.is_same_chain(&election, height) {
            self.state = State::Rebuild;
            Flow::Continue
        } else {
            info!(target: TARGET, "remote chain not better; waiting");
            self.state = State::HighestBlock;
            Flow::Stop
        }
    }

    fn fork_detect(&mut self, election: Option<Election>, now: Instant) -> Flow {
        let height = self.chain.height();
        let Some(election) = election.filter(|e| self.has_better_chain(e, height)) else {
            self.state = State::Rebuild;
            return Flow::Continue;
        };
        self.state = State::HighestBlock;
        let Some(source) = self.clients.find(&election.source.key).map(|c| Arc::clone(&c.remote)) else {
            return Flow::Stop;
        };
        let search = match find_fork(self.chain.as_ref(), source.as_ref(), self.config.fork_protection) {
            Ok(search) => search,
            Err(e) => {
                info!(target: TARGET, %e, "fork detection failed");
                return Flow::Stop;
            }
        };
        let fork = match search.point {
            ForkPoint::Common(fork) => fork,
            ForkPoint::TooDeep { local, checked } => {
                error!(
                    target: TARGET,
                    local, checked, protection = self.config.fork_protection,
                    "fork protection: the elected chain parts from ours too deep to follow"
                );
                return Flow::Stop;
            }
            ForkPoint::NoCommonBlock => {
                warn!(target: TARGET, source = short_key(&election.source.key), "elected peer shares no block with us");
                self.exclude(election.source.key, now);
                return Flow::Stop;
            }
        };
        info!(target: TARGET, fork, round_trips = search.round_trips, "fork point");
        if fork < height {
            match self.chain.rollback_to(fork) {
                Ok(undone) => {
                    warn!(target: TARGET, from = height, to = fork, "rolled back to follow a better chain");
                    for block in undone {
                        self.events.rolled_back(block);
                    }
                }
                Err(e) => {
                    error!(target: TARGET, fork, %e, "rollback failed");
                    return Flow::Stop;
                }
            }
        }
        let target = election.height();
        let pivot = target.saturating_sub(self.config.fast_sync_pivot_blocks);
        let meter = RateMeter::new(fork);
        self.rate = Some(meter);
        self.progress.update(|p| {
            p.sync_start = fork;
            p.total = target.saturating_sub(fork);
            p.done = 0;
        });
        self.state = State::FetchBlocks { election, next: fork + 1, pivot };
        Flow::Continue
    }

    fn fetch_blocks(&mut self, election: Election, next: u64, pivot: u64, now: Instant) -> Flow {
        let target = election.height();
        if next > target {
            self.state = State::HighestBlock;
            return Flow::Continue;
        }
        let fast = self.fast_sync;
        let per_pass = if fast && pivot >= next + self.config.fast_sync_fetch_blocks_per_cycle {
            self.config.fast_sync_fetch_blocks_per_cycle
        } else {
            self.config.fetch_blocks_per_cycle
        };
        let end = next.saturating_add(per_pass.max(1) - 1).min(target);
        let sources = self.sources(&election, next, now);
        let Some(reference) = sources.iter().find(|s| s.key == election.source.key).cloned() else {
            info!(target: TARGET, "elected peer unavailable; electing again");
            self.state = State::HighestBlock;
            return Flow::Stop;
        };
        let plan = PassPlan {
            start: next,
            end,
            target,
            fast_below: if fast { pivot } else { 0 },
            sample_every: self.config.fast_sync_sample_every,
            window: self.config.fetch_window,
        };
        debug!(target: TARGET, start = next, end, target, sources = sources.len(), fast, "fetch pass");
        let (progress, events, meter) = (self.progress.clone(), Arc::clone(&self.events), self.rate);
        let mut on_applied = |n: u64| {
            events.block_stored(n);
            progress.update(|p| {
                p.height = n;
                if let Some(r) = meter {
                    p.done = n.saturating_sub(r.start_height());
                    p.rate = r.rate(n);
                }
            })
        };
        let hooks = PassHooks { rng: self.rng.as_mut(), on_applied: &mut on_applied, stop: &self.stopping };
        let parts = PassParts { chain: self.chain.as_ref(), digester: &self.digester, workers: &self.fetchers };
        let report = pass::run(parts, &reference, &sources, plan, hooks);
        for (key, what) in &report.offences {
            warn!(target: TARGET, peer = short_key(key), %what, "penalty");
            self.scoring.report(key, *what);
        }
        for key in &report.exclude {
            self.exclude(*key, now);
        }
        for block in report.undone {
            self.events.rolled_back(block);
        }
        if report.forgery {
            self.fast_sync = false;
        }
        let next = self.chain.height() + 1;
        match report.end {
            PassEnd::Complete if next > target => {
                info!(target: TARGET, height = next - 1, "reached the elected height");
                self.state = State::HighestBlock;
                Flow::Continue
            }
            PassEnd::Complete => {
                self.state = State::FetchBlocks { election, next, pivot };
                Flow::Yield
            }
            PassEnd::Failed(reason) => {
                warn!(target: TARGET, height = next - 1, %reason, "fetch stopped");
                self.state = State::HighestBlock;
                Flow::Stop
            }
        }
    }

    fn sampling(&mut self, samples: u32, now: Instant) -> Flow {
        let count = self.count_clients();
        if count < self.config.minimum_clients {
            self.log_below_minimum(count);
            self.state = State::Connecting;
            return Flow::Continue;
        }
        match self.election(now) {
            Some(election) => {
                if self.has_better_chain(&election, self.chain.height()) {
                    warn!(target: TARGET, height = election.height(), "better chain while sampling");
                    self.state = State::ForkDetect { election: Some(election) };
                    return Flow::Continue;
                }
                self.state = State::Sampling { samples: 0 };
                Flow::Stop
            }
            None => {
                let samples = samples + 1;
                if samples > self.config.sampling_limit {
                    warn!(target: TARGET, samples, "elections keep failing; checking for a fork");
                    self.state = State::ForkDetect { election: None };
                    return Flow::Continue;
                }
                self.state = State::Sampling { samples };
                Flow::Stop
            }
        }
    }

    /// bitmarkd's `updateHeightAndClient`: every registered client whose peer answered within
    /// the activity window votes (ours: except peers left out for misbehaving).
    fn election(&mut self, now: Instant) -> Option<Election> {
        let active = self.config.active_time();
        let votes: Vec<Vote> = self
            .clients
            .iter()
            .filter(|c| !self.excluded.contains_key(&c.key))
            .filter_map(|c| {
                let s = c.remote.snapshot();
                (s.registered && s.active_within(active, now)).then(|| Vote {
                    key: c.key,
                    height: s.vote_height(),
                    digest: s.vote_digest(),
                })
            })
            .collect();
        let height = self.chain.height();
        match elect(&votes, height, self.config.quorum()) {
            Ok(e) => {
                debug!(
                    target: TARGET,
                    votes = e.votes(), of = votes.len(), draw = e.draw, height = e.height(),
                    first_voter_height = e.first_voter.height, source = short_key(&e.source.key),
                    "elected"
                );
                let target = e.height();
                self.progress.update(|p| p.target = target);
                Some(e)
            }
            Err(fault) => {
                info!(target: TARGET, votes = votes.len(), %fault, "election failed");
                None
            }
        }
    }

    /// The source's live snapshot of our height and its digest of it.
    fn source_view(&self, election: &Election) -> Option<(Option<u64>, bitmark_record::BlockDigest)> {
        let s = self.clients.find(&election.source.key)?.remote.snapshot();
        Some((s.local_height, s.vote_digest()))
    }

    /// bitmarkd's `hasBetterChain`: taller wins whatever the digest; equal height needs the
    /// source's digest of our height to be "smaller" than ours by bitmarkd's comparison.
    fn has_better_chain(&self, election: &Election, height: u64) -> bool {
        let Some((their_local_height, digest)) = self.source_view(election) else { return false };
        if election.height() < height {
            return false;
        }
        if election.height() == height {
            // A stale cache says nothing about our current tip.
            if their_local_height != Some(height) {
                return false;
            }
            return self.chain.digest(height).is_ok_and(|ours| digest.smaller_than(&ours));
        }
        true
    }

    /// bitmarkd's `isSameChain`, with one change: when the source's cached digest is of
    /// another height than our tip (its upstream polled before our last blocks arrived),
    /// the source is asked for its digest of our tip at once. bitmarkd compares the stale
    /// digest, which fails until the upstream's next 30 s poll, so a node that has just
    /// caught up stays in resynchronisation (refusing pushes) for up to two cycles.
    fn is_same_chain(&self, election: &Election, height: u64) -> bool {
        if election.height() != height {
            return false;
        }
        let Some(source) = self.clients.find(&election.source.key) else { return false };
        let cached = source.remote.snapshot();
        let digest = if cached.local_height == Some(height) {
            cached.vote_digest()
        } else {
            match source.remote.remote_digest_of_height(height) {
                Ok(digest) => digest,
                Err(e) => {
                    debug!(target: TARGET, %e, height, "same chain: the source's digest of our tip is unknown");
                    return false;
                }
            }
        };
        self.chain.digest(height).is_ok_and(|ours| ours == digest)
    }

    /// The agreeing peers to fetch from: the source first, then the other members of the
    /// winning group that are registered, active, not left out and tall enough.
    fn sources(&self, election: &Election, next: u64, now: Instant) -> Vec<Source> {
        let active = self.config.active_time();
        let target = election.height();
        let mut keys: Vec<PeerKey> = vec![election.source.key];
        keys.extend(election.members.iter().map(|m| m.key).filter(|k| *k != election.source.key));
        keys.iter()
            .filter(|k| !self.excluded.contains_key(*k))
            .filter_map(|k| self.clients.find(k))
            .filter_map(|c| {
                let s = c.remote.snapshot();
                let height = s.height.unwrap_or(0).min(target);
                (s.registered && s.active_within(active, now) && height >= next).then(|| Source {
                    peer: Arc::clone(&c.remote),
                    key: c.key,
                    height,
                })
            })
            .take(self.config.fetch_peers.max(1))
            .collect()
    }

    fn exclude(&mut self, key: PeerKey, now: Instant) {
        info!(target: TARGET, peer = short_key(&key), secs = self.config.exclusion_secs, "peer left out of elections");
        self.excluded.insert(key, now + self.config.exclusion_time());
    }
}
