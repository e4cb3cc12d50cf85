//! Merkle trees over transaction ids (merkle/merkle.go).
//!
//! Leaves are the tx ids themselves; a node is SHA3-256(left raw ‖ right raw); at any level
//! with an odd count the last element is paired with itself. A block's merkle root is the last
//! element of the full tree.

use crate::digest::Link;

/// Most ids [`minimum_tree`] accepts (2^24), as in bitmarkd.
pub const MAXIMUM_MINIMUM_TREE_IDS: usize = 0x100_0000;

/// Hash one level into the next: pairs `(0,1), (2,3), …`, the odd last element with itself.
fn next_level(level: &[Link]) -> Vec<Link> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => Link::pair(left, right),
            [only] => Link::pair(only, only),
            _ => Link::default(), // chunks(2) yields one or two elements
        })
        .collect()
}

/// The ids followed by every level of the tree up to the root (`FullMerkleTree`).
/// One id is its own root; no ids give a single zero digest, as in Go.
pub fn full_tree(ids: &[Link]) -> Vec<Link> {
    if ids.is_empty() {
        return vec![Link::default()];
    }
    let mut tree = ids.to_vec();
    let mut level = ids.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
        tree.extend_from_slice(&level);
    }
    tree
}

/// The merkle root of `ids`: the last element of [`full_tree`].
pub fn root(ids: &[Link]) -> Link {
    match ids {
        [] => Link::default(),
        [only] => *only,
        _ => {
            let mut level = next_level(ids);
            while level.len() > 1 {
                level = next_level(&level);
            }
            level.first().copied().unwrap_or_default()
        }
    }
}

/// A minimised tree (`MinimumMerkleTree`): `[ids[0], b1, b2, …]` where `b1` is the first node
/// of the reduced level of `ids[1..]`, `b2` the first node of the next reduction of the rest
/// of that level, and so on. Given the ids of a block *after* its first (base) record, this is
/// the merkle branch of that base record: [`fold_branch`] from the base id over it yields the
/// block's root (how a miner fixes every id but the base). Empty for no ids or more than 2^24
/// (Go returns nil).
pub fn minimum_tree(ids: &[Link]) -> Vec<Link> {
    let Some((first, rest)) = ids.split_first() else {
        return Vec::new();
    };
    if ids.len() > MAXIMUM_MINIMUM_TREE_IDS {
        return Vec::new();
    }
    let mut tree = vec![*first];
    let mut level = rest.to_vec();
    while !level.is_empty() {
        let next = next_level(&level);
        match next.split_first() {
            Some((head, tail)) => {
                tree.push(*head);
                level = tail.to_vec();
            }
            None => break,
        }
    }
    tree
}

/// Fold a branch onto a starting digest: `acc = SHA3-256(acc ‖ b)` for each `b` in order.
/// With [`minimum_tree`]'s output this recomputes the root from the first id.
pub fn fold_branch(start: &Link, branch: &[Link]) -> Link {
    branch.iter().fold(*start, |acc, b| Link::pair(&acc, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn root_is_the_last_element_of_the_full_tree(seeds in proptest::collection::vec(any::<u8>(), 0..40)) {
            let ids: Vec<Link> = seeds.iter().map(|s| Link::of(&[*s])).collect();
            prop_assert_eq!(full_tree(&ids).last().copied(), Some(root(&ids)));
        }

        #[test]
        fn minimum_tree_is_the_base_branch(count in 2u32..70) {
            let ids: Vec<Link> = (0..count).map(|i| Link::of(&i.to_le_bytes())).collect();
            let branch = minimum_tree(&ids[1..]);
            prop_assert_eq!(fold_branch(&ids[0], &branch), root(&ids));
        }
    }
}
