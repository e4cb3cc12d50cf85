//! Evaluating a bitmarkd configuration file as bitmarkd does (`configuration/luareader.go`): a
//! Lua 5.1 chunk run with the standard libraries, a global `arg` whose `arg[0]` is the file's
//! absolute path, `os_name` and `arch_name` as Go names them, and `interface_public_ips`, the
//! machine's globally routable addresses without the private ranges. The chunk's return value
//! is the configuration; it comes back as JSON.
//!
//! Two additions, both to read rather than change anything:
//!
//! * Every `read_file` call is noted (name and contents), including the one the configuration
//!   defines itself (`bitmarkd.conf.sub` does): assignments to the global `read_file` are
//!   wrapped. That is how a key setting holding `PUBLIC:<hex>` is traced back to its file. A
//!   default `read_file`, reading relative to the configuration's directory, is there for files
//!   that call it without defining it.
//! * Nothing can be written: `io.open` opens for reading only, and `os.execute`, `os.remove`,
//!   `os.rename`, `os.exit`, `os.tmpname`, `io.popen` and `io.output` are gone; `print` and
//!   `io.write` go to stderr, so that stdout stays the converted configuration.

use mlua::{Lua, Table, Value as LuaValue};
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Tables nested deeper than this (or a table that contains itself) are an error.
const MAX_DEPTH: usize = 32;

/// One `read_file(name)` call and what it returned (`None`: no such file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRead {
    /// The name passed.
    pub name: String,
    /// The contents returned.
    pub contents: Option<String>,
}

/// The evaluated configuration.
#[derive(Clone, Debug)]
pub struct Evaluated {
    /// The table the chunk returned, as JSON (sequences as arrays, other tables as objects).
    pub config: Value,
    /// Every `read_file` call, in order.
    pub reads: Vec<FileRead>,
}

/// Set up before the configuration runs; `__bitmark_note` and `__bitmark_dir` are provided.
const PRELUDE: &str = r##"
local note, dir = __bitmark_note, __bitmark_dir
__bitmark_note, __bitmark_dir = nil, nil
local open = io.open
io.open = function(name, mode)
  if mode ~= nil and not string.match(mode, "^r") then
    error("config import only reads files: io.open(" .. tostring(name) .. ", " .. tostring(mode) .. ")", 2)
  end
  return open(name, mode)
end
for _, name in ipairs({"execute", "remove", "rename", "exit", "tmpname"}) do os[name] = nil end
io.popen, io.output = nil, nil
io.write = function(...) return io.stderr:write(...) end
print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  io.stderr:write(table.concat(parts, "\t"), "\n")
end
local function noted(read)
  return function(name, ...)
    local contents = read(name, ...)
    note(tostring(name), contents)
    return contents
  end
end
local function default_read(name)
  local f = open(dir .. "/" .. name, "r")
  if f == nil then return nil end
  local contents = f:read("*a")
  f:close()
  return contents
end
local fallback = noted(default_read)
setmetatable(_G, {
  __index = function(_, key) if key == "read_file" then return fallback end end,
  __newindex = function(t, key, value)
    if key == "read_file" and type(value) == "function" then value = noted(value) end
    rawset(t, key, value)
  end,
})
"##;

/// Run the configuration at `path` (made absolute against `cwd`) and return what it returns.
pub fn evaluate(path: &Path, cwd: &Path) -> Result<Evaluated, String> {
    let path = cwd.join(path);
    let source = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("/")).display().to_string();
    let lua = Lua::new();
    let reads = Arc::new(Mutex::new(Vec::new()));
    setup(&lua, &path, &dir, Arc::clone(&reads)).map_err(|e| format!("setting up Lua: {e}"))?;
    let returned: LuaValue = lua.load(source).set_name(format!("@{}", path.display())).eval().map_err(|e| {
        let text = first_line(&e.to_string());
        // bitmarkd's sample leaves every `chain` line commented out, and fails so too.
        let hint = if text.contains("'chain' (a nil value)") { " (set `chain`, as bitmarkd requires)" } else { "" };
        format!("{}: {text}{hint}", path.display())
    })?;
    let LuaValue::Table(table) = returned else {
        return Err(format!("{}: returns {}, not a configuration table", path.display(), returned.type_name()));
    };
    let config = to_json(&LuaValue::Table(table), 0)?;
    let reads = reads.lock().map(|r| r.clone()).unwrap_or_default();
    Ok(Evaluated { config, reads })
}

fn setup(lua: &Lua, path: &Path, dir: &str, reads: Arc<Mutex<Vec<FileRead>>>) -> mlua::Result<()> {
    let globals = lua.globals();
    let arg = lua.create_table()?;
    arg.raw_set(0, path.display().to_string())?;
    globals.set("arg", arg)?;
    globals.set("os_name", std::env::consts::OS)?;
    globals.set("arch_name", go_arch())?;
    globals.set("interface_public_ips", lua.create_sequence_from(super::interfaces::public_ips())?)?;
    let note = lua.create_function(move |_, (name, contents): (String, Option<String>)| {
        if let Ok(mut reads) = reads.lock() {
            reads.push(FileRead { name, contents });
        }
        Ok(())
    })?;
    globals.set("__bitmark_note", note)?;
    globals.set("__bitmark_dir", dir)?;
    lua.load(PRELUDE).set_name("=prelude").exec()
}

/// Go's name of this machine's architecture (`runtime.GOARCH`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        other => other,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// A Lua value as JSON: a table whose keys are exactly 1..n is an array, any other table an
/// object (keys as strings); functions and other non-data values are `null`.
fn to_json(value: &LuaValue, depth: usize) -> Result<Value, String> {
    Ok(match value {
        LuaValue::Nil => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::from(*i),
        LuaValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(*n as i64),
        LuaValue::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        LuaValue::String(s) => Value::String(s.to_string_lossy()),
        LuaValue::Table(t) => {
            if depth >= MAX_DEPTH {
                return Err(format!("tables nested deeper than {MAX_DEPTH} (a table that contains itself?)"));
            }
            table_to_json(t, depth + 1)?
        }
        _ => Value::Null,
    })
}

fn table_to_json(table: &Table, depth: usize) -> Result<Value, String> {
    let mut entries = Vec::new();
    for pair in table.pairs::<LuaValue, LuaValue>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        entries.push((key, to_json(&value, depth)?));
    }
    let n = entries.len();
    let index = |key: &LuaValue| match key {
        LuaValue::Integer(i) => usize::try_from(*i).ok(),
        LuaValue::Number(f) if f.fract() == 0.0 && *f >= 1.0 => Some(*f as usize),
        _ => None,
    };
    if n > 0 && entries.iter().all(|(k, _)| index(k).is_some_and(|i| (1..=n).contains(&i))) {
        let mut items = vec![Value::Null; n];
        for (key, value) in entries {
            if let Some(slot) = index(&key).and_then(|i| items.get_mut(i - 1)) {
                *slot = value;
            }
        }
        return Ok(Value::Array(items));
    }
    if n == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    let mut object = Map::new();
    for (key, value) in entries {
        let name = match &key {
            LuaValue::String(s) => s.to_string_lossy(),
            LuaValue::Integer(i) => i.to_string(),
            LuaValue::Number(f) => f.to_string(),
            LuaValue::Boolean(b) => b.to_string(),
            other => other.type_name().to_string(),
        };
        object.insert(name, value);
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Result<Evaluated, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("peer.public"), "PUBLIC:ab\n").unwrap();
        std::fs::write(dir.path().join("x.conf"), text).unwrap();
        evaluate(Path::new("x.conf"), dir.path())
    }

    #[test]
    fn tables_become_json() {
        let e =
            eval(r#"return { a = 1, b = 1.5, c = "x", d = {"p", "q"}, e = {}, f = { g = true }, h = print }"#).unwrap();
        assert_eq!(
            e.config,
            serde_json::json!({"a": 1, "b": 1.5, "c": "x", "d": ["p", "q"], "e": [], "f": {"g": true}, "h": null})
        );
    }

    #[test]
    fn bitmarkds_globals_are_there() {
        let e =
            eval(r#"return { dir = arg[0]:match("^(.*/)"), os = os_name, ips = type(interface_public_ips) }"#).unwrap();
        assert!(e.config["dir"].as_str().unwrap().ends_with('/'));
        assert_eq!(e.config["os"], std::env::consts::OS);
        assert_eq!(e.config["ips"], "table");
    }

    #[test]
    fn read_file_calls_are_noted_even_when_the_file_defines_it() {
        let e = eval(r#"local a = read_file("peer.public"); return { a = a }"#).unwrap();
        assert_eq!(e.reads, vec![FileRead { name: "peer.public".into(), contents: Some("PUBLIC:ab\n".into()) }]);
        let e = eval(
            r#"function read_file(name) if name == "none" then return nil end return "K:" .. name end
               return { a = read_file("x"), b = read_file("none") }"#,
        )
        .unwrap();
        assert_eq!(e.config["a"], "K:x");
        assert_eq!(
            e.reads,
            vec![
                FileRead { name: "x".into(), contents: Some("K:x".into()) },
                FileRead { name: "none".into(), contents: None }
            ]
        );
    }

    #[test]
    fn nothing_can_be_written_and_errors_are_reported() {
        let e = eval(r#"io.open("/tmp/bitmark-import-must-not-exist", "w"); return {}"#).unwrap_err();
        assert!(e.contains("config import only reads files"), "{e}");
        assert!(!Path::new("/tmp/bitmark-import-must-not-exist").exists());
        assert!(eval("os.remove('x') return {}").unwrap_err().contains("attempt to call"), "os.remove is gone");
        assert!(eval("return 5").unwrap_err().contains("not a configuration table"));
        assert!(eval("return {").unwrap_err().contains("x.conf"));
        assert!(eval("local t = {} t.t = t return t").unwrap_err().contains("nested deeper"));
    }
}
