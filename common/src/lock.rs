//! Locks that survive a panicked holder. A thread that panics while holding a lock poisons it;
//! the data behind every lock here is kept consistent at each statement (no invariant spans a
//! panic point), so a poisoned lock is taken as it is rather than turning one panic into a
//! cascade of them.

use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Lock `m`, whether or not a holder panicked.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Read-lock `l`, whether or not a writer panicked.
pub fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

/// Write-lock `l`, whether or not a writer panicked.
pub fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Wait on `c` with `guard`, whether or not a holder panicked meanwhile.
pub fn wait<'a, T>(c: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    c.wait(guard).unwrap_or_else(|p| p.into_inner())
}

/// Wait on `c` with `guard` for at most `timeout`, whether or not a holder panicked meanwhile.
/// Whether the time ran out is the caller's to tell from its own deadline (a wake-up may be
/// spurious either way).
pub fn wait_timeout<'a, T>(c: &Condvar, guard: MutexGuard<'a, T>, timeout: Duration) -> MutexGuard<'a, T> {
    c.wait_timeout(guard, timeout).map_or_else(|p| p.into_inner().0, |(g, _)| g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_poisoned_lock_is_still_taken() {
        let m = Arc::new(Mutex::new(1));
        let l = Arc::new(RwLock::new(1));
        let (m2, l2) = (Arc::clone(&m), Arc::clone(&l));
        let _ = std::thread::spawn(move || {
            let _m = m2.lock();
            let _l = l2.write();
            panic!("poison both");
        })
        .join();
        assert!(m.is_poisoned() && l.is_poisoned());
        *lock(&m) += 1;
        *write(&l) += 1;
        assert_eq!((*lock(&m), *read(&l)), (2, 2));
        // Waits on a poisoned mutex return the guard too.
        let c = Condvar::new();
        let guard = wait_timeout(&c, lock(&m), Duration::from_millis(1));
        assert_eq!(*guard, 2);
    }
}
