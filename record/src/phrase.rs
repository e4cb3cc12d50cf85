//! Recovery phrases (account/phrase.go): a seed's secret written as BIP39 English words, 11 bits
//! a word, most significant bit first. This is BIP39's word list only, not its checksum: v1
//! writes the network byte (0x00 live, 0x01 test) and the 32-byte secret, 264 bits = 24 words;
//! v2 writes the 17-byte secret, whose last 4 bits are always zero and are dropped: 12 words.

use crate::fault::Fault;
use crate::seed::{Seed, V1_SECRET_LENGTH, V2_ENTROPY_LENGTH};
use bip39::Language;

/// Bits each word carries.
const BITS_PER_WORD: u32 = 11;
/// Words in a v1 phrase.
pub const V1_PHRASE_WORDS: usize = 24;
/// Words in a v2 phrase.
pub const V2_PHRASE_WORDS: usize = 12;

impl Seed {
    /// `Base58EncodedSeedToPhrase`: the seed's recovery phrase, 24 words for v1 (network byte
    /// normalised to 0x00/0x01 as Go does) and 12 words for v2.
    pub fn to_phrase(&self) -> Vec<&'static str> {
        let mut bits = Vec::with_capacity(1 + V1_SECRET_LENGTH);
        if self.version() == 1 {
            bits.push(u8::from(self.is_testnet()));
        }
        bits.extend_from_slice(self.secret_key());
        bytes_to_words(&bits)
    }

    /// The seed a recovery phrase writes (bitmarkd itself only goes the other way; this follows
    /// bitmark-sdk-go's reading). Faults: a word count other than 24 or 12 is
    /// `InvalidRecoveryPhraseLength`; a word outside the BIP39 English list, or a v1 network byte
    /// other than 0x00/0x01, is `CannotDecodeSeed`. The network is the one the phrase encodes.
    pub fn from_phrase<S: AsRef<str>>(words: &[S]) -> Result<Seed, Fault> {
        let (bytes, spare) = words_to_bytes(words)?;
        match words.len() {
            V1_PHRASE_WORDS => match bytes.first() {
                Some(0 | 1) => Seed::assemble(1, &bytes),
                _ => Err(Fault::CannotDecodeSeed),
            },
            V2_PHRASE_WORDS if bytes.len() == V2_ENTROPY_LENGTH => {
                let mut secret = bytes;
                // The 4 bits left over become the high nibble of the 17th byte.
                secret.push(spare << 4);
                Seed::assemble(2, &secret)
            }
            _ => Err(Fault::InvalidRecoveryPhraseLength),
        }
    }
}

/// The words for `bytes`, 11 bits at a time; trailing bits short of a word are dropped.
fn bytes_to_words(bytes: &[u8]) -> Vec<&'static str> {
    let list = Language::English.word_list();
    let mut words = Vec::with_capacity(bytes.len() * 8 / BITS_PER_WORD as usize);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        if bits >= BITS_PER_WORD {
            bits -= BITS_PER_WORD;
            words.extend(list.get((acc >> bits) as usize));
            acc &= (1 << bits) - 1;
        }
    }
    words
}

/// The bytes a list of words writes, and the bits left over (fewer than 8, right-aligned).
/// Checks the word count first so a long list is rejected before any lookup.
fn words_to_bytes<S: AsRef<str>>(words: &[S]) -> Result<(Vec<u8>, u8), Fault> {
    if words.len() != V1_PHRASE_WORDS && words.len() != V2_PHRASE_WORDS {
        return Err(Fault::InvalidRecoveryPhraseLength);
    }
    let mut bytes = Vec::with_capacity(1 + V1_SECRET_LENGTH);
    let (mut acc, mut bits) = (0u32, 0u32);
    for word in words {
        let index = Language::English.find_word(word.as_ref()).ok_or(Fault::CannotDecodeSeed)?;
        acc = (acc << BITS_PER_WORD) | u32::from(index);
        bits += BITS_PER_WORD;
        while bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok((bytes, acc as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn v2_phrase_round_trips(entropy in any::<[u8; V2_ENTROPY_LENGTH]>(), testnet in any::<bool>()) {
            let s = Seed::new_v2(entropy, testnet).unwrap();
            let words = s.to_phrase();
            prop_assert_eq!(words.len(), V2_PHRASE_WORDS);
            prop_assert_eq!(Seed::from_phrase(&words), Ok(s));
        }

        #[test]
        fn v1_phrase_round_trips(secret in any::<[u8; V1_SECRET_LENGTH]>(), testnet in any::<bool>()) {
            let s = Seed::new_v1(secret, testnet).unwrap();
            let words = s.to_phrase();
            prop_assert_eq!(words.len(), V1_PHRASE_WORDS);
            prop_assert_eq!(Seed::from_phrase(&words), Ok(s));
        }

        #[test]
        fn from_phrase_is_total(words in proptest::collection::vec("[a-z]{3,8}", 0..30)) {
            let _ = Seed::from_phrase(&words);
        }
    }

    #[test]
    fn bad_phrases() {
        let s = Seed::new_v2([3; 16], false).unwrap();
        let mut words: Vec<&str> = s.to_phrase();
        assert_eq!(Seed::from_phrase(&words[..11]), Err(Fault::InvalidRecoveryPhraseLength));
        words[3] = "notaword";
        assert_eq!(Seed::from_phrase(&words), Err(Fault::CannotDecodeSeed));
        // 24 words whose first byte (the v1 network byte) is 0xff: "zoo" is index 2047.
        assert_eq!(Seed::from_phrase(&["zoo"; 24]), Err(Fault::CannotDecodeSeed));
    }
}
