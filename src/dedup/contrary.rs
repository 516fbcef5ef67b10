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
//! one template, word for word, but for **one** word swapped for its opposite (a pair of
//! [`OPPOSITES`], or a verb and its negated contraction: "will" / "won't") or one negation
//! put in ("not", "never"). An outlet that rewrites an agency's headline changes more
//! than that, or swaps a word for a synonym: "FTSE rises while Dow falls" / "FTSE gains, Dow
//! slips", "Woman and boy killed …" / "Mother and son killed …", "acquitted" / "found not
//! guilty", "Nobody injured" / "No one injured", "No 10" / "Number 10" all stay copies. (A
//! first version that asked only for opposite words anywhere in two alike headlines split
//! all of those, and long copies too: the review of session 53.) Long articles are left to
//! rule 3f, which reads their texts.

use crate::fingerprint::shingle::is_weak;

/// Words of opposite sense, one list each way, as fingerprint titles write them (lower
/// case): a headline with a word of one list where another has a word of the other, the rest
/// word for word the same, says the opposite.
const OPPOSITES: &[(&[&str], &[&str])] = &[
    (
        &[
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
            "slump",
            "slumps",
            "slumped",
            "retreat",
            "retreats",
            "retreated",
            "decrease",
            "decreases",
            "decreased",
            "loss",
            "losses",
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
    (&["alive"], &["dead"]),
    (&["profit", "profits"], &["loss", "losses"]),
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
    (
        &["raise", "raises", "raised", "hike", "hikes", "hiked"],
        &["cut", "cuts", "lowers", "lowered"],
    ),
    (&["lifts", "lifted"], &["imposes", "imposed"]),
];

/// A verb and its negated contraction: "will" / "won't".
const NEGATED: &[(&str, &str)] = &[
    ("will", "won't"),
    ("can", "can't"),
    ("can", "cannot"),
    ("do", "don't"),
    ("does", "doesn't"),
    ("did", "didn't"),
    ("is", "isn't"),
    ("are", "aren't"),
    ("was", "wasn't"),
    ("were", "weren't"),
    ("has", "hasn't"),
    ("have", "haven't"),
    ("had", "hadn't"),
    ("should", "shouldn't"),
    ("would", "wouldn't"),
    ("could", "couldn't"),
];

/// Whether `a` and `b`, in one place of two headlines otherwise word for word the same, say
/// opposite things: a pair of [`OPPOSITES`], or a verb and its negated contraction.
fn swapped(a: &str, b: &str) -> bool {
    OPPOSITES
        .iter()
        .any(|(x, y)| (x.contains(&a) && y.contains(&b)) || (y.contains(&a) && x.contains(&b)))
        || NEGATED
            .iter()
            .any(|&(v, n)| (a, b) == (v, n) || (a, b) == (n, v))
}

/// Whether the word `w` put into a headline negates it: "not" or "never". Not "no", which
/// names things as often as it negates them: a "no confidence vote" is the confidence vote,
/// "No 10" is Number 10.
fn negation(w: &str) -> bool {
    matches!(w, "not" | "never")
}

/// A headline's words in order.
fn words(t: &str) -> Vec<&str> {
    t.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\''))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether two fingerprint titles are one template saying opposite things (module docs):
/// word for word the same, with at least two strong words, but for one word swapped for its
/// opposite or one negation put in.
pub fn headlines_contradict(a: &str, b: &str) -> bool {
    let (wa, wb) = (words(a), words(b));
    let (short, long) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    if long.len() - short.len() > 1 {
        return false;
    }
    // the words both have at the start and at the end
    let (head, tail) = super::common_ends(short, long);
    let shared = short[..head]
        .iter()
        .chain(&short[short.len() - tail..])
        .filter(|w| !is_weak(w))
        .count();
    if shared < 2 {
        return false;
    }
    match (short.len() - head - tail, long.len() - head - tail) {
        // one word swapped
        (1, 1) => swapped(short[head], long[head]),
        // one word put in
        (0, 1) => negation(long[head]),
        _ => false,
    }
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
                "court upholds ban on protest",
                "court overturns ban on protest",
            ),
            (
                "firm will sell its chip unit",
                "firm won't sell its chip unit",
            ),
            ("missing climber found alive", "missing climber found dead"),
            (
                "retailer posts first-half profit",
                "retailer posts first-half loss",
            ),
            (
                "north korea fires missile into sea",
                "south korea fires missile into sea",
            ),
            (
                "eu lifts sanctions on belarus",
                "eu imposes sanctions on belarus",
            ),
        ] {
            assert!(headlines_contradict(a, b), "{a} / {b}");
            assert!(headlines_contradict(b, a), "{b} / {a}");
        }
    }

    #[test]
    fn rewritten_headlines_of_one_fact_do_not() {
        for (a, b) in [
            // the fact told the other way round
            ("dollar rises against yen", "yen falls against dollar"),
            (
                "brazil beats argentina in final",
                "argentina loses to brazil in final",
            ),
            (
                "madrid win champions league final",
                "dortmund lose champions league final",
            ),
            // the same sense both ways
            (
                "government survives confidence vote",
                "government wins confidence vote",
            ),
            (
                "government survives no-confidence vote",
                "government survives no confidence vote",
            ),
            // two moves in one headline, told in other words (the review's copies)
            ("ftse rises while dow falls", "ftse gains, dow slips"),
            (
                "fed cuts rates, raises inflation forecast",
                "fed lowers rates, lifts inflation forecast",
            ),
            (
                "woman and boy killed in leeds house fire",
                "mother and son killed in leeds house fire",
            ),
            (
                "man and woman die in m6 crash",
                "husband and wife die in m6 crash",
            ),
            (
                "middle east ceasefire talks resume in cairo",
                "west asia ceasefire talks resume in cairo",
            ),
            // a negation in other words, or no negation at all
            (
                "halvorsen acquitted of murder",
                "halvorsen found not guilty of murder",
            ),
            (
                "nobody injured in rotterdam plant fire",
                "no one injured in rotterdam plant fire",
            ),
            (
                "number 10 defends pm over gifts",
                "no 10 defends pm over gifts",
            ),
            (
                "fishing talks end without deal",
                "fishing talks end with no deal",
            ),
            (
                "storm darragh hits wales",
                "storm darragh hits wales, no injuries",
            ),
            (
                "kremlin denies report of putin illness",
                "kremlin dismisses report of putin illness",
            ),
            ("minister will not resign", "minister won't resign"),
            // the second review's copies: "no" naming a thing, a sale from both sides,
            // particles of phrasal verbs, motions of a person
            (
                "french government faces confidence vote",
                "french government faces no confidence vote",
            ),
            (
                "rare whisky sold at auction for record sum",
                "rare whisky bought at auction for record sum",
            ),
            (
                "fishing talks break down without deal",
                "fishing talks break up without deal",
            ),
            ("court winds up carillion", "court winds down carillion"),
            (
                "man dies after he falls from bridge",
                "man dies after he jumps from bridge",
            ),
            ("one injured in plant fire", "no one injured in plant fire"),
            // a weekday over time zones
            (
                "strong quake strikes off japan on monday",
                "strong quake strikes off japan on sunday",
            ),
            // too little shared to be a template
            ("man charged", "woman charged"),
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
