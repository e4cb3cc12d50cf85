//! The documentation stays true: every `bitmark-node ...` command the README and `docs/` show (in
//! shell blocks and in inline code) names commands and flags the binary has, and the flag table
//! of `run` in `docs/cli.md` names `run`'s flags; every path, crate, type, method and constant
//! `ARCHITECTURE.md` names exists. (Links are `docs_links.rs`'s.)

use bitmark_tests::{node_binary, prose_lines, repository_files, workspace_root};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The README and every `docs/*.md`.
fn documents() -> Vec<(PathBuf, String)> {
    let root = workspace_root();
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// A command's subcommands and flags, from its `--help`.
#[derive(Default)]
struct Help {
    commands: BTreeSet<String>,
    flags: BTreeSet<String>,
}

fn help<'a>(path: &[String], cache: &'a mut BTreeMap<Vec<String>, Help>) -> &'a Help {
    cache.entry(path.to_vec()).or_insert_with(|| {
        let out = std::process::Command::new(node_binary()).args(path).arg("--help").output().unwrap();
        assert!(out.status.success(), "bitmark-node {} --help failed", path.join(" "));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut help = Help::default();
        let mut section = "";
        for line in text.lines() {
            if !line.starts_with(' ') {
                section = line.trim_end_matches(':');
                continue;
            }
            let item = line.trim_start();
            match section {
                "Commands" => {
                    if let Some(name) = item.split_whitespace().next() {
                        help.commands.insert(name.to_string());
                    }
                }
                "Options" if item.starts_with('-') => {
                    let spec = item.split("  ").next().unwrap_or_default();
                    for word in spec.split([' ', ',']) {
                        if let Some(flag) = word.strip_prefix("--") {
                            help.flags.insert(format!("--{}", flag.trim_end_matches(|c: char| !c.is_alphanumeric())));
                        }
                    }
                }
                _ => {}
            }
        }
        help
    })
}

/// Check one command line (the words after `bitmark-node`); what is wrong, if anything.
fn check_command(words: &[&str], cache: &mut BTreeMap<Vec<String>, Help>) -> Option<String> {
    let mut path: Vec<String> = Vec::new();
    for word in words {
        if matches!(*word, "|" | ">" | ">>" | "&" | "&&" | ";" | "#" | "\\") || word.starts_with('#') {
            break;
        }
        let known = help(&path, cache);
        if let Some(flag) = word.strip_prefix("--") {
            let flag = format!("--{}", flag.split('=').next().unwrap_or_default());
            if !known.flags.contains(&flag) {
                return Some(format!("`bitmark-node {}` has no flag {flag}", path.join(" ")));
            }
        } else if !known.commands.is_empty() && !word.starts_with('-') {
            if !known.commands.contains(*word) {
                return Some(format!("`bitmark-node {}` has no command {word:?}", path.join(" ")));
            }
            path.push(word.to_string());
        }
    }
    None
}

/// The command lines a document shows: shell-block lines and inline code that run
/// `bitmark-node` (or `$B`, the README's name for it), continuation lines joined.
fn command_lines(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_shell = false;
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            in_shell = !in_shell && (fence == "sh" || fence == "bash");
            continue;
        }
        if in_shell {
            pending.push_str(line.trim_end_matches('\\'));
            pending.push(' ');
            if !line.ends_with('\\') {
                found.push(std::mem::take(&mut pending));
            }
        } else {
            found.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    let mut commands = Vec::new();
    for line in found {
        for start in ["bitmark-node ", "$B "] {
            let mut rest = line.as_str();
            while let Some(at) = rest.find(start) {
                let after = &rest[at + start.len()..];
                // A mention such as `bitmark-node 0.1.0` (a version) is not a command.
                if after.starts_with(|c: char| c.is_ascii_lowercase()) || after.starts_with("--") {
                    commands.push(after.to_string());
                }
                rest = after;
            }
        }
    }
    commands
}

#[test]
fn every_command_and_flag_the_docs_show_exists() {
    let mut cache = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (path, text) in documents() {
        for line in command_lines(&text) {
            let words: Vec<&str> = line.split_whitespace().collect();
            checked += 1;
            if let Some(problem) = check_command(&words, &mut cache) {
                wrong.push(format!("{}: {line}: {problem}", path.display()));
            }
        }
    }
    // `run`'s flag table in docs/cli.md.
    let cli = std::fs::read_to_string(workspace_root().join("docs/cli.md")).unwrap();
    for row in cli.lines().filter(|l| l.starts_with("| `--")) {
        let flag = row.trim_start_matches("| `").split([' ', '`']).next().unwrap_or_default();
        checked += 1;
        if let Some(problem) = check_command(&["run", flag], &mut cache) {
            wrong.push(format!("docs/cli.md: {row}: {problem}"));
        }
    }
    assert!(checked > 60, "only {checked} command lines found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every command of the binary is documented in docs/cli.md.
    for command in &help(&[], &mut cache).commands {
        if command != "help" {
            assert!(cli.contains(&format!("`bitmark-node {command}")), "docs/cli.md does not show `{command}`");
        }
    }
}

#[test]
fn a_wrong_command_or_flag_is_caught() {
    let mut cache = BTreeMap::new();
    assert!(check_command(&["check", "--data-dir", "D"], &mut cache).is_none());
    assert!(check_command(&["chek", "--data-dir", "D"], &mut cache).unwrap().contains("no command \"chek\""));
    assert!(check_command(&["check", "--dta-dir", "D"], &mut cache).unwrap().contains("no flag --dta-dir"));
    assert!(check_command(&["config", "import", "--json", "F"], &mut cache).is_none());
    let lines = command_lines("text `bitmark-node 0.1.0` and `bitmark-node keygen --dir D`\n```sh\n$ bitmark-node run \\\n  --standalone\n```\n");
    let lines: Vec<String> = lines.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(lines, ["keygen --dir D", "run --standalone"]);
}

/// Whether `text` has `keyword name` with `name` a whole word (`struct Node`, not `struct NodeError`).
fn defines(text: &str, keyword: &str, name: &str) -> bool {
    let needle = format!("{keyword} {name}");
    text.match_indices(&needle).any(|(at, _)| {
        let after = text[at + needle.len()..].chars().next();
        let before = text[..at].chars().next_back();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// What is wrong with the names `markdown` shows in inline code, checked against the repository
/// at `root` (`rust`: the text of every Rust source; `manifests`: of every Cargo.toml):
/// * a path (`peer/src/bus.rs`, `src/node/`) must exist (except in the first column of a table
///   under a heading that names bitmarkd: those are bitmarkd's packages);
/// * a crate (`bitmark-peer`) must be some manifest's package name;
/// * a type (`BlockStore`), trait or alias must be defined, and a method (`Bus::send`) too;
/// * a constant (`COMMAND_QUEUE`) must be defined.
///
/// Anything else in backticks (commands, wire frames, texts, thread names) is not checked.
fn architecture_problems(markdown: &str, root: &std::path::Path, rust: &str, manifests: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut theirs = false;
    for line in prose_lines(markdown) {
        if line.starts_with('#') {
            theirs = line.contains("bitmarkd");
        }
        // A table row under a bitmarkd heading: its first cell names bitmarkd's packages.
        let ours = match line.strip_prefix('|') {
            Some(row) if theirs => row.split_once('|').map_or("", |(_, rest)| rest),
            _ => line,
        };
        for span in ours.split('`').skip(1).step_by(2) {
            let plain = !span.is_empty() && !span.contains([' ', '[', '#', '"']);
            let is_path = plain
                && !span.starts_with(['/', '-'])
                && (span.contains('/') || span.ends_with(".rs") || span.ends_with(".md"));
            let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if is_path {
                if !root.join(span.trim_end_matches('/')).exists() {
                    problems.push(format!("no file or directory `{span}`"));
                }
            } else if let Some(rest) = span.strip_prefix("bitmark-").filter(|r| ident(&r.replace('-', "_"))) {
                if !manifests.contains(&format!("name = \"bitmark-{rest}\"")) {
                    problems.push(format!("no crate `{span}`"));
                }
            } else if plain && span.starts_with(|c: char| c.is_ascii_uppercase()) {
                let (item, method) = match span.split_once("::") {
                    Some((item, method)) => (item, Some(method)),
                    None => (span, None),
                };
                if !ident(item) || !method.is_none_or(ident) {
                    continue;
                }
                if item.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                    // A constant; single letters are wire commands (`B`, `H`).
                    if item.len() > 1 && !defines(rust, "const", item) {
                        problems.push(format!("no constant `{span}`"));
                    }
                } else if !["struct", "enum", "trait", "type"].iter().any(|k| defines(rust, k, item)) {
                    problems.push(format!("no type or trait `{item}`"));
                } else if let Some(method) = method.filter(|m| !defines(rust, "fn", m)) {
                    problems.push(format!("no function `{method}` for `{span}`"));
                }
            }
        }
    }
    problems
}

#[test]
fn architecture_names_only_what_exists() {
    let root = workspace_root();
    let text_of = |suffix| {
        let files = repository_files(root, suffix);
        files.iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect::<Vec<_>>().join("\n")
    };
    let (rust, manifests) = (text_of(".rs"), text_of("Cargo.toml"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let problems = architecture_problems(&text, root, &rust, &manifests);
    assert!(problems.is_empty(), "ARCHITECTURE.md:\n{}", problems.join("\n"));
    // And the check catches what it should.
    let wrong =
        "`peer/src/nowhere.rs` `bitmark-nothing` `NoSuchType` `Bus::no_such_fn` `NO_SUCH_CONST` `Bus::send` `B`";
    assert_eq!(
        architecture_problems(wrong, root, &rust, &manifests),
        [
            "no file or directory `peer/src/nowhere.rs`",
            "no crate `bitmark-nothing`",
            "no type or trait `NoSuchType`",
            "no function `no_such_fn` for `Bus::no_such_fn`",
            "no constant `NO_SUCH_CONST`",
        ]
    );
}
