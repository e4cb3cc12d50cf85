//! Argon2d block digests for many headers at once on a pool of worker threads.
//!
//! Each worker owns one [`DigestHasher`] (128 MiB) and keeps it for its whole life, because
//! allocating and faulting in 128 MiB is a large part of one hash. Memory use is therefore
//! `threads × 128 MiB` once every worker has hashed something.
//!
//! The queue in front of the workers is bounded ([`QUEUE_PER_THREAD`] headers per worker): a
//! caller handing in more headers than that waits for the workers, so nothing upstream (the
//! connector's fetchers) can run ahead of the hashing without limit.

use bitmark_record::blockdigest::DigestHasher;
use bitmark_record::header::{PackedHeader, HEADER_SIZE};
use bitmark_record::BlockDigest;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Headers that may wait in the queue per worker: enough to keep every worker busy while the
/// callers refill it.
pub const QUEUE_PER_THREAD: usize = 2;

/// What is done with a digest once computed.
pub type Then = Box<dyn FnOnce(BlockDigest) + Send>;

/// One header to hash, and what to do with its digest.
struct Job {
    header: PackedHeader,
    then: Then,
}

/// Computes one digest (a worker's long-lived hasher, or a stand-in in tests).
type Hash = Box<dyn FnMut(&PackedHeader) -> BlockDigest + Send>;

/// A fixed set of digest threads fed through one bounded queue.
pub struct DigestPool {
    queue: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DigestPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestPool").field("threads", &self.workers.len()).finish()
    }
}

/// The number of threads to use when the caller has no preference: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// A worker's hash: Argon2d with a hasher allocated on first use and kept.
fn argon2d() -> Hash {
    let mut hasher: Option<DigestHasher> = None;
    Box::new(move |header| hasher.get_or_insert_with(DigestHasher::new).hash(header))
}

impl DigestPool {
    /// Start `threads` workers (at least one). Their hashers are allocated on first use.
    pub fn new(threads: usize) -> DigestPool {
        DigestPool::with_hash(threads, argon2d)
    }

    /// Start `threads` workers, each hashing with what `hash` makes.
    fn with_hash(threads: usize, hash: impl Fn() -> Hash) -> DigestPool {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::sync_channel::<Job>(threads.saturating_mul(QUEUE_PER_THREAD));
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..threads)
            .filter_map(|i| {
                let (jobs, hash) = (Arc::clone(&jobs), hash());
                std::thread::Builder::new().name(format!("argon2d-{i}")).spawn(move || work(&jobs, hash)).ok()
            })
            .collect();
        DigestPool { queue: Some(queue), workers }
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Compute the Argon2d digest of `header` on a worker, which then calls `then` with it
    /// (so `then` must not wait for this pool). Waits while the queue is full. Should the
    /// workers be gone, the digest is computed on the calling thread, so `then` is always
    /// called.
    pub fn digest_then(&self, header: PackedHeader, then: Then) {
        let job = Job { header, then };
        let job = match &self.queue {
            Some(queue) => match queue.send(job) {
                Ok(()) => return,
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        (job.then)(bitmark_record::blockdigest::block_digest(&job.header));
    }

    /// The Argon2d digest of every header, in order.
    pub fn digests(&self, headers: &[PackedHeader]) -> Vec<BlockDigest> {
        let (reply, answers) = mpsc::channel();
        for (index, header) in headers.iter().enumerate() {
            let reply = reply.clone();
            self.digest_then(
                *header,
                Box::new(move |digest| {
                    let _ = reply.send((index, digest));
                }),
            );
        }
        drop(reply);
        let mut out: Vec<Option<BlockDigest>> = vec![None; headers.len()];
        for (index, digest) in answers.iter() {
            if let Some(slot) = out.get_mut(index) {
                *slot = Some(digest);
            }
        }
        out.into_iter()
            .zip(headers)
            .map(|(d, h)| d.unwrap_or_else(|| bitmark_record::blockdigest::block_digest(h)))
            .collect()
    }

    /// Digests of the headers at the front of packed blocks; `None` for a block too short to
    /// have a header (the block store reports that with bitmarkd's fault).
    pub fn block_digests(&self, blocks: &[&[u8]]) -> Vec<Option<BlockDigest>> {
        let headers: Vec<Option<PackedHeader>> =
            blocks.iter().map(|b| b.get(..HEADER_SIZE).and_then(|h| h.try_into().ok())).collect();
        let present: Vec<PackedHeader> = headers.iter().flatten().copied().collect();
        let mut digests = self.digests(&present).into_iter();
        headers.iter().map(|h| h.and_then(|_| digests.next())).collect()
    }
}

/// A worker: take jobs until the queue closes.
fn work(jobs: &Mutex<Receiver<Job>>, mut hash: Hash) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        let digest = hash(&job.header);
        (job.then)(digest);
    }
}

impl Drop for DigestPool {
    fn drop(&mut self) {
        self.queue = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::{genesis, Chain};

    #[test]
    fn pool_digests_match_the_genesis_digests() {
        let pool = DigestPool::new(2);
        let headers = [genesis::header(Chain::Bitmark).pack(), genesis::header(Chain::Testing).pack()];
        let d = pool.digests(&headers);
        assert_eq!(d, vec![genesis::digest(Chain::Bitmark), genesis::digest(Chain::Testing)]);
        let blocks: [&[u8]; 2] = [&[0u8; 10], genesis::block(Chain::Local)];
        assert_eq!(pool.block_digests(&blocks), vec![None, Some(genesis::digest(Chain::Local))]);
    }

    /// The queue holds `QUEUE_PER_THREAD` headers per worker: with the one worker stuck on a
    /// header, a caller handing in ten gets three in (one being hashed, two waiting) and waits
    /// for the rest; they all go through once the worker moves again.
    #[test]
    fn the_queue_is_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::{Duration, Instant};

        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let pool = Arc::new(DigestPool::with_hash(1, || {
            let gate = Arc::clone(&gate);
            Box::new(move |_| {
                let _ = gate.lock().unwrap().recv();
                BlockDigest::default()
            })
        }));
        // Dropped before the pool, should an assertion fail: the worker is let go before the
        // pool's drop waits for it.
        let release = release;
        let (handed, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let caller = {
            let (pool, handed, done) = (Arc::clone(&pool), Arc::clone(&handed), Arc::clone(&done));
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let done = Arc::clone(&done);
                    let then: Then = Box::new(move |_| {
                        done.fetch_add(1, Ordering::SeqCst);
                    });
                    pool.digest_then(genesis::header(Chain::Local).pack(), then);
                    handed.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let bound = 1 + QUEUE_PER_THREAD;
        let deadline = Instant::now() + Duration::from_secs(10);
        while handed.load(Ordering::SeqCst) < bound && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Give the caller time to hand in more, were there room.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(handed.load(Ordering::SeqCst), bound);
        for _ in 0..10 {
            release.send(()).unwrap();
        }
        caller.join().unwrap();
        while done.load(Ordering::SeqCst) < 10 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(done.load(Ordering::SeqCst), 10);
    }
}
