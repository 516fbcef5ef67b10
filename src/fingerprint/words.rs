//! The stop words and spelled-out number words of the tokenizer, and a table that finds
//! them by the token hash the tokenizer computes for every word anyway.

use std::sync::LazyLock;

use xxhash_rust::xxh3::xxh3_64;

/// English function words that carry no topical signal.  Only words of three
/// to seven letters are listed; shorter words are weak anyway.
pub(super) const STOP_WORDS: &[&[u8]] = &[
    b"the", b"and", b"for", b"are", b"was", b"were", b"has", b"have", b"had", b"its", b"but",
    b"not", b"you", b"his", b"her", b"she", b"they", b"them", b"their", b"this", b"that", b"these",
    b"those", b"with", b"from", b"into", b"onto", b"than", b"then", b"there", b"here", b"what",
    b"when", b"where", b"which", b"who", b"whom", b"whose", b"will", b"would", b"could", b"should",
    b"shall", b"may", b"might", b"must", b"can", b"been", b"being", b"also", b"said", b"says",
    b"say", b"about", b"after", b"before", b"over", b"under", b"more", b"most", b"some", b"such",
    b"only", b"other", b"our", b"out", b"all", b"any", b"per", b"via", b"while", b"did", b"does",
    b"just", b"very", b"both", b"each", b"because", b"between", b"through", b"during", b"against",
    b"among", b"upon", b"since", b"until", b"within", b"without", b"however", b"told",
];

/// Spelled-out number words and their digit forms, for [`super::shingle::number_mask`]: one to
/// nineteen and the tens to ninety (three to nine letters). "Fifteen people were killed" and
/// "Seventeen people were killed" are two reports, as "15" and "17" are.
pub(super) const NUMBER_WORDS: &[(&[u8], &[u8])] = &[
    (b"one", b"1"),
    (b"two", b"2"),
    (b"three", b"3"),
    (b"four", b"4"),
    (b"five", b"5"),
    (b"six", b"6"),
    (b"seven", b"7"),
    (b"eight", b"8"),
    (b"nine", b"9"),
    (b"ten", b"10"),
    (b"eleven", b"11"),
    (b"twelve", b"12"),
    (b"thirteen", b"13"),
    (b"fourteen", b"14"),
    (b"fifteen", b"15"),
    (b"sixteen", b"16"),
    (b"seventeen", b"17"),
    (b"eighteen", b"18"),
    (b"nineteen", b"19"),
    (b"twenty", b"20"),
    (b"thirty", b"30"),
    (b"forty", b"40"),
    (b"fifty", b"50"),
    (b"sixty", b"60"),
    (b"seventy", b"70"),
    (b"eighty", b"80"),
    (b"ninety", b"90"),
];

/// Slots of [`WordTable`] (a power of two, more than twice the number of words).
pub(super) const TABLE_SLOTS: usize = 512;

/// One word of [`WordTable`].
#[derive(Clone, Copy)]
pub(super) struct Special {
    word: &'static [u8],
    /// A stop word.
    pub(super) stop: bool,
    /// For a number word, the bit of its digit form in a number mask; else 0.
    pub(super) number: u64,
}

/// The stop words and number words keyed by their xxh3-64 token hash, so the tokenizer,
/// which hashes every word anyway, tests a word with one probe instead of comparing it
/// against the lists (open addressing, linear probing; a hash match is confirmed on the
/// bytes, so the answer is exactly the lists').
pub(super) struct WordTable {
    /// Token hash per slot; 0 marks an empty slot.
    hashes: [u64; TABLE_SLOTS],
    /// Index into `words` per occupied slot.
    index: [u8; TABLE_SLOTS],
    words: Vec<Special>,
}

impl WordTable {
    fn build() -> WordTable {
        let mut t = WordTable {
            hashes: [0; TABLE_SLOTS],
            index: [0; TABLE_SLOTS],
            words: Vec::new(),
        };
        let stops = STOP_WORDS.iter().map(|&w| Special {
            word: w,
            stop: true,
            number: 0,
        });
        let numbers = NUMBER_WORDS.iter().map(|&(w, d)| Special {
            word: w,
            stop: false,
            number: 1u64 << (xxh3_64(d) & 63),
        });
        for special in stops.chain(numbers) {
            // the lists are disjoint and hold far fewer words than slots (checked in tests)
            let h = xxh3_64(special.word);
            let mut i = (h as usize) & (TABLE_SLOTS - 1);
            while t.hashes[i] != 0 {
                i = (i + 1) & (TABLE_SLOTS - 1);
            }
            t.hashes[i] = h;
            t.index[i] = t.words.len() as u8;
            t.words.push(special);
        }
        t
    }

    /// The entry of `w` (whose token hash is `h`), if it is a stop or number word.
    #[inline]
    pub(super) fn get(&self, h: u64, w: &[u8]) -> Option<&Special> {
        let mut i = (h as usize) & (TABLE_SLOTS - 1);
        loop {
            let c = self.hashes[i];
            if c == 0 {
                return None;
            }
            if c == h {
                let e = &self.words[usize::from(self.index[i])];
                if e.word == w {
                    return Some(e);
                }
            }
            i = (i + 1) & (TABLE_SLOTS - 1);
        }
    }
}

pub(super) static WORDS: LazyLock<WordTable> = LazyLock::new(WordTable::build);

/// True for a stop word (see [`STOP_WORDS`]).
pub(super) fn is_stopword(w: &[u8]) -> bool {
    (3..=7).contains(&w.len()) && WORDS.get(xxh3_64(w), w).is_some_and(|e| e.stop)
}

/// The digit form of a spelled-out number word (see [`NUMBER_WORDS`]).
pub(super) fn number_word_digits(w: &[u8]) -> Option<&'static [u8]> {
    NUMBER_WORDS.iter().find(|(n, _)| *n == w).map(|&(_, d)| d)
}

/// The number-mask bit of a spelled-out number word (see [`NUMBER_WORDS`]), else 0.
pub(super) fn number_word_bit(w: &[u8]) -> u64 {
    if (3..=9).contains(&w.len()) {
        WORDS.get(xxh3_64(w), w).map_or(0, |e| e.number)
    } else {
        0
    }
}
