//! [`parse_date`] against the feedparser and miniflux date corpora and the common feed forms;
//! [`choose_date`]'s rules.

use super::*;
use crate::normalize::tests::corpus_path;

/// Inputs we deliberately do not support, with the reason. The corpus test fails if one
/// of these starts working (update the list) or if anything else regresses.
const KNOWN_UNSUPPORTED: &[(&str, &str)] = &[(
    "03335",
    "YYDDD ordinal date: conflicts with the W3C-DTF rule that 5-digit '22013' is not a date",
)];

fn utc(s: &str) -> DateTime<Utc> {
    // Expected values may have years < 1000 ("0099-..."), which RFC 3339 handles.
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad expected value {s:?}: {e}"))
}

#[test]
fn feedparser_corpus() {
    let Some(path) = corpus_path("dates/feedparser_date_cases.tsv") else {
        return;
    };
    let data = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in data.lines().skip(2) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let (input, expected) = (cols[1], cols[2].trim());
        let got = parse_date(input);
        if let Some((_, why)) = KNOWN_UNSUPPORTED.iter().find(|(i, _)| *i == input) {
            let want = (expected != "None").then(|| utc(expected));
            assert_ne!(
                got, want,
                "{input:?} now works ({why}): remove it from KNOWN_UNSUPPORTED"
            );
            continue;
        }
        let want = if expected == "None" {
            None
        } else {
            Some(utc(expected))
        };
        if got != want {
            failures.push(format!("{}: {input:?} -> {got:?}, want {want:?}", cols[0]));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert!(checked >= 70, "only {checked} rows checked");
}

#[test]
fn miniflux_corpus() {
    let Some(path) = corpus_path("dates/miniflux_date_cases.tsv") else {
        return;
    };
    let data = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    for line in data.lines().skip(2) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let (name, input, expected) = (cols[0], cols[1], cols[2].trim());
        let got = parse_date(input);
        if expected.is_empty() {
            // "see test": the empty and invalid cases must fail.
            if name.contains("Empty") || name.contains("Invalid") {
                assert_eq!(got, None, "{name}: {input:?}");
                checked += 1;
            }
            continue;
        }
        let want: i64 = expected.parse().unwrap();
        assert_eq!(got.map(|d| d.timestamp()), Some(want), "{name}: {input:?}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} rows checked");
}

/// Zones that keep summer time and zones that do not (expected values from the IANA
/// database, through Python's `zoneinfo`).
#[test]
fn zones_with_and_without_summer_time() {
    for (input, want) in [
        // The generic North American names are the local time, summer or winter.
        ("Sat, 04 Jul 2026 10:00:00 ET", "2026-07-04T14:00:00Z"),
        ("Sun, 04 Jan 2026 10:00:00 ET", "2026-01-04T15:00:00Z"),
        ("July 4, 2026 10:00 AM PT", "2026-07-04T17:00:00Z"),
        ("Sat, 04 Jul 2026 10:00:00 CT", "2026-07-04T15:00:00Z"),
        // A standard-time name is its offset, written in summer or not.
        ("Sat, 04 Jul 2026 10:00:00 EST", "2026-07-04T15:00:00Z"),
        ("Thu, 13 Jun 2024 10:00:00 CET", "2024-06-13T09:00:00Z"),
        ("Thu, 13 Jun 2024 10:00:00 EET", "2024-06-13T08:00:00Z"),
        ("Thu, 13 Jun 2024 10:00:00 CEST", "2024-06-13T08:00:00Z"),
        // Portuguese and Italian month abbreviations.
        ("Seg, 24 Set 2018 19:42:40 -0300", "2018-09-24T22:42:40Z"),
        ("Qua, 03 Out 2018 08:00:00 -0300", "2018-10-03T11:00:00Z"),
        ("Sex, 02 Fev 2018 08:00:00 -0200", "2018-02-02T10:00:00Z"),
        ("24 Gen 2018 10:00:00 +0100", "2018-01-24T09:00:00Z"),
        ("24 Mag 2018 10:00:00 +0200", "2018-05-24T08:00:00Z"),
        ("24 Giu 2018 10:00:00 +0200", "2018-06-24T08:00:00Z"),
        ("24 Lug 2018 10:00:00 +0200", "2018-07-24T08:00:00Z"),
        ("24 Ott 2018 10:00:00 +0200", "2018-10-24T08:00:00Z"),
        (
            "Sat, 04 Jul 2026 10:00 Asia/Jerusalem",
            "2026-07-04T07:00:00Z",
        ),
        (
            "Thu, 26 Mar 2026 12:00 Asia/Jerusalem",
            "2026-03-26T10:00:00Z",
        ),
        (
            "Sat, 28 Mar 2026 12:00 Asia/Jerusalem",
            "2026-03-28T09:00:00Z",
        ),
        (
            "Sun, 04 Jan 2026 10:00 Asia/Jerusalem",
            "2026-01-04T08:00:00Z",
        ),
        (
            "Sat, 04 Jul 2026 10:00 Africa/Cairo",
            "2026-07-04T07:00:00Z",
        ),
        (
            "Thu, 23 Apr 2026 12:00 Africa/Cairo",
            "2026-04-23T10:00:00Z",
        ),
        (
            "Fri, 24 Apr 2026 12:00 Africa/Cairo",
            "2026-04-24T09:00:00Z",
        ),
        (
            "Thu, 29 Oct 2026 12:00 Africa/Cairo",
            "2026-10-29T09:00:00Z",
        ),
        (
            "Fri, 30 Oct 2026 12:00 Africa/Cairo",
            "2026-10-30T10:00:00Z",
        ),
        (
            "Sat, 04 Jul 2020 10:00 Africa/Cairo",
            "2020-07-04T08:00:00Z",
        ),
        ("Sat, 04 Jul 2026 10:00 Asia/Beirut", "2026-07-04T07:00:00Z"),
        ("Sun, 04 Jan 2026 10:00 Asia/Beirut", "2026-01-04T08:00:00Z"),
        ("Sun, 04 Jan 2026 10:00 Asia/Amman", "2026-01-04T07:00:00Z"),
        (
            "Sat, 04 Jul 2026 10:00 Asia/Damascus",
            "2026-07-04T07:00:00Z",
        ),
        // Before October 2022 they kept winter and summer time.
        (
            "Fri, 15 Jan 2021 12:00:00 Asia/Amman",
            "2021-01-15T10:00:00Z",
        ),
        (
            "Thu, 15 Jul 2021 12:00:00 Asia/Amman",
            "2021-07-15T09:00:00Z",
        ),
        (
            "Tue, 01 Mar 2022 12:00:00 Asia/Amman",
            "2022-03-01T09:00:00Z",
        ),
        (
            "Sun, 15 Dec 2013 12:00:00 Asia/Amman",
            "2013-12-15T09:00:00Z",
        ),
        (
            "Tue, 15 Jan 2013 12:00:00 Asia/Amman",
            "2013-01-15T09:00:00Z",
        ),
        (
            "Wed, 15 Jan 2014 12:00:00 Asia/Amman",
            "2014-01-15T10:00:00Z",
        ),
        (
            "Tue, 15 Jan 2019 12:00:00 Asia/Damascus",
            "2019-01-15T10:00:00Z",
        ),
    ] {
        assert_eq!(parse_date(input), Some(utc(want)), "{input:?}");
    }
}

#[test]
fn common_feed_forms() {
    let cases = [
        ("Tue, 03 Jun 2003 09:39:21 GMT", "2003-06-03T09:39:21Z"),
        // Military zone letters count as -0000 (RFC 5322 4.3).
        ("Tue, 03 Jun 2003 09:39:21 A", "2003-06-03T09:39:21Z"),
        ("Tue, 03 Jun 2003 09:39:21 N", "2003-06-03T09:39:21Z"),
        ("Tue, 03 Jun 2003 09:39:21 Y", "2003-06-03T09:39:21Z"),
        ("2023-04-17T14:05:00+04:00", "2023-04-17T10:05:00Z"),
        ("2023-04-17 14:05:00", "2023-04-17T14:05:00Z"),
        ("17 April 2023 14:05", "2023-04-17T14:05:00Z"),
        ("April 17, 2023 2:05 PM EDT", "2023-04-17T18:05:00Z"),
        ("17.04.2023 14:05", "2023-04-17T14:05:00Z"),
        ("20230417", "2023-04-17T00:00:00Z"),
        (
            "Mon, 17 Apr 2023 14:05:00 Europe/Berlin",
            "2023-04-17T12:05:00Z",
        ),
        (
            "Mon, 16 Jan 2023 14:05:00 Europe/Berlin",
            "2023-01-16T13:05:00Z",
        ),
        ("2023年4月17日 14:05", "2023-04-17T14:05:00Z"),
        ("17 апреля 2023 14:05 +0300", "2023-04-17T11:05:00Z"),
        // Abbreviated weekdays of other languages, `mar` (Tuesday) taken for March once.
        ("mar., 11 juil. 2023 10:00:00 +0200", "2023-07-11T08:00:00Z"),
        ("mar, 11 jul 2023 10:00:00 +0200", "2023-07-11T08:00:00Z"),
        ("Di, 11 Jul 2023 10:00:00 +0200", "2023-07-11T08:00:00Z"),
        ("ter, 11 jul 2023 10:00:00 -0300", "2023-07-11T13:00:00Z"),
        ("di 11 jul 2023 10:00:00 +0200", "2023-07-11T08:00:00Z"),
        ("Вт, 11 июл 2023 10:00:00 +0300", "2023-07-11T07:00:00Z"),
        ("Salı, 11 Temmuz 2023 10:00", "2023-07-11T10:00:00Z"),
        ("martedì 11 luglio 2023 10:00", "2023-07-11T10:00:00Z"),
        ("wtorek, 11 lipca 2023 10:00", "2023-07-11T10:00:00Z"),
        ("Τρίτη, 11 Ιουλίου 2023 10:00", "2023-07-11T10:00:00Z"),
        // A comment at the end (RFC 5322; JavaScript's `Date.toString()`).
        (
            "Thu Nov 12 2020 17:00:00 GMT+0100 (Central European Standard Time)",
            "2020-11-12T16:00:00Z",
        ),
        (
            "Mon, 01 Jan 2024 10:00:00 GMT (Greenwich Mean Time)",
            "2024-01-01T10:00:00Z",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_date(input), Some(utc(want)), "{input:?}");
    }
    for bad in [
        "",
        "yesterday",
        "12345678901234",
        "2023-13-45",
        "Mon, 32 Jan 2023",
        "¯\\_(ツ)_/¯",
        "(comment)",
        "Mon (x) (y)",
        "1518478934",
        "1520932969123",
    ] {
        assert_eq!(parse_date(bad), None, "{bad:?}");
    }
    let long = "1".repeat(1000);
    assert_eq!(parse_date(&long), None);
}

#[test]
fn choose_date_rules() {
    let now = utc("2024-01-10T00:00:00Z");
    let day = Duration::days(1);
    let p = utc("2024-01-09T00:00:00Z");
    let u = utc("2024-01-08T00:00:00Z");
    assert_eq!(
        choose_date(Some(p), Some(u), now, day),
        (p, DateSource::Published)
    );
    assert_eq!(
        choose_date(None, Some(u), now, day),
        (u, DateSource::Updated)
    );
    assert_eq!(
        choose_date(None, None, now, day),
        (now, DateSource::FirstSeen)
    );
    let soon = now + Duration::hours(20);
    assert_eq!(
        choose_date(Some(soon), None, now, day),
        (soon, DateSource::Published)
    );
    let far = now + Duration::days(3);
    assert_eq!(
        choose_date(Some(far), None, now, day),
        (now, DateSource::ClampedFuture)
    );
    assert_eq!(
        choose_date(None, Some(far), now, day),
        (now, DateSource::ClampedFuture)
    );
    // 1 January 1970 is a feed's empty date written as 0: absent.
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    assert_eq!(
        choose_date(Some(epoch), None, now, day),
        (now, DateSource::FirstSeen)
    );
    assert_eq!(
        choose_date(Some(epoch), Some(soon), now, day),
        (soon, DateSource::Updated)
    );
    // ...in any time zone: midnight in New York is 05:00 UTC.
    let epoch_est = utc("1970-01-01T05:00:00Z");
    assert_eq!(
        choose_date(Some(epoch_est), None, now, day),
        (now, DateSource::FirstSeen)
    );
    // A published date far ahead (an event's) beside a usable updated one: the updated.
    assert_eq!(
        choose_date(Some(far), Some(u), now, day),
        (u, DateSource::Updated)
    );
    assert_eq!(
        choose_date(Some(far), Some(far), now, day),
        (now, DateSource::ClampedFuture)
    );
    // Reuters-21578 is of 1987: a real date.
    let old = utc("1987-02-26T15:01:01Z");
    assert_eq!(
        choose_date(Some(old), None, now, day),
        (old, DateSource::Published)
    );
}

#[test]
fn day_and_month_that_could_be_either_are_read_near_the_fetch() {
    let now = utc("2026-12-05T10:36:00Z");
    // Month first by default after `/`, day first after `.` and `-`.
    assert_eq!(
        parse_date("05/12/2026 09:36"),
        Some(utc("2026-05-12T09:36:00Z"))
    );
    assert_eq!(
        parse_date("05.12.2026 09:36"),
        Some(utc("2026-12-05T09:36:00Z"))
    );
    // Near the fetch: 5 December, this morning, not 12 May.
    assert_eq!(
        parse_date_near("05/12/2026 09:36", now),
        Some(utc("2026-12-05T09:36:00Z"))
    );
    // The reading nearer to now, if not ahead: 3 December, not 12 March.
    assert_eq!(
        parse_date_near("12/03/2026", now),
        Some(utc("2026-12-03T00:00:00Z"))
    );
    // Up to a day ahead is near (time zones): 6 December, not 12 June.
    assert_eq!(
        parse_date_near("06/12/2026", now),
        Some(utc("2026-12-06T00:00:00Z"))
    );
    // More than a day ahead is no item's date: 12 July, not 7 December.
    assert_eq!(
        parse_date_near("12/07/2026", now),
        Some(utc("2026-07-12T00:00:00Z"))
    );
    // Unambiguous forms are as parse_date reads them.
    assert_eq!(
        parse_date_near("25/11/2026", now),
        Some(utc("2026-11-25T00:00:00Z"))
    );
    assert_eq!(
        parse_date_near("2026-12-05T09:00:00Z", now),
        Some(utc("2026-12-05T09:00:00Z"))
    );
}
