//! Schema migrations: how an older store is brought up to [`SCHEMA_VERSION`] on open.
//!
//! Each [`Migration`] moves the store from one version to the next. It only *reads* the
//! store and returns its writes as a [`Plan`]; the framework then applies the plan and the new
//! version number in **one** sled transaction, so after a crash a step is either wholly done
//! (version bumped) or not at all (version unchanged, and the step runs again on the next
//! open). Steps run in order, one version at a time, and the store is flushed after each.
//!
//! To change the layout: bump [`SCHEMA_VERSION`], append a migration whose `from` is the old
//! version, and add a test that opens a store of the old version.
//!
//! | from → to | what |
//! |---|---|
//! | 1 → 2 | the tombstone trees start empty (it also filled `firstseen_articleid`, retention's time order, from the articles, until 3 → 4 retired that tree) |
//! | 2 → 3 | `Fingerprint::entities` (the entity mask) and `StoryRecord::merged_from`: rewrites every `articleid_index` record with the mask recomputed from the article's stored title and text; article and story records keep the schema-2 layout until they change and are read with the new fields at their defaults (see `legacy.rs`) |
//! | 3 → 4 | drops `firstseen_articleid`: retention reads the time order from `articleid_index` (ids grow with first sighting, the records carry it), one tree insert less per stored article |
//! | 4 → 5 | `ChangeKind::Deleted` in the change log (nothing rewritten) |
//! | 5 → 6 | a story record keeps at most `INLINE_COPIES` (16) copies, the others go to `storyarticle_copy`, one record per copy under (story, article); `copy_count` is appended. A copy joining a story rewrote the whole list, so a story of n copies cost O(n²) bytes written and read. Nothing is rewritten: an older record is read with all its copies inside (see `legacy.rs`), and copies joining it from then on go to the tree |
//! | 6 → 7 | `SourceState::unchanged_bodies`, appended: polls whose body held the entries the source's last folded poll held. Nothing is rewritten: an older state reads with the count at 0 (see `legacy.rs`) |
//! | 7 → 8 | `SourceState::last_new`, appended: when a poll last stored an article new to the source. Nothing is rewritten: an older state reads with it unknown (see `legacy.rs`) |
//! | 8 → 9 | `SourceState::host_pause`, appended: the pause the source's server asked of its host (`Retry-After`), resumed at a start. Nothing is rewritten: an older state reads without one (see `legacy.rs`) |
//! | 9 → 10 | `SourceState::redirect_host`, appended: the other host a temporary redirect took the source's last poll to, whose limits bind its polls, resumed at a start. Nothing is rewritten: an older state reads without one (see `legacy.rs`) |
//! | 10 → 11 | `SourceState::last_full_poll`, appended: when a poll of the source was last folded in full. Nothing is rewritten: an older state reads without it (see `legacy.rs`) |
//! | 11 → 12 | a restore's `id_offset` and `restored_gaps` in `meta` (nothing rewritten): a schema-11 wirefold would ignore the offset and hand out ids below the store's, and leave `ids.line` behind them |
//!
//! Two steps also record where the change log was pruned, which wirefold did not record
//! before `KEY_PRUNED_THROUGH` (within schema 8): without it a change-feed cursor from before
//! the pruned changes read as current (`200` with no deletions) instead of `410
//! cursor_expired`. 8 → 9 records the log's first remaining position less one, when no line
//! is recorded: every cursor a client holds was a logged position, so only one from before
//! pruned changes lies below it. 4 → 5 records the log's end when retention had deleted
//! articles (tombstones): schema 4 did not log deletions, so every cursor of before the
//! upgrade may have missed some.
//!
//! A tree a step retires ([`Plan::retire`]) is dropped after the version is bumped; sled
//! cannot drop a tree inside a transaction, so a crash in between leaves it behind, and every
//! open drops the [`RETIRED`] trees still there.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use tracing::info;

use super::SCHEMA_VERSION;
use super::{
    decode, id_from, ArticleRecord, IndexRecord, Result, StoreError, Trees, KEY_PRUNED_THROUGH,
    KEY_SCHEMA,
};

/// Trees of older schemas that the current one no longer has.
pub(super) const RETIRED: &[&str] = &[FIRST_SEEN];

/// Schemas 2 and 3: first sighting (ms) ++ article id, both big-endian → nothing.
const FIRST_SEEN: &str = "firstseen_articleid";

/// One step from version `from` to `from + 1`.
pub(super) struct Migration {
    /// The version it upgrades.
    pub from: u32,
    /// What it does, for the log.
    pub what: &'static str,
    /// Reads the store and returns the writes to make.
    pub plan: fn(&Trees) -> Result<Plan>,
}

/// Writes of one migration step, per tree (by name).
#[derive(Default)]
pub(super) struct Plan {
    trees: Vec<(&'static str, sled::Batch)>,
    /// Writes to the `meta` tree, which holds the version (and is written in the same
    /// transaction).
    meta: Vec<(&'static [u8], Vec<u8>)>,
    writes: usize,
    /// Trees dropped once the version is bumped.
    retired: Vec<&'static str>,
}

impl Plan {
    /// Inserts `key → value` into tree `tree`.
    pub fn insert(&mut self, tree: &'static str, key: &[u8], value: &[u8]) {
        self.batch(tree).insert(key, value);
        self.writes += 1;
    }

    /// Sets `key` of the `meta` tree to `value`.
    pub fn meta(&mut self, key: &'static [u8], value: &[u8]) {
        self.meta.push((key, value.to_vec()));
        self.writes += 1;
    }

    /// Drops tree `tree` after the step (it must be listed in [`RETIRED`] too).
    pub fn retire(&mut self, tree: &'static str) {
        self.retired.push(tree);
    }

    fn batch(&mut self, tree: &'static str) -> &mut sled::Batch {
        let at = match self.trees.iter().position(|(t, _)| *t == tree) {
            Some(i) => i,
            None => {
                self.trees.push((tree, sled::Batch::default()));
                self.trees.len() - 1
            }
        };
        &mut self.trees[at].1
    }
}

/// Every migration, in order.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 1,
        what: "index articles by first sighting for retention",
        plan: v1_to_v2,
    },
    Migration {
        from: 2,
        what: "entity masks in the index records",
        plan: v2_to_v3,
    },
    Migration {
        from: 3,
        what: "retention order read from the index records",
        plan: v3_to_v4,
    },
    Migration {
        from: 4,
        what: "deletions in the change log",
        plan: v4_to_v5,
    },
    Migration {
        from: 5,
        what: "a story's copies beyond its first 16 in a tree of their own",
        plan: v5_to_v6,
    },
    Migration {
        from: 6,
        what: "each source counts the bodies it sent unchanged",
        plan: v6_to_v7,
    },
    Migration {
        from: 7,
        what: "each source records when it last sent a new article",
        plan: v7_to_v8,
    },
    Migration {
        from: 8,
        what: "each source records the pause its server asked of its host",
        plan: v8_to_v9,
    },
    Migration {
        from: 9,
        what: "each source records the host a temporary redirect takes it to",
        plan: v9_to_v10,
    },
    Migration {
        from: 10,
        what: "each source records when a poll of it was last folded in full",
        plan: v10_to_v11,
    },
    Migration {
        from: 11,
        what: "a restore's id offset and skipped ids are kept in meta",
        plan: v11_to_v12,
    },
];

/// Drops the [`RETIRED`] trees still in the store (a crash right after the step that retired
/// one). Called on every open of a current store.
pub(super) fn drop_retired(store: &Trees) -> Result<()> {
    let names = store.db.tree_names();
    for name in RETIRED {
        if names.iter().any(|n| n.as_ref() == name.as_bytes()) {
            store.db.drop_tree(name)?;
            info!(tree = name, "dropped a tree the schema no longer uses");
        }
    }
    Ok(())
}

/// Applies the migrations from `found` up to [`SCHEMA_VERSION`].
pub(super) fn migrate(store: &Trees, shown: &str, found: u32) -> Result<()> {
    migrate_with(store, shown, found, SCHEMA_VERSION, MIGRATIONS)
}

fn migrate_with(
    store: &Trees,
    shown: &str,
    found: u32,
    target: u32,
    migrations: &[Migration],
) -> Result<()> {
    let mut version = found;
    while version < target {
        let Some(step) = migrations.iter().find(|m| m.from == version) else {
            return Err(StoreError::Schema {
                path: shown.to_owned(),
                found: format!("{version} (no migration from it to {target})"),
            });
        };
        let plan = (step.plan)(store)?;
        let next = version + 1;
        let mut trees = vec![store.meta.clone()];
        for (name, _) in &plan.trees {
            trees.push(store.db.open_tree(name)?);
        }
        let refs: Vec<&sled::Tree> = trees.iter().collect();
        refs.as_slice()
            .transaction(|views| {
                for ((_, batch), view) in plan.trees.iter().zip(&views[1..]) {
                    view.apply_batch(batch)?;
                }
                for (key, value) in &plan.meta {
                    views[0].insert(*key, value.as_slice())?;
                }
                views[0].insert(KEY_SCHEMA, &next.to_be_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)?;
        for name in &plan.retired {
            store.db.drop_tree(name)?;
        }
        store.db.flush()?;
        info!(
            store = shown,
            from = version,
            to = next,
            writes = plan.writes,
            "store migrated: {}",
            step.what
        );
        version = next;
    }
    Ok(())
}

/// 1 → 2: the tombstone trees start empty; the `firstseen_articleid` keys it used to write are
/// not written any more, since 3 → 4 drops that tree.
fn v1_to_v2(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 3 → 4: `firstseen_articleid` goes; nothing else changes.
fn v3_to_v4(_: &Trees) -> Result<Plan> {
    let mut plan = Plan::default();
    plan.retire(FIRST_SEEN);
    Ok(plan)
}

/// Schema 5 adds [`super::ChangeKind::Deleted`] to the change log: nothing to rewrite, but a
/// wirefold of schema 4 could not decode the new entries, so the version moves. When
/// retention deleted articles (tombstones), which schema 4 did not log, the log's end is
/// recorded as pruned: a cursor of before the upgrade may have missed deletions.
fn v4_to_v5(store: &Trees) -> Result<Plan> {
    let mut plan = Plan::default();
    if !store.tombstones.is_empty() {
        if let Some(last) = store.last_change()? {
            plan.meta(KEY_PRUNED_THROUGH, &last.saturating_add(1).to_be_bytes());
        }
    }
    Ok(plan)
}

/// 5 → 6: nothing to rewrite: an older story record reads as one whose copies all fit in it
/// (`legacy.rs`). The version moves because a wirefold of schema 5 would read a new record
/// without the copies beyond it.
fn v5_to_v6(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 6 → 7: nothing to rewrite: an older source state reads with `unchanged_bodies` at 0
/// (`legacy.rs`) and is written in the new layout after the source's next poll. The version
/// moves because the record's shape changed.
fn v6_to_v7(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 7 → 8: nothing to rewrite: an older source state reads with `last_new` unknown
/// (`legacy.rs`) and is written in the new layout after the source's next poll.
fn v7_to_v8(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 8 → 9: nothing to rewrite: an older source state reads without a host pause
/// (`legacy.rs`) and is written in the new layout after the source's next poll. Where the
/// change log was pruned is recorded when it is not (see the module).
fn v8_to_v9(store: &Trees) -> Result<Plan> {
    let mut plan = Plan::default();
    if store.pruned_through()?.is_none() {
        let first = store.changes.first()?.and_then(|(k, _)| id_from(&k));
        if let Some(before) = first.and_then(|f| f.checked_sub(1)) {
            plan.meta(KEY_PRUNED_THROUGH, &before.to_be_bytes());
        }
    }
    Ok(plan)
}

/// 9 → 10: nothing to rewrite: an older source state reads without a redirect's host
/// (`legacy.rs`) and is written in the new layout after the source's next poll.
fn v9_to_v10(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 10 → 11: nothing to rewrite: an older source state reads without the time of its last
/// full poll (`legacy.rs`), so a source with tombstones is polled once without validators.
fn v10_to_v11(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 11 → 12: nothing to rewrite. The version says that the store may carry a restore's
/// `id_offset` and `restored_gaps` in meta, and keeps `ids.line` beside it: a wirefold of
/// schema 11 would ignore the offset and hand out ids below the store's (a follower's cursor
/// then never saw its articles), and would leave `ids.line` behind the ids it handed out.
fn v11_to_v12(_: &Trees) -> Result<Plan> {
    Ok(Plan::default())
}

/// 2 → 3: every index record again, with the entity mask of its article. The plan holds one
/// index record (~130 bytes) per article; articles are read one at a time.
fn v2_to_v3(store: &Trees) -> Result<Plan> {
    let rules = crate::normalize::Rules::shared_default();
    let mut plan = Plan::default();
    for kv in store.articles.iter() {
        let (k, v) = kv?;
        let mut a: ArticleRecord = decode("articleid_article", &k, &v)?;
        a.fingerprint.entities = crate::normalize::lead_entities(&a.title, &a.text, &rules);
        let index = IndexRecord {
            story: a.story,
            at: a.first_seen,
            fingerprint: a.fingerprint,
        };
        plan.insert("articleid_index", &k, &super::encode(&index)?);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn open(path: &std::path::Path) -> Result<std::sync::Arc<Trees>> {
        super::super::Store::open(path, Duration::from_millis(100))?.t()
    }

    fn set_version(store: &Trees, v: u32) {
        store.meta.insert(KEY_SCHEMA, &v.to_be_bytes()).unwrap();
        store.db.flush().unwrap();
    }

    fn version(store: &Trees) -> u32 {
        let v = store.meta.get(KEY_SCHEMA).unwrap().unwrap();
        u32::from_be_bytes(v.as_ref().try_into().unwrap())
    }

    #[test]
    fn steps_run_in_order_and_each_bumps_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("db")).unwrap();
        fn one(_: &Trees) -> Result<Plan> {
            let mut p = Plan::default();
            p.insert("scratch", b"a", b"1");
            Ok(p)
        }
        fn two(_: &Trees) -> Result<Plan> {
            let mut p = Plan::default();
            p.insert("scratch", b"a", b"2");
            p.insert("other", b"b", b"x");
            Ok(p)
        }
        let steps = [
            Migration {
                from: 5,
                what: "two",
                plan: two,
            },
            Migration {
                from: 4,
                what: "one",
                plan: one,
            },
        ];
        migrate_with(&store, "t", 4, 6, &steps).unwrap();
        assert_eq!(version(&store), 6);
        let scratch = store.db.open_tree("scratch").unwrap();
        assert_eq!(scratch.get(b"a").unwrap().unwrap().as_ref(), b"2");
        assert!(store
            .db
            .open_tree("other")
            .unwrap()
            .contains_key(b"b")
            .unwrap());
    }

    #[test]
    fn a_failing_step_leaves_its_version_and_writes_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("db")).unwrap();
        fn ok(_: &Trees) -> Result<Plan> {
            let mut p = Plan::default();
            p.insert("scratch", b"done", b"1");
            Ok(p)
        }
        fn fails(_: &Trees) -> Result<Plan> {
            Err(StoreError::Io("disk on fire".into()))
        }
        let steps = [
            Migration {
                from: 1,
                what: "ok",
                plan: ok,
            },
            Migration {
                from: 2,
                what: "fails",
                plan: fails,
            },
        ];
        set_version(&store, 1);
        assert!(migrate_with(&store, "t", 1, 3, &steps).is_err());
        // The first step is committed, the second never started.
        assert_eq!(version(&store), 2);
        let scratch = store.db.open_tree("scratch").unwrap();
        assert!(scratch.contains_key(b"done").unwrap());
    }

    #[test]
    fn a_missing_step_is_a_schema_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("db")).unwrap();
        match migrate_with(&store, "t", 1, 3, &[]) {
            Err(StoreError::Schema { found, .. }) => assert!(found.starts_with('1'), "{found}"),
            other => panic!("expected Schema, got {other:?}"),
        }
    }

    #[test]
    fn migrations_cover_every_old_version() {
        for v in 1..SCHEMA_VERSION {
            assert!(
                MIGRATIONS.iter().any(|m| m.from == v),
                "no migration from {v}"
            );
        }
    }
}
