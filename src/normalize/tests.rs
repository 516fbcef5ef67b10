//! Cross-module tests for normalize: the shared corpus helper, whole-pipeline behaviour,
//! property tests and pathological inputs.

use std::path::PathBuf;

/// Finds a file of the shared corpus: `../shared/corpus` (from /work/main) or
/// `../../shared/corpus` (from a crate one level deeper). Prints a loud notice and returns
/// `None` when it is absent, so the calling test can skip.
pub(crate) fn corpus_path(rel: &str) -> Option<PathBuf> {
    let root = env!("CARGO_MANIFEST_DIR");
    for up in ["../shared/corpus", "../../shared/corpus"] {
        let p = PathBuf::from(root).join(up).join(rel);
        if p.exists() {
            return Some(p);
        }
    }
    eprintln!("!!!!! SKIPPED: shared corpus file {rel:?} not found next to {root} !!!!!");
    None
}

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2023-04-18T00:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap()
}

fn opts() -> NormalizeOptions {
    NormalizeOptions::new(now())
}

/// Splits the corpus story into (headline, body after the headline line).
fn load_wire_story() -> Option<(String, String)> {
    let path = corpus_path("wire-story-azerbaijan-sco.txt")?;
    let raw = std::fs::read_to_string(path).ok()?;
    let (title, body) = raw.split_once('\n')?;
    Some((title.trim().to_string(), body.to_string()))
}

#[test]
fn wire_story_original_is_cleaned() {
    let Some((title, body)) = load_wire_story() else {
        return;
    };
    let raw = RawEntry {
        title: Some(title.clone()),
        content: Some(body.clone()),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    let first = a.fp_text.lines().next().unwrap_or_default();
    // Section line, author line, headline echo, dateline and attribution are gone.
    assert!(
        first.starts_with("a delegation headed by"),
        "first fp paragraph: {first:?}"
    );
    assert!(
        !a.fp_text.contains("turkicworld"),
        "attribution left in fp text"
    );
    assert!(!a.fp_text.contains("politics news"));
    assert!(!a.fp_text.contains("baku azerbaijan april 17"));
    // Display text keeps the article as published.
    assert!(a.text.contains("BAKU, Azerbaijan, April 17."));
    assert!(a.text.contains("TurkicWorld reports."));
    assert_eq!(a.language.as_deref(), Some("en"));
    assert_eq!(a.script, Script::Latin);
    assert_eq!(a.fp_title, fingerprint_text(&title));
    assert!(a.key.starts_with("h:"));
}

#[test]
fn wire_story_edited_copy_folds() {
    let Some((title, body)) = load_wire_story() else {
        return;
    };
    let original = RawEntry {
        title: Some(title.clone()),
        content: Some(body.clone()),
        ..Default::default()
    };

    // Another outlet's copy: own headline (also echoed in the body), own section and author
    // lines, Reuters-style dateline, another attribution, last paragraph dropped, a
    // "follow us" line appended, and served as HTML.
    let mut paras: Vec<String> = body
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    assert!(paras.len() > 5, "corpus story changed shape");
    let new_title = "Azerbaijani delegation meets SCO chief in Beijing";
    let lead_at = paras
        .iter()
        .position(|p| p.starts_with("BAKU, Azerbaijan, April 17. "))
        .expect("corpus lead changed shape");
    assert!(lead_at >= 1);
    // The header block (section line, author line, headline echo) before the lead.
    paras.splice(
        ..lead_at,
        [format!(
            "World 5 December 2023 09:10\nBy Jane Doe, Example Wire\n{new_title}"
        )],
    );
    let lead = paras[1]
        .replacen(
            "BAKU, Azerbaijan, April 17. ",
            "ANKARA, Dec 5 (Reuters) - ",
            1,
        )
        .replacen(", TurkicWorld reports.", ", Trend reports.", 1);
    assert_ne!(lead, paras[1], "corpus lead changed shape");
    paras[1] = lead;
    paras.pop();
    paras.push("Follow us on Twitter @x".to_string());
    let html: String = paras
        .iter()
        .map(|p| format!("<p>{}</p>\n", p.replace('&', "&amp;").replace('\n', "<br>")))
        .collect();
    let copy = RawEntry {
        title: Some(format!("{new_title} - Example Wire")),
        summary: Some(html),
        link: Some("https://example.com/a?utm_source=rss".to_string()),
        ..Default::default()
    };

    let a = normalize(&original, &opts());
    let b = normalize(&copy, &opts());
    let pa: Vec<&str> = a.fp_text.lines().collect();
    let pb: Vec<&str> = b.fp_text.lines().collect();
    assert_eq!(
        pb.len() + 1,
        pa.len(),
        "copy:\n{}\n---\noriginal:\n{}",
        b.fp_text,
        a.fp_text
    );
    assert_eq!(pb, pa[..pa.len() - 1]);
    assert_eq!(b.fp_title, fingerprint_text(new_title));
    assert_eq!(b.url.as_deref(), Some("https://example.com/a"));
    assert_eq!(b.key, "u:https://example.com/a");
    // Display text of the copy drops the "follow us" junk line.
    assert!(!b.text.contains("Follow us"));
}

/// Only the first `MAX_FIELD_BYTES` of a field's text are read: what follows never reaches
/// the text or the fingerprint (an 8 MB description of tiny paragraphs took 220 MB to read
/// whole).
#[test]
fn only_the_first_two_mib_of_a_field_are_read() {
    let unit = "<p>\u{e9}t\u{e9} x</p>";
    // each gives at least 7 bytes of text ("été x" and a paragraph break)
    let filler = unit.repeat(MAX_FIELD_BYTES / 7 + 1);
    for field in ["summary", "content", "title"] {
        let long = format!("{filler}<p>zebra crossing</p>");
        let mut raw = RawEntry {
            title: Some("T".into()),
            ..Default::default()
        };
        match field {
            "summary" => raw.summary = Some(long),
            "content" => raw.content = Some(long),
            _ => raw.title = Some(long),
        }
        let a = normalize(&raw, &opts());
        let all = format!("{} {} {} {}", a.title, a.text, a.fp_title, a.fp_text);
        assert!(all.contains('x'), "{field}");
        assert!(!all.contains("zebra"), "{field}");
    }
    // The limit counts text, not markup: a script past 2 MiB is still markup, dropped whole,
    // and the words after it are read.
    let script = format!(
        "<p>Lead paragraph.</p><script type=\"application/json\">{{\"data\":\"{}\"}}</script><p>After the script.</p>",
        "x".repeat(MAX_FIELD_BYTES + 1000)
    );
    let raw = RawEntry {
        title: Some("T".into()),
        content: Some(script),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(a.text, "Lead paragraph.\n\nAfter the script.");
}

#[test]
fn keys() {
    let mut raw = RawEntry {
        guid: Some("  urn:x:1 ".into()),
        link: Some("https://e.com/a#x".into()),
        title: Some("T".into()),
        ..Default::default()
    };
    assert_eq!(entry_key(&raw), "g:urn:x:1");
    assert_eq!(normalize(&raw, &opts()).key, "g:urn:x:1");
    // A GUID past 1 KiB is keyed by its hash: 35 bytes, one per GUID, whatever its size.
    let kept = format!("urn:{}", "k".repeat(MAX_GUID_KEY_BYTES - 4));
    for (guid, other) in [(kept.clone(), "x"), ("x".repeat(1 << 20), "y")] {
        let mut long = raw.clone();
        long.guid = Some(guid.clone());
        let key = normalize(&long, &opts()).key;
        assert_eq!(entry_key(&long), key);
        if guid.len() <= MAX_GUID_KEY_BYTES {
            assert_eq!(key, format!("g:{guid}"));
            continue;
        }
        assert!(key.starts_with("gh:") && key.len() == 35, "{key}");
        long.guid = Some(format!("{}{other}", &guid[..guid.len() - 1]));
        assert_ne!(entry_key(&long), key);
    }
    raw.guid = Some("   ".into());
    // A live blog's posts link to anchors of one page: each anchor is its own item.
    assert_eq!(entry_key(&raw), "u:https://e.com/a#x");
    assert_eq!(normalize(&raw, &opts()).key, "u:https://e.com/a#x");
    raw.link = Some("https://e.com/live?utm_source=rss#post-2".into());
    assert_eq!(entry_key(&raw), "u:https://e.com/live#post-2");
    // A fragment that tracks is no anchor; nor is an empty one.
    for tracked in [
        "https://e.com/a#xtor=RSS-1",
        "https://e.com/a#a=1&b=2",
        "https://e.com/a#",
    ] {
        raw.link = Some(tracked.into());
        assert_eq!(entry_key(&raw), "u:https://e.com/a", "{tracked}");
    }
    // A route of a one-script site: its own URL, and the key it had when the URL was the
    // front page and the route its anchor.
    raw.link = Some("https://e.com/#!/news/2".into());
    assert_eq!(entry_key(&raw), "u:https://e.com/#!/news/2");
    assert_eq!(
        normalize(&raw, &opts()).url.as_deref(),
        Some("https://e.com/#!/news/2")
    );
    // A long route, or one with a query, is the article's too: each its own key.
    let long = format!(
        "https://e.com/#!/news/2026/12/06/{}",
        "a-long-slug-".repeat(8)
    );
    let query = "https://e.com/#!/article?id=7";
    for link in [long.as_str(), query] {
        raw.link = Some(link.into());
        assert_eq!(entry_key(&raw), format!("u:{link}"));
        assert_eq!(normalize(&raw, &opts()).key, format!("u:{link}"));
    }
    raw.link = Some("https://e.com/a".into());
    assert_eq!(entry_key(&raw), "u:https://e.com/a");
    raw.link = None;
    raw.guid = Some("https://e.com/b?utm_source=x".into());
    // A permalink GUID is still the GUID key, and also gives the URL.
    assert_eq!(entry_key(&raw), "g:https://e.com/b?utm_source=x");
    assert_eq!(
        normalize(&raw, &opts()).url.as_deref(),
        Some("https://e.com/b")
    );
    raw.guid = None;
    raw.title = Some("Some title".into());
    raw.summary = Some("<p>Body</p>".into());
    let k1 = entry_key(&raw);
    assert!(k1.starts_with("h:") && k1.len() == 18, "{k1}");
    // Stable across polls and independent of `now`.
    let other = NormalizeOptions::new(now() + chrono::Duration::days(3));
    assert_eq!(normalize(&raw, &other).key, k1);
    assert_eq!(entry_key(&raw), k1);
    // Cosmetic differences do not change it.
    raw.summary = Some("<div>Body&nbsp;</div>".into());
    assert_eq!(entry_key(&raw), k1);
}

#[test]
fn headline_echo_and_dates() {
    let raw = RawEntry {
        title: Some("Storm hits the coast - Reuters".into()),
        summary: Some("<p>Storm hits the coast</p><p>Body text here.</p>".into()),
        updated: Some(now() - chrono::Duration::hours(1)),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(a.fp_text, "body text here");
    assert_eq!(a.title, "Storm hits the coast - Reuters");
    assert_eq!(a.fp_title, "storm hits the coast");
    assert_eq!(a.date_source, DateSource::Updated);
    let raw = RawEntry {
        published: Some(now() + chrono::Duration::days(30)),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(
        (a.published, a.date_source),
        (now(), DateSource::ClampedFuture)
    );
}

#[test]
fn title_only_and_empty_entries() {
    let a = normalize(&RawEntry::default(), &opts());
    assert_eq!(a.title, "");
    assert_eq!(a.fp_text, "");
    assert_eq!(a.date_source, DateSource::FirstSeen);
    assert!(a.key.starts_with("h:"));
    let raw = RawEntry {
        title: Some("Only &amp; a <b>title</b>".into()),
        summary: Some("Only &amp; a title".into()),
        language: Some("en-GB".into()),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(a.title, "Only & a title");
    assert_eq!(a.fp_text, "");
    assert_eq!(a.language.as_deref(), Some("en"));
}

#[test]
fn a_poll_detects_an_undeclared_language_once() {
    let entry = |title: &str, text: &str| RawEntry {
        title: Some(title.into()),
        content: Some(text.into()),
        ..Default::default()
    };
    let en = "The minister said on Tuesday that the talks with the neighbouring countries \
              would continue next week in the capital, where the delegations will meet again.";
    let fr = "Le ministre a déclaré mardi que les négociations avec les pays voisins se \
              poursuivraient la semaine prochaine dans la capitale, où les délégations se réuniront.";
    let ru = "Министр заявил во вторник, что переговоры с соседними странами продолжатся на \
              следующей неделе в столице, где делегации снова встретятся.";
    // alone, each is detected
    assert_eq!(
        normalize(&entry("Talks", fr), &opts()).language.as_deref(),
        Some("fr")
    );
    let mut poll = FeedLanguage::default();
    let o = opts();
    let first = poll.normalize(&mut entry("Talks", en), &o);
    assert_eq!(first.language.as_deref(), Some("en"));
    // the rest of the poll takes the first entry's language where the script fits ...
    let mut second = entry("Talks", fr);
    assert_eq!(
        poll.normalize(&mut second, &o).language.as_deref(),
        Some("en")
    );
    assert_eq!(second.language.as_deref(), Some("en"));
    // ... and is detected where it does not; a declared language stands
    let mut third = entry("Переговоры", ru);
    assert_eq!(
        poll.normalize(&mut third, &o).language.as_deref(),
        Some("ru")
    );
    let mut declared = entry("Talks", en);
    declared.language = Some("de".into());
    assert_eq!(
        poll.normalize(&mut declared, &o).language.as_deref(),
        Some("de")
    );
    // a short item of another script, too short to detect, is not given the stand-in
    for short in ["Армия получила F-16", "\u{5E2}\u{5D3}\u{5DB}\u{5D5}\u{5DF}"] {
        assert_eq!(
            poll.normalize(&mut entry(short, ""), &o).language,
            None,
            "{short}"
        );
    }
    // (a language the feed declares is its word: kept)
    let mut declared = entry("Армия получила F-16", "");
    declared.language = Some("en".into());
    assert_eq!(
        poll.normalize(&mut declared, &o).language.as_deref(),
        Some("en")
    );
    // a first entry with nothing to detect leaves the next ones to try ...
    let mut poll = FeedLanguage::default();
    assert_eq!(poll.normalize(&mut entry("Hi", ""), &o).language, None);
    assert_eq!(
        poll.normalize(&mut entry("Talks", fr), &o)
            .language
            .as_deref(),
        Some("fr")
    );
    let mut next = entry("Talks", en);
    assert_eq!(
        poll.normalize(&mut next, &o).language.as_deref(),
        Some("fr")
    );
    // ... and three in a row turn detection off for the poll
    let mut poll = FeedLanguage::default();
    for _ in 0..3 {
        assert_eq!(poll.normalize(&mut entry("Hi", ""), &o).language, None);
    }
    assert_eq!(poll.normalize(&mut entry("Talks", fr), &o).language, None);
    // and only for the poll: the options still ask for detection
    assert!(o.detect_language);
    assert_eq!(
        FeedLanguage::default()
            .normalize(&mut entry("Talks", fr), &o)
            .language
            .as_deref(),
        Some("fr")
    );
}

#[test]
fn bracketed_company_names_in_titles_are_text_not_tags() {
    let title = |t: &str| {
        let raw = RawEntry {
            title: Some(t.into()),
            ..Default::default()
        };
        let a = normalize(&raw, &opts());
        (a.title, a.fp_title)
    };
    assert_eq!(
        title("<SAMSUNG CO> CALENDAR 1986"),
        (
            "<SAMSUNG CO> CALENDAR 1986".into(),
            "samsung co calendar 1986".into()
        )
    );
    assert_ne!(
        title("<SAMSUNG CO> CALENDAR 1986").1,
        title("<DAEWOO CORP> CALENDAR 1986").1
    );
    assert_eq!(
        title("ARBOR DRUGS INC <ARBR> 2ND QTR NET").1,
        "arbor drugs inc arbr 2nd qtr net"
    );
    // the same name escaped once in the feed arrives as the same text
    assert_eq!(
        title("&lt;SAMSUNG CO&gt; CALENDAR 1986").0,
        "<SAMSUNG CO> CALENDAR 1986"
    );
    // HTML stays markup, in either case, and so do lower-case or attribute-bearing brackets
    assert_eq!(
        title("<B>Storm</B> hits <i>the</i> coast").0,
        "Storm hits the coast"
    );
    assert_eq!(
        title("Storm <time datetime=\"2026\">today</time>").0,
        "Storm today"
    );
    assert_eq!(title("<SPAN CLASS=X>Storm</SPAN> hits").0, "Storm hits");
    assert_eq!(text::protect_bracketed_names("no brackets"), "no brackets");
}

#[test]
fn non_latin_articles() {
    let raw = RawEntry {
        title: Some("ƏLİYEV BAKIDA GÖRÜŞ KEÇİRDİ".into()),
        content: Some("<p>Prezident İlham Əliyev bu gün Bakıda xarici qonaqları qəbul edib və iki ölkə arasında əməkdaşlığın inkişafı məsələlərini müzakirə edib.</p>".into()),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(a.script, Script::Latin);
    assert!(a.fp_title.starts_with("əliyev bakida"), "{}", a.fp_title);
    assert!(
        a.fp_text.contains("ilham əliyev bu gün bakıda"),
        "{}",
        a.fp_text
    );
    let raw = RawEntry {
        title: Some("北京举行上海合作组织会议".into()),
        content: Some(
            "<p>上海合作组织秘书长今天在北京会见了阿塞拜疆代表团，双方就扩大合作交换了意见。</p>"
                .into(),
        ),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(a.script, Script::Cjk);
    assert_eq!(a.language.as_deref(), Some("zh"));
}

/// Pathological inputs must stay linear. Checked by the work's growth, not by a time limit
/// (the machines are shared): each input at a quarter of its size and at its full size (512
/// KiB), the faster of two runs each. Linear work grows 4x, quadratic 16x; the bound is 10x,
/// with 0.2 s of slack for inputs done in milliseconds.
#[test]
fn pathological_inputs_are_linear() {
    const N: usize = 512 << 10;
    type Make = fn(usize) -> String;
    let inputs: Vec<(&str, Make)> = vec![
        ("lt", |n| "<".repeat(n)),
        ("lt-letter", |n| "<a".repeat(n / 2)),
        ("unclosed-script", |n| {
            format!("<p>x</p><script>{}", "a<b ".repeat(n / 4))
        }),
        ("nested-div", |n| "<div>".repeat(n / 5)),
        ("nested-nav-unclosed", |n| "<nav>".repeat(n / 5)),
        ("nested-figure-text", |n| "<figure>x ".repeat(n / 10)),
        ("unclosed-quote", |n| format!("<a href=\"{}", "x".repeat(n))),
        ("amp", |n| "&".repeat(n)),
        ("entity-like", |n| "&#".repeat(n / 2)),
        ("escaped-tags", |n| "&lt;p&gt;".repeat(n / 9)),
        ("double-escaped", |n| "&amp;lt;b&amp;gt;x".repeat(n / 18)),
        ("comment-open", |n| "<!--".repeat(n / 4)),
        ("cdata", |n| "<![CDATA[".repeat(n / 9)),
        ("newlines", |n| "\n".repeat(n)),
        ("words", |n| "word ".repeat(n / 5)),
        ("dateline-ish", |n| "BAKU, ".repeat(n / 6)),
        ("comma-caps", |n| ", Trend Trend Trend".repeat(n / 19)),
    ];
    let work = |input: &str| {
        let start = std::time::Instant::now();
        let raw = RawEntry {
            title: Some(input.chars().take(5000).collect()),
            content: Some(input.to_owned()),
            link: Some(input.chars().take(10_000).collect()),
            ..Default::default()
        };
        let a = normalize(&raw, &opts());
        let _ = fingerprint_text(input);
        let _ = parse_date(input);
        assert!(a.text.len() <= input.len() + 16);
        start.elapsed()
    };
    for (name, make) in inputs {
        let (small, full) = (make(N / 4), make(N));
        let fastest = |input: &str| work(input).min(work(input)).as_secs_f64();
        let (s, f) = (fastest(&small), fastest(&full));
        eprintln!(
            "{name}: {s:.3} s at {} bytes, {f:.3} s at {}",
            small.len(),
            full.len()
        );
        assert!(
            f <= 10.0 * s + 0.2,
            "{name}: {f:.3} s for {} bytes against {s:.3} s for {}: not linear",
            full.len(),
            small.len()
        );
    }
}

fn tag() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "p",
        "div",
        "b",
        "i",
        "span",
        "a",
        "li",
        "h1",
        "blockquote",
        "em",
        "strong",
        "section",
    ])
    .prop_map(str::to_string)
}

fn html_doc() -> impl Strategy<Value = String> {
    let text = "[a-zA-Z0-9 .,;'\"!?éşə\u{00A0}-]{0,20}";
    prop::collection::vec((tag(), text, text, "[a-z]{0,6}"), 0..12).prop_map(|parts| {
        let mut s = String::new();
        for (t, before, inner, attr) in parts {
            s.push_str(&before);
            if attr.is_empty() {
                s.push_str(&format!("<{t}>{inner}</{t}>"));
            } else {
                s.push_str(&format!(
                    "<{t} class=\"{attr}\" data-x='{attr} > 1'>{inner}</{t}>"
                ));
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn normalize_never_panics(
        guid in proptest::option::of(any::<String>()),
        link in proptest::option::of(any::<String>()),
        title in proptest::option::of(any::<String>()),
        summary in proptest::option::of(any::<String>()),
        content in proptest::option::of(any::<String>()),
        language in proptest::option::of(any::<String>()),
        authors in prop::collection::vec(any::<String>(), 0..3),
    ) {
        let raw = RawEntry { guid, link, title, summary, content, authors, language, ..Default::default() };
        let a = normalize(&raw, &opts());
        prop_assert!(!a.key.is_empty());
        prop_assert!(!a.text.contains("\n\n\n"));
        prop_assert!(!a.fp_text.contains("\n\n"));
    }

    #[test]
    fn normalize_never_panics_on_markup_soup(s in "[<>/&;#!\\[\\]a-z\"'= \n-]{0,200}") {
        let raw = RawEntry { title: Some(s.clone()), summary: Some(s.clone()), content: Some(s.clone()), link: Some(s.clone()), ..Default::default() };
        let _ = normalize(&raw, &opts());
        let _ = parse_date(&s);
    }

    #[test]
    fn lines_are_split_on_newlines(s in "[a\né\r ]{0,40}") {
        let got: Vec<&str> = text::lines(&s).collect();
        let want: Vec<&str> = s.split('\n').collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn fingerprint_is_idempotent(s in any::<String>()) {
        let once = fingerprint_text(&s);
        prop_assert_eq!(fingerprint_text(&once), once);
    }

    #[test]
    fn fingerprint_is_idempotent_on_tricky_chars(s in "[a-zA-Zİıς'’ \u{301}\u{307}\u{200D}\u{212A}ﬁ.,:/&–—-]{0,40}") {
        let once = fingerprint_text(&s);
        prop_assert_eq!(fingerprint_text(&once), once);
    }

    #[test]
    fn html_to_text_removes_well_formed_tags(doc in html_doc()) {
        let out = html_to_text(&doc);
        prop_assert!(!out.contains('<'), "{:?} -> {:?}", doc, out);
        prop_assert!(!out.contains("\n\n\n"));
        prop_assert_eq!(out.trim(), out.as_str());
    }

    #[test]
    fn parse_date_never_panics(s in any::<String>()) {
        let _ = parse_date(&s);
    }

    #[test]
    fn canonical_url_is_idempotent(path in "[a-z/]{0,20}", q in "[a-z_=&]{0,20}") {
        let u = format!("https://example.com/{path}?{q}");
        if let Some(c1) = canonical_url(&u, None) {
            prop_assert_eq!(canonical_url(&c1, None), Some(c1.clone()));
        }
    }
}

#[test]
#[ignore = "prints the normalized corpus story for eyeballing"]
fn show_wire_story() {
    let Some((title, body)) = load_wire_story() else {
        return;
    };
    let raw = RawEntry {
        title: Some(title),
        content: Some(body),
        ..Default::default()
    };
    let a = normalize(&raw, &opts());
    println!("{a:#?}");
}

/// A synthetic ~400-word HTML wire article (own text, deterministic).
fn synthetic_article(seed: u64) -> RawEntry {
    const WORDS: &[&str] = &[
        "the",
        "minister",
        "said",
        "on",
        "Monday",
        "that",
        "talks",
        "with",
        "officials",
        "from",
        "neighbouring",
        "countries",
        "would",
        "continue",
        "next",
        "week",
        "in",
        "the",
        "capital",
        "despite",
        "growing",
        "concerns",
        "over",
        "energy",
        "prices",
        "and",
        "trade",
        "routes",
        "across",
        "the",
        "region",
        "analysts",
        "expect",
        "a",
        "deal",
        "before",
        "summer",
        "while",
        "markets",
        "reacted",
        "calmly",
        "to",
        "the",
        "news",
        "government",
        "spokesman",
        "added",
    ];
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    let mut html = String::from("<div class=\"story\"><p>BAKU, Azerbaijan, May 3 (Trend): ");
    for p in 0..8 {
        if p > 0 {
            html.push_str("<p>");
        }
        for w in 0..50 {
            if w > 0 {
                html.push(' ');
            }
            let word = WORDS[next() % WORDS.len()];
            if w % 17 == 5 {
                html.push_str(&format!("<a href=\"https://e.com/{word}\">{word}</a>"));
            } else if w % 23 == 7 {
                html.push_str(&format!("&ldquo;{word}&rdquo;"));
            } else {
                html.push_str(word);
            }
        }
        html.push_str(if p == 0 {
            ", Trend reports.</p>\n"
        } else {
            ".</p>\n"
        });
    }
    html.push_str("<figure><img src=x><figcaption>Photo</figcaption></figure><p>Follow us on Twitter</p></div>");
    RawEntry {
        guid: None,
        link: Some(format!(
            "https://news.example.com/story/{seed}?utm_source=rss&id=3"
        )),
        title: Some("Minister says talks to continue next week - Example News".into()),
        summary: Some("Minister says talks will continue".into()),
        content: Some(html),
        published: Some(now()),
        language: Some("en".into()),
        ..Default::default()
    }
}

/// Indicative throughput: `cargo test --release throughput -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn throughput() {
    let entries: Vec<RawEntry> = (0..64).map(synthetic_article).collect();
    let words = entries[0]
        .content
        .as_deref()
        .map_or(0, |c| html_to_text(c).split_whitespace().count());
    let o = opts();
    let n = 20_000;
    let start = std::time::Instant::now();
    let mut total = 0usize;
    for i in 0..n {
        total += normalize(&entries[i % entries.len()], &o).fp_text.len();
    }
    let el = start.elapsed();
    eprintln!(
        "{n} articles of ~{words} words, {} HTML bytes: {:?} -> {:.0} articles/s ({total})",
        entries[0].content.as_deref().map_or(0, str::len),
        el,
        n as f64 / el.as_secs_f64()
    );
}

#[test]
#[ignore = "timing; run in release"]
fn profile_stages() {
    let e = synthetic_article(1);
    let content = e.content.clone().unwrap_or_default();
    let n = 5000;
    let t = |name: &str, f: &mut dyn FnMut() -> usize| {
        let start = std::time::Instant::now();
        let mut s = 0;
        for _ in 0..n {
            s += f();
        }
        eprintln!("{name}: {:?}/op ({s})", start.elapsed() / n);
    };
    let text = html_to_text(&content);
    let paras: Vec<&str> = text.split("\n\n").collect();
    let rules = Rules::shared_default();
    let disp = rules.clean_display(&paras);
    t("html_to_text", &mut || html_to_text(&content).len());
    t("clean_display", &mut || rules.clean_display(&paras).len());
    t("clean_fingerprint", &mut || {
        rules.clean_fingerprint(&disp).len()
    });
    t("fingerprint_text", &mut || fingerprint_text(&text).len());
    t("lang::detect", &mut || {
        lang::detect("Minister says talks", &text, Some("en"))
            .0
            .map_or(0, |s| s.len())
    });
    t("canonical_url", &mut || {
        canonical_url("https://news.example.com/story/1?utm_source=rss&id=3", None)
            .map_or(0, |s| s.len())
    });
    t("title", &mut || {
        fingerprint_text(strip_site_name(
            "Minister says talks to continue next week - Example News",
        ))
        .len()
    });
}

/// The rule hits an operator reads in `/metrics` count each normalization of a fetched
/// entry: redoing a stored article's fingerprint text or entity mask (the fold's second
/// looks, the schema-3 migration) finds the same boilerplate again and must not count it.
#[test]
fn rule_hits_count_fetched_articles_not_stored_ones_cleaned_again() {
    let table = Arc::new(Rules::with_extra(&[]).unwrap());
    let dateline = |t: &Rules| {
        t.hits()
            .find(|(n, _)| *n == "dateline-city-date")
            .map_or(0, |(_, h)| h)
    };
    let raw = RawEntry {
        title: Some("Dock workers strike".into()),
        content: Some(
            "<p>VALMORA, March 3 (Reuters) - Dock workers walked out on Tuesday.</p>\
             <p>The union said its members would stay out.</p>"
                .into(),
        ),
        ..Default::default()
    };
    let o = NormalizeOptions {
        rules: Arc::clone(&table),
        ..opts()
    };
    let a = normalize(&raw, &o);
    assert!(
        a.fp_text.starts_with("dock workers walked out"),
        "{}",
        a.fp_text
    );
    assert_eq!(dateline(&table), 1);
    assert_eq!(stored_fp_text(&a.title, &a.text, &table), a.fp_text);
    assert_eq!(lead_entities(&a.title, &a.text, &table), a.entities);
    assert_eq!(
        dateline(&table),
        1,
        "cleaning stored text again is not a hit"
    );
    let _ = normalize(&raw, &o);
    assert_eq!(dateline(&table), 2, "a fetched article is");
}

/// Plain text keeps what looks like markup as the words it is; HTML mislabelled as plain
/// text is still read as HTML.
#[test]
fn text_declared_plain_keeps_its_angle_brackets_and_ampersands() {
    let raw = RawEntry {
        title: Some("Why <script> tags still matter & more".into()),
        content: Some("Bracket ]]> inside: a < b and AT&amp;T.\n\nSecond paragraph.".into()),
        plain: PlainText {
            title: true,
            summary: false,
            content: true,
        },
        ..RawEntry::default()
    };
    let a = normalize(&raw, &opts());
    assert_eq!(a.title, "Why <script> tags still matter & more");
    assert_eq!(
        a.text,
        "Bracket ]]> inside: a < b and AT&amp;T.\n\nSecond paragraph."
    );
    // The same strings read as HTML decode their entities (an unclosed `<script>` is words
    // there too).
    let html = normalize(
        &RawEntry {
            plain: PlainText::default(),
            ..raw
        },
        &opts(),
    );
    assert_eq!(html.title, "Why <script> tags still matter & more");
    assert!(html.text.contains("AT&T."), "{}", html.text);
    for mislabelled in [
        "<p>One</p><p>Two</p>",
        "One<br>Two",
        "One<!-- c -->",
        "<div>One</div>",
    ] {
        assert_eq!(
            plain_to_text(mislabelled),
            html_to_text(mislabelled),
            "{mislabelled}"
        );
    }
    assert_eq!(plain_to_text("Use <b> for bold"), "Use <b> for bold");
    assert_eq!(plain_to_text("x\u{200B}y  z\r\n\r\nw"), "xy z\n\nw");
}
