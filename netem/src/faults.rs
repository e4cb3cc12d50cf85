//! The faults a link injects by itself: stalls and resets at seeded random intervals, planned
//! afresh whenever the shape's faults change.

use crate::link::{until_closed, Control};
use crate::shape::Rng;
use std::sync::Arc;
use tokio::time::{sleep_until, Instant};

/// Inject the shape's faults until the link is dropped.
pub(crate) async fn inject(control: Arc<Control>) {
    let mut shapes = control.shape.subscribe();
    let mut closed = control.closed.subscribe();
    loop {
        let faults = shapes.borrow_and_update().faults;
        let mut rng = Rng::new(faults.seed);
        let start = Instant::now();
        let mut next_stall = faults.stall_every.map(|mean| start + rng.around(mean));
        let mut next_reset = faults.reset_every.map(|mean| start + rng.around(mean));
        loop {
            let next = match (next_stall, next_reset) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                _ = sleep_until_some(next) => {
                    let now = Instant::now();
                    if next_stall.is_some_and(|t| t <= now) {
                        control.stall(faults.stall_for);
                        next_stall = faults.stall_every.map(|mean| now + faults.stall_for + rng.around(mean));
                    }
                    if next_reset.is_some_and(|t| t <= now) {
                        control.reset();
                        next_reset = faults.reset_every.map(|mean| now + rng.around(mean));
                    }
                }
                changed = shapes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if shapes.borrow_and_update().faults != faults {
                        break;
                    }
                }
                _ = until_closed(&mut closed) => return,
            }
        }
    }
}

/// Sleep until `deadline`, or for ever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}
