//! Word 3-gram hashes of a text, exactly as the long-item fingerprint forms them: for
//! comparing a headline + summary item with a long item's body (short → long), where the two
//! fingerprints live in different shingle spaces.

use super::shingle::{self, WEAK};

/// The distinct word 3-gram hashes of `text` (a fingerprint text), sorted: the shingles a long
/// item's fingerprint is made of (3-grams of weak words only are skipped).
pub fn trigrams(text: &str) -> Vec<u64> {
    let (mut t, mut f, mut numbers) = (Vec::new(), Vec::new(), 0u64);
    shingle::word_tokens(text, &mut t, &mut f, &mut numbers);
    let mut out: Vec<u64> = (0..t.len().saturating_sub(2))
        .filter(|&i| f[i] & f[i + 1] & f[i + 2] & WEAK == 0)
        .map(|i| shingle::tri(t[i], t[i + 1], t[i + 2]))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Share of `small` (sorted) found in `large` (sorted).
pub fn contained(small: &[u64], large: &[u64]) -> f32 {
    if small.is_empty() {
        return 0.0;
    }
    let hits = small
        .iter()
        .filter(|h| large.binary_search(h).is_ok())
        .count();
    hits as f32 / small.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_contained_in_its_full_text() {
        let full = "the board approved a plan to replace the four oldest ferries on the crossing\nthe contract went to a shipyard in the north";
        let summary = "the board approved a plan to replace the four oldest ferries";
        assert_eq!(contained(&trigrams(summary), &trigrams(full)), 1.0);
        assert!(
            contained(
                &trigrams("a shipyard in the south built ferries for the board"),
                &trigrams(full)
            ) < 0.5
        );
    }
}
