//! PLACEHOLDER until the fingerprint module lands.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Words,
    Chars,
}
pub struct FingerprintInput<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub script: Script,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub content: u128,
    pub simhash: u64,
    pub shingles: u32,
    pub short: bool,
}
pub fn fingerprint(input: &FingerprintInput) -> Fingerprint {
    let body = if input.text.is_empty() {
        input.title
    } else {
        input.text
    };
    let words: Vec<&str> = body.split_whitespace().collect();
    let mut v = [0i32; 64];
    for w in words.windows(3.min(words.len().max(1))) {
        let h = xxhash_rust::xxh3::xxh3_64(w.join(" ").as_bytes());
        for (i, b) in v.iter_mut().enumerate() {
            if h >> i & 1 == 1 {
                *b += 1
            } else {
                *b -= 1
            }
        }
    }
    let mut s = 0u64;
    for (i, b) in v.iter().enumerate() {
        if *b > 0 {
            s |= 1 << i
        }
    }
    Fingerprint {
        content: xxhash_rust::xxh3::xxh3_128(body.as_bytes()),
        simhash: s,
        shingles: words.len() as u32,
        short: words.len() < 40,
    }
}
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}
