//! One pass of FetchBlocks: fetch `[start, end]` through the pipeline ([`super::fetch`]) and
//! store the blocks in order, deciding what every failure means.
//!
//! Full verification (the default): each block's Argon2d digest is computed on the digest
//! threads before the writer gets it, and [`LocalChain::apply`] checks proof of work, the link
//! to the tip and every record. Fast sync (bitmarkd's option) applies blocks below the pivot
//! with [`LocalChain::apply_fast`], the digest being the next block's `previousBlock`, and
//! samples one random block per `sample_every` against the elected peer.
//!
//! Who is to blame, when blocks come from several peers:
//! * nobody, when our own chain is no longer at `n - 1` after block `n` was refused: other
//!   writers (pushed and produced blocks) extend the chain while the connector fetches, and a
//!   block judged against a moved tip proves nothing. The height is read again after every
//!   refusal, before anything else: a block we now hold byte for byte is skipped, anything
//!   else ends the pass (the next election starts from the new tip);
//! * a block that fails validation for any reason but its link: its sender
//!   ([`Misbehaviour::InvalidBlock`]), which is dropped from the pass; the block is fetched
//!   again from another;
//! * a block that does not link to our tip: either it or the tip is off the elected chain.
//!   One `H` to the elected peer (the reference) for the tip's height says which. The block (or
//!   the tip, which is then rolled back) came from a peer on another branch: that peer is
//!   dropped from the pass, and penalised ([`Misbehaviour::LyingAboutChain`]) only if its own
//!   `H` for that height contradicts the block it sent (a peer honestly on a competing branch
//!   is not penalised);
//! * a peer that has no block at a height it claimed: [`Misbehaviour::LyingAboutChain`] if a
//!   fresh `N` and `H` say it still claims that height and still lacks the block; a peer that
//!   came down meanwhile (switching branches) is only dropped from the pass;
//! * the last block of the target is checked against the reference's digest when another peer
//!   sent it (nothing after it would catch a competing tip);
//! * a failed fast-sync sample rolls back to the last sample that passed (at most
//!   `sample_every` blocks per sample under way plus one span, where bitmarkd discards the
//!   whole batch of up to 2000 and restarts from there) and the rest of the pass is fully
//!   verified; bitmarkd also turns fast sync off for good, we turn it off until the node is
//!   next in step (Rebuild).
//!
//! A fast-sync sample asks the elected peer for the sampled block's digest (`H`, as bitmarkd
//! does) and also computes the block's Argon2d (bitmarkd only compares the stored digest),
//! which costs about a third of a second of a core and a round trip per 100 blocks. Waiting
//! for that would cap fast sync near 250 blocks/s on any link, so samples run on threads of
//! their own while the writer goes on storing, at most [`SAMPLES_UNDER_WAY`] at a time, and
//! are settled in order: a pass completes only once every sample of it has passed.

use super::fetch::{self, Msg, NeedsDigest, Source};
use super::hooks::Misbehaviour;
use super::local::{ChainError, Digester, LocalChain, RolledBack};
use super::remote::{short_key, PeerKey};
use super::workers::Workers;
use super::TARGET;
use bitmark_record::header::{BlockHeader, HEADER_SIZE};
use bitmark_record::{BlockDigest, Fault};
use rand::RngCore;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};

/// What one pass fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PassPlan {
    /// First block (our height + 1).
    pub start: u64,
    /// Last block of this pass.
    pub end: u64,
    /// The elected height.
    pub target: u64,
    /// Blocks below this are fast-synced (0: none).
    pub fast_below: u64,
    /// Fast sync: one sample per this many blocks.
    pub sample_every: u64,
    /// Fetch window.
    pub window: u64,
}

/// How a pass ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PassEnd {
    /// Every block up to `end` is stored.
    Complete,
    /// Stopped early; the blocks stored so far stay.
    Failed(String),
}

/// What a pass did.
#[derive(Debug)]
pub(crate) struct PassReport {
    /// Blocks stored (net of any rolled back).
    pub applied: u64,
    /// How it ended.
    pub end: PassEnd,
    /// Misbehaviour seen.
    pub offences: Vec<(PeerKey, Misbehaviour)>,
    /// Peers to leave out of elections for a while.
    pub exclude: Vec<PeerKey>,
    /// A fast-sync sample failed.
    pub forgery: bool,
    /// Blocks rolled back during the pass.
    pub undone: Vec<RolledBack>,
}

/// A block waiting to be stored.
struct Got {
    block: Vec<u8>,
    digest: Option<BlockDigest>,
    key: PeerKey,
}

/// What a pass reports to and takes from its caller as it goes.
pub(crate) struct PassHooks<'a> {
    /// Where the sampling choices come from.
    pub rng: &'a mut dyn RngCore,
    /// Told each height stored.
    pub on_applied: &'a mut dyn FnMut(u64),
    /// Set when the node shuts down: the pass ends after the block being stored.
    pub stop: &'a AtomicBool,
}

/// Fast-sync samples checked at once while the writer goes on storing; with one more, the
/// writer waits for the oldest. Four cover a 300 ms round trip plus an Argon2d per sample
/// at the store's own rate on two cores.
pub(crate) const SAMPLES_UNDER_WAY: usize = 4;

/// How often the writer looks at the stop flag while it waits for blocks.
const STOP_POLL: Duration = Duration::from_millis(100);

/// The connector's threads and services a pass runs on.
pub(crate) struct PassParts<'a> {
    /// The chain it extends.
    pub chain: &'a dyn LocalChain,
    /// Where digests are computed.
    pub digester: &'a Arc<dyn Digester>,
    /// The threads the fetchers run on.
    pub workers: &'a Workers,
}

/// Run one pass. `sources` must include `reference` (the elected peer).
pub(crate) fn run(
    parts: PassParts<'_>,
    reference: &Source,
    sources: &[Source],
    plan: PassPlan,
    hooks: PassHooks<'_>,
) -> PassReport {
    let PassParts { chain, digester, workers } = parts;
    let fast_below = Arc::new(AtomicU64::new(plan.fast_below));
    let target = plan.target;
    let needs_digest: NeedsDigest = {
        let fast_below = Arc::clone(&fast_below);
        Arc::new(move |n| n >= fast_below.load(Ordering::SeqCst) || n >= target)
    };
    // Fast sync needs the next block too, so fetch one past the end (never past the target).
    let limit = if plan.fast_below > plan.start { (plan.end + 1).min(plan.target) } else { plan.end };
    let window = if plan.fast_below > plan.start { plan.window.max(2) } else { plan.window };
    let stage = fetch::start(sources, (plan.start, limit, window), workers, digester, &needs_digest);
    let mut writer = Writer {
        chain,
        digester: digester.as_ref(),
        sample_digester: Arc::clone(digester),
        reference,
        peers: sources.iter().map(|s| (s.key, s.clone())).collect(),
        plan,
        stage,
        rng: hooks.rng,
        on_applied: hooks.on_applied,
        stop: hooks.stop,
        written: plan.start.saturating_sub(1),
        buffer: BTreeMap::new(),
        served: BTreeMap::new(),
        fast_below,
        last_good: plan.start.saturating_sub(1),
        sampled_upto: plan.start.saturating_sub(1),
        samples: VecDeque::new(),
        since_sample: 0,
        failures: 0,
        max_failures: 2 * sources.len() as u32 + 4,
        distrusted: HashSet::new(),
        report: PassReport {
            applied: 0,
            end: PassEnd::Complete,
            offences: Vec::new(),
            exclude: Vec::new(),
            forgery: false,
            undone: Vec::new(),
        },
    };
    let end = writer.run();
    writer.report.end = end;
    writer.report
}

struct Writer<'a> {
    chain: &'a dyn LocalChain,
    digester: &'a dyn Digester,
    /// The same, for the sample threads.
    sample_digester: Arc<dyn Digester>,
    reference: &'a Source,
    peers: HashMap<PeerKey, Source>,
    plan: PassPlan,
    stage: fetch::Stage,
    rng: &'a mut dyn RngCore,
    on_applied: &'a mut dyn FnMut(u64),
    stop: &'a AtomicBool,
    written: u64,
    buffer: BTreeMap<u64, Got>,
    /// Who sent each block stored in this pass.
    served: BTreeMap<u64, PeerKey>,
    fast_below: Arc<AtomicU64>,
    /// Every fast-synced block up to here is covered by a sample that passed.
    last_good: u64,
    /// The span of the last sample started ends here.
    sampled_upto: u64,
    /// Samples under way, oldest first.
    samples: VecDeque<PendingSample>,
    since_sample: u64,
    failures: u32,
    max_failures: u32,
    /// Peers whose blocks are no longer taken.
    distrusted: HashSet<PeerKey>,
    report: PassReport,
}

type Step = Result<(), String>;

/// A fast-sync sample under way: block `h`, chosen in the span that ends at `upto`, whose
/// stored digest is `stored`; its thread sends what the peer and Argon2d say.
struct PendingSample {
    h: u64,
    upto: u64,
    stored: BlockDigest,
    verdict: mpsc::Receiver<Verdict>,
}

/// What a sample's thread found.
struct Verdict {
    /// The elected peer's digest of the block.
    remote: Result<BlockDigest, super::remote::RemoteError>,
    /// The block's own Argon2d digest.
    computed: Option<BlockDigest>,
}

impl Writer<'_> {
    fn run(&mut self) -> PassEnd {
        let end = self.store_all();
        if self.stop.load(Ordering::SeqCst) {
            return end;
        }
        // Nothing fast-synced stays unchecked, whatever ended the pass.
        match self.settle_samples(true) {
            Ok(()) if self.written >= self.plan.end || end != PassEnd::Complete => end,
            Ok(()) => self.run(),
            Err(reason) => PassEnd::Failed(reason),
        }
    }

    fn store_all(&mut self) -> PassEnd {
        if self.stage.fetchers == 0 {
            return PassEnd::Failed("no fetcher could start".into());
        }
        loop {
            if self.written >= self.plan.end {
                return PassEnd::Complete;
            }
            if self.stop.load(Ordering::SeqCst) {
                return PassEnd::Failed("stopping".into());
            }
            let msg = match self.stage.inbox.recv_timeout(STOP_POLL) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    return PassEnd::Failed(format!("no peer left to fetch block {}", self.written + 1))
                }
            };
            self.receive(msg);
            if let Err(reason) = self.drain().and_then(|()| self.settle_samples(false)) {
                return PassEnd::Failed(reason);
            }
            if self.written >= self.plan.end {
                return PassEnd::Complete;
            }
            if let Some(n) = self.stuck() {
                return PassEnd::Failed(format!("no peer left to fetch block {n}"));
            }
        }
    }

    fn fast(&self, n: u64) -> bool {
        n < self.fast_below.load(Ordering::SeqCst) && n < self.plan.target
    }

    fn receive(&mut self, msg: Msg) {
        match msg {
            Msg::Block { n, key, block, digest } => {
                let distrusted = self.distrusted.contains(&key);
                self.stage.shared.update(|s| {
                    s.in_flight.remove(&n);
                    if distrusted {
                        s.requeue(n);
                    }
                });
                if !distrusted && n > self.written {
                    self.buffer.entry(n).or_insert(Got { block, digest, key });
                }
            }
            Msg::Failed { n, key, error } => {
                self.stage.shared.update(|s| s.requeue(n));
                if error == super::remote::RemoteError::NotFound {
                    self.missing_block(n, key);
                } else {
                    debug!(target: TARGET, peer = short_key(&key), block = n, %error, "fetch failed; peer dropped from this pass");
                }
            }
            Msg::Exit => {}
        }
    }

    /// The lowest height the writer waits for that nobody is fetching or can fetch.
    fn stuck(&self) -> Option<u64> {
        let n = self.written + 1;
        let need = if !self.buffer.contains_key(&n) {
            n
        } else if self.fast(n) && !self.buffer.contains_key(&(n + 1)) {
            n + 1
        } else {
            return None;
        };
        let s = self.stage.shared.lock();
        (!s.in_flight.contains(&need) && !s.anyone_serves(need)).then_some(need)
    }

    /// Store every block that can be stored now.
    fn drain(&mut self) -> Step {
        loop {
            let n = self.written + 1;
            if n > self.plan.end {
                return Ok(());
            }
            let Some(got) = self.buffer.get(&n) else { return Ok(()) };
            let key = got.key;
            let result = if self.fast(n) {
                let Some(next) = self.buffer.get(&(n + 1)) else { return Ok(()) };
                let next_key = next.key;
                if number_of(&next.block) != Some(n + 1) {
                    self.buffer.remove(&(n + 1));
                    self.bad_block(n + 1, next_key)?;
                    continue;
                }
                self.chain.apply_fast(&got.block, &next.block).map(|_| ())
            } else {
                let digest = match got.digest {
                    Some(d) => Some(d),
                    None => self.digester.block_digests(&[got.block.as_slice()]).into_iter().next().flatten(),
                };
                match digest {
                    Some(d) => self.chain.apply(&got.block, d),
                    None => Err(Fault::InvalidBlockHeaderSize.into()),
                }
            };
            match result {
                Ok(()) => self.stored(n, key)?,
                Err(ChainError::Invalid(fault)) => self.refused(n, fault)?,
                Err(e) => return Err(format!("storing block {n}: {e}")),
            }
        }
    }

    fn stored(&mut self, n: u64, key: PeerKey) -> Step {
        let was_fast = self.fast(n);
        self.buffer.remove(&n);
        self.written = n;
        self.served.insert(n, key);
        self.stage.shared.update(|s| s.written = n);
        self.report.applied += 1;
        (self.on_applied)(n);
        if was_fast {
            self.since_sample += 1;
            let boundary = n + 1 == self.fast_below.load(Ordering::SeqCst) || n == self.plan.end;
            if self.since_sample >= self.plan.sample_every.max(1) || boundary {
                self.sample(n)?;
            }
        } else if n == self.plan.target && key != self.reference.key {
            self.check_tip(n, key)?;
        }
        Ok(())
    }

    /// Validation refused block `n`.
    fn refused(&mut self, n: u64, fault: Fault) -> Step {
        let Some(got) = self.buffer.remove(&n) else { return Ok(()) };
        // Our own state first: a block was judged against a tip of n - 1, and other writers
        // (pushed and produced blocks) may have moved it meanwhile.
        let height = self.chain.height();
        if height + 1 != n {
            return self.moved(n, &got, height);
        }
        self.failures += 1;
        if self.failures > self.max_failures {
            return Err(format!("too many bad blocks (last: {n}: {fault})"));
        }
        if fault != Fault::PreviousBlockDigestDoesNotMatch {
            info!(target: TARGET, peer = short_key(&got.key), block = n, %fault, "invalid block");
            return self.bad_block(n, got.key);
        }
        // Block n does not link to our tip: which one is off the elected chain?
        let tip = n - 1;
        let ours = self.chain.digest(tip).map_err(|e| format!("local digest {tip}: {e}"))?;
        let theirs = self
            .reference
            .peer
            .remote_digest_of_height(tip)
            .map_err(|e| format!("elected peer's digest of block {tip}: {e}"))?;
        if theirs == ours {
            let digest = self.digest_of(&got)?;
            return self.off_chain(n, got.key, digest);
        }
        let Some(sender) = self.served.get(&tip).copied() else {
            return Err(format!("elected peer no longer agrees with our block {tip}"));
        };
        self.rollback(tip - 1)?;
        // Block n may well be right; keep it for when the tip is replaced. What the sender is
        // held to is the tip it sent, as read before the rollback (`ours`), never what the
        // rollback reported.
        self.buffer.insert(n, got);
        self.off_chain(tip, sender, ours)
    }

    /// Block `n` was refused while our chain moved from `n - 1` to `height` (another writer
    /// stored blocks meanwhile), so the refusal says nothing about its sender. A block we now
    /// hold is skipped; any other leaves the pass to end without blaming anyone: the next
    /// election starts from the new tip.
    fn moved(&mut self, n: u64, got: &Got, height: u64) -> Step {
        if height >= n {
            let ours = self.chain.block(n).map_err(|e| format!("local block {n}: {e}"))?;
            if ours.as_deref() == Some(got.block.as_slice()) {
                debug!(target: TARGET, block = n, "block already stored by another writer; skipped");
                self.served.remove(&n);
                self.written = n;
                self.stage.shared.update(|s| s.written = n);
                return Ok(());
            }
        }
        info!(target: TARGET, block = n, height, "the chain moved under the fetch; electing again");
        Err(format!("the local chain moved to height {height} while block {n} was fetched"))
    }

    /// `key` has no block `n`, a height it claimed when the pass began. An honest peer can
    /// come down since (a bitmarkd node switching branches rolls back before it fetches the
    /// new blocks), so it is asked its height again: only a peer still claiming `n` and still
    /// without it is lying. Either way it is dropped from the pass.
    fn missing_block(&mut self, n: u64, key: PeerKey) {
        let still_missing = self.peers.get(&key).is_some_and(|s| {
            s.peer.remote_height().is_ok_and(|h| h >= n)
                && s.peer.remote_digest_of_height(n) == Err(super::remote::RemoteError::NotFound)
        });
        if still_missing {
            warn!(target: TARGET, peer = short_key(&key), block = n, "peer has no block at a height it still claims");
            self.offend(key, Misbehaviour::LyingAboutChain);
        } else {
            info!(target: TARGET, peer = short_key(&key), block = n, "peer no longer has a block it claimed; dropped from this pass");
            self.distrust(key);
        }
    }

    /// A block that failed validation: penalise and drop its sender, fetch it elsewhere.
    fn bad_block(&mut self, n: u64, key: PeerKey) -> Step {
        self.offend(key, Misbehaviour::InvalidBlock);
        if key == self.reference.key {
            return Err(format!("elected peer sent an invalid block {n}"));
        }
        self.stage.shared.update(|s| s.requeue(n));
        Ok(())
    }

    /// Block `n` (with `digest`) from `key` is not on the elected chain: drop the sender;
    /// penalise it if its own digest of `n` says otherwise.
    fn off_chain(&mut self, n: u64, key: PeerKey, digest: BlockDigest) -> Step {
        if key == self.reference.key {
            self.offend(key, Misbehaviour::LyingAboutChain);
            return Err(format!("elected peer sent block {n} off its own chain"));
        }
        let says = self.peers.get(&key).map(|s| s.peer.remote_digest_of_height(n));
        match says {
            Some(Ok(d)) if d != digest => {
                warn!(target: TARGET, peer = short_key(&key), block = n, "peer sent a block it does not stand by");
                self.offend(key, Misbehaviour::LyingAboutChain);
            }
            _ => {
                info!(target: TARGET, peer = short_key(&key), block = n, "peer is on another branch; dropped from this pass");
                self.distrust(key);
            }
        }
        self.stage.shared.update(|s| s.requeue(n));
        Ok(())
    }

    /// The reference must hold the target block we stored.
    fn check_tip(&mut self, n: u64, key: PeerKey) -> Step {
        let ours = self.chain.digest(n).map_err(|e| format!("local digest {n}: {e}"))?;
        match self.reference.peer.remote_digest_of_height(n) {
            Ok(theirs) if theirs != ours => {
                self.rollback(n - 1)?;
                self.off_chain(n, key, ours)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                debug!(target: TARGET, block = n, %e, "elected peer did not confirm the last block; the next election will");
                Ok(())
            }
        }
    }

    /// Fast sync: start checking one random block stored since the last sample against the
    /// reference and against its own Argon2d digest, on a thread of its own; with too many
    /// under way, settle the oldest first.
    fn sample(&mut self, upto: u64) -> Step {
        self.since_sample = 0;
        let from = self.sampled_upto;
        // A plain remainder: the span is at most `sample_every`, so the bias is nil.
        let h = from + 1 + self.rng.next_u64() % upto.saturating_sub(from).max(1);
        let stored = self.chain.digest(h).map_err(|e| format!("local digest {h}: {e}"))?;
        let block = self.chain.block(h).map_err(|e| format!("local block {h}: {e}"))?.unwrap_or_default();
        let (send, verdict) = mpsc::channel();
        let (peer, digester) = (Arc::clone(&self.reference.peer), Arc::clone(&self.sample_digester));
        std::thread::Builder::new()
            .name("fast-sync-sample".into())
            .spawn(move || {
                let remote = peer.remote_digest_of_height(h);
                let computed = digester.block_digests(&[block.as_slice()]).into_iter().next().flatten();
                let _ = send.send(Verdict { remote, computed });
            })
            .map_err(|e| format!("fast-sync sample thread: {e}"))?;
        self.samples.push_back(PendingSample { h, upto, stored, verdict });
        self.sampled_upto = upto;
        while self.samples.len() > SAMPLES_UNDER_WAY {
            self.settle_oldest(true)?;
        }
        Ok(())
    }

    /// Settle the samples under way whose verdict is in, oldest first (with `wait`, every one).
    fn settle_samples(&mut self, wait: bool) -> Step {
        while !self.samples.is_empty() {
            if !self.settle_oldest(wait)? {
                break;
            }
        }
        Ok(())
    }

    /// Settle the oldest sample under way if its verdict is in (with `wait`, once it is):
    /// whether it was settled.
    fn settle_oldest(&mut self, wait: bool) -> Result<bool, String> {
        let Some(oldest) = self.samples.front() else { return Ok(false) };
        let verdict = if wait {
            oldest.verdict.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            oldest.verdict.try_recv()
        };
        let h = oldest.h;
        let verdict = match verdict {
            Ok(v) => v,
            Err(TryRecvError::Empty) => return Ok(false),
            Err(TryRecvError::Disconnected) => return self.unchecked(h, "its thread ended without a verdict".into()),
        };
        let Some(PendingSample { upto, stored, .. }) = self.samples.pop_front() else { return Ok(false) };
        let remote = match verdict.remote {
            Ok(remote) => remote,
            Err(e) => return self.unchecked(h, format!("elected peer's digest of {h}: {e}")),
        };
        if remote == stored && verdict.computed == Some(stored) {
            debug!(target: TARGET, block = h, "fast-sync sample passed");
            self.last_good = upto;
            return Ok(true);
        }
        // The stored digest of h came from block h+1; the content from block h.
        let culprit = if remote != stored { h + 1 } else { h };
        let sender = self.served.get(&culprit).or_else(|| self.buffer.get(&culprit).map(|g| &g.key)).copied();
        warn!(target: TARGET, block = h, from = self.last_good + 1, "fast-sync sample failed: possible forgery; refetching with full verification");
        self.report.forgery = true;
        self.fast_below.store(0, Ordering::SeqCst);
        let keep = self.last_good;
        self.rollback(keep)?;
        self.buffer.clear();
        self.stage.shared.update(|s| s.restart_from(keep + 1));
        if let Some(key) = sender {
            self.offend(key, Misbehaviour::InvalidBlock);
            if key == self.reference.key {
                return Err("elected peer sent a forged block".into());
            }
        }
        Ok(true)
    }

    /// A sample that could not be checked (its peer did not answer): the fast-synced blocks no
    /// passed sample vouches for are undone, to be fetched again by the next pass, and this
    /// pass ends. Never keep a fast-synced block unchecked.
    fn unchecked(&mut self, h: u64, why: String) -> Result<bool, String> {
        self.samples.clear();
        self.rollback(self.last_good)?;
        Err(format!("fast-sync sample of block {h} not checked: {why}"))
    }

    /// Roll back to `keep`, and fetch what was above it again.
    fn rollback(&mut self, keep: u64) -> Step {
        let undone = self.chain.rollback_to(keep).map_err(|e| format!("rollback to {keep}: {e}"))?;
        self.report.applied = self.report.applied.saturating_sub(undone.len() as u64);
        self.report.undone.extend(undone);
        let old = self.written;
        self.written = keep;
        self.last_good = self.last_good.min(keep);
        // Samples of undone blocks are moot; what they covered below `keep` is sampled again.
        while self.samples.back().is_some_and(|s| s.upto > keep) {
            self.samples.pop_back();
        }
        self.sampled_upto = self.samples.back().map_or(self.last_good, |s| s.upto);
        self.served.retain(|n, _| *n <= keep);
        self.stage.shared.update(|s| {
            s.written = keep;
            for n in keep + 1..=old {
                s.requeue(n);
            }
        });
        Ok(())
    }

    fn digest_of(&self, got: &Got) -> Result<BlockDigest, String> {
        match got.digest {
            Some(d) => Ok(d),
            None => self
                .digester
                .block_digests(&[got.block.as_slice()])
                .into_iter()
                .next()
                .flatten()
                .ok_or_else(|| "block too short for a header".to_string()),
        }
    }

    fn offend(&mut self, key: PeerKey, what: Misbehaviour) {
        self.report.offences.push((key, what));
        if !self.report.exclude.contains(&key) {
            self.report.exclude.push(key);
        }
        self.distrust(key);
    }

    /// Take nothing more from `key` in this pass, including what it sent and is waiting.
    fn distrust(&mut self, key: PeerKey) {
        self.distrusted.insert(key);
        let waiting: Vec<u64> = self.buffer.iter().filter(|(_, g)| g.key == key).map(|(n, _)| *n).collect();
        for n in &waiting {
            self.buffer.remove(n);
        }
        self.stage.shared.update(|s| {
            s.drop_source(&key);
            for n in waiting {
                s.requeue(n);
            }
        });
    }
}

/// The number in a block's header, if it has one.
fn number_of(block: &[u8]) -> Option<u64> {
    let head: [u8; HEADER_SIZE] = block.get(..HEADER_SIZE)?.try_into().ok()?;
    BlockHeader::unpack(&head, u64::MAX / 4).ok().map(|h| h.number)
}
