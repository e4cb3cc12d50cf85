//! Any bytes as a capture file line must parse to a line or an error saying why, never a panic;
//! a line that parses must serialise to text that parses to the same line.
#![no_main]

use bitmark_capture::format::parse_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(line) = parse_line(bytes) {
        let again = parse_line(line.to_json().as_bytes()).expect("a serialised line parses");
        assert_eq!(again, line);
    }
});
