//! HTML -> plain text, and plain text -> fingerprint text.
//!
//! [`html_to_text`] is a single hand-written linear scan over the bytes: tags are skipped,
//! non-content elements (`script`, `style`, `nav`, `aside`, `figure`, ...) are dropped with
//! their content, block elements become paragraph breaks, entities are decoded by
//! `html-escape`. Double-escaped markup is handled by at most three further passes, so the
//! whole thing stays linear even on pathological input (unclosed tags, `<<<<`, deep nesting).
//!
//! [`fingerprint_text`] folds the surface differences wire copies pick up between outlets:
//! compatibility forms (NFKC), case, quote and dash styles, punctuation and spacing.
//!
//! The code is split by concern:
//! - `html`: the linear scan behind [`html_to_text`] (output builder, entity decoding,
//!   invisible and C1 characters);
//! - `markup`: what the scan recognises as markup (tag names and classes, comments, raw-text
//!   elements, escaped markup) and [`protect_bracketed_names`];
//! - `fptext`: [`fingerprint_text`] and its per-line folding tables.

mod fptext;
mod html;
mod markup;

pub(super) use fptext::lines;
pub use fptext::{fingerprint_text, fingerprint_text_into};
pub(crate) use html::is_bullet;
pub use html::{html_to_text, plain_to_text};
pub use markup::protect_bracketed_names;
