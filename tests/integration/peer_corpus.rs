//! Every feed file of other projects' test suites (`../shared/corpus/peer/`) goes through
//! fetch (`file://`) + parse + normalize without a panic. Files that are not feeds (the
//! projects' expected-output JSON, licences) are expected to fail cleanly with a class.
//!
//! Prints how many files parsed and how many entries came out. Skipped, loudly, when the corpus
//! is absent.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wirefold::config::FetchConfig;
use wirefold::fetch::{Content, Fetcher, Validators};
use wirefold::normalize::{normalize, NormalizeOptions};
use wirefold::parse::parse_feed;

use crate::helpers::corpus;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn fetch_config() -> FetchConfig {
    FetchConfig {
        user_agent: "wirefold-test".into(),
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        max_body_bytes: 16 << 20,
        concurrency: std::num::NonZeroUsize::MIN,
        stall_timeout: Duration::from_secs(5),
        stall_min_bytes: 1,
        max_redirects: 5,
        permanent_redirect_polls: 3,
        per_host_concurrency: std::num::NonZeroUsize::MIN,
        per_host_spacing: Duration::ZERO,
        refuse_private_redirects: true,
        refuse_private_dns: true,
        private_hosts: Vec::new(),
    }
}

#[test]
fn peer_feed_files_fetch_parse_and_normalize_without_panics() {
    let Some(root) = corpus("peer") else {
        eprintln!("SKIPPED: ../shared/corpus/peer is absent; peer feed files not checked");
        return;
    };
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let fetcher = Fetcher::with_fixed_dns(&fetch_config(), std::collections::HashMap::new())
        .expect("fetcher");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let opts = NormalizeOptions::new(chrono::Utc::now());
    let (mut parsed, mut entries) = (0usize, 0usize);
    let mut failed: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut panics = Vec::new();
    let mut per_encoding: BTreeMap<&'static str, usize> = BTreeMap::new();
    // Per file extension: (files, parsed).
    let mut per_ext: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for path in &all {
        let ext = path
            .extension()
            .and_then(|x| x.to_str())
            .unwrap_or("-")
            .to_ascii_lowercase();
        per_ext.entry(ext.clone()).or_default().0 += 1;
        let url = url::Url::from_file_path(path).expect("absolute path");
        let body = match rt.block_on(fetcher.fetch(&url, &Validators::default())) {
            Ok(out) => match out.content {
                Content::Body { bytes, .. } => bytes,
                Content::NotModified => unreachable!("no validators were sent"),
            },
            Err(e) => {
                *failed.entry(e.class()).or_default() += 1;
                continue;
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            parse_feed(&body, url.as_str(), None).map(|feed| {
                for raw in &feed.entries {
                    let a = normalize(raw, &opts);
                    assert!(!a.key.is_empty());
                }
                (feed.entries.len(), feed.encoding)
            })
        }));
        match outcome {
            Ok(Ok((n, enc))) => {
                parsed += 1;
                entries += n;
                per_ext.entry(ext).or_default().1 += 1;
                *per_encoding.entry(enc).or_default() += 1;
            }
            Ok(Err(e)) => *failed.entry(e.class()).or_default() += 1,
            Err(_) => panics.push(path.display().to_string()),
        }
    }
    eprintln!(
        "peer corpus: {} files, {parsed} parsed into {entries} entries; not feeds or unreadable: {failed:?}; (files, parsed) by extension: {per_ext:?}; encodings: {per_encoding:?}",
        all.len()
    );
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    assert!(parsed > 700, "only {parsed} of {} files parsed", all.len());
}
