//! Feed bytes -> parse -> normalize -> fingerprint: must never panic, and normalizing the
//! fingerprint text again must change nothing (idempotence).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirefold::fingerprint::{fingerprint, FingerprintInput, Script};
use wirefold::normalize::{fingerprint_text, normalize, NormalizeOptions};

fuzz_target!(|data: &[u8]| {
    let opts = NormalizeOptions::new(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    if let Ok(feed) = wirefold::parse::parse_feed(data, "http://fuzz.test/feed.xml", None) {
        for raw in &feed.entries {
            let a = normalize(raw, &opts);
            assert_eq!(fingerprint_text(&a.fp_text), a.fp_text);
            let _ = wirefold::fold::fingerprint_article(&a);
        }
    }
    // The same bytes as text straight into the text stages.
    let s = String::from_utf8_lossy(data);
    let t = wirefold::normalize::html_to_text(&s);
    let fp = fingerprint_text(&t);
    assert_eq!(fingerprint_text(&fp), fp);
    for script in [Script::Words, Script::Chars] {
        let _ = fingerprint(&FingerprintInput { title: "", text: &fp, script });
    }
});
