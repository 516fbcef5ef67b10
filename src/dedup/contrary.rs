//! Headlines that say the opposite over one template (rule 3g of `crate::fold`).
//!
//! A headline + summary item carries its fact in the headline: "Government survives
//! confidence vote" and "Government loses confidence vote" over one summary ("Parliament voted
//! on the motion on Tuesday …") are two outcomes, "Markets open higher" / "Markets open
//! lower" two days, "Senate votes to confirm nominee" / "Senate votes not to confirm nominee"
//! two votes. Their sketches match, their summaries agree, and their headlines differ by one
//! word each way, which [`crate::dedup::headlines_agree`] lets through as a copy's edit. Rule
//! 3f (long articles) asks that each headline word be stated by its own text, which a summary
//! that does not repeat the outcome never does.
//!
//! [`headlines_contradict`] keeps such pairs apart, and only them: the two headlines must be
//! one template (at least two strong words shared, in the same order, and at most one other
//! strong word differing each way), with either a pair of opposite words (one in each) or a
//! negation in one only. Shared words in another order are another sentence: "Dollar rises
//! against yen" / "Yen falls against dollar" is one fact, and folds.

use crate::fingerprint::shingle::is_weak;

/// Words of opposite sense, one list each way, as fingerprint titles write them (lower
/// case): a headline with a word of one list and another with a word of the other, over one
/// template, say opposite things.
const OPPOSITES: &[(&[&str], &[&str])] = &[
    (
        &[
            "up",
            "higher",
            "rise",
            "rises",
            "rose",
            "rising",
            "gain",
            "gains",
            "gained",
            "climb",
            "climbs",
            "climbed",
            "jump",
            "jumps",
            "jumped",
            "surge",
            "surges",
            "surged",
            "soar",
            "soars",
            "soared",
            "rally",
            "rallies",
            "rallied",
            "advance",
            "advances",
            "advanced",
            "increase",
            "increases",
            "increased",
        ],
        &[
            "down",
            "lower",
            "fall",
            "falls",
            "fell",
            "falling",
            "drop",
            "drops",
            "dropped",
            "decline",
            "declines",
            "declined",
            "slip",
            "slips",
            "slipped",
            "slide",
            "slides",
            "slid",
            "sink",
            "sinks",
            "sank",
            "tumble",
            "tumbles",
            "tumbled",
            "plunge",
            "plunges",
            "plunged",
            "retreat",
            "retreats",
            "retreated",
            "decrease",
            "decreases",
            "decreased",
        ],
    ),
    (
        &[
            "win",
            "wins",
            "won",
            "survive",
            "survives",
            "survived",
            "pass",
            "passes",
            "passed",
            "approve",
            "approves",
            "approved",
            "accept",
            "accepts",
            "accepted",
            "confirm",
            "confirms",
            "confirmed",
            "upholds",
            "upheld",
        ],
        &[
            "lose",
            "loses",
            "lost",
            "fail",
            "fails",
            "failed",
            "reject",
            "rejects",
            "rejected",
            "block",
            "blocks",
            "blocked",
            "veto",
            "vetoes",
            "vetoed",
            "overturns",
            "overturned",
        ],
    ),
    (&["guilty", "convicted"], &["acquitted", "innocent"]),
    (
        &[
            "man", "men", "boy", "boys", "father", "son", "husband", "brother",
        ],
        &[
            "woman", "women", "girl", "girls", "mother", "daughter", "wife", "sister",
        ],
    ),
    (
        &["open", "opens", "opened", "opening"],
        &["close", "closes", "closed", "closing"],
    ),
    (
        &["north", "northern", "northbound"],
        &["south", "southern", "southbound"],
    ),
    (
        &["east", "eastern", "eastbound"],
        &["west", "western", "westbound"],
    ),
    (&["buy", "buys", "bought"], &["sell", "sells", "sold"]),
    (
        &["raise", "raises", "raised", "hike", "hikes", "hiked"],
        &["cut", "cuts", "lowers", "lowered"],
    ),
];

/// Days of the week: two headlines of one template naming two of them are two days' issues.
const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Whether `w` negates: "not", "no", "never", "cannot", a contraction ("won't", "isn't"), or
/// a verb of denial ("Minister denies he will resign" is "… says he will not resign").
fn negation(w: &str) -> bool {
    matches!(
        w,
        "not"
            | "no"
            | "never"
            | "cannot"
            | "nor"
            | "deny"
            | "denies"
            | "denied"
            | "refuse"
            | "refuses"
            | "refused"
    ) || w.ends_with("n't")
}

/// Whether `a` and `b` are words of opposite sense ([`OPPOSITES`], [`WEEKDAYS`]).
fn opposite(a: &str, b: &str) -> bool {
    OPPOSITES
        .iter()
        .any(|(x, y)| (x.contains(&a) && y.contains(&b)) || (y.contains(&a) && x.contains(&b)))
        || (a != b && WEEKDAYS.contains(&a) && WEEKDAYS.contains(&b))
}

/// A headline's words in order, each once (its first time).
fn words(t: &str) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    for w in t.split_whitespace() {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        if !w.is_empty() && !v.contains(&w) {
            v.push(w);
        }
    }
    v
}

/// Whether two fingerprint titles are one template saying opposite things (module docs): at
/// least two strong words shared, in the same order; at most one other strong word differing
/// each way; and a pair of opposite words, one in each, or a negation in one only.
pub fn headlines_contradict(a: &str, b: &str) -> bool {
    let (wa, wb) = (words(a), words(b));
    let shared_a: Vec<&str> = wa.iter().copied().filter(|w| wb.contains(w)).collect();
    let shared_b: Vec<&str> = wb.iter().copied().filter(|w| wa.contains(w)).collect();
    if shared_a != shared_b || shared_a.iter().filter(|w| !is_weak(w)).count() < 2 {
        return false;
    }
    let only_a: Vec<&str> = wa.iter().copied().filter(|w| !wb.contains(w)).collect();
    let only_b: Vec<&str> = wb.iter().copied().filter(|w| !wa.contains(w)).collect();
    let pair = only_a
        .iter()
        .find_map(|x| only_b.iter().find(|y| opposite(x, y)).map(|y| (*x, *y)));
    let negated = only_a.iter().any(|w| negation(w)) != only_b.iter().any(|w| negation(w));
    if pair.is_none() && !negated {
        return false;
    }
    let others = |only: &[&str]| {
        only.iter()
            .filter(|w| {
                !is_weak(w) && !negation(w) && pair.is_none_or(|(x, y)| **w != x && **w != y)
            })
            .count()
    };
    others(&only_a) <= 1 && others(&only_b) <= 1
}

#[cfg(test)]
mod tests {
    use super::headlines_contradict;

    #[test]
    fn one_template_saying_opposite_things_contradicts() {
        for (a, b) in [
            (
                "government survives confidence vote",
                "government loses confidence vote",
            ),
            ("markets open higher", "markets open lower"),
            (
                "senate votes to confirm nominee",
                "senate votes not to confirm nominee",
            ),
            (
                "man charged over leeds stabbing",
                "woman charged over leeds stabbing",
            ),
            (
                "jury finds doctor guilty of fraud",
                "jury finds doctor not guilty of fraud",
            ),
            (
                "stocks open higher on wall street",
                "stocks close higher on wall street",
            ),
            (
                "council approves stadium plan",
                "council rejects stadium plan",
            ),
            (
                "live updates: markets on monday",
                "live updates: markets on tuesday",
            ),
            (
                "court upholds ban on protest",
                "court overturns ban on protest",
            ),
            (
                "firm will sell its chip unit",
                "firm won't sell its chip unit",
            ),
            // one more word differing each way besides the pair
            (
                "oil prices rise sharply in asia",
                "oil prices fall slightly in asia",
            ),
        ] {
            assert!(headlines_contradict(a, b), "{a} / {b}");
            assert!(headlines_contradict(b, a), "{b} / {a}");
        }
    }

    #[test]
    fn rewritten_headlines_of_one_fact_do_not() {
        for (a, b) in [
            // the shared words in another order: another sentence of one fact
            ("dollar rises against yen", "yen falls against dollar"),
            (
                "brazil beats argentina in final",
                "argentina loses to brazil in final",
            ),
            // the same sense both ways
            (
                "government survives confidence vote",
                "government wins confidence vote",
            ),
            (
                "government survives no-confidence vote",
                "government wins confidence vote",
            ),
            // nothing opposite
            (
                "government survives confidence vote",
                "cabinet survives confidence vote",
            ),
            // both negated, or the same outcome worded apart
            ("minister will not resign", "minister won't resign"),
            (
                "minister denies he will resign",
                "minister says he will not resign",
            ),
            // too little shared to be a template
            ("man charged", "woman charged"),
            (
                "stocks fall as oil climbs",
                "oil climbs on supply fears, stocks fall",
            ),
            // more than one other word differing
            (
                "oil prices rise as opec cuts output",
                "oil prices fall after us stockpiles grow",
            ),
        ] {
            assert!(!headlines_contradict(a, b), "{a} / {b}");
            assert!(!headlines_contradict(b, a), "{b} / {a}");
        }
    }
}
