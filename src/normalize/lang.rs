//! Language and script detection.
//!
//! The script decides how the fingerprinter shingles: scripts written without spaces
//! between words (CJK, Thai and its neighbours) need character n-grams, the rest words.
//! The language comes from `whatlang` on a bounded sample of title + text when that is long
//! enough and the detection is reliable, else from the declared language.

use serde::{Deserialize, Serialize};

use super::swar;

/// Dominant writing system of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Script {
    /// Latin alphabet (including Turkic and Vietnamese letters).
    Latin,
    /// Cyrillic.
    Cyrillic,
    /// Arabic script (Arabic, Persian, Urdu, ...).
    Arabic,
    /// Greek.
    Greek,
    /// Hebrew.
    Hebrew,
    /// Brahmic scripts of South Asia (Devanagari, Bengali, Tamil, ...).
    Indic,
    /// Chinese, Japanese (kana) and Korean (Hangul).
    Cjk,
    /// Thai.
    Thai,
    /// Other scripts written without spaces between words (Lao, Khmer, Myanmar, Tibetan).
    OtherUnspaced,
    /// Anything else, or no letters at all.
    #[default]
    Other,
}

impl Script {
    /// Should fingerprints use character n-grams instead of word shingles?
    pub fn uses_char_ngrams(self) -> bool {
        matches!(self, Script::Cjk | Script::Thai | Script::OtherUnspaced)
    }

    /// Script of one character, `None` for non-letters and unknown scripts.
    pub fn of_char(c: char) -> Option<Script> {
        let u = c as u32;
        Some(match u {
            0x41..=0x5A | 0x61..=0x7A => Script::Latin,
            0x00C0..=0x024F
            | 0x0250..=0x02AF
            | 0x1E00..=0x1EFF
            | 0x2C60..=0x2C7F
            | 0xA720..=0xA7FF => {
                if c.is_alphabetic() {
                    Script::Latin
                } else {
                    return None;
                }
            }
            0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
            0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
                Script::Cyrillic
            }
            0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
            0x0600..=0x06FF
            | 0x0750..=0x077F
            | 0x08A0..=0x08FF
            | 0xFB50..=0xFDFF
            | 0xFE70..=0xFEFF => Script::Arabic,
            0x0900..=0x0DFF => Script::Indic,
            0x0E00..=0x0E7F => Script::Thai,
            0x0E80..=0x0FFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x19E0..=0x19FF => {
                Script::OtherUnspaced
            }
            0x1100..=0x11FF
            | 0x3040..=0x30FF
            | 0x3130..=0x318F
            | 0x31F0..=0x31FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA960..=0xA97F
            | 0xAC00..=0xD7AF
            | 0xF900..=0xFAFF
            | 0xFF66..=0xFF9F
            | 0x20000..=0x3134F => Script::Cjk,
            _ => {
                if c.is_alphabetic() {
                    Script::Other
                } else {
                    return None;
                }
            }
        })
    }
}

/// Bytes of title + text examined.
const SAMPLE: usize = 360;
/// Minimum letters in the sample for whatlang to be trusted.
const MIN_LETTERS: usize = 40;

/// Dominant script of `s` (first `SAMPLE * 4` chars). Unspaced scripts count double:
/// one CJK character carries about as much as a short word.
pub fn detect_script(s: &str) -> Script {
    let mut counts = [0usize; 10];
    count_scripts(s, SAMPLE * 4, &mut counts);
    dominant(&counts)
}

/// Number of ASCII letters among the 8 bytes of `w`, all of which are ASCII (high bits clear).
#[inline]
fn ascii_letters(w: u64) -> u32 {
    // Case folded (0x20 set in every byte), every letter lies in `a..=z` and no other ASCII
    // byte does.
    swar::in_range(w | (0x20 * 0x0101_0101_0101_0101), b'a', b'z').count_ones()
}

/// Adds the letters of the first `max_chars` chars of `s` to `counts`, by script (unspaced
/// scripts count double). ASCII (most of most feeds) is counted eight bytes at a time.
fn count_scripts(s: &str, max_chars: usize, counts: &mut [usize; 10]) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut left = max_chars;
    while left > 0 {
        if left >= 8 {
            if let Some(chunk) = b.get(i..i + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
                let w = u64::from_le_bytes(chunk);
                if w & swar::HIGH == 0 {
                    counts[Script::Latin as usize] += ascii_letters(w) as usize;
                    i += 8;
                    left -= 8;
                    continue;
                }
            }
        }
        let Some(&byte) = b.get(i) else { break };
        left -= 1;
        if byte.is_ascii() {
            if byte.is_ascii_alphabetic() {
                counts[Script::Latin as usize] += 1;
            }
            i += 1;
            continue;
        }
        let Some(c) = s.get(i..).and_then(|r| r.chars().next()) else {
            break;
        };
        i += c.len_utf8();
        if let Some(sc) = Script::of_char(c) {
            let w = if sc.uses_char_ngrams() { 2 } else { 1 };
            counts[sc as usize] += w;
        }
    }
}

/// The script with the most letters in `counts` (the first in a fixed order on ties),
/// [`Script::Other`] when there are none.
fn dominant(counts: &[usize; 10]) -> Script {
    let order = [
        Script::Latin,
        Script::Cyrillic,
        Script::Arabic,
        Script::Greek,
        Script::Hebrew,
        Script::Indic,
        Script::Cjk,
        Script::Thai,
        Script::OtherUnspaced,
        Script::Other,
    ];
    let mut best = Script::Other;
    let mut best_n = 0;
    for sc in order {
        if counts[sc as usize] > best_n {
            best_n = counts[sc as usize];
            best = sc;
        }
    }
    best
}

/// ISO 639-1 code for a whatlang language (639-3 when there is none).
fn iso639_1(lang: whatlang::Lang) -> &'static str {
    let code = lang.code();
    match code {
        "epo" => "eo",
        "eng" => "en",
        "rus" => "ru",
        "cmn" => "zh",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "ben" => "bn",
        "fra" => "fr",
        "deu" => "de",
        "ukr" => "uk",
        "kat" => "ka",
        "ara" => "ar",
        "hin" => "hi",
        "jpn" => "ja",
        "heb" => "he",
        "yid" => "yi",
        "pol" => "pl",
        "amh" => "am",
        "jav" => "jv",
        "kor" => "ko",
        "nob" => "nb",
        "dan" => "da",
        "swe" => "sv",
        "fin" => "fi",
        "tur" => "tr",
        "nld" => "nl",
        "hun" => "hu",
        "ces" => "cs",
        "ell" => "el",
        "bul" => "bg",
        "bel" => "be",
        "mar" => "mr",
        "kan" => "kn",
        "ron" => "ro",
        "slv" => "sl",
        "hrv" => "hr",
        "srp" => "sr",
        "mkd" => "mk",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "tam" => "ta",
        "vie" => "vi",
        "urd" => "ur",
        "tha" => "th",
        "guj" => "gu",
        "uzb" => "uz",
        "pan" => "pa",
        "aze" => "az",
        "ind" => "id",
        "tel" => "te",
        "pes" => "fa",
        "mal" => "ml",
        "ori" => "or",
        "mya" => "my",
        "nep" => "ne",
        "sin" => "si",
        "khm" => "km",
        "tuk" => "tk",
        "aka" => "ak",
        "zul" => "zu",
        "sna" => "sn",
        "afr" => "af",
        "lat" => "la",
        "slk" => "sk",
        "cat" => "ca",
        "tgl" => "tl",
        "hye" => "hy",
        "cym" => "cy",
        other => other,
    }
}

/// Normalizes a declared language tag (`en-US`, `EN_us`, `eng`) to its primary subtag in
/// lowercase (639-3 codes known to whatlang become 639-1). `None` if it is not a tag.
pub fn normalize_declared(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    if primary.len() == 3 {
        if let Some(l) = whatlang::Lang::from_code(primary.as_str()) {
            return Some(iso639_1(l).to_string());
        }
    }
    Some(primary)
}

/// Could text in `script` be written in the (normalized) language `lang`?
pub(super) fn script_fits(lang: &str, script: Script) -> bool {
    let expected: &[Script] = match lang {
        "ru" | "uk" | "bg" | "be" | "mk" | "kk" | "ky" | "mn" | "tg" | "tt" | "ba" | "cv"
        | "os" => &[Script::Cyrillic],
        "sr" | "az" | "uz" | "tk" | "bs" | "me" => &[Script::Latin, Script::Cyrillic],
        "ar" | "fa" | "ur" | "ps" | "ku" | "ckb" | "sd" | "ug" | "prs" => &[Script::Arabic],
        "zh" | "ja" | "ko" | "cmn" | "yue" => &[Script::Cjk],
        "th" => &[Script::Thai],
        "lo" | "km" | "my" | "bo" | "dz" => &[Script::OtherUnspaced],
        "el" => &[Script::Greek],
        "he" | "yi" | "iw" => &[Script::Hebrew],
        "hi" | "mr" | "ne" | "bn" | "ta" | "te" | "kn" | "ml" | "gu" | "pa" | "or" | "si"
        | "as" | "sa" => &[Script::Indic],
        "ka" | "hy" | "am" | "ti" => &[Script::Other],
        _ => &[Script::Latin],
    };
    expected.contains(&script)
}

/// Detects `(language, script)` from the display title and text.
///
/// A declared language that fits the detected script is trusted as is: whatlang has a
/// fixed cost of ~40 µs per call (it scores every language of the script), which would
/// dominate normalization. Otherwise whatlang runs on a bounded sample of title + text when
/// it holds enough letters, and its answer is used when reliable; failing that the declared
/// language (if any) is returned. Callers without a declared language can pass a language
/// detected once per feed to keep the fast path.
pub fn detect(title: &str, text: &str, declared: Option<&str>) -> (Option<String>, Script) {
    use super::boilerplate::floor_boundary;
    // The sample is `head + ". " + tail`; its script is counted on the two parts (both end
    // on char boundaries and hold far fewer than `SAMPLE * 4` chars, so the counts are
    // those of the joined sample), which is only built when whatlang needs it.
    let head = &title[..floor_boundary(title, SAMPLE / 3)];
    let room = SAMPLE.saturating_sub(head.len() + 2);
    let tail = &text[..floor_boundary(text, room)];
    let mut counts = [0usize; 10];
    count_scripts(head, SAMPLE * 4, &mut counts);
    count_scripts(tail, SAMPLE * 4, &mut counts);
    let script = dominant(&counts);

    let declared = declared.and_then(normalize_declared);
    if let Some(d) = &declared {
        if script_fits(d, script) {
            return (declared, script);
        }
    }
    let mut sample = String::with_capacity(SAMPLE + 8);
    sample.push_str(head);
    sample.push_str(". ");
    sample.push_str(tail);
    let letters = sample.chars().filter(|c| c.is_alphabetic()).count();
    let min = if script.uses_char_ngrams() {
        MIN_LETTERS / 3
    } else {
        MIN_LETTERS
    };
    if letters >= min {
        if let Some(info) = whatlang::detect(&sample) {
            if info.is_reliable() {
                return (Some(iso639_1(info.lang()).to_string()), script);
            }
        }
    }
    // Unsure: a language the feed declares is its word. (A stand-in detected on a poll's
    // first item is checked against the item's script by `FeedLanguage`.)
    (declared, script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts() {
        assert_eq!(
            detect_script("Azərbaycan və ŞƏT əməkdaşlığı"),
            Script::Latin
        );
        assert_eq!(detect_script("Москва заявила"), Script::Cyrillic);
        assert_eq!(detect_script("باكو أذربيجان"), Script::Arabic);
        assert_eq!(
            detect_script("北京新闻发布会今天举行 with some English"),
            Script::Cjk
        );
        assert_eq!(detect_script("東京のニュース"), Script::Cjk);
        assert_eq!(detect_script("서울 뉴스"), Script::Cjk);
        assert_eq!(detect_script("ข่าวกรุงเทพ"), Script::Thai);
        assert_eq!(detect_script("नई दिल्ली"), Script::Indic);
        assert_eq!(detect_script("1234 !!"), Script::Other);
        assert!(Script::Cjk.uses_char_ngrams() && Script::Thai.uses_char_ngrams());
        assert!(!Script::Latin.uses_char_ngrams() && !Script::Arabic.uses_char_ngrams());
    }

    #[test]
    fn ascii_letters_are_counted_eight_at_a_time_as_one_by_one() {
        let all: Vec<u8> = (0u8..128).collect();
        for chunk in all.windows(8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let naive = chunk.iter().filter(|b| b.is_ascii_alphabetic()).count();
            assert_eq!(ascii_letters(w) as usize, naive, "{chunk:?}");
        }
        // The char budget binds mid-chunk and after non-ASCII text alike.
        let mixed = "Москва said; ".repeat(200) + &"abc1 ".repeat(400);
        for s in [mixed.as_str(), &"xyz ".repeat(500), &"й a".repeat(700)] {
            let mut counts = [0usize; 10];
            count_scripts(s, SAMPLE * 4, &mut counts);
            let sample: String = s.chars().take(SAMPLE * 4).collect();
            let latin = sample.chars().filter(char::is_ascii_alphabetic).count();
            let cyrillic = sample
                .chars()
                .filter(|c| ('а'..='я').contains(c) || ('А'..='Я').contains(c))
                .count();
            assert_eq!((counts[0], counts[1]), (latin, cyrillic));
        }
    }

    #[test]
    fn declared_tags() {
        assert_eq!(normalize_declared("en-us").as_deref(), Some("en"));
        assert_eq!(normalize_declared("EN_gb").as_deref(), Some("en"));
        assert_eq!(normalize_declared("aze").as_deref(), Some("az"));
        assert_eq!(normalize_declared("x"), None);
        assert_eq!(normalize_declared("english"), None);
        assert_eq!(normalize_declared(""), None);
    }

    #[test]
    fn detection_and_fallback() {
        let en = "The delegation met the secretary general of the organization in the capital on Monday and discussed cooperation in several fields.";
        assert_eq!(detect("Talks held", en, None).0.as_deref(), Some("en"));
        // A declared language that fits the script is trusted; one that does not is replaced.
        assert_eq!(
            detect("Talks held", en, Some("fr")).0.as_deref(),
            Some("fr")
        );
        assert_eq!(
            detect("Talks held", en, Some("ru")).0.as_deref(),
            Some("en")
        );
        let ru = "Делегация встретилась с генеральным секретарём организации в столице в понедельник и обсудила сотрудничество.";
        assert_eq!(
            detect("", ru, None),
            (Some("ru".to_string()), Script::Cyrillic)
        );
        // Too short: declared wins.
        assert_eq!(detect("Hi", "", Some("de-AT")).0.as_deref(), Some("de"));
        assert_eq!(detect("", "", None), (None, Script::Other));
        // Its own letters among more of another script: kept.
        for (title, lang) in [
            ("Apple、iPhone 16を発表", "ja"),
            ("Samsung Galaxy S25 공개", "ko"),
            ("Apple发布iPhone 16", "zh"),
        ] {
            assert_eq!(
                detect(title, "", Some(lang)).0.as_deref(),
                Some(lang),
                "{title}"
            );
        }
    }
}
