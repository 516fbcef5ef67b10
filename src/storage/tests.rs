//! Store tests on a real sled database in a temporary directory.

use super::*;
use crate::fingerprint::Fingerprint;

fn fp(n: u64) -> Fingerprint {
    crate::fingerprint::fingerprint(&crate::fingerprint::FingerprintInput {
        title: "t",
        text: &format!("text number {n} with a few words"),
        script: crate::fingerprint::Script::Words,
    })
}

fn article(store: &Store, story: u64, key: &str) -> ArticleRecord {
    ArticleRecord {
        id: store.next_id().unwrap(),
        source: "src".into(),
        key: key.into(),
        url: Some("https://example.com/a".into()),
        title: "Title".into(),
        text: "Body".into(),
        published: 1_700_000_000_000,
        date_origin: DateOrigin::Published,
        first_seen: 1_700_000_000_000,
        updated: 1_700_000_000_000,
        revisions: 0,
        language: Some("en".into()),
        story,
        similarity: 1.0,
        fingerprint: fp(1),
    }
}

fn story(id: u64, a: &ArticleRecord) -> StoryRecord {
    StoryRecord {
        id,
        created: a.first_seen,
        updated: a.first_seen,
        canonical: a.id,
        copies: vec![],
        headlines: vec![a.title.clone()],
    }
}

#[test]
fn commit_is_readable_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (aid, sid) = {
        let store = Store::open(&path, Duration::from_millis(100)).unwrap();
        let sid = store.next_id().unwrap();
        let a = article(&store, sid, "g:1");
        store
            .commit(
                &a,
                &story(sid, &a),
                Counts {
                    articles: 1,
                    stories: 1,
                    copies: 0,
                },
                ChangeKind::NewStory,
            )
            .unwrap();
        store.flush().unwrap();
        (a.id, sid)
    };
    let store = Store::open(&path, Duration::from_millis(100)).unwrap();
    assert_eq!(store.article_id_by_key("src", "g:1").unwrap(), Some(aid));
    assert_eq!(store.article(aid).unwrap().unwrap().story, sid);
    assert_eq!(store.story(sid).unwrap().unwrap().canonical, aid);
    assert_eq!(
        store.counts().unwrap(),
        Counts {
            articles: 1,
            stories: 1,
            copies: 0
        }
    );
    assert_eq!(store.index_records_since(0).count(), 1);
    assert!(store.next_id().unwrap() > aid);
}

#[test]
fn second_open_reports_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let _first = Store::open(&path, Duration::from_millis(100)).unwrap();
    // sled refuses a second handle from the same process with its file lock, like a second
    // process would be refused.
    match Store::open(&path, Duration::from_millis(100)) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path, Duration::from_millis(100)).unwrap();
        store
            .t()
            .unwrap()
            .meta
            .insert(KEY_SCHEMA, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        store.flush().unwrap();
    }
    match Store::open(&path, Duration::from_millis(100)) {
        Err(StoreError::Schema { found, .. }) => {
            assert_eq!(found, (SCHEMA_VERSION + 1).to_string())
        }
        other => panic!("expected Schema, got {other:?}"),
    }
}

#[test]
fn index_scan_stops_at_window_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), Duration::from_millis(100)).unwrap();
    for (i, at) in [1_000i64, 2_000, 3_000].into_iter().enumerate() {
        let mut a = article(&store, 1, &format!("g:{i}"));
        a.first_seen = at;
        store
            .commit(&a, &story(1, &a), Counts::default(), ChangeKind::Updated)
            .unwrap();
    }
    let recent: Vec<_> = store
        .index_records_since(2_000)
        .map(|r| r.unwrap().1.at)
        .collect();
    assert_eq!(recent, vec![3_000, 2_000]);
}

#[test]
fn change_log_is_ordered_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), Duration::from_millis(100)).unwrap();
    let mut seqs = Vec::new();
    for i in 0..5 {
        let a = article(&store, 1, &format!("g:{i}"));
        let c = store
            .commit(&a, &story(1, &a), Counts::default(), ChangeKind::NewCopy)
            .unwrap();
        seqs.push(c.seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // Readers see the log only up to the last flush (what is durable).
    assert_eq!(store.changes_after(None).count(), 0);
    assert_eq!(store.last_change().unwrap(), None);
    assert_eq!(store.flush().unwrap(), Some(seqs[4]));
    let all: Vec<u64> = store.changes_after(None).map(|c| c.unwrap().seq).collect();
    assert_eq!(all, seqs);
    let rest: Vec<u64> = store
        .changes_after(Some(seqs[2]))
        .map(|c| c.unwrap().seq)
        .collect();
    assert_eq!(rest, seqs[3..]);
    assert_eq!(store.last_change().unwrap(), Some(seqs[4]));
}

#[test]
fn counts_move_with_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), Duration::from_millis(100)).unwrap();
    let a = article(&store, 1, "g:1");
    let one = Counts {
        articles: 1,
        stories: 1,
        copies: 0,
    };
    store
        .commit(&a, &story(1, &a), one, ChangeKind::NewStory)
        .unwrap();
    assert_eq!(store.counts().unwrap(), Counts::default());
    store.flush().unwrap();
    assert_eq!(store.counts().unwrap(), one);
}

#[test]
fn a_directory_of_other_files_is_not_taken_for_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a store").unwrap();
    match Store::open(dir.path(), Duration::from_millis(100)) {
        Err(StoreError::Corrupt { message, .. }) => assert!(message.contains("no sled database")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
