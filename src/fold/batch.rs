//! One store transaction's worth of fold decisions, and how to take back their index changes.

use crate::dedup::Index;
use crate::fingerprint::Fingerprint;
use crate::storage::{ArticleRecord, ChangeKind, CopyWrites, Counts, StoryRecord};

/// The writes of one batch, and how to take its index changes back if the write fails.
#[derive(Default)]
pub(super) struct Batch {
    /// Articles in decision order, with the change each records.
    pub(super) writes: Vec<(ArticleRecord, ChangeKind)>,
    /// Stories as the batch left them.
    pub(super) stories: std::collections::HashMap<u64, StoryRecord>,
    /// Copy records written (new copies, changed URLs, copies moved by a merge) and deleted.
    pub(super) copies: CopyWrites,
    /// Counters moved.
    pub(super) delta: Counts,
    /// Index changes, in order.
    pub(super) undo: Vec<Undo>,
    /// Stories merged into another in this batch: absorbed id -> surviving id.
    pub(super) merged: std::collections::HashMap<u64, u64>,
    /// Stored story records to delete (merged into another).
    pub(super) removed: Vec<u64>,
}

pub(super) enum Undo {
    /// A new article was indexed.
    Remove(u64),
    /// An indexed article moved to another story (a merge); its story before.
    SetStory { id: u64, story: u64 },
    /// An updated article's previous index entry.
    Restore {
        id: u64,
        story: u64,
        at: i64,
        fingerprint: Fingerprint,
    },
}

impl Batch {
    pub(super) fn undo(&mut self, index: &mut Index) {
        for u in self.undo.drain(..).rev() {
            match u {
                Undo::Remove(id) => index.remove(id),
                Undo::SetStory { id, story } => index.set_story(id, story),
                Undo::Restore {
                    id,
                    story,
                    at,
                    fingerprint,
                } => index.insert(id, story, &fingerprint, at),
            }
        }
    }
}
