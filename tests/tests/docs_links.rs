//! The references the code and the documentation make to `docs/`: every
//! `docs/<file>.md#<section>` cited in a Rust source file, and every relative link in a Markdown
//! file of the repository, must name a file that exists and a heading (or explicit anchor) in it.
//! A renamed heading or a moved section fails here instead of leaving readers a dead link.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_tests::workspace_root;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Directories never searched: build output, git, fuzzing corpora and artifacts.
const SKIP_DIRS: [&str; 5] = ["target", ".git", "corpus", "artifacts", "node_modules"];

fn files_with_extension(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !SKIP_DIRS.contains(&name.as_ref()) && !name.starts_with('.') {
                files_with_extension(&path, extension, out);
            }
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

/// GitHub's anchor for a heading: lower case, punctuation other than `-` and `_` dropped,
/// spaces turned into `-`, a link reduced to its text.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](target)` reads as `text`.
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](").and_then(|close| after[close..].find(')').map(|end| (close, close + end))) {
            Some((close, end)) => {
                text.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            None => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a Markdown file defines: its headings (outside code blocks, with GitHub's `-1`,
/// `-2` suffixes for repeats) and explicit `<a id="...">` / `<a name="...">` tags.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let base = slug(&trimmed[hashes..]);
            let n = seen.entry(base.clone()).or_insert(0);
            out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
            *n += 1;
        }
        for attr in ["id=\"", "name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find("<a ") {
                rest = &rest[at + 3..];
                if let Some(start) = rest.find(attr) {
                    let value = &rest[start + attr.len()..];
                    if let Some(end) = value.find('"') {
                        out.insert(value[..end].to_string());
                    }
                }
            }
        }
    }
    out
}

/// `a/b/../c` without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Checks that `target#anchor` exists, relative to `root`; returns a problem to report.
fn check(
    root: &Path,
    target: &Path,
    anchor: Option<&str>,
    cache: &mut BTreeMap<PathBuf, BTreeSet<String>>,
) -> Option<String> {
    let full = normalise(&root.join(target));
    if !full.exists() {
        return Some(format!("{} does not exist", target.display()));
    }
    let anchor = anchor?;
    if full.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let defined = cache.entry(full.clone()).or_insert_with(|| anchors(&fs::read_to_string(&full).unwrap_or_default()));
    (!defined.contains(anchor)).then(|| format!("{} has no section #{anchor}", target.display()))
}

/// Every `docs/<name>.md` and `docs/<name>.md#<anchor>` in a text.
fn docs_citations(text: &str) -> Vec<(String, Option<String>)> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("docs/") {
        let preceded_by_name = rest[..at].chars().next_back().is_some_and(|c| is_name(c) || c == '.' || c == '/');
        rest = &rest[at + 5..];
        let name_len = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        if preceded_by_name || name_len == 0 || !rest[name_len..].starts_with(".md") {
            continue;
        }
        let file = format!("docs/{}.md", &rest[..name_len]);
        rest = &rest[name_len + 3..];
        let anchor = rest.strip_prefix('#').map(|a| a[..a.find(|c: char| !is_name(c)).unwrap_or(a.len())].to_string());
        out.push((file, anchor.filter(|a| !a.is_empty())));
    }
    out
}

/// Every relative link target of a Markdown text: `[text](target)`.
fn markdown_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                let target = &rest[..end];
                if !target.contains("://") && !target.starts_with("mailto:") && !target.contains(' ') {
                    out.push(target.to_string());
                }
                rest = &rest[end..];
            }
        }
    }
    out
}

#[test]
fn every_docs_citation_in_the_code_resolves() {
    let root = workspace_root();
    let mut sources = Vec::new();
    files_with_extension(root, "rs", &mut sources);
    assert!(sources.len() > 100, "found only {} Rust files under {}", sources.len(), root.display());
    let mut cache = BTreeMap::new();
    let mut problems = Vec::new();
    let mut cited = 0;
    for source in &sources {
        let text = fs::read_to_string(source).unwrap_or_default();
        for (file, anchor) in docs_citations(&text) {
            cited += 1;
            if let Some(problem) = check(root, Path::new(&file), anchor.as_deref(), &mut cache) {
                problems.push(format!("{}: {problem}", source.strip_prefix(root).unwrap_or(source).display()));
            }
        }
    }
    assert!(cited > 30, "expected the code to cite docs/ more than 30 times, found {cited}");
    assert!(problems.is_empty(), "dangling docs/ citations:\n{}", problems.join("\n"));
}

#[test]
fn every_relative_markdown_link_resolves() {
    let root = workspace_root();
    let mut pages = Vec::new();
    files_with_extension(root, "md", &mut pages);
    let mut cache = BTreeMap::new();
    let mut problems = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page).unwrap_or_default();
        let dir = page.parent().unwrap_or(root).strip_prefix(root).unwrap_or(Path::new(""));
        let own = page.strip_prefix(root).unwrap_or(page);
        for link in markdown_links(&text) {
            let (path, anchor) = match link.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() { own.to_path_buf() } else { dir.join(path) };
            if let Some(problem) = check(root, &target, anchor, &mut cache) {
                problems.push(format!("{}: [..]({link}): {problem}", own.display()));
            }
        }
    }
    assert!(problems.is_empty(), "dangling Markdown links:\n{}", problems.join("\n"));
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Components and start-up"), "components-and-start-up");
    assert_eq!(slug("`peers.json` and the [RPC table](#rpc-table)"), "peersjson-and-the-rpc-table");
    assert_eq!(slug("What `I` reports: v0.16.0"), "what-i-reports-v0160");
    let defined = anchors("# A\n## A\n```\n# not a heading\n```\n<a id=\"here\"></a>\n");
    assert_eq!(defined, ["a", "a-1", "here"].into_iter().map(String::from).collect());
    assert_eq!(
        docs_citations("see `docs/protocol.md#framing`, docs/formats.md and mydocs/x.md#y"),
        vec![("docs/protocol.md".into(), Some("framing".into())), ("docs/formats.md".into(), None)]
    );
}
