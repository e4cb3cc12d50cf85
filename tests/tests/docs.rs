//! The documentation stays true: every `bitmark-node ...` command the README and `docs/` show (in
//! shell blocks and in inline code) names commands and flags the binary has, and the flag table
//! of `run` in `docs/cli.md` names `run`'s flags. (Links are `docs_links.rs`'s.)

use bitmark_tests::{node_binary, workspace_root};
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
