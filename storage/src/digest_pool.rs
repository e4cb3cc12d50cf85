//! Argon2d block digests for many headers at once on a pool of worker threads.
//!
//! Each worker owns one [`DigestHasher`] (128 MiB) and keeps it for its whole life, because
//! allocating and faulting in 128 MiB is a large part of one hash. Memory use is therefore
//! `threads × 128 MiB` once every worker has hashed something.

use bitmark_record::blockdigest::DigestHasher;
use bitmark_record::header::{PackedHeader, HEADER_SIZE};
use bitmark_record::BlockDigest;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One header to hash, and where to send the answer.
struct Job {
    index: usize,
    header: PackedHeader,
    reply: Sender<(usize, BlockDigest)>,
}

/// A fixed set of digest threads fed through one queue.
pub struct DigestPool {
    queue: Option<Sender<Job>>,
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

impl DigestPool {
    /// Start `threads` workers (at least one). Their hashers are allocated on first use.
    pub fn new(threads: usize) -> DigestPool {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..threads.max(1))
            .filter_map(|i| {
                let jobs = Arc::clone(&jobs);
                std::thread::Builder::new().name(format!("argon2d-{i}")).spawn(move || work(&jobs)).ok()
            })
            .collect();
        DigestPool { queue: Some(queue), workers }
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// The Argon2d digest of every header, in order. Should the workers be gone, the missing
    /// digests are computed on the calling thread, so this always answers.
    pub fn digests(&self, headers: &[PackedHeader]) -> Vec<BlockDigest> {
        let (reply, answers) = mpsc::channel();
        let mut sent = 0;
        if let Some(queue) = &self.queue {
            for (index, header) in headers.iter().enumerate() {
                if queue.send(Job { index, header: *header, reply: reply.clone() }).is_ok() {
                    sent += 1;
                }
            }
        }
        drop(reply);
        let mut out: Vec<Option<BlockDigest>> = vec![None; headers.len()];
        for (index, digest) in answers.iter().take(sent) {
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

/// A worker: take jobs until the queue closes, hashing with one long-lived hasher.
fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut hasher: Option<DigestHasher> = None;
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        let digest = hasher.get_or_insert_with(DigestHasher::new).hash(&job.header);
        // The caller may have gone; nothing to do then.
        let _ = job.reply.send((job.index, digest));
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
}
