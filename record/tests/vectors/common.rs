//! Helpers shared by the vector checks: loading the file and reading typed fields.

use bitmark_record::Fault;
use serde_json::Value;

/// The result of checking one vector: `Err` carries a human-readable mismatch.
pub type Check = Result<(), String>;

/// Every vector in the repository's copy of bitmarkd's test vectors.
pub fn all_vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/bitmarkd-vectors.json");
    let text = std::fs::read_to_string(path).expect("vector file is in the repository");
    serde_json::from_str::<Vec<Value>>(&text).expect("vector file is JSON")
}

/// A field by JSON pointer (`/inputs/value`), or an error naming it.
pub fn field<'a>(v: &'a Value, pointer: &str) -> Result<&'a Value, String> {
    v.pointer(pointer).ok_or_else(|| format!("vector has no {pointer}"))
}

/// A string field.
pub fn text<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, String> {
    field(v, pointer)?.as_str().ok_or_else(|| format!("{pointer} is not a string"))
}

/// A hex string field decoded to bytes.
pub fn bytes(v: &Value, pointer: &str) -> Result<Vec<u8>, String> {
    hex::decode(text(v, pointer)?).map_err(|e| format!("{pointer}: bad hex: {e}"))
}

/// A u64 field given as a JSON number or a decimal string.
pub fn uint(v: &Value, pointer: &str) -> Result<u64, String> {
    let f = field(v, pointer)?;
    match f {
        Value::Number(n) => n.as_u64().ok_or_else(|| format!("{pointer} is not a u64")),
        Value::String(s) => s.parse().map_err(|e| format!("{pointer}: {e}")),
        _ => Err(format!("{pointer} is neither number nor string")),
    }
}

/// A bool field.
pub fn boolean(v: &Value, pointer: &str) -> Result<bool, String> {
    field(v, pointer)?.as_bool().ok_or_else(|| format!("{pointer} is not a bool"))
}

/// Compare two values, naming what differs.
pub fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// Check that `result` failed with the fault named at `pointer` (e.g. `"fault.NotLink"`).
pub fn fails_with<T: std::fmt::Debug>(result: Result<T, Fault>, v: &Value, pointer: &str) -> Check {
    let want = text(v, pointer)?;
    match result {
        Ok(x) => Err(format!("expected {want}, got Ok({x:?})")),
        Err(f) => same("fault", format!("fault.{}", f.name()), want.to_string()),
    }
}
