//! Conventions operators already know: clap's own refusals follow the `{"error": ...}` / exit 1
//! contract of every command; `config default` prints the annotated defaults; a bad `RUST_LOG`
//! is an error rather than a silent `info`; logging goes to a file, rotated, when the
//! configuration says so; `--produce-blocks` takes a duration like the file.

use bitmark_tests::{json_of, node_args, run_node, workspace_root, RunningNode};
use std::time::Duration;

#[test]
fn command_line_mistakes_are_json_errors_with_status_1() {
    for (args, want) in [
        (
            vec!["check", "--dta-dir", "x"],
            "unexpected argument '--dta-dir' found (tip: a similar argument exists: '--data-dir')",
        ),
        (vec!["run", "--min-clients", "five"], "invalid value 'five' for '--min-clients <K>'"),
        (vec!["config"], "missing a command"),
        (vec!["frobnicate"], "unrecognized subcommand 'frobnicate'"),
    ] {
        let out = run_node(&args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
        assert!(error.starts_with(want) && error.ends_with("see --help"), "{args:?}: {error}");
    }
    let help = run_node(&["--help"], "");
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("Usage: bitmark-node"));
}

#[test]
fn config_default_prints_the_shipped_annotated_defaults() {
    let out = run_node(&["config", "default"], "");
    assert!(out.status.success());
    let shipped = std::fs::read_to_string(workspace_root().join("config/bitmark-node.toml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), shipped.trim_end());
    assert!(!shipped.lines().any(|l| l.trim() == "[[peering.connect]]"), "no live static peer");
}

#[test]
fn a_bad_rust_log_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["run"];
    args.extend(node_args(tmp.path(), &["--standalone"]));
    let out = std::process::Command::new(bitmark_tests::node_binary())
        .args(&args)
        .env("RUST_LOG", "verbose")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
    assert!(error.starts_with("RUST_LOG: \"verbose\": expected a level"), "{error}");
}

#[test]
fn logging_goes_to_the_configured_file_and_durations_are_durations() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    std::fs::create_dir_all(&data).unwrap();
    let config = tmp.path().join("node.toml");
    std::fs::write(&config, "[logging]\nlevel = \"debug\"\nfile = \"log/node.log\"\nmax_bytes = 4096\nkeep = 2\n")
        .unwrap();
    let mut args = node_args(&data, &["--standalone", "--produce-blocks", "500ms", "--config"]);
    let config_arg = config.to_str().unwrap().to_string();
    args.push(&config_arg);
    let node = RunningNode::start(&args, &tmp.path().join("stderr.log"));
    let log = data.join("log/node.log");
    // Debug lines of a producing node fill 4 KiB quickly; the file rotates, keeping two.
    assert!(bitmark_tests::eventually(|| data.join("log/node.log.2").exists()), "no rotation");
    let (status, _) = node.stop_with("TERM", Duration::from_secs(5));
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let all = text + &std::fs::read_to_string(data.join("log/node.log.1")).unwrap();
    assert!(all.contains("DEBUG") || all.contains("INFO"), "{all}");
    assert!(!data.join("log/node.log.3").exists(), "keep = 2");
    assert!(std::fs::metadata(data.join("log/node.log.1")).unwrap().len() <= 4096);
    assert_eq!(std::fs::read_to_string(tmp.path().join("stderr.log")).unwrap_or_default(), "", "nothing on stderr");
}

/// Metric names a dashboard expression uses.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut word = String::new();
    for c in expr.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            if word.starts_with("bitmark_") || word.starts_with("process_") {
                names.push(std::mem::take(&mut word));
            }
            word.clear();
        }
    }
    names
}

#[test]
fn metrics_follow_prometheus_conventions_and_the_dashboard_uses_real_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let node = RunningNode::start(&node_args(tmp.path(), &["--standalone"]), &tmp.path().join("node.log"));
    // One error reply, so that the error counters have a sample.
    let mut client = bitmark_tests::client_of(&node, tmp.path());
    let reply = bitmark_peer::transport::Transport::request(&mut client, &bitmark_peer::wire::Request::Block(99));
    assert!(matches!(reply, Ok(bitmark_peer::wire::Reply::Error(_))), "{reply:?}");
    let (code, text) = node.get("/metrics");
    assert_eq!(code, 200);
    // Each sample's family and the family's type.
    let mut types = std::collections::BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
        } else if !line.starts_with('#') {
            samples.push(line.split(['{', ' ']).next().unwrap().to_string());
        }
    }
    for sample in &samples {
        let family = types.keys().filter(|f| sample.starts_with(f.as_str())).max_by_key(|f| f.len()).unwrap();
        if sample.ends_with("_total") {
            assert_eq!(types[family], "counter", "{sample}: _total only on counters\n{text}");
        }
        assert!(!sample.contains("per_second"), "{sample}: rates are left to rate()");
    }
    for name in
        ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds"]
    {
        assert!(samples.iter().any(|s| s == name), "{name} missing\n{text}");
    }
    assert!(text.contains("bitmark_build_info{version=\""), "{text}");
    assert!(text.ends_with("# EOF\n"));

    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace_root().join("docs/grafana-dashboard.json")).unwrap())
            .unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for target in panels.iter().flat_map(|p| p["targets"].as_array().unwrap()) {
        let expr = target["expr"].as_str().unwrap();
        for name in metric_names(expr) {
            // A labelled counter no one has bumped yet shows only its TYPE line.
            let declared = types.get(name.trim_end_matches("_total")).is_some_and(|t| t == "counter");
            assert!(
                samples.contains(&name) || declared,
                "the dashboard's {expr:?} uses {name}, which /metrics does not have"
            );
        }
    }
}
