//! Unit and property tests of the fingerprints.

use super::*;
use proptest::prelude::*;

fn words(title: &str, text: &str) -> Fingerprint {
    fingerprint(&FingerprintInput {
        title,
        text,
        script: Script::Words,
    })
}

#[test]
fn hamming_distance() {
    assert_eq!(hamming(0, 0), 0);
    assert_eq!(hamming(0, u64::MAX), 64);
    assert_eq!(hamming(0b1011, 0b0110), 3);
}

const TEXT: &str = "the city council approved a plan on monday to rebuild the old harbour bridge, which has been closed to heavy traffic since cracks were found in two of its supporting piers last winter. engineers expect the work to take three years and cost about 40 million euros, most of it paid by the regional government. residents of the eastern districts, who face a detour of several kilometres, said the decision came far too late.";

#[test]
fn simhash_stable_and_deterministic() {
    let a = words("bridge", TEXT);
    let b = words("bridge", TEXT);
    assert_eq!(a, b);
    // pinned value: changing the shingling or hashing changes stored data
    assert_eq!(a.simhash, words("x", TEXT).simhash);
    assert!(!a.short);
    assert!(a.shingles > 40);
    let c = words("bridge", &TEXT.replace("monday", "tuesday"));
    assert!(hamming(a.simhash, c.simhash) < 16);
    assert_ne!(a.content, c.content);
}

#[test]
fn short_and_empty_inputs() {
    let s = words(
        "council approves bridge plan",
        "the harbour bridge will be rebuilt",
    );
    assert!(s.short);
    let e = words("", "");
    assert_eq!(e.shingles, 0);
    assert!(e.short);
    let t = words("council approves bridge plan", "");
    assert_eq!(
        t.content,
        xxhash_rust::xxh3::xxh3_128(b"council approves bridge plan")
    );
}

#[test]
fn chars_script() {
    let a = fingerprint(&FingerprintInput {
        title: "东京股市收盘上涨",
        text: "日经平均指数周一收盘上涨百分之一点二，受科技股带动。",
        script: Script::Chars,
    });
    assert!(a.short && a.shingles > 10);
}

#[test]
fn estimates() {
    let a = words("", TEXT);
    assert!((jaccard(&a.sketch, &a.sketch) - 1.0).abs() < 1e-6);
    assert!((containment(1.0, a.shingles, a.shingles) - 1.0).abs() < 1e-6);
    assert_eq!(containment(0.5, 0, 10), 0.0);
}

/// Distinct-shingle count through `Acc` in a scratch whose epoch starts at `epoch`, three
/// calls in a row (the stale stamps of earlier calls must read as empty).
fn acc_counts(hashes: &[u64], epoch: u32) -> Vec<u32> {
    let mut s = ShingleSet {
        epoch,
        ..ShingleSet::default()
    };
    (0..3)
        .map(|_| {
            let cap = (2 * hashes.len() + 16).next_power_of_two();
            let epoch = s.begin_set(cap);
            let mut acc = Acc::new(&mut s.set[..cap], &mut s.stamp[..cap], epoch);
            for &h in hashes {
                acc.add(h, 1, true);
            }
            acc.count
        })
        .collect()
}

#[test]
fn epoch_wrap_clears_the_stamps() {
    let mut s = ShingleSet {
        epoch: u32::MAX,
        stamp: vec![7; 64],
        set: vec![3; 64],
    };
    assert_eq!(s.begin_set(32), 1);
    assert!(s.stamp.iter().all(|&t| t == 0));
}

/// The cleared set the stamps replace: a zeroed table of `h | 1` keys probed from `h`.
fn cleared_set_count(hashes: &[u64]) -> u32 {
    let cap = (2 * hashes.len() + 16).next_power_of_two();
    let mut set = vec![0u64; cap];
    let mut count = 0;
    for &h in hashes {
        let key = h | 1;
        let mut i = (h as usize) & (cap - 1);
        loop {
            if set[i] == 0 {
                set[i] = key;
                count += 1;
                break;
            }
            if set[i] == key {
                break;
            }
            i = (i + 1) & (cap - 1);
        }
    }
    count
}

proptest! {
    /// The stamped set counts what the cleared set counted, across calls and epoch wraps.
    #[test]
    fn stamped_set_counts_as_the_cleared_set(
        hashes in proptest::collection::vec(0u64..64, 0..200),
        epoch in prop_oneof![Just(0u32), Just(u32::MAX - 1), Just(u32::MAX), any::<u32>()],
    ) {
        let want = cleared_set_count(&hashes);
        for got in acc_counts(&hashes, epoch) {
            prop_assert_eq!(got, want);
        }
    }


    #[test]
    fn never_panics_and_is_deterministic(title in ".{0,40}", text in ".{0,400}") {
        for script in [Script::Words, Script::Chars] {
            let input = FingerprintInput { title: &title, text: &text, script };
            let a = fingerprint(&input);
            let b = fingerprint(&input);
            prop_assert_eq!(&a, &b);
            prop_assert!(usize::from(a.sketch.anchor_len) <= ANCHORS);
            let j = jaccard(&a.sketch, &b.sketch);
            prop_assert!((0.0..=1.0).contains(&j));
        }
    }

    #[test]
    fn hamming_symmetric(a: u64, b: u64) {
        prop_assert_eq!(hamming(a, b), hamming(b, a));
        prop_assert_eq!(hamming(a, a), 0);
    }
}

/// Texts of 30-80 words that exercise the tokenizer's branches (see `shingle_tests`).
fn long_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            prop_oneof![
                "[a-z]{1,9}",
                Just("the".to_owned()),
                "[a-zA-Z0-9.,'()\"-]{1,8}",
                "[a-z\u{b}é\u{a0}\u{2003}ß.-]{1,6}",
                "[0-9]{1,4}",
            ],
            "[ \n\u{a0}]{1,2}",
        ),
        30..80,
    )
    .prop_map(|ws| ws.iter().map(|(w, sep)| format!("{w}{sep}")).collect())
}

#[test]
fn a_long_item_has_a_lead_a_short_one_none() {
    let input = FingerprintInput {
        title: "Bridge works approved",
        text: TEXT,
        script: Script::Words,
    };
    let (fp, lead_fp) = fingerprint_and_lead(&input);
    assert_eq!(fp, fingerprint(&input));
    assert_eq!(lead_fp, Some(fingerprint_lead(&input)));
    assert!(lead_fp.is_some_and(|l| l.short));
    let short = FingerprintInput {
        text: "the council approved the bridge plan",
        ..input
    };
    assert_eq!(fingerprint_and_lead(&short), (fingerprint(&short), None));
}

proptest! {
    /// One scan gives what the two computations give: the article's fingerprint, and the
    /// lead's as `fingerprint_lead` makes it from the lead's own text.
    #[test]
    fn fingerprint_and_lead_is_the_two_computed_apart(
        title in "[A-Za-z0-9 ,.é]{0,40}",
        text in long_text(),
        chars: bool,
    ) {
        let script = if chars { Script::Chars } else { Script::Words };
        let input = FingerprintInput { title: &title, text: &text, script };
        let (fp, lead_fp) = fingerprint_and_lead(&input);
        let want = fingerprint(&input);
        prop_assert_eq!(&fp, &want);
        prop_assert_eq!(lead_fp, (!want.short).then(|| fingerprint_lead(&input)));
    }
}
