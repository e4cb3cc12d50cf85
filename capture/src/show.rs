//! Frames and commands shown to people, in the listings of `inspect` and the differences of
//! `replay`.

use bitmark_peer::wire::{go_quote, quote_for_log};

/// Text frames up to this long are shown as text; others as abbreviated hex.
const TEXT_FRAME: usize = 96;
/// Bytes of a binary frame shown in hex before it is cut.
const HEX_PREFIX: usize = 16;

/// A frame for people: printable ASCII as Go-quoted text (`"block not found"`), anything else
/// as hex, cut after 16 bytes with the length (`0102…(4506 bytes)`).
pub fn show_frame(frame: &[u8]) -> String {
    if frame.len() <= TEXT_FRAME && !frame.is_empty() && frame.iter().all(|b| (0x20..0x7f).contains(b)) {
        return go_quote(frame);
    }
    match frame.get(..HEX_PREFIX) {
        Some(head) if frame.len() > HEX_PREFIX => format!("{}…({} bytes)", hex::encode(head), frame.len()),
        _ if frame.is_empty() => "\"\"".to_string(),
        _ => hex::encode(frame),
    }
}

/// Every frame of a message, shown.
pub fn show_frames(frames: &[Vec<u8>]) -> Vec<String> {
    frames.iter().map(|f| show_frame(f)).collect()
}

/// A request's function frame as a label: as it is when it is a short printable word (`N`,
/// `issues`), Go-quoted otherwise.
pub fn command_label(function: &[u8]) -> String {
    if !function.is_empty() && function.len() <= 32 && function.iter().all(|b| (0x21..0x7f).contains(b)) {
        String::from_utf8_lossy(function).into_owned()
    } else {
        quote_for_log(function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_shown_as_text_or_abbreviated_hex() {
        assert_eq!(show_frame(b"block not found"), "\"block not found\"");
        assert_eq!(show_frame(&[0, 1, 2]), "000102");
        assert_eq!(show_frame(&[7; 4506]), format!("{}…(4506 bytes)", "07".repeat(16)));
        assert_eq!(show_frame(b""), "\"\"");
        assert_eq!(command_label(b"issues"), "issues");
        assert_eq!(command_label(b"a b"), "\"a b\"");
        assert_eq!(command_label(b""), "\"\"");
    }
}
