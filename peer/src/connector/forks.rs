//! Fork detection: where our chain and the elected peer's part (`docs/protocol.md#fork-detection`).
//!
//! bitmarkd walks down from our tip one `H` round trip per block until the digests agree, and
//! refuses to follow if that point is `fork_protection` (60) blocks or more below the tip. A
//! block's digest covers its `previousBlock`, so when two chains agree at a height they agree
//! at every height below: the heights where they agree are a prefix `[1, f]`, and the highest
//! agreeing block `f` can be found by bisection. Since a fork point at or below
//! `tip - protection` is refused whatever it is, the search only needs the window
//! `[tip - protection + 1, tip]`: at most `2 + log2(protection)` round trips (8 with 60), where
//! bitmarkd takes up to 60 (and up to the whole chain for a peer on another chain).
//!
//! With an honest peer the result is bitmarkd's. A peer whose answers do not form a prefix
//! (it lies) can make bisection and the walk stop at different heights; either way the blocks
//! fetched next must link to what we keep, so a lie costs a failed fetch, not a bad chain.

use super::local::{ChainError, LocalChain};
use super::remote::{RemoteError, RemotePeer};

/// Where the chains part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkPoint {
    /// The highest block both chains hold: keep it, replace everything above.
    Common(u64),
    /// The highest common block is `fork_protection` or more below our tip: refuse.
    TooDeep {
        /// Our tip.
        local: u64,
        /// The lowest height checked (every height from it up differs).
        checked: u64,
    },
    /// Not even genesis agrees: another chain.
    NoCommonBlock,
}

/// Why the search stopped.
#[derive(Debug, thiserror::Error)]
pub enum ForkError {
    /// Our own digest could not be read.
    #[error("local digest of block {0}: {1}")]
    Local(u64, ChainError),
    /// The peer did not give its digest.
    #[error("remote digest of block {0}: {1}")]
    Remote(u64, RemoteError),
}

/// The result of a search and the round trips it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForkSearch {
    /// Where the chains part.
    pub point: ForkPoint,
    /// `H` requests sent.
    pub round_trips: u32,
}

/// Find where our chain and `remote`'s part, refusing points `protection` or more blocks below
/// our tip.
pub fn find_fork(local: &dyn LocalChain, remote: &dyn RemotePeer, protection: u64) -> Result<ForkSearch, ForkError> {
    let tip = local.height();
    let mut round_trips = 0;
    let mut agrees = |h: u64| -> Result<bool, ForkError> {
        let ours = local.digest(h).map_err(|e| ForkError::Local(h, e))?;
        round_trips += 1;
        let theirs = remote.remote_digest_of_height(h).map_err(|e| ForkError::Remote(h, e))?;
        Ok(ours == theirs)
    };
    let fork = if agrees(tip)? {
        tip
    } else {
        // The lowest fork point that would be followed; anything below is refused anyway.
        let floor = (tip + 1).saturating_sub(protection).max(1);
        if floor >= tip || !agrees(floor)? {
            return Ok(ForkSearch { point: refused(tip, floor.min(tip)), round_trips });
        }
        // Invariant: agreement at `low`, disagreement at `high`.
        let (mut low, mut high) = (floor, tip);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if agrees(mid)? {
                low = mid;
            } else {
                high = mid;
            }
        }
        low
    };
    let point = if tip - fork >= protection {
        ForkPoint::TooDeep { local: tip, checked: fork }
    } else {
        ForkPoint::Common(fork)
    };
    Ok(ForkSearch { point, round_trips })
}

/// Nothing agrees from `floor` up: another genesis when `floor` is genesis (and protection did
/// not stop the search above it), else too deep.
fn refused(tip: u64, floor: u64) -> ForkPoint {
    if floor <= 1 {
        ForkPoint::NoCommonBlock
    } else {
        ForkPoint::TooDeep { local: tip, checked: floor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::fakes::{FakeChain, FakePeer};
    use proptest::prelude::*;

    /// bitmarkd's walk: the highest agreeing height from the tip down, refused when
    /// `tip - h >= protection`.
    fn walk(local: &FakeChain, remote: &FakePeer, protection: u64) -> ForkPoint {
        let tip = local.height();
        for h in (1..=tip).rev() {
            if local.digest(h).unwrap() == remote.remote_digest_of_height(h).unwrap() {
                if tip - h >= protection {
                    return ForkPoint::TooDeep { local: tip, checked: h };
                }
                return ForkPoint::Common(h);
            }
        }
        ForkPoint::NoCommonBlock
    }

    fn same_verdict(a: ForkPoint, b: ForkPoint) -> bool {
        matches!((a, b), (ForkPoint::TooDeep { .. }, ForkPoint::TooDeep { .. })) || a == b
    }

    #[test]
    fn peer_ahead_on_our_chain_costs_one_round_trip() {
        let ours = FakeChain::build(1, 500, 500, 0);
        let peer = FakePeer::over(FakeChain::build(1, 500, 800, 0));
        let s = find_fork(&ours, &peer, 60).unwrap();
        assert_eq!(s, ForkSearch { point: ForkPoint::Common(500), round_trips: 1 });
    }

    #[test]
    fn fork_within_protection_is_found_in_logarithmic_round_trips() {
        let ours = FakeChain::build(1, 470, 500, 2);
        let peer = FakePeer::over(FakeChain::build(1, 470, 520, 3));
        let s = find_fork(&ours, &peer, 60).unwrap();
        assert_eq!(s.point, ForkPoint::Common(470));
        assert!(s.round_trips <= 8, "{} round trips", s.round_trips);
        assert_eq!(s.point, walk(&ours, &peer, 60));
    }

    #[test]
    fn fork_at_protection_is_refused_without_walking_down() {
        // Common block 440, tip 500: 60 below, refused as bitmarkd does.
        let ours = FakeChain::build(1, 440, 500, 2);
        let peer = FakePeer::over(FakeChain::build(1, 440, 600, 3));
        let s = find_fork(&ours, &peer, 60).unwrap();
        assert!(matches!(s.point, ForkPoint::TooDeep { local: 500, .. }), "{s:?}");
        assert_eq!(s.round_trips, 2);
        // One block less deep is followed.
        let ours = FakeChain::build(1, 441, 500, 2);
        let peer = FakePeer::over(FakeChain::build(1, 441, 600, 3));
        assert_eq!(find_fork(&ours, &peer, 60).unwrap().point, ForkPoint::Common(441));
    }

    #[test]
    fn another_genesis_has_no_common_block() {
        let ours = FakeChain::build(1, 1, 10, 2);
        let peer = FakePeer::over(FakeChain::build(9, 1, 10, 3));
        assert_eq!(find_fork(&ours, &peer, 60).unwrap().point, ForkPoint::NoCommonBlock);
    }

    #[test]
    fn errors_stop_the_search() {
        let ours = FakeChain::build(1, 5, 10, 2);
        let peer = FakePeer::over(FakeChain::build(1, 5, 10, 3));
        peer.set_dead(true);
        assert!(matches!(find_fork(&ours, &peer, 60), Err(ForkError::Remote(10, RemoteError::Timeout))));
    }

    proptest! {
        /// Bisection and bitmarkd's walk agree on every honest pair of chains.
        #[test]
        fn bisection_agrees_with_the_walk(common in 1u64..120, ours_above in 0u64..80, theirs_above in 0u64..80, protection in 0u64..70) {
            let ours = FakeChain::build(1, common, common + ours_above, 2);
            let peer = FakePeer::over(FakeChain::build(1, common, common + theirs_above, 3));
            if ours.height() > peer.chain().height() { return Ok(()); }
            let s = find_fork(&ours, &peer, protection).unwrap();
            let w = walk(&ours, &peer, protection);
            prop_assert!(same_verdict(s.point, w), "bisection {:?} walk {:?}", s.point, w);
            prop_assert!(u64::from(s.round_trips) <= 2 + 64 - protection.leading_zeros() as u64);
        }
    }
}
