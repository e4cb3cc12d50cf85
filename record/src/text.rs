//! Go strings: byte strings that are usually, but not necessarily, UTF-8.
//!
//! bitmarkd turns record bytes into Go `string`s without checking their encoding, counts them with
//! `utf8.RuneCountInString` (each invalid byte counts as one rune) and packs them back byte for
//! byte. A record whose name holds invalid UTF-8 is therefore valid on the chain, and its tx id
//! depends on those exact bytes, so record strings are kept as bytes here.

use std::fmt;

/// A Go `string` inside a record: the exact bytes, valid UTF-8 or not.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Vec<u8>);

impl Text {
    /// The exact bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, consumed.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Byte length (what the record's length prefix holds).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `utf8.RuneCountInString`: the limits on names, fingerprints, metadata and addresses.
    pub fn rune_count(&self) -> usize {
        rune_count(&self.0)
    }

    /// The text as Go's `encoding/json` writes it: every byte of an invalid sequence becomes
    /// U+FFFD on its own.
    pub fn to_string_lossy(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for chunk in self.0.utf8_chunks() {
            out.push_str(chunk.valid());
            out.extend(std::iter::repeat_n(char::REPLACEMENT_CHARACTER, chunk.invalid().len()));
        }
        out
    }
}

/// Go's `utf8.RuneCount`: one per character of the valid parts, one per byte of the invalid
/// parts (Go decodes a bad or truncated sequence as `RuneError` of width one).
pub fn rune_count(bytes: &[u8]) -> usize {
    bytes.utf8_chunks().map(|c| c.valid().chars().count() + c.invalid().len()).sum()
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(s.into_bytes())
    }
}

impl From<Vec<u8>> for Text {
    fn from(b: Vec<u8>) -> Text {
        Text(b)
    }
}

impl From<&[u8]> for Text {
    fn from(b: &[u8]) -> Text {
        Text(b.to_vec())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "Text(0x{})", hex::encode(&self.0)),
        }
    }
}

impl serde::Serialize for Text {
    /// As Go writes a string: invalid UTF-8 bytes become U+FFFD.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rune_count_matches_go() {
        assert_eq!(rune_count(b""), 0);
        assert_eq!(rune_count("héllo".as_bytes()), 5);
        // Go: each byte of a truncated or invalid sequence is one rune.
        assert_eq!(rune_count(b"\xe2\x82"), 2);
        assert_eq!(rune_count(b"a\xffb"), 3);
        assert_eq!(rune_count(b"\xed\xa0\x80"), 3); // surrogate: invalid in Go too
    }

    #[test]
    fn lossy_replaces_each_bad_byte() {
        assert_eq!(Text::from(&b"a\xe2\x82b"[..]).to_string_lossy(), "a\u{fffd}\u{fffd}b");
    }
}
