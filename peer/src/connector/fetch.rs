//! The front of the fetch pipeline: one fetcher per source peer, handing blocks to the
//! digester's threads, feeding the in-order writer ([`super::pass`]).
//!
//! ```text
//!   fetcher (peer A) ─┐                            ┌─ digest ─┐
//!   fetcher (peer B) ─┼─► digester (bounded queue) ┼─ digest ─┼─► writer: reorder, apply in order
//!   fetcher (peer C) ─┘                            └─ digest ─┘        (the calling thread)
//! ```
//!
//! Fetchers run on the connector's [`Workers`], kept from pass to pass; digests on the
//! [`Digester`]'s own threads (the node's digest pool), which send each block on to the writer.
//! A pass starts no thread of its own.
//!
//! Each fetcher has one request in flight (an upstream is one REQ socket), takes the lowest
//! height it can serve that nobody holds, and never runs more than the window ahead of the
//! last block stored. To start with, each source is given one block of its own, so every
//! source is used from the first blocks whatever the thread timing. A fetcher with nothing to
//! take waits (a failure elsewhere may put a block back) until the pass ends. A fetcher that
//! gets an error reports it and stops: the writer decides what the error means. When a pass
//! ends, a fetcher still waiting on a slow peer finishes its request and leaves its thread to
//! the next pass.

use super::local::Digester;
use super::remote::{PeerKey, Remote, RemoteError};
use super::workers::Workers;
use bitmark_common::lock;
use bitmark_record::BlockDigest;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A peer blocks are fetched from, and the height it claims.
#[derive(Clone)]
pub(crate) struct Source {
    /// The client.
    pub peer: Remote,
    /// Its key.
    pub key: PeerKey,
    /// Its claimed height: it is asked for nothing above.
    pub height: u64,
}

/// What reaches the writer.
pub(crate) enum Msg {
    /// A block, with its digest when the writer needs one.
    Block { n: u64, key: PeerKey, block: Vec<u8>, digest: Option<BlockDigest> },
    /// A request failed; the fetcher has stopped.
    Failed { n: u64, key: PeerKey, error: RemoteError },
    /// A fetcher has stopped.
    Exit,
}

/// Which blocks need their digest before the writer sees them.
pub(crate) type NeedsDigest = Arc<dyn Fn(u64) -> bool + Send + Sync>;

/// Which heights are handed out, shared by the fetchers and the writer.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// Next height never handed out.
    pub next: u64,
    /// Last height to fetch.
    pub limit: u64,
    /// How far beyond `written` fetchers may go.
    pub window: u64,
    /// Last block stored.
    pub written: u64,
    /// Heights to fetch again.
    pub retry: BTreeSet<u64>,
    /// Heights handed out and not yet back at the writer.
    pub in_flight: BTreeSet<u64>,
    /// Heights kept for one source each at the start.
    pub reserved: HashMap<u64, PeerKey>,
    /// Sources' claimed heights.
    pub heights: HashMap<PeerKey, u64>,
    /// Sources that must stop (dropped by the writer or stopped by themselves).
    pub gone: HashSet<PeerKey>,
    /// The pass is over.
    pub stop: bool,
}

impl Schedule {
    /// Whether `key` may fetch `n`.
    fn servable(&self, key: &PeerKey, n: u64) -> bool {
        !self.gone.contains(key) && self.heights.get(key).is_some_and(|h| n <= *h)
    }

    /// The highest height that may be handed out now.
    fn horizon(&self) -> u64 {
        self.limit.min(self.written.saturating_add(self.window))
    }

    /// Hand `key` a height: its reserved one, else the lowest retry, else the next new one.
    fn take(&mut self, key: &PeerKey) -> Option<u64> {
        let horizon = self.horizon();
        let mine = self.reserved.iter().find(|(_, k)| *k == key).map(|(n, _)| *n);
        let pick = mine
            .or_else(|| {
                self.retry
                    .iter()
                    .copied()
                    .find(|n| *n <= horizon && self.servable(key, *n) && !self.reserved.contains_key(n))
            })
            .or_else(|| (self.next <= horizon && self.servable(key, self.next)).then_some(self.next))?;
        self.reserved.remove(&pick);
        self.retry.remove(&pick);
        if pick == self.next {
            self.next += 1;
        }
        self.in_flight.insert(pick);
        Some(pick)
    }

    /// Whether some live source could fetch `n`.
    pub fn anyone_serves(&self, n: u64) -> bool {
        self.heights.keys().any(|k| self.servable(k, n))
    }

    /// Put `n` back to be fetched again.
    pub fn requeue(&mut self, n: u64) {
        self.in_flight.remove(&n);
        if n > self.written && n <= self.limit {
            self.retry.insert(n);
        }
    }

    /// Drop `key`: it gets nothing more, and what was kept for it goes back.
    pub fn drop_source(&mut self, key: &PeerKey) {
        self.gone.insert(*key);
        let kept: Vec<u64> = self.reserved.iter().filter(|(_, k)| *k == key).map(|(n, _)| *n).collect();
        for n in kept {
            self.reserved.remove(&n);
            self.retry.insert(n);
        }
    }

    /// Fetch everything from `from` again (after a rollback).
    pub fn restart_from(&mut self, from: u64) {
        self.written = from.saturating_sub(1);
        self.next = from;
        self.retry.clear();
        self.reserved.clear();
        self.in_flight.clear();
    }
}

/// The schedule and the condition fetchers wait on.
pub(crate) struct Shared {
    schedule: Mutex<Schedule>,
    wake: Condvar,
}

impl Shared {
    /// Lock the schedule.
    pub fn lock(&self) -> MutexGuard<'_, Schedule> {
        lock(&self.schedule)
    }

    /// Change the schedule and wake every fetcher.
    pub fn update<T>(&self, f: impl FnOnce(&mut Schedule) -> T) -> T {
        let out = f(&mut self.lock());
        self.wake.notify_all();
        out
    }
}

/// A running fetch stage.
pub(crate) struct Stage {
    /// The schedule.
    pub shared: Arc<Shared>,
    /// What the fetchers and digest threads send.
    pub inbox: Receiver<Msg>,
    /// Fetchers started.
    pub fetchers: usize,
}

impl Drop for Stage {
    fn drop(&mut self) {
        self.shared.update(|s| s.stop = true);
    }
}

/// Start fetchers for `sources` over `[start, limit]` on `workers` (blocks for which
/// `needs_digest` is true get their digest computed by `digester` before the writer sees
/// them). The first blocks are shared out one per source.
pub(crate) fn start(
    sources: &[Source],
    (start, limit, window): (u64, u64, u64),
    workers: &Workers,
    digester: &Arc<dyn Digester>,
    needs_digest: &NeedsDigest,
) -> Stage {
    let mut schedule =
        Schedule { next: start, limit, window: window.max(1), written: start.saturating_sub(1), ..Schedule::default() };
    for s in sources {
        schedule.heights.insert(s.key, s.height.min(limit));
    }
    for s in sources {
        let n = schedule.next;
        if n <= schedule.horizon() && n <= s.height && !schedule.reserved.values().any(|k| *k == s.key) {
            schedule.reserved.insert(n, s.key);
            schedule.next += 1;
        }
    }
    let shared = Arc::new(Shared { schedule: Mutex::new(schedule), wake: Condvar::new() });
    // Bounded by the window: at most `window` blocks are handed out beyond the last stored.
    let (to_writer, inbox) = mpsc::channel();
    let mut fetchers = 0;
    for source in sources {
        let (own, mine, out) = (source.clone(), Arc::clone(&shared), to_writer.clone());
        let (digester, needs) = (Arc::clone(digester), Arc::clone(needs_digest));
        if workers.run(Box::new(move || fetcher(&own, &mine, &out, digester.as_ref(), needs.as_ref()))) {
            fetchers += 1;
        } else {
            shared.update(|s| s.drop_source(&source.key));
            tracing::debug!(target: super::TARGET, "no fetch thread free; source left out of this pass");
        }
    }
    Stage { shared, inbox, fetchers }
}

/// One source: take a height, fetch it, pass it on (through the digester when the writer needs
/// the digest); stop on the first error.
fn fetcher(
    source: &Source,
    shared: &Shared,
    writer: &Sender<Msg>,
    digester: &dyn Digester,
    needs: &dyn Fn(u64) -> bool,
) {
    loop {
        let n = {
            let mut s = shared.lock();
            loop {
                if s.stop || s.gone.contains(&source.key) {
                    break None;
                }
                if let Some(n) = s.take(&source.key) {
                    break Some(n);
                }
                // Nothing now; a failure elsewhere may put a block back, so wait for the
                // writer (it ends the pass when nobody left can serve what it needs).
                s = shared.wake.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(n) = n else { break };
        match source.peer.get_block_data(n) {
            Ok(block) if needs(n) => {
                let (out, key) = (writer.clone(), source.key);
                digester.submit(
                    block,
                    Box::new(move |block, digest| {
                        let _ = out.send(Msg::Block { n, key, block, digest });
                    }),
                );
            }
            Ok(block) => {
                if writer.send(Msg::Block { n, key: source.key, block, digest: None }).is_err() {
                    break;
                }
            }
            Err(error) => {
                let _ = writer.send(Msg::Failed { n, key: source.key, error });
                break;
            }
        }
    }
    shared.update(|s| s.drop_source(&source.key));
    let _ = writer.send(Msg::Exit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(heights: &[(u8, u64)]) -> Schedule {
        let mut s = Schedule { next: 10, limit: 30, window: 5, written: 9, ..Schedule::default() };
        for (k, h) in heights {
            s.heights.insert([*k; 32], *h);
        }
        s
    }

    #[test]
    fn take_respects_window_heights_and_retries() {
        let mut s = sched(&[(1, 30), (2, 12)]);
        let (a, b) = ([1; 32], [2; 32]);
        assert_eq!(s.take(&a), Some(10));
        assert_eq!(s.take(&b), Some(11));
        assert_eq!(s.take(&b), Some(12));
        assert_eq!(s.take(&b), None, "above its height");
        assert_eq!((s.take(&a), s.take(&a)), (Some(13), Some(14)));
        assert_eq!(s.take(&a), None, "window: written 9 + 5");
        s.requeue(11);
        assert_eq!(s.take(&b), Some(11), "retries first");
        s.drop_source(&a);
        assert_eq!(s.take(&a), None);
        assert!(s.anyone_serves(12) && !s.anyone_serves(13));
    }

    #[test]
    fn reserved_heights_go_to_their_owner_or_back_to_retry() {
        let mut s = sched(&[(1, 30), (2, 30)]);
        s.reserved.insert(10, [2; 32]);
        s.next = 11;
        assert_eq!(s.take(&[1; 32]), Some(11));
        assert_eq!(s.take(&[2; 32]), Some(10));
        s.reserved.insert(12, [2; 32]);
        s.next = 13;
        s.drop_source(&[2; 32]);
        assert_eq!(s.take(&[1; 32]), Some(12));
    }
}
