//! PLACEHOLDER.
use chrono::{DateTime, Utc};
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s.trim())
        .or_else(|_| DateTime::parse_from_rfc3339(s.trim()))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}
