//! The election of the chain to follow, as bitmarkd's `peer/voting` (`docs/protocol.md#election`),
//! with one fix.
//!
//! Every registered, recently active client votes with its peer's height and the peer's digest
//! of *our* height. Votes below our height are discarded; the rest are grouped by digest. The
//! largest group wins if it holds a quorum (`(1 + minimum_clients) / 2`); equal largest groups
//! are a draw, which needs the tied groups together to hold the quorum and is settled by
//! bitmarkd's digest comparison ([`BlockDigest::smaller_than`], copied with its quirk because
//! other nodes choose with it).
//!
//! Two points where bitmarkd is not deterministic or not useful:
//! * bitmarkd iterates a Go map, so the order in which groups are seen is random, and with the
//!   quirky comparison a draw between three or more groups (or two whose digests are each
//!   "smaller" than the other) can be settled either way. We visit groups in ascending byte
//!   order of their digest: one of the orders bitmarkd may take, the same on every run.
//! * **The fix:** bitmarkd then syncs from the *first voter* of the winning group up to *that
//!   voter's* height, even when another member of the group is taller; a fresh network can
//!   elect an empty peer and never sync. We keep the winning group bitmarkd picks and take the
//!   *tallest* member (the first of equals, in voting order) as the source and its height as
//!   the target. Every member agrees with the others at our height, so this only ever moves
//!   the target up within the chosen chain. [`Election::first_voter`] keeps bitmarkd's choice
//!   for logs and comparison.

use super::remote::PeerKey;
use bitmark_record::{BlockDigest, Fault};
use std::collections::BTreeMap;

/// One client's vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vote {
    /// The peer.
    pub key: PeerKey,
    /// Its height (bitmarkd's `CachedRemoteHeight`).
    pub height: u64,
    /// Its digest of our height (`CachedRemoteDigestOfLocalHeight`; zero when it had none).
    pub digest: BlockDigest,
}

/// The outcome of an election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// The winning group's digest of our height.
    pub digest: BlockDigest,
    /// The winning group, in voting order.
    pub members: Vec<Vote>,
    /// Whether the largest groups tied and the digest comparison decided.
    pub draw: bool,
    /// bitmarkd's winner: the first voter of the winning group.
    pub first_voter: Vote,
    /// Ours: the tallest member (first of equals), which the sync targets and asks first.
    pub source: Vote,
}

impl Election {
    /// The height to sync to: the source's.
    pub fn height(&self) -> u64 {
        self.source.height
    }

    /// Votes the winning group got.
    pub fn votes(&self) -> usize {
        self.members.len()
    }
}

/// Run an election over `votes` (in voting order: static clients, then dynamic ones from least
/// to most recently used) with our height `min_height` and the quorum `quorum`.
///
/// Errors are bitmarkd's: `VotesWithEmptyWinner` (no vote left), `VotesInsufficient` (below
/// the quorum), `VotesWithZeroCount`/`VotesWithZeroHeight` (a draw with nothing in it).
pub fn elect(votes: &[Vote], min_height: u64, quorum: usize) -> Result<Election, Fault> {
    let mut groups: BTreeMap<BlockDigest, Vec<Vote>> = BTreeMap::new();
    for vote in votes.iter().filter(|v| v.height >= min_height) {
        groups.entry(vote.digest).or_default().push(*vote);
    }
    let highest = groups.values().map(Vec::len).max().ok_or(Fault::VotesWithEmptyWinner)?;
    let tied: Vec<(&BlockDigest, &Vec<Vote>)> = groups.iter().filter(|(_, g)| g.len() == highest).collect();
    let draw = tied.len() > 1;
    // Without a draw the quorum counts the winning group; with one, all tied groups together.
    if highest * tied.len() < quorum {
        return Err(Fault::VotesInsufficient);
    }
    let (leader_digest, leader) = *tied.first().ok_or(Fault::VotesWithEmptyWinner)?;
    let first = *leader.first().ok_or(Fault::VotesWithEmptyWinner)?;
    let winner_digest = if draw {
        if highest == 0 {
            return Err(Fault::VotesWithZeroCount);
        }
        if first.height == 0 {
            return Err(Fault::VotesWithZeroHeight);
        }
        draw_winner(tied.iter().map(|(d, _)| **d))
    } else {
        *leader_digest
    };
    let members = groups.remove(&winner_digest).unwrap_or_default();
    let first_voter = *members.first().ok_or(Fault::VotesWithEmptyWinner)?;
    let source = members.iter().fold(first_voter, |best, v| if v.height > best.height { *v } else { best });
    Ok(Election { digest: winner_digest, members, draw, first_voter, source })
}

/// bitmarkd's `smallerDigestWinnerFrom` over the tied groups' digests in the order given: keep
/// the current choice unless it is not "smaller" than the next, skipping all-zero digests on
/// either side.
fn draw_winner(mut digests: impl Iterator<Item = BlockDigest>) -> BlockDigest {
    let Some(mut elected) = digests.next() else { return BlockDigest::default() };
    for candidate in digests {
        if elected.is_empty() || candidate.is_empty() {
            continue;
        }
        if !elected.smaller_than(&candidate) {
            elected = candidate;
        }
    }
    elected
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vote(id: u8, height: u64, digest: u8) -> Vote {
        Vote { key: [id; 32], height, digest: BlockDigest([digest; 32]) }
    }

    #[test]
    fn majority_group_wins_and_the_tallest_member_is_the_source() {
        let votes = [vote(1, 10, 7), vote(2, 12, 7), vote(3, 15, 7), vote(4, 30, 9), vote(5, 11, 7)];
        let e = elect(&votes, 10, 3).unwrap();
        assert_eq!((e.digest, e.votes(), e.draw), (BlockDigest([7; 32]), 4, false));
        assert_eq!(e.first_voter.key, [1; 32], "bitmarkd would sync from the first voter, to height 10");
        assert_eq!((e.source.key, e.height()), ([3; 32], 15));
    }

    #[test]
    fn votes_below_our_height_are_discarded_and_quorum_is_enforced() {
        let votes = [vote(1, 9, 7), vote(2, 9, 7), vote(3, 10, 7), vote(4, 10, 8)];
        assert_eq!(elect(&votes, 10, 3), Err(Fault::VotesInsufficient));
        assert_eq!(elect(&votes, 11, 1), Err(Fault::VotesWithEmptyWinner));
        assert_eq!(elect(&[], 1, 0), Err(Fault::VotesWithEmptyWinner));
        // Two single groups tie; together they make a quorum of 2.
        let e = elect(&votes, 10, 2).unwrap();
        assert!(e.draw);
    }

    #[test]
    fn draw_is_settled_by_bitmarkd_comparison_in_digest_order() {
        // a = ..00 ff (byte 0 = 0xff), b = ff ..00 (byte 31 = 0xff): a < b and b < a are both
        // "true" in bitmarkd's scan; visiting a first keeps a.
        let mut a = BlockDigest::default();
        a.0[0] = 0xff;
        let mut b = BlockDigest::default();
        b.0[31] = 0xff;
        assert!(a.smaller_than(&b) && b.smaller_than(&a));
        let votes = [Vote { key: [1; 32], height: 5, digest: b }, Vote { key: [2; 32], height: 5, digest: a }];
        let e = elect(&votes, 5, 2).unwrap();
        assert!(e.draw);
        let first = if a < b { a } else { b };
        assert_eq!(e.digest, first);
        // A plainly smaller digest wins whatever the order.
        let (small, large) = (BlockDigest([1; 32]), BlockDigest([2; 32]));
        for order in [[small, large], [large, small]] {
            let votes: Vec<Vote> =
                order.iter().enumerate().map(|(i, d)| Vote { key: [i as u8; 32], height: 5, digest: *d }).collect();
            assert_eq!(elect(&votes, 5, 2).unwrap().digest, small);
        }
    }

    #[test]
    fn zero_digests_are_skipped_in_a_draw() {
        let votes = [vote(1, 5, 0), vote(2, 5, 3)];
        // Zero sorts first; it is skipped, so the first candidate stays: zero.
        let e = elect(&votes, 5, 2).unwrap();
        assert_eq!(e.digest, BlockDigest::default(), "bitmarkd never replaces an all-zero first candidate");
    }

    proptest! {
        /// The source is always the tallest member of the winning group, never below the
        /// height bitmarkd would target, and the group is one of the largest.
        #[test]
        fn source_is_tallest_of_a_largest_group(
            raw in proptest::collection::vec((0u8..6, 0u64..20, 0u8..3), 0..12), min in 0u64..10, quorum in 0usize..5
        ) {
            let votes: Vec<Vote> = raw.iter().map(|(k, h, d)| vote(*k, *h, *d)).collect();
            if let Ok(e) = elect(&votes, min, quorum) {
                prop_assert!(e.members.iter().all(|m| m.digest == e.digest && m.height >= min));
                prop_assert!(e.members.iter().all(|m| m.height <= e.height()));
                prop_assert!(e.height() >= e.first_voter.height);
                let largest = votes.iter().filter(|v| v.height >= min)
                    .map(|v| votes.iter().filter(|w| w.height >= min && w.digest == v.digest).count()).max();
                prop_assert_eq!(Some(e.votes()), largest);
            }
        }
    }
}
