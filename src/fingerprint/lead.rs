//! Word 3-gram hashes of a text, exactly as the long-item fingerprint forms them: for
//! comparing a headline + summary item with a long item's body (short → long), where the two
//! fingerprints live in different shingle spaces. Also the summary view of a headline + summary
//! item ([`Summary`]), for comparing two such items by their summaries alone (short → short on
//! the summary, `crate::fold` rule 3c).

use super::shingle::{self, WEAK};
use super::Script;

/// The distinct 3-gram hashes of `text` (a fingerprint text), sorted: the shingles a long
/// item's fingerprint is made of in `script` — word 3-grams (those of weak words only are
/// skipped), or character 3-grams for [`Script::Chars`].
pub fn trigrams(text: &str, script: Script) -> Vec<u64> {
    Summary::new(text, script).trigrams
}

/// The summary of a headline + summary item (its fingerprint text, without the headline) as
/// rule 3c compares it.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Word hashes in text order (character hashes for [`Script::Chars`]).
    pub words: Vec<u64>,
    /// Each word's flags (as the tokenizer gives them: weak, number), for [`Summary::bigrams`].
    pub flags: Vec<u8>,
    /// Distinct 3-gram hashes, sorted (as [`trigrams`]).
    pub trigrams: Vec<u64>,
    /// For [`Script::Chars`], the character 3-gram hashes in text order, repeats kept (rule
    /// 3b's order check, [`crate::dedup::held_as_written`]); empty for words.
    pub ordered: Vec<u64>,
    /// Number mask of the summary's figures (as the fingerprint's).
    pub numbers: u64,
    /// Number mask of the headline's figures.
    pub headline_numbers: u64,
    /// Hash of its first word that is not weak (a stop word or a word of one or two letters;
    /// 0 when none): the subject a wire copy keeps and a template item about another company
    /// changes ("sun co said it raised the contract price ..." / "diamond shamrock said ...").
    /// 0 for [`Script::Chars`].
    pub first: u64,
}

impl Summary {
    /// The summary view of an item's fingerprint title and text, tokenized for `script`.
    pub fn of_item(title: &str, text: &str, script: Script) -> Self {
        let mut numbers = 0u64;
        match script {
            Script::Words => {
                let (mut t, mut f) = (Vec::new(), Vec::new());
                shingle::word_tokens(title, &mut t, &mut f, &mut numbers);
            }
            Script::Chars => shingle::number_mask(title, &mut numbers),
        }
        Summary {
            headline_numbers: numbers,
            ..Summary::new(text, script)
        }
    }

    /// The summary view of a fingerprint text (no headline), tokenized for `script`.
    pub fn new(text: &str, script: Script) -> Self {
        if script == Script::Chars {
            return Self::of_chars(text);
        }
        let (mut t, mut f, mut numbers) = (Vec::new(), Vec::new(), 0u64);
        shingle::word_tokens(text, &mut t, &mut f, &mut numbers);
        let tris: Vec<u64> = (0..t.len().saturating_sub(2))
            .filter(|&i| f[i] & f[i + 1] & f[i + 2] & WEAK == 0)
            .map(|i| shingle::tri(t[i], t[i + 1], t[i + 2]))
            .collect();
        let first = t
            .iter()
            .zip(&f)
            .find(|(_, &fl)| fl & WEAK == 0)
            .map_or(0, |(&h, _)| h);
        Self::of_tokens(t, f, tris, numbers, first)
    }

    /// [`Summary::new`] for a text without word spaces: one token per character, and the
    /// character 3-grams hashed as a long [`Script::Chars`] item's shingles are.
    fn of_chars(text: &str) -> Self {
        let (mut t, mut f, mut numbers) = (Vec::new(), Vec::new(), 0u64);
        shingle::char_tokens(text, &mut t, &mut f);
        shingle::number_mask(text, &mut numbers);
        let ordered: Vec<u64> = t.windows(3).map(shingle::chars).collect();
        Summary {
            ordered: ordered.clone(),
            ..Self::of_tokens(t, f, ordered, numbers, 0)
        }
    }

    /// The summary of tokens `words` (their `flags`), its 3-grams `tris` (sorted and made
    /// distinct here), figures and first strong word.
    fn of_tokens(
        words: Vec<u64>,
        flags: Vec<u8>,
        mut tris: Vec<u64>,
        numbers: u64,
        first: u64,
    ) -> Self {
        tris.sort_unstable();
        tris.dedup();
        Summary {
            words,
            flags,
            trigrams: tris,
            ordered: Vec::new(),
            numbers,
            headline_numbers: 0,
            first,
        }
    }

    /// The distinct word-bigram hashes of the summary's text, sorted: the shingles a headline +
    /// summary item's anchors are chosen from (bigrams of weak words only are skipped), for
    /// looking up short items by their anchors.
    pub fn bigrams(&self) -> Vec<u64> {
        let (t, f) = (&self.words, &self.flags);
        let mut out: Vec<u64> = (0..t.len().saturating_sub(1))
            .filter(|&i| f[i] & f[i + 1] & WEAK == 0)
            .map(|i| shingle::bi(t[i], t[i + 1]))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The longest run of words `a` and `b` share: `(length, start in a, start in b)` in words
/// (dynamic programming over the two sequences, one row kept: summaries have at most a few
/// dozen words).
pub fn longest_run(a: &[u64], b: &[u64]) -> (usize, usize, usize) {
    let mut row = vec![0usize; b.len() + 1];
    let mut best = (0, 0, 0);
    for (i, &x) in a.iter().enumerate() {
        let mut diag = 0;
        for (j, &y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { 0 };
            let n = row[j + 1];
            if n > best.0 {
                best = (n, i + 1 - n, j + 1 - n);
            }
            diag = up;
        }
    }
    best
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

    const W: Script = Script::Words;

    #[test]
    fn a_summary_is_contained_in_its_full_text() {
        let full = "the board approved a plan to replace the four oldest ferries on the crossing\nthe contract went to a shipyard in the north";
        let summary = "the board approved a plan to replace the four oldest ferries";
        assert_eq!(contained(&trigrams(summary, W), &trigrams(full, W)), 1.0);
        assert!(
            contained(
                &trigrams("a shipyard in the south built ferries for the board", W),
                &trigrams(full, W)
            ) < 0.5
        );
    }

    #[test]
    fn the_longest_shared_run_counts_words_in_order() {
        let a = Summary::new(
            "meet your new but shy galactic neighbour a black hole left over",
            W,
        );
        let b = Summary::new(
            "a black hole left over from the death of a star meet your new",
            W,
        );
        // "a black hole left over"
        assert_eq!(longest_run(&a.words, &b.words), (5, 7, 0));
        assert_eq!(longest_run(&a.words, &[]).0, 0);
        assert_eq!(longest_run(&a.words, &a.words), (a.words.len(), 0, 0));
        assert_eq!(a.first, Summary::new("the meet", W).first);
    }
}
