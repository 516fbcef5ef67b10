//! `file://` sources: read only when the file changed.
//!
//! The file's size and modification time (nanoseconds) make its validator, kept in the ETag
//! slot of the source's state: an unchanged file is "not modified" and costs no parse, just as
//! a 304 does.

use std::time::UNIX_EPOCH;

use url::Url;

use super::{Content, FetchError, FetchOutcome, Validators};

fn file_err(path: &std::path::Path, e: impl std::fmt::Display) -> FetchError {
    FetchError::File(format!("{}: {e}", path.display()))
}

/// Reads the file behind `url` unless its validator equals `validators.etag`.
pub async fn fetch_file(
    url: &Url,
    validators: &Validators,
    max_bytes: u64,
) -> Result<FetchOutcome, FetchError> {
    let path = url
        .to_file_path()
        .map_err(|()| FetchError::File(format!("{url} is not a local path")))?;
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| file_err(&path, e))?;
    if !meta.is_file() {
        return Err(file_err(&path, "not a regular file"));
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let tag = format!("file:{}:{mtime}", meta.len());
    let outcome = |content| FetchOutcome {
        content,
        validators: Validators {
            etag: Some(tag.clone()),
            last_modified: None,
        },
        final_url: url.clone(),
        moved_to: None,
        fresh_for: None,
        clock_offset: None,
    };
    if validators.etag.as_deref() == Some(tag.as_str()) {
        return Ok(outcome(Content::NotModified));
    }
    if meta.len() > max_bytes {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| file_err(&path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    Ok(outcome(Content::Body {
        bytes,
        content_type: None,
        status: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unchanged_files_are_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        std::fs::write(&path, "<rss/>").unwrap();
        let url = Url::from_file_path(&path).unwrap();
        let first = fetch_file(&url, &Validators::default(), 1 << 20)
            .await
            .unwrap();
        assert!(matches!(first.content, Content::Body { .. }));
        let again = fetch_file(&url, &first.validators, 1 << 20).await.unwrap();
        assert!(matches!(again.content, Content::NotModified));
        // A change of size changes the validator, whatever the clock's resolution.
        std::fs::write(&path, "<rss version=\"2.0\"/>").unwrap();
        let changed = fetch_file(&url, &first.validators, 1 << 20).await.unwrap();
        assert!(matches!(changed.content, Content::Body { .. }));
        assert_ne!(changed.validators, first.validators);
        let missing = Url::from_file_path(dir.path().join("nope.xml")).unwrap();
        let err = fetch_file(&missing, &Validators::default(), 1 << 20)
            .await
            .unwrap_err();
        assert_eq!(err.class(), "file");
    }
}
