//! The connector's fetch threads, kept from one pass to the next: a pass hands each source's
//! fetch loop to an idle thread, or starts one while fewer than the limit exist, or else
//! queues it for the first thread to finish. Threads are never joined: one may still be
//! waiting on a slow peer (up to the request timeout) when its pass has ended, and finishes
//! that request before it takes other work. Threads and queued jobs are both bounded.

use bitmark_common::lock;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Work for a thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads alive.
    threads: usize,
    /// Threads ever started.
    started: usize,
    /// No more jobs: idle threads leave.
    closed: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }
}

/// A bounded set of reusable threads. Dropping it lets the idle threads go, and the busy ones
/// after their job.
pub(crate) struct Workers {
    inner: Arc<Inner>,
    name: &'static str,
    max: usize,
}

impl Workers {
    /// At most `max` threads (at least one), named `name`, started as needed.
    pub fn new(name: &'static str, max: usize) -> Workers {
        let inner = Arc::new(Inner { queue: Mutex::new(Queue::default()), wake: Condvar::new() });
        Workers { inner, name, max: max.max(1) }
    }

    /// Run `job` on an idle thread, on a new one while fewer than the limit exist, or else on
    /// the first thread to finish its job (one of the last pass's fetchers, usually about to).
    /// False (and `job` dropped) when as many jobs as the limit wait already, or no thread can
    /// be started at all.
    pub fn run(&self, job: Job) -> bool {
        let mut q = self.inner.lock();
        if q.closed || q.jobs.len() >= self.max {
            return false;
        }
        if q.idle <= q.jobs.len() && q.threads < self.max {
            let inner = Arc::clone(&self.inner);
            match std::thread::Builder::new().name(self.name.into()).spawn(move || serve(&inner)) {
                Ok(_) => {
                    q.threads += 1;
                    q.started += 1;
                }
                Err(_) if q.threads == 0 => return false,
                Err(_) => {}
            }
        }
        q.jobs.push_back(job);
        self.inner.wake.notify_one();
        true
    }

    /// Threads started so far.
    #[cfg(test)]
    pub fn started(&self) -> usize {
        self.inner.lock().started
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.inner.lock().closed = true;
        self.inner.wake.notify_all();
    }
}

/// A thread: run jobs until the set is dropped.
fn serve(inner: &Inner) {
    let mut q = inner.lock();
    loop {
        if let Some(job) = q.jobs.pop_front() {
            drop(q);
            job();
            q = inner.lock();
            continue;
        }
        if q.closed {
            q.threads -= 1;
            return;
        }
        q.idle += 1;
        q = inner.wake.wait(q).unwrap_or_else(|p| p.into_inner());
        q.idle -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn threads_are_reused_and_bounded() {
        let workers = Workers::new("test-worker", 2);
        let (done, finished) = mpsc::channel();
        for round in 0..10 {
            let done = done.clone();
            assert!(workers.run(Box::new(move || done.send(round).unwrap())));
            assert_eq!(finished.recv_timeout(Duration::from_secs(10)), Ok(round));
        }
        assert!(workers.started() <= 2, "started {}", workers.started());
        // Two busy threads: two more jobs wait for them, a fifth is refused.
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (started, running) = mpsc::channel();
        for i in 0..4 {
            let (gate, done, started) = (Arc::clone(&gate), done.clone(), started.clone());
            assert!(workers.run(Box::new(move || {
                started.send(()).unwrap();
                let _ = gate.lock().unwrap().recv();
                done.send(0).unwrap();
            })));
            if i < 2 {
                running.recv_timeout(Duration::from_secs(10)).unwrap();
            }
        }
        assert!(!workers.run(Box::new(|| ())));
        for _ in 0..4 {
            release.send(()).unwrap();
            assert_eq!(finished.recv_timeout(Duration::from_secs(10)), Ok(0));
        }
        assert_eq!(workers.started(), 2);
    }
}
