//! Feed bytes → parse → normalize → fingerprint: whatever a server sends must never panic,
//! hang or blow up memory (libFuzzer's -rss_limit_mb and -timeout enforce the last two).
#![no_main]

use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;
use wirefold::fold::fingerprint_article;
use wirefold::normalize::{normalize, NormalizeOptions};
use wirefold::parse::parse_feed;

fuzz_target!(|data: &[u8]| {
    // A fixed "now" keeps every run reproducible.
    let now = chrono::Utc.timestamp_opt(1_750_000_000, 0).unwrap();
    let opts = NormalizeOptions::new(now);
    if let Ok(feed) = parse_feed(data, "https://fuzz.example/feed.xml") {
        for raw in &feed.entries {
            let article = normalize(raw, &opts);
            let _ = fingerprint_article(&article);
        }
    }
});
