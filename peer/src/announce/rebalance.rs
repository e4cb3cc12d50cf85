//! The 11 outbound targets of bitmarkd's `ReBalance` (`announce/receptor/receptor.go:126-200`,
//! `docs/protocol.md#rebalance`): positions on the ring of peers sorted by public key, relative to
//! our own position, spread so that every node keeps links to its neighbours and across the ring.

use std::fmt;

/// The name of a target slot, as bitmarkd sends it to its connector (`N1`, ..., `P3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// The next node.
    N1,
    /// Three nodes on (one when there are fewer than 4).
    N3,
    /// One eighth of the ring on.
    X1,
    /// One quarter on.
    X2,
    /// Three eighths on.
    X3,
    /// Half way round.
    X4,
    /// Five eighths on.
    X5,
    /// Three quarters on.
    X6,
    /// Seven eighths on.
    X7,
    /// The previous node.
    P1,
    /// Three nodes back (one when there are fewer than 4).
    P3,
}

impl Slot {
    /// Every slot, in the order bitmarkd evaluates them (the order matters for deduplication).
    pub const ALL: [Slot; 11] =
        [Slot::N1, Slot::N3, Slot::X1, Slot::X2, Slot::X3, Slot::X4, Slot::X5, Slot::X6, Slot::X7, Slot::P1, Slot::P3];

    /// bitmarkd's name for the slot.
    pub fn name(self) -> &'static str {
        match self {
            Slot::N1 => "N1",
            Slot::N3 => "N3",
            Slot::X1 => "X1",
            Slot::X2 => "X2",
            Slot::X3 => "X3",
            Slot::X4 => "X4",
            Slot::X5 => "X5",
            Slot::X6 => "X6",
            Slot::X7 => "X7",
            Slot::P1 => "P1",
            Slot::P3 => "P3",
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The targets for a node at index `own` of a sorted table of `count` entries (ourselves
/// included): `(slot, index)` pairs in slot order.
///
/// Each slot's offset from `own` is computed with integer eighths, quarters and halves of
/// `count`. A slot is skipped when its offset is 0 (it would be us) or when its unwrapped
/// position equals that of the last slot *not* skipped; only consecutive duplicates go, so one
/// peer can fill two slots (for 20 entries X7 and P3 are the same). Positions past the end wrap.
///
/// One change from bitmarkd: with `count == 1`, N1 wraps round to ourselves and bitmarkd asks its
/// connector to connect to itself (`docs/protocol.md#connecting-to-self`). We never return our own
/// index; the duplicate bookkeeping is unchanged, so every other result is bitmarkd's.
pub fn targets(own: usize, count: usize) -> Vec<(Slot, usize)> {
    if own >= count {
        return Vec::new();
    }
    let (eighth, quarter, half) = (count / 8, count / 4, count / 2);
    let jump = if count < 4 { 1 } else { 3 };
    let offsets = [
        1,
        jump,
        eighth,
        quarter,
        quarter + eighth,
        half,
        half + eighth,
        half + quarter,
        half + quarter + eighth,
        count - 1,
        count - jump,
    ];
    let mut out = Vec::with_capacity(Slot::ALL.len());
    let mut last_kept = None;
    for (slot, offset) in Slot::ALL.into_iter().zip(offsets) {
        let unwrapped = own + offset;
        if offset == 0 || last_kept == Some(unwrapped) {
            continue;
        }
        last_kept = Some(unwrapped);
        // Every offset is below `count`, so one subtraction wraps.
        let index = if unwrapped >= count { unwrapped - count } else { unwrapped };
        if index != own {
            out.push((slot, index));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bitmarkd's loop, transcribed line by line (including the connection to self).
    fn go_rebalance(index: i64, count: i64) -> Vec<(&'static str, i64)> {
        let names = ["N1", "N3", "X1", "X2", "X3", "X4", "X5", "X6", "X7", "P1", "P3"];
        let e = count / 8;
        let q = count / 4;
        let h = count / 2;
        let mut jump = 3;
        if count < 4 {
            jump = 1;
        }
        let n = [
            index + 1,
            index + jump,
            e + index,
            q + index,
            q + e + index,
            h + index,
            h + e + index,
            h + q + index,
            h + q + e + index,
            index + count - 1,
            index + count - jump,
        ];
        let mut out = Vec::new();
        let mut u = -1;
        for (i, &v0) in n.iter().enumerate() {
            let mut v = v0;
            if v == index || v == u {
                continue;
            }
            u = v;
            if v >= count {
                v -= count;
            }
            out.push((names[i], v));
        }
        out
    }

    fn ours(own: usize, count: usize) -> Vec<(&'static str, i64)> {
        targets(own, count).into_iter().map(|(slot, i)| (slot.name(), i as i64)).collect()
    }

    #[test]
    fn matches_bitmarkd_for_tables_of_1_to_20() {
        for count in 1..=20usize {
            for own in 0..count {
                let go = go_rebalance(own as i64, count as i64);
                let expected: Vec<_> = go.iter().copied().filter(|&(_, i)| i != own as i64).collect();
                assert_eq!(ours(own, count), expected, "count {count} own {own}");
                // Only a table of one makes bitmarkd target itself.
                assert_eq!(expected.len() != go.len(), count == 1, "count {count} own {own}");
            }
        }
    }

    #[test]
    fn worked_examples() {
        // A table of one: bitmarkd sends N1 for itself; we send nothing.
        assert_eq!(go_rebalance(0, 1), [("N1", 0)]);
        assert!(targets(0, 1).is_empty());
        // Two: only N1, the other node.
        assert_eq!(ours(0, 2), [("N1", 1)]);
        assert_eq!(ours(1, 2), [("N1", 0)]);
        // Eight from index 0 (e=1 q=2 h=4): P1 = 7 repeats X7 and is dropped; P3 = 5 is kept.
        assert_eq!(
            ours(0, 8),
            [
                ("N1", 1),
                ("N3", 3),
                ("X1", 1),
                ("X2", 2),
                ("X3", 3),
                ("X4", 4),
                ("X5", 5),
                ("X6", 6),
                ("X7", 7),
                ("P3", 5)
            ]
        );
        // Twenty from index 0 (e=2 q=5 h=10): all 11; X7 and P3 both name 17.
        assert_eq!(
            ours(0, 20),
            [
                ("N1", 1),
                ("N3", 3),
                ("X1", 2),
                ("X2", 5),
                ("X3", 7),
                ("X4", 10),
                ("X5", 12),
                ("X6", 15),
                ("X7", 17),
                ("P1", 19),
                ("P3", 17)
            ]
        );
        // Wrapping: index 18 of 20.
        assert_eq!(ours(18, 20).first(), Some(&("N1", 19)));
        assert_eq!(ours(18, 20).get(1), Some(&("N3", 1)));
        assert!(targets(3, 3).is_empty());
        assert!(targets(0, 0).is_empty());
    }

    #[test]
    fn never_targets_self_and_stays_in_range() {
        for count in 1..=300usize {
            for own in [0, count / 3, count - 1] {
                for (_, i) in targets(own, count) {
                    assert!(i < count && i != own, "count {count} own {own} -> {i}");
                }
            }
        }
    }
}
