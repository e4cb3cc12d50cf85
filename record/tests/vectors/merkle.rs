//! Merkle trees over transaction ids (merkle/merkle.go).

use crate::common::*;
use bitmark_record::{merkle, Link};
use serde_json::Value;

pub const KINDS: &[&str] =
    &["merkle_full_tree", "merkle_minimum_tree", "merkle_minimum_tree_many", "merkle_branch_fold"];

/// A list of digests in display (reversed) hex.
fn display_links(v: &Value, pointer: &str) -> Result<Vec<Link>, String> {
    links(v, pointer, Link::from_display_hex)
}

/// A list of digests parsed with `parse`.
fn links(
    v: &Value,
    pointer: &str,
    parse: fn(&str) -> Result<Link, bitmark_record::Fault>,
) -> Result<Vec<Link>, String> {
    field(v, pointer)?
        .as_array()
        .ok_or_else(|| format!("{pointer} is not an array"))?
        .iter()
        .map(|x| x.as_str().ok_or("not a string".to_string()).and_then(|s| parse(s).map_err(|e| format!("{s}: {e}"))))
        .collect()
}

/// Check a root against `expected.root_display` and `expected.root_raw`.
fn same_root(root: Link, v: &Value) -> Check {
    same("root display", root.display_hex(), text(v, "/expected/root_display")?.to_string())?;
    same("root raw", root.raw_hex(), text(v, "/expected/root_raw")?.to_string())
}

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "merkle_full_tree" => {
            let ids = display_links(v, "/inputs/tx_ids_display")?;
            same("tree", merkle::full_tree(&ids), display_links(v, "/expected/tree_display")?)?;
            same_root(merkle::root(&ids), v)
        }
        "merkle_minimum_tree" => same(
            "tree",
            merkle::minimum_tree(&display_links(v, "/inputs/ids_display")?),
            display_links(v, "/expected/tree_display")?,
        ),
        "merkle_minimum_tree_many" => {
            let ids = links(v, "/inputs/tx_ids_raw", Link::from_raw_hex)?;
            let expected = display_links(v, "/expected/expected_prefix_display")?;
            let counts = field(v, "/inputs/n_values")?.as_array().ok_or("n_values is not an array")?;
            for n in counts {
                let n = n.as_u64().ok_or("n is not a number")? as usize;
                let tree = merkle::minimum_tree(ids.get(..n).ok_or("n beyond the ids")?);
                same(&format!("tree of {n}"), Some(tree.as_slice()), expected.get(..tree.len()))?;
            }
            Ok(())
        }
        "merkle_branch_fold" => {
            let start = Link::from_display_hex(text(v, "/inputs/start_display")?).map_err(|e| e.to_string())?;
            same_root(merkle::fold_branch(&start, &display_links(v, "/inputs/branch_display")?), v)
        }
        _ => Err(format!("unhandled kind {kind}")),
    }
}
