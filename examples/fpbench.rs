//! Micro-benchmark of `fingerprint` on 400-word texts.
use wirefold::fingerprint::{fingerprint, FingerprintInput, Script};
fn main() {
    let mut x = 0x1234_5678u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let vocab: Vec<String> = (0..50_000)
        .map(|_| {
            (0..3 + next() % 7)
                .map(|_| (b'a' + (next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    let texts: Vec<String> = (0..2000)
        .map(|_| {
            (0..400)
                .map(|_| vocab[(next() % 50_000) as usize].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let t0 = std::time::Instant::now();
    let mut acc = 0u64;
    for _ in 0..10 {
        for t in &texts {
            acc ^= fingerprint(&FingerprintInput {
                title: "",
                text: t,
                script: Script::Words,
            })
            .simhash;
        }
    }
    println!(
        "{:.2} us/doc ({acc:x})",
        t0.elapsed().as_secs_f64() * 1e6 / 20_000.0
    );
    let (mut h, mut f) = (Vec::new(), Vec::new());
    let t0 = std::time::Instant::now();
    for _ in 0..10 {
        for t in &texts {
            h.clear();
            f.clear();
            let mut numbers = 0u64;
            acc ^=
                wirefold::fingerprint::shingle::word_tokens(t, &mut h, &mut f, &mut numbers) as u64;
            acc ^= numbers;
        }
    }
    println!(
        "tokenize only: {:.2} us/doc ({acc:x})",
        t0.elapsed().as_secs_f64() * 1e6 / 20_000.0
    );
    let t0 = std::time::Instant::now();
    for _ in 0..10 {
        for t in &texts {
            for w in t.split(' ') {
                acc ^= xxhash_rust::xxh3::xxh3_64(w.as_bytes());
            }
        }
    }
    println!(
        "split+xxh3 only: {:.2} us/doc ({acc:x})",
        t0.elapsed().as_secs_f64() * 1e6 / 20_000.0
    );
}
