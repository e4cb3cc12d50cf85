//! bitmarkd's evaluated configuration ([`super::lua::Evaluated`]) as this node's TOML: what
//! carries over is written under this node's names, everything else is listed with the reason,
//! and the files that move (keys, `peers.json`, `reservoir.cache`) get the steps that move them.
//!
//! Paths follow bitmarkd's rules (`command/bitmarkd/configuration.go`): `data_directory` `"."`
//! is the configuration file's directory and other relative paths are taken from the current
//! directory; `cache_directory`, `logging.directory` are relative to the data directory. The
//! TOML names the data directory absolutely, so it may be put anywhere.

use super::lua::{Evaluated, FileRead};
use serde_json::{Map, Value};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A bitmarkd setting that is not carried over, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotCarried {
    /// Its dotted name, e.g. `client_rpc` or `logging.levels.peer`.
    pub setting: String,
    /// Its value, abbreviated, secrets left out.
    pub value: String,
    /// Why.
    pub why: String,
}

/// The conversion.
#[derive(Clone, Debug, Default)]
pub struct Conversion {
    /// The TOML text (comments included: what was left out, and the steps).
    pub toml: String,
    /// What was not carried over.
    pub not_carried: Vec<NotCarried>,
    /// What to do besides using the TOML.
    pub steps: Vec<String>,
}

impl Conversion {
    /// `{"toml","notCarried":[{"setting","value","why"}],"steps"}`.
    pub fn to_json(&self) -> Value {
        let not_carried: Vec<Value> = self
            .not_carried
            .iter()
            .map(|n| serde_json::json!({"setting": n.setting, "value": n.value, "why": n.why}))
            .collect();
        serde_json::json!({"toml": self.toml, "notCarried": not_carried, "steps": self.steps})
    }
}

/// Settings of bitmarkd that this node has no counterpart for, and why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("client_rpc", "this node serves no client RPC here"),
    ("https_rpc", "this node serves no HTTPS RPC; its status and metrics are `status`"),
    ("publishing", "this node does not publish to subscribers"),
    ("proofing", "this node does not connect to recorderd: only `local` chains produce blocks (`produce_blocks`)"),
    ("payment", "this node does not verify payments (`local` and `testing` verify automatically)"),
    ("read_only", "only client RPC has writes to refuse"),
    ("profile_http", "no Go profiler here"),
    ("pidfile", "the node locks its data directory and writes bitmark-node.pid there"),
    ("database", "bitmarkd's LevelDB chain database cannot be read: the node syncs the chain from its peers"),
    ("cache_directory", "peers.json and the reservoir live in data_directory: see the steps below"),
];

/// Convert `evaluated`, the configuration read from `config_path` (absolute) while the current
/// directory was `cwd`.
pub fn convert(evaluated: &Evaluated, config_path: &Path, cwd: &Path) -> Conversion {
    let mut c = Converter { conversion: Conversion::default(), reads: &evaluated.reads, out: String::new() };
    let empty = Map::new();
    let config = evaluated.config.as_object().unwrap_or(&empty);
    let config_dir = config_path.parent().unwrap_or(Path::new("/"));
    let _ = writeln!(
        c.out,
        "# bitmark-node configuration converted from {} by `bitmark-node config import`.\n\
         # bitmarkd settings that do not carry over, and the steps that move its files, are at the end.",
        config_path.display()
    );
    let chain = config.get("chain").and_then(Value::as_str).map(str::to_lowercase);
    let chain = chain.unwrap_or_else(|| "bitmark".into());
    c.string("chain", &chain);
    let data_dir = match config.get("data_directory").and_then(Value::as_str) {
        Some(".") => config_dir.to_path_buf(),
        Some(dir) if !dir.is_empty() && dir != "~" => cwd.join(dir),
        other => {
            c.not_carried(
                "data_directory",
                &other.map_or(Value::Null, Value::from),
                "bitmarkd refuses it too; set one",
            );
            config_dir.to_path_buf()
        }
    };
    // bitmarkd cleans it (filepath.Clean): no trailing slash, no `.` parts.
    let data_dir: PathBuf = data_dir.components().collect();
    c.string("data_directory", &data_dir.display().to_string());
    for key in ["nodes"] {
        if let Some(text) = config.get(key).and_then(Value::as_str) {
            c.string(key, text);
        }
    }
    for key in ["fast_sync", "standalone"] {
        if let Some(flag) = config.get(key).and_then(Value::as_bool) {
            let _ = writeln!(c.out, "{key} = {flag}");
        }
    }
    for (key, value) in config {
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(name, _)| name == key) {
            if !is_unset(value) {
                c.not_carried(key, value, why);
            }
        } else if !["chain", "data_directory", "nodes", "fast_sync", "standalone", "logging", "peering"]
            .contains(&key.as_str())
        {
            c.not_carried(key, value, "not a bitmarkd setting");
        }
    }
    if let Some(logging) = config.get("logging").and_then(Value::as_object) {
        c.logging(logging);
    }
    if let Some(peering) = config.get("peering").and_then(Value::as_object) {
        c.peering(peering);
    }
    c.steps(config, &chain, &data_dir);
    c.finish()
}

/// A value that says nothing: null, false, an empty string or table.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

struct Converter<'a> {
    conversion: Conversion,
    reads: &'a [FileRead],
    out: String,
}

impl Converter<'_> {
    fn string(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.out, "{key} = {}", toml::Value::String(value.to_string()));
    }

    fn strings(&mut self, key: &str, values: &[String]) {
        let array = toml::Value::Array(values.iter().cloned().map(toml::Value::String).collect());
        let _ = writeln!(self.out, "{key} = {array}");
    }

    fn not_carried(&mut self, setting: &str, value: &Value, why: &str) {
        self.conversion.not_carried.push(NotCarried {
            setting: setting.to_string(),
            value: self.shown(value),
            why: why.to_string(),
        });
    }

    /// `value` for a listing: file contents named by their file, keys and certificates never
    /// shown, long values cut.
    fn shown(&self, value: &Value) -> String {
        let hidden = redact(value, self.reads);
        let text = hidden.to_string();
        match text.char_indices().nth(200) {
            Some((at, _)) => format!("{}…", text.get(..at).unwrap_or_default()),
            None => text,
        }
    }

    /// bitmarkd's `logging`: `levels.DEFAULT` is the level (`critical` is `error` here), the
    /// file and its rotation carry over; channel levels and `console` do not.
    fn logging(&mut self, logging: &Map<String, Value>) {
        let _ = writeln!(self.out, "\n[logging]");
        let levels = logging.get("levels").and_then(Value::as_object);
        if let Some(level) = levels.and_then(|l| l.get("DEFAULT")).and_then(Value::as_str) {
            let level = match level {
                "critical" => "error",
                other => other,
            };
            self.string("level", level);
        }
        for (channel, level) in levels.into_iter().flatten().filter(|(k, _)| k.as_str() != "DEFAULT") {
            self.not_carried(
                &format!("logging.levels.{channel}"),
                level,
                "bitmarkd's channel names: write per-module levels into logging.level as RUST_LOG takes them",
            );
        }
        let directory = logging.get("directory").and_then(Value::as_str).unwrap_or("log");
        let file = logging.get("file").and_then(Value::as_str).unwrap_or("bitmarkd.log");
        self.string("file", &Path::new(directory).join(file).display().to_string());
        if let Some(size) = logging.get("size").and_then(Value::as_u64) {
            let _ = writeln!(self.out, "max_bytes = {}", size.max(crate::logging::MIN_MAX_BYTES));
        }
        if let Some(count) = logging.get("count").and_then(Value::as_u64) {
            let _ = writeln!(self.out, "keep = {count}");
        }
        if let Some(console) = logging.get("console").filter(|v| !is_unset(v)) {
            self.not_carried("logging.console", console, "the node logs to the file or, without one, to stderr");
        }
        for (key, value) in logging {
            if !["levels", "directory", "file", "size", "count", "console"].contains(&key.as_str()) {
                self.not_carried(&format!("logging.{key}"), value, "not a bitmarkd logging setting");
            }
        }
    }

    fn peering(&mut self, peering: &Map<String, Value>) {
        let _ = writeln!(self.out, "\n[peering]");
        for key in ["listen", "announce"] {
            let addresses: Vec<String> = list_of_strings(peering.get(key));
            if key == "listen" || !addresses.is_empty() {
                self.strings(key, &addresses);
            }
        }
        for key in ["dynamic_connections", "prefer_ipv6"] {
            if let Some(flag) = peering.get(key).and_then(Value::as_bool) {
                let _ = writeln!(self.out, "{key} = {flag}");
            }
        }
        let mut missing = Vec::new();
        for (key, prefix) in [("public_key", "PUBLIC:"), ("private_key", "PRIVATE:")] {
            match peering.get(key).and_then(Value::as_str) {
                Some(value) => match self.reads.iter().find(|r| r.contents.as_deref() == Some(value)) {
                    // read_file reads relative to the data directory, which the TOML keeps.
                    Some(read) => self.string(key, &read.name),
                    None if value.trim().starts_with(prefix) => {
                        self.string(key, value.trim());
                        if key == "private_key" {
                            self.conversion.steps.push(
                                "the private key is written inline above: keep this file unreadable by others \
                                 (chmod 600), or put the key in a file and name it"
                                    .into(),
                            );
                        }
                    }
                    None => self.not_carried(&format!("peering.{key}"), &Value::from(value), "not a key"),
                },
                None => missing.push(key),
            }
        }
        if !missing.is_empty() {
            let tried: Vec<String> = self
                .reads
                .iter()
                .filter(|r| r.contents.is_none() && r.name.starts_with("peer."))
                .map(|r| format!("read_file({:?})", r.name))
                .collect();
            let because =
                if tried.is_empty() { String::new() } else { format!(" ({} found no file)", tried.join(", ")) };
            self.conversion.steps.push(format!(
                "bitmarkd's configuration gives no peering.{}{because}: the node uses peer.public and peer.private in \
                 data_directory, making a new pair if both are missing; copy bitmarkd's key files there to keep \
                 its identity",
                missing.join(" or peering.")
            ));
        }
        let connect = peering.get("connect").and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, peer) in connect.iter().enumerate() {
            let field = |name: &str| peer.get(name).and_then(Value::as_str).map(str::to_string);
            match (field("public_key"), field("address")) {
                (Some(key), Some(address)) => {
                    let _ = writeln!(self.out, "\n[[peering.connect]]");
                    self.string("public_key", key.trim());
                    self.string("address", &address);
                }
                _ => self.not_carried(&format!("peering.connect[{}]", i + 1), peer, "needs public_key and address"),
            }
        }
        for (key, value) in peering {
            let known =
                ["listen", "announce", "dynamic_connections", "prefer_ipv6", "public_key", "private_key", "connect"];
            if !known.contains(&key.as_str()) {
                self.not_carried(&format!("peering.{key}"), value, "not a bitmarkd peering setting");
            }
        }
    }

    /// The files that move: `peers.json` and `reservoir.cache` from bitmarkd's cache directory.
    fn steps(&mut self, config: &Map<String, Value>, chain: &str, data_dir: &Path) {
        let cache = config
            .get("cache_directory")
            .and_then(Value::as_str)
            .map_or_else(|| PathBuf::from(format!("{chain}-cache")), PathBuf::from);
        let cache = data_dir.join(cache);
        let data = data_dir.display();
        self.conversion.steps.push(format!(
            "stop bitmarkd (it writes peers.json and reservoir.cache when it stops), then: cp {} {data}/peers.json",
            cache.join("peers.json").display()
        ));
        self.conversion.steps.push(format!(
            "bitmark-node reservoir import --data-dir {data} --chain {chain} {}",
            cache.join("reservoir.cache").display()
        ));
        self.conversion.steps.push(
            "the chain itself does not move (bitmarkd keeps it in LevelDB): the node syncs it from its peers".into(),
        );
    }

    fn finish(mut self) -> Conversion {
        let mut out = std::mem::take(&mut self.out);
        self.conversion.not_carried.sort_by(|a, b| a.setting.cmp(&b.setting));
        if !self.conversion.not_carried.is_empty() {
            let _ = writeln!(out, "\n# Not carried over from bitmarkd:");
            for n in &self.conversion.not_carried {
                let _ = writeln!(out, "#   {} = {}: {}", n.setting, n.value, n.why);
            }
        }
        let _ = writeln!(out, "\n# Steps:");
        for (i, step) in self.conversion.steps.iter().enumerate() {
            let _ = writeln!(out, "#   {}. {step}", i + 1);
        }
        self.conversion.toml = out;
        self.conversion
    }
}

fn list_of_strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// `value` with every string that came from `read_file` replaced by `<contents of NAME>`, and
/// every other string that looks like a key or a certificate by `<N bytes, not shown>`.
fn redact(value: &Value, reads: &[FileRead]) -> Value {
    match value {
        Value::String(s) => match reads.iter().find(|r| r.contents.as_deref() == Some(s.as_str())) {
            Some(read) => Value::from(format!("<contents of {}>", read.name)),
            None if s.contains("PRIVATE:") || s.contains("-----BEGIN") => {
                Value::from(format!("<{} bytes, not shown>", s.len()))
            }
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, reads)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(v, reads))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert_json(config: Value, reads: Vec<FileRead>) -> Conversion {
        convert(&Evaluated { config, reads }, Path::new("/etc/bitmarkd/bitmarkd.conf"), Path::new("/home/op"))
    }

    #[test]
    fn keys_read_from_files_are_named_and_secrets_never_shown() {
        let secret = format!("PRIVATE:{}\n", "cd".repeat(32));
        let reads = vec![
            FileRead { name: "peer.public".into(), contents: Some(format!("PUBLIC:{}\n", "ab".repeat(32))) },
            FileRead { name: "peer.private".into(), contents: Some(secret.clone()) },
            FileRead { name: "rpc.key".into(), contents: Some("-----BEGIN PRIVATE KEY-----\n".into()) },
        ];
        let config = json!({
            "data_directory": ".",
            "peering": {"public_key": format!("PUBLIC:{}\n", "ab".repeat(32)), "private_key": secret, "listen": ["*:2136"]},
            "client_rpc": {"private_key": "-----BEGIN PRIVATE KEY-----\n", "certificate": "-----BEGIN CERT"},
        });
        let c = convert_json(config, reads);
        assert!(c.toml.contains("public_key = \"peer.public\"\nprivate_key = \"peer.private\""), "{}", c.toml);
        assert!(c.toml.contains("data_directory = \"/etc/bitmarkd\""), "{}", c.toml);
        assert!(!c.toml.contains(&"cd".repeat(32)), "the private key is never printed");
        let rpc = c.not_carried.iter().find(|n| n.setting == "client_rpc").unwrap();
        assert!(rpc.value.contains("<contents of rpc.key>") && rpc.value.contains("bytes, not shown"), "{rpc:?}");
        assert!(!c.toml.contains("-----BEGIN"));
    }

    #[test]
    fn inline_keys_stay_inline_and_unknown_settings_are_listed() {
        let c = convert_json(
            json!({"chain": "Testing", "data_directory": "node", "colour": "blue",
                   "peering": {"public_key": format!("PUBLIC:{}", "ab".repeat(32)), "extra": 1}}),
            vec![],
        );
        assert!(c.toml.contains("chain = \"testing\"\ndata_directory = \"/home/op/node\""), "{}", c.toml);
        assert!(c.toml.contains(&format!("public_key = \"PUBLIC:{}\"", "ab".repeat(32))));
        let listed: Vec<&str> = c.not_carried.iter().map(|n| n.setting.as_str()).collect();
        assert_eq!(listed, ["colour", "peering.extra"]);
        assert!(c.steps.iter().any(|s| s.contains("no peering.private_key:")), "{:?}", c.steps);
    }
}
