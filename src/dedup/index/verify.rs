//! Verification of one candidate before it folds: the number guard, the entity guard, the
//! sketch's Jaccard and containment, SimHash near-identity, and the time windows.

use super::record::{Entry, SHINGLES};
use super::Index;
use crate::fingerprint::{minhash, Fingerprint};

/// Figures of edit noise tolerated between same-size long items whose figures differ both ways
/// (see [`Index::verify`]). Measured on the Reuters long set (BENCHMARKS.md, issue 5, round
/// 5): a quarter of the figures (up to 6 on a daily table) let the next issue of a daily table
/// fold; a cap of 2 keeps every copy pair the quarter kept, a cap of 1 loses natural re-sends.
const SAME_SIZE_FIGURE_SLACK: u32 = 2;

/// Whether `e` was first seen at most `w` away from `at` (Unix seconds).
fn within(e: &Entry, at: i64, w: std::time::Duration) -> bool {
    let w = i64::try_from(w.as_secs()).unwrap_or(i64::MAX);
    at.saturating_sub(i64::from(e.at)).saturating_abs() <= w
}

/// Bits of `small` that are not in `large`.
#[inline]
fn extra_numbers(small: u64, large: u64) -> u32 {
    (small & !large).count_ones()
}

/// The entity guard (see [`crate::fingerprint::entities`]): the names of the lead must agree.
/// A copy keeps its original's names; a trimmed copy loses some and an edit may replace one,
/// so either one side's names are all in the other's, or each side has at most one name the
/// other lacks. A template story about another company, organisation or place has several on
/// both sides ("Comerica Inc" / "Meridian Bancorp Inc", SCO / ASEAN). An empty mask (title-only
/// items, caseless scripts, records of schema 2) is not checked.
pub(crate) fn entities_agree(a: u64, b: u64) -> bool {
    if a == 0 || b == 0 {
        return true;
    }
    let (ab, ba) = (extra_numbers(a, b), extra_numbers(b, a));
    ab == 0 || ba == 0 || (ab <= 1 && ba <= 1)
}

/// Verdict of verifying one candidate.
pub(super) struct Verdict {
    pub(super) score: f32,
    pub(super) jaccard: f32,
}

impl Index {
    /// Exact copies fold within `window`; near copies of short items only within
    /// `short_window` (see [`crate::dedup::DedupParams::short_window`]).
    pub(super) fn in_window(&self, e: &Entry, at: i64, exact: bool) -> bool {
        let w = if e.short() && !exact {
            self.params.window.min(self.params.short_window)
        } else {
            self.params.window
        };
        within(e, at, w)
    }

    /// Whether `e` was first seen more than `short_window` away from `at`: a long item that
    /// recurs a day later with a figure of its own is the next issue of a daily report, so its
    /// figures get no tolerance (see [`Index::verify`]).
    pub(super) fn late(&self, e: &Entry, at: i64) -> bool {
        !within(e, at, self.params.short_window)
    }

    /// Verification of a near-duplicate candidate (thresholds in
    /// [`crate::dedup::DedupParams`]).  Returns `None` when it must not fold.
    pub(super) fn verify(&self, fp: &Fingerprint, e: &Entry, at: i64) -> Option<Verdict> {
        if e.short() != fp.short || fp.shingles == 0 || e.shingles() == 0 {
            return None;
        }
        let p = &self.params;
        let (na, nb) = (fp.shingles.min(SHINGLES), e.shingles());
        let (small, large) = if na <= nb {
            (fp.sketch.numbers, e.numbers)
        } else {
            (e.numbers, fp.sketch.numbers)
        };
        // Figures of the smaller item must appear in the larger one (a
        // trimmed copy loses figures, it does not gain them).  Long items
        // tolerate a quarter of the smaller item's figures (rounded down,
        // after +1) and one more when the difference is explained: either
        // the larger item has no figure the smaller lacks (a pure addition
        // such as a dateline) or the sizes differ by more than 20% (a
        // trimmed copy).  Same-size texts whose figures differ both ways are
        // template stories ("20 new cases" / "11 new cases"): at most
        // `SAME_SIZE_FIGURE_SLACK` figures of edit noise, whatever their number
        // (a daily table of 25 figures, 6 of them new, is the next issue).  A
        // candidate first seen more than `short_window` away gets no tolerance:
        // a long item that recurs a day later with a figure of its own is the
        // next issue of a daily report.
        let extra = extra_numbers(small, large);
        let sizes_differ = (na.min(nb) as f32) < 0.8 * na.max(nb) as f32;
        let allowed = if fp.short || self.late(e, at) {
            0
        } else {
            let explained = extra_numbers(large, small) == 0 || sizes_differ;
            let quarter = (small.count_ones() + 1) / 4;
            if explained {
                quarter + 1
            } else {
                quarter.min(SAME_SIZE_FIGURE_SLACK)
            }
        };
        if extra > allowed {
            return None;
        }
        if !entities_agree(fp.entities, e.entities) {
            return None;
        }
        let sk_a = minhash::Sketch {
            bins: e.bins,
            anchors: e.anchors,
            anchor_len: 0,
            numbers: 0,
        };
        let j = minhash::jaccard(&fp.sketch, &sk_a);
        let c = minhash::containment(j, na, nb);
        let ok = if fp.short {
            let need = if na.min(nb) <= p.tiny_max_shingles {
                p.tiny_min_similarity
            } else {
                p.short_min_similarity
            };
            // a trimmed summary (a copy cut to its first sentences) is mostly contained
            j >= need || (c >= 0.85 && j >= 0.3 && na.min(nb) > p.tiny_max_shingles)
        } else {
            (j >= p.min_similarity && c >= p.min_containment)
                || (crate::fingerprint::hamming(fp.simhash, e.simhash) <= p.simhash_max_distance
                    && na.min(nb) as f32 >= 0.8 * na.max(nb) as f32)
        };
        ok.then_some(Verdict {
            score: if fp.short { j } else { c },
            jaccard: j,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::entities_agree;

    #[test]
    fn entity_guard_allows_subsets_and_one_swap_not_two() {
        assert!(entities_agree(0, 0b1111), "unknown is not checked");
        assert!(entities_agree(0b0111, 0b1111), "a trimmed copy");
        assert!(entities_agree(0b1111, 0b0111));
        assert!(entities_agree(0b1_0111, 0b0_1111), "one name replaced");
        assert!(!entities_agree(0b11_0011, 0b00_1111), "two names each way");
    }
}
