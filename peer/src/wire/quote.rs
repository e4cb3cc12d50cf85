//! Go's `%q` quoting of a byte string (`strconv.Quote`), for the `invalid chain` error text.
//!
//! bitmarkd puts the chain frame it received into its error reply with `%q`, and that frame is
//! whatever the remote sent: arbitrary bytes. Go walks the bytes rune by rune: each byte that does
//! not start a valid UTF-8 sequence becomes `\xHH`; `"` and `\` are backslash-escaped; printable
//! runes (Unicode categories L, M, N, P, S and the ASCII space) are copied; the rest become
//! `\a \b \f \n \r \t \v`, `\xHH` (below U+0020 and U+007F), `\uHHHH` or `\UHHHHHHHH`.
//!
//! Printability comes from Unicode 16 tables; Go 1.23 has Unicode 15, so only the characters
//! first assigned in Unicode 16 are quoted differently (printed here, `\u`-escaped by Go).

use std::fmt::Write as _;
use unicode_general_category::{get_general_category, GeneralCategory as G};

/// Quote `bytes` exactly as Go's `fmt.Sprintf("%q", string(bytes))` does.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            quote_char(&mut out, c);
        }
        // Go decodes an invalid sequence one byte at a time, each as RuneError of width 1.
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// Bytes shown in logs by [`quote_for_log`]; frames can be megabytes long.
const LOG_PREFIX: usize = 32;

/// [`go_quote`] of at most the first 32 bytes, with `...` after when there were more: for
/// naming commands and keys in logs without copying a whole frame.
pub fn quote_for_log(bytes: &[u8]) -> String {
    match bytes.get(..LOG_PREFIX) {
        Some(head) if bytes.len() > LOG_PREFIX => format!("{}...", go_quote(head)),
        _ => go_quote(bytes),
    }
}

fn quote_char(out: &mut String, c: char) {
    match c {
        '"' | '\\' => {
            out.push('\\');
            out.push(c);
        }
        _ if is_go_printable(c) => out.push(c),
        '\u{07}' => out.push_str("\\a"),
        '\u{08}' => out.push_str("\\b"),
        '\u{0c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{0b}' => out.push_str("\\v"),
        _ if c < ' ' || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        _ if u32::from(c) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        _ => {
            let _ = write!(out, "\\U{:08x}", u32::from(c));
        }
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return c == ' ' || c.is_ascii_graphic();
    }
    !matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::Unassigned
            | G::PrivateUse
            | G::Surrogate
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
    )
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn matches_go_quote() {
        // Expected values are what Go 1.23 `fmt.Sprintf("%q", s)` prints.
        let cases: &[(&[u8], &str)] = &[
            (b"", r#""""#),
            (b"bitmark", r#""bitmark""#),
            (b"x", r#""x""#),
            (b"say \"hi\"\\", r#""say \"hi\"\\""#),
            (b"\x00\x01\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x7f", r#""\x00\x01\a\b\t\n\v\f\r\x1b\x7f""#),
            (b"\xff\xfe", r#""\xff\xfe""#),
            // A truncated sequence is escaped byte by byte, then decoding resumes.
            (b"\xe2\x82a", r#""\xe2\x82a""#),
            // An encoded surrogate is invalid UTF-8 in Go too.
            (b"\xed\xa0\x80", r#""\xed\xa0\x80""#),
            ("h\u{e9}llo \u{4e16}".as_bytes(), "\"h\u{e9}llo \u{4e16}\""),
            // No-break space (Zs), soft hyphen (Cf), line separator (Zl), private use (Co).
            ("\u{a0}\u{ad}\u{2028}\u{e000}".as_bytes(), r#""\u00a0\u00ad\u2028\ue000""#),
            // Non-BMP: a printable emoji, and an unassigned plane-15 private-use code point.
            ("\u{1f600}\u{f0000}".as_bytes(), "\"\u{1f600}\\U000f0000\""),
            // A valid U+FFFD is printable and kept.
            ("\u{fffd}".as_bytes(), "\"\u{fffd}\""),
        ];
        for (input, expected) in cases {
            assert_eq!(go_quote(input), *expected, "input {input:x?}");
        }
    }

    #[test]
    fn log_quotes_are_short() {
        assert_eq!(super::quote_for_log(b"block"), r#""block""#);
        assert_eq!(super::quote_for_log(&[b'a'; 40]), format!("\"{}\"...", "a".repeat(32)));
    }
}
