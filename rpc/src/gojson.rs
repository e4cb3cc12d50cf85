//! JSON as Go's `encoding/json` writes it, so that a reply is byte for byte what bitmarkd sends.
//!
//! Replies are built as [`serde_json::Value`] trees (objects keep their insertion order, which
//! is the Go struct's field order; Go maps are sorted by key, which their builders do) and
//! written here, because Go differs from `serde_json` in three ways a client can see:
//!
//! * `<`, `>` and `&` in strings are written `\u003c`, `\u003e`, `\u0026`, and U+2028, U+2029
//!   as `\u2028`, `\u2029` (Go's HTML-safe default);
//! * floats use the shortest representation without a fraction when integral (`1`, not
//!   `1.0`), and exponent form below 1e-6 and from 1e21 (`1e+21`, `1e-07`);
//! * `json.Encoder.Encode` ends every value with a newline ([`encode_line`]).

use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

/// `value` as Go's `json.Marshal` would write it.
pub fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

/// `value` as Go's `json.Encoder.Encode` writes it: [`to_string`] and a newline.
pub fn encode_line(value: &Value) -> Vec<u8> {
    let mut out = to_string(value);
    out.push('\n');
    out.into_bytes()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => {
                let _ = write!(out, "{u}");
            }
            (None, Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, None, Some(f)) => out.push_str(&format_float(f)),
            _ => out.push_str("null"),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// A Go JSON string: `"`, `\\`, `\n`, `\r`, `\t` (and `\b`, `\f`) short, other control
/// characters and the HTML-sensitive ones as `\u00XX`, U+2028/2029 escaped.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => Some(""),
            c if (c as u32) < 0x20 => Some(""),
            _ => None,
        };
        let Some(escape) = escape else { continue };
        out.push_str(s.get(plain..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escape);
        }
        plain = i + c.len_utf8();
    }
    out.push_str(s.get(plain..).unwrap_or_default());
    out.push('"');
}

/// A float64 as Go's encoder writes it (`strconv.AppendFloat(b, f, 'f' or 'e', -1, 64)` with
/// Go's exponent clean-up). NaN and infinities, which Go refuses to encode, are written `0`.
pub fn format_float(f: f64) -> String {
    if !f.is_finite() {
        return "0".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's shortest exponent form is `1e21` / `1.5e-7`; Go writes `1e+21` / `1.5e-07`.
        let text = format!("{f:e}");
        let Some((mantissa, exponent)) = text.split_once('e') else { return text };
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        let digits = if digits.len() < 2 { format!("0{digits}") } else { digits.to_string() };
        return format!("{mantissa}e{sign}{digits}");
    }
    format!("{f}")
}

/// A duration as Go's `time.Duration.String()` writes it: `1h2m3.5s`, `2.000000001s`,
/// `1.5ms`, `800µs`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 1_000_000));
    }
    let total_seconds = nanos / 1_000_000_000;
    let (hours, minutes) = (total_seconds / 3600, (total_seconds / 60) % 60);
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// `value / unit` with its fraction, trailing zeros dropped (`1500, 1000` is `1.5`).
fn fraction(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_html_safe_like_go() {
        assert_eq!(to_string(&json!("a<b>&c\u{2028}\"\\\n\u{1}é")), r#""a\u003cb\u003e\u0026c\u2028\"\\\n\u0001é""#);
        assert_eq!(to_string(&json!({"b": [1, true, null], "a": -2})), r#"{"b":[1,true,null],"a":-2}"#);
    }

    #[test]
    fn floats_are_written_as_go_does() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(2.133), "2.133");
        assert_eq!(format_float(0.0), "0");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(1.5e-7), "1.5e-07");
        assert_eq!(format_float(123456789.125), "123456789.125");
        assert_eq!(encode_line(&json!({"d": 1.0})), b"{\"d\":1}\n");
    }

    #[test]
    fn durations_are_written_as_go_does() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(999)), "999ns");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::from_nanos(800_000)), "800µs");
        assert_eq!(go_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(go_duration(Duration::from_secs(61)), "1m1s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::new(3723, 1)), "1h2m3.000000001s");
    }
}
