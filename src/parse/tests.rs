use super::entry::is_text_media;
use super::*;

const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Demo wire</title><ttl>30</ttl>
<item><title>First</title><link>/news/1</link><guid isPermaLink="false">id-1</guid>
<description>One &amp; two</description><pubDate>Mon, 06 Mar 2023 10:00:00 GMT</pubDate></item>
<item><title>No id</title><link>https://example.com/news/2</link></item>
<item><title>No id, no link</title><description>text only</description></item>
</channel></rss>"#;

#[test]
fn rss_entries_keep_order_and_resolve_links() {
    let f = parse_feed(RSS.as_bytes(), "https://example.com/feed.xml", None).unwrap();
    assert_eq!(f.title.as_deref(), Some("Demo wire"));
    assert_eq!(f.ttl_minutes, Some(30));
    assert_eq!(f.entries.len(), 3);
    assert_eq!(f.entries[0].guid.as_deref(), Some("id-1"));
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://example.com/news/1")
    );
    assert!(f.entries[0].published.is_some());
}

#[test]
fn a_declaration_past_the_start_is_ignored_not_a_reader_panic() {
    // quick-xml 0.42 asserts when feed-rs hands it a declared encoding after its 64-byte
    // look-ahead is spent: a declaration behind a long comment, or a second one further on.
    // Such declarations are not XML; the body is UTF-8 by then, so they are dropped.
    let comment = format!("<!-- {} -->", "generated ".repeat(12));
    for body in [
        format!("{comment}\n<?xml version=\"1.0\" encoding=\"ISO-8859-5\"?>{RSS_BODY}"),
        format!("<?xml version=\"1.0\"?>{RSS_BODY}<?xml version=\"1.0\" encoding=\"koi8-r\"?>"),
        format!(
            "<?xml version=\"1.0\"{}encoding=\"windows-1251\"?>{RSS_BODY}",
            " ".repeat(80)
        ),
    ] {
        let f = parse_feed(body.as_bytes(), "https://example.com/feed.xml", None)
            .unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(f.entries.len(), 1, "{body}");
        assert_eq!(f.entries[0].title.as_deref(), Some("Only item"));
    }
}

/// gzip data sent unlabelled (a `.xml.gz` file) is named as such, not as bad JSON.
#[test]
fn an_unlabelled_gzip_body_is_named() {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(RSS_BODY.as_bytes()).unwrap();
    let gz = z.finish().unwrap();
    let e = parse_feed(
        &gz,
        "https://example.com/feed.xml.gz",
        Some("application/rss+xml"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("still gzip-compressed data (served without Content-Encoding: gzip"),
        "{e}"
    );
}

const RSS_BODY: &str = "<rss version=\"2.0\"><channel><title>T</title>\
        <item><title>Only item</title><link>https://example.com/1</link></item></channel></rss>";

#[test]
fn an_entry_links_to_its_html_page_before_another_alternate() {
    let link = |links: &str| {
        let xml = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>\
                 <entry><title>t</title><id>urn:1</id>{links}</entry></feed>"
        );
        let f = parse_feed(xml.as_bytes(), "https://e.com/feed", None).unwrap();
        f.entries[0].link.clone()
    };
    let pdf = "<link rel=\"alternate\" type=\"application/pdf\" href=\"https://e.com/a.pdf\"/>";
    let html = "<link rel=\"alternate\" type=\"text/html\" href=\"https://e.com/a\"/>";
    let untyped = "<link href=\"https://e.com/b\"/>";
    assert_eq!(
        link(&format!("{pdf}{html}")).as_deref(),
        Some("https://e.com/a")
    );
    assert_eq!(
        link(&format!("{pdf}{untyped}")).as_deref(),
        Some("https://e.com/b")
    );
    // The only alternate, whatever its type.
    assert_eq!(link(pdf).as_deref(), Some("https://e.com/a.pdf"));
}

#[test]
fn a_feedburner_item_links_to_the_publishers_page_not_the_proxy() {
    let links = |xml: &str| -> Vec<Option<String>> {
        let f = parse_feed(xml.as_bytes(), "https://feeds.example.com/x", None).unwrap();
        f.entries.into_iter().map(|e| e.link).collect()
    };
    let fb = "xmlns:feedburner=\"http://rssnamespace.org/feedburner/ext/1.0\"";
    let rss = format!(
            "<rss version=\"2.0\" {fb}><channel><title>A</title>\
             <item><title>one</title><link>http://feedproxy.google.com/~r/x/~3/a/</link>\
             <feedburner:origLink>https://news.example.org/a?x=1&amp;y=2</feedburner:origLink></item>\
             <item><title>two</title><link>https://news.example.org/b</link></item>\
             <item><title>three</title><link>http://feedproxy.google.com/~r/x/~3/c/</link>\
             <feedburner:origLink>javascript:alert(1)</feedburner:origLink></item>\
             </channel></rss>"
        );
    assert_eq!(
        links(&rss),
        [
            Some("https://news.example.org/a?x=1&y=2".to_owned()),
            Some("https://news.example.org/b".to_owned()),
            Some("http://feedproxy.google.com/~r/x/~3/c/".to_owned()),
        ]
    );
    let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" {fb}><title>A</title>\
             <entry><title>one</title><id>urn:1</id><link rel=\"alternate\" href=\"http://feedproxy.google.com/~r/x/~3/a/\"/>\
             <feedburner:origLink>https://news.example.org/a</feedburner:origLink></entry></feed>"
        );
    assert_eq!(
        links(&atom),
        [Some("https://news.example.org/a".to_owned())]
    );
}

/// Media RSS: an item's own `<media:title>` and `<media:description>`, or those of its
/// `<media:group>` (YouTube's feeds), stand in for a missing headline or text; a photo's
/// inside `<media:content>` does not. Such items were stored empty.
#[test]
fn an_item_without_a_title_or_text_takes_its_media_one() {
    let rss = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>A</title>\
            <item><link>https://e.org/1</link><media:title>Harbour reopens</media:title>\
            <media:description>The harbour reopened on Monday.</media:description></item>\
            <item><link>https://e.org/2</link><media:group><media:title type=\"plain\">Storm &amp; floods</media:title>\
            <media:description>Rivers rose overnight.</media:description><media:content url=\"https://e.org/v.mp4\"/></media:group></item>\
            <item><link>https://e.org/3</link><media:content url=\"https://e.org/p.jpg\"><media:title>IMG_1234.jpg</media:title>\
            <media:description>A photo</media:description></media:content></item>\
            <item><title>Own</title><description>Own text</description><link>https://e.org/4</link>\
            <media:title>Other</media:title><media:description>Other text</media:description></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
    let got: Vec<(Option<&str>, Option<&str>)> = f
        .entries
        .iter()
        .map(|e| (e.title.as_deref(), e.summary.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("Harbour reopens"),
                Some("The harbour reopened on Monday.")
            ),
            (Some("Storm & floods"), Some("Rivers rose overnight.")),
            (None, None),
            (Some("Own"), Some("Own text")),
        ]
    );
    let youtube = "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:media=\"http://search.yahoo.com/mrss/\">\
            <title>Channel</title><entry><id>yt:video:1</id><title>Launch day</title>\
            <link rel=\"alternate\" href=\"https://www.youtube.com/watch?v=1\"/>\
            <media:group><media:title>Launch day</media:title><media:description>The rocket lifted off at dawn.</media:description></media:group>\
            </entry></feed>";
    let f = parse_feed(youtube.as_bytes(), "https://e.org/feed", None).unwrap();
    let e = &f.entries[0];
    let text = e.summary.as_deref().or(e.content.as_deref());
    assert_eq!(text, Some("The rocket lifted off at dawn."));
}

#[test]
fn an_item_without_a_title_or_text_takes_its_dc_or_itunes_one() {
    let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
            xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>A</title>\
            <item><itunes:title>Episode</itunes:title><dc:title><![CDATA[Budget & <b>tax</b>]]></dc:title><link>https://e.org/1</link></item>\
            <item><itunes:title>Fish &amp; chips</itunes:title><link>https://e.org/2</link></item>\
            <item><title>Own</title><dc:title>Other</dc:title><link>https://e.org/3</link></item>\
            <item><title> </title><dc:title> </dc:title><itunes:title>Second choice</itunes:title><link>https://e.org/4</link></item>\
            <item><link>https://e.org/5</link><description>untitled</description></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
    let titles: Vec<Option<&str>> = f.entries.iter().map(|e| e.title.as_deref()).collect();
    assert_eq!(
        titles,
        [
            Some("Budget & <b>tax</b>"),
            Some("Fish & chips"),
            Some("Own"),
            Some("Second choice"),
            None,
        ]
    );
    let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
            xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>A</title>\
            <item><title>a</title><itunes:summary>Show notes</itunes:summary><dc:description>Budget &amp; tax</dc:description></item>\
            <item><title>b</title><itunes:summary><![CDATA[<p>Notes</p>]]></itunes:summary></item>\
            <item><title>c</title><description>Own</description><dc:description>Other</dc:description></item>\
            <item><title>d</title></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
    let texts: Vec<Option<&str>> = f.entries.iter().map(|e| e.summary.as_deref()).collect();
    assert_eq!(
        texts,
        [
            Some("Budget & tax"),
            Some("<p>Notes</p>"),
            Some("Own"),
            None
        ]
    );
}

/// feed-rs recurses once per nested Media RSS element: 3,000 levels overflowed the stack
/// and aborted the process (this test's too, had the guard let it through).
#[test]
fn deeply_nested_media_rss_is_a_malformed_feed_not_a_stack_overflow() {
    for (open, close) in [
        ("<media:group>", "</media:group>"),
        (
            "<media:content url=\"https://e.org/a.jpg\">",
            "</media:content>",
        ),
    ] {
        let rss = format!(
                "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>A</title>\
                 <item><title>a</title>{}{}</item></channel></rss>",
                open.repeat(3000),
                close.repeat(3000)
            );
        let e = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap_err();
        assert!(
            matches!(&e, ParseError::Malformed(m) if m.contains("nested 65 deep")),
            "{e}"
        );
    }
}

#[test]
fn a_linkless_items_path_guid_links_to_the_feeds_site() {
    let rss = "<rss version=\"2.0\"><channel><title>A</title>\
            <item><title>a</title><guid>/news/a-1</guid></item>\
            <item><title>b</title><guid isPermaLink=\"false\">/news/b-2</guid></item>\
            <item><title>c</title><guid>/news/c-3</guid><link>https://e.org/c</link></item>\
            <item><title>d</title><guid>//cdn.example/d</guid></item>\
            <item><title>e</title><guid>e-5</guid></item>\
            </channel></rss>";
    let links = |feed_url: &str| -> Vec<Option<String>> {
        let f = parse_feed(rss.as_bytes(), feed_url, None).unwrap();
        f.entries.into_iter().map(|e| e.link).collect()
    };
    assert_eq!(
        links("https://e.org/rss/all.xml"),
        [
            Some("https://e.org/news/a-1".to_owned()),
            None,
            Some("https://e.org/c".to_owned()),
            None,
            None,
        ]
    );
    // A feed read from a file has no site to resolve against.
    assert_eq!(links("file:///srv/feeds/all.xml")[0], None);
    // The channel's link is the site, wherever the feed is served from; a GUID that a URL
    // parser reads as another host, or that says (in any case) it is no permalink, is not
    // followed.
    let rss = "<rss version=\"2.0\"><channel><title>A</title><link>https://www.e.org/</link>\
            <atom:link xmlns:atom=\"http://www.w3.org/2005/Atom\" rel=\"self\" href=\"https://feeds.e.org/rss\"/>\
            <item><title>a</title><guid>/news/a-1</guid></item>\
            <item><title>b</title><guid>/\\evil.example/x</guid></item>\
            <item><title>c</title><guid isPermaLink=\"False\">/news/c-3</guid></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://feeds.e.org/rss", None).unwrap();
    let got: Vec<Option<String>> = f.entries.into_iter().map(|e| e.link).collect();
    assert_eq!(
        got,
        [Some("https://www.e.org/news/a-1".to_owned()), None, None]
    );
}

#[test]
fn only_an_items_own_dc_title_counts_and_commented_items_are_no_items() {
    let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
            xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>A</title>\
            <!-- <item><dc:title>Withdrawn story</dc:title></item> -->\
            <item><media:content url=\"https://e.org/p.jpg\"><dc:title>IMG_4411.jpg</dc:title></media:content>\
            <dc:title>Real headline</dc:title><link>https://e.org/1</link></item>\
            <item><dc:title>Caf&eacute; owners&nbsp;protest</dc:title><link>https://e.org/2</link></item>\
            <item><media:content url=\"https://e.org/q.jpg\"><dc:title>caption only</dc:title></media:content>\
            <link>https://e.org/3</link></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
    let titles: Vec<Option<&str>> = f.entries.iter().map(|e| e.title.as_deref()).collect();
    assert_eq!(
        titles,
        [
            Some("Real headline"),
            Some("Caf&eacute; owners&nbsp;protest"),
            None
        ]
    );
}

#[test]
fn a_dc_date_that_says_nothing_does_not_hide_the_pub_date() {
    let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>A</title>\
            <item><title>a</title><pubDate>Mon, 16 Oct 2017 15:10:00 +0000</pubDate><dc:date>garbage</dc:date></item>\
            <item><title>b</title><pubDate><![CDATA[Tue, 17 Oct 2017 15:10:00 GMT]]></pubDate><dc:date></dc:date></item>\
            <item><title>c</title><pubDate>Wed, 18 Oct 2017 15:10:00 +0000</pubDate><dc:date>1970-01-01T00:00:00Z</dc:date></item>\
            <item><title>d</title><pubDate>Thu, 19 Oct 2017 15:10:00 +0000</pubDate><dc:date>2017-10-19T16:00:00Z</dc:date></item>\
            <item><title>e</title><dc:date>soon</dc:date></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
    let dates: Vec<Option<String>> = f
        .entries
        .iter()
        .map(|e| e.published.map(|d| d.to_rfc3339()))
        .collect();
    assert_eq!(
        dates,
        [
            Some("2017-10-16T15:10:00+00:00".to_owned()),
            Some("2017-10-17T15:10:00+00:00".to_owned()),
            Some("2017-10-18T15:10:00+00:00".to_owned()),
            // a dc:date that reads, after the pubDate, is the one feed-rs took
            Some("2017-10-19T16:00:00+00:00".to_owned()),
            None,
        ]
    );
}

/// What other readers take and feed-rs refused, or read no entry from (`repair`).
#[test]
fn feeds_feed_rs_refuses_or_reads_empty_are_repaired() {
    let titles = |xml: &str| -> Vec<String> {
        let f = parse_feed(xml.as_bytes(), "https://e.com/feed", None)
            .unwrap_or_else(|e| panic!("{e}: {xml}"));
        f.entries.into_iter().filter_map(|e| e.title).collect()
    };
    let item = |t: &str| format!("<item><title>{t}</title><link>https://e.com/{t}</link></item>");
    // A bare `&` in one item's link and another's title.
    let amp = format!(
        "<rss version=\"2.0\"><channel><title>A</title>{}<item><title>Fish & Chips</title>\
             <link>https://e.com/b?x=1&y=2</link></item>{}</channel></rss>",
        item("one"),
        item("three")
    );
    assert_eq!(titles(&amp), ["one", "Fish & Chips", "three"]);
    let f = parse_feed(amp.as_bytes(), "https://e.com/feed", None).unwrap();
    assert_eq!(
        f.entries[1].link.as_deref(),
        Some("https://e.com/b?x=1&y=2")
    );
    // RSS without a version, with one feed-rs does not know, with a default namespace.
    for root in [
        "<rss>",
        "<rss version=\"0.94\">",
        "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\">",
    ] {
        let xml = format!(
            "<?xml version=\"1.0\"?>{root}<channel><title>A</title>{}</channel></rss>",
            item("one")
        );
        assert_eq!(titles(&xml), ["one"], "{root}");
    }
    // RSS 0.90; an RSS 1.0 item without link; Atom 0.3 with its own dates.
    let rdf = |ns: &str, item: &str| {
        format!(
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"{ns}\">\
                <channel><title>A</title><link>https://e.com/</link></channel>{item}</rdf:RDF>"
        )
    };
    assert_eq!(
        titles(&rdf("http://my.netscape.com/rdf/simple/0.9/", &item("one"))),
        ["one"]
    );
    let about = "<item rdf:about=\"https://e.com/a\"><title>no link</title></item>";
    let f = parse_feed(
        rdf("http://purl.org/rss/1.0/", about).as_bytes(),
        "https://e.com/",
        None,
    )
    .unwrap();
    assert_eq!(f.entries[0].link.as_deref(), Some("https://e.com/a"));
    // ... also beside an item with its link, which feed-rs reads: both are entries.
    let linked = "<item rdf:about=\"https://e.com/b\"><title>linked</title><link>https://e.com/b</link></item>";
    let f = parse_feed(
        rdf("http://purl.org/rss/1.0/", &format!("{linked}{about}")).as_bytes(),
        "https://e.com/",
        None,
    )
    .unwrap();
    let got: Vec<Option<&str>> = f.entries.iter().map(|e| e.link.as_deref()).collect();
    assert_eq!(got, [Some("https://e.com/b"), Some("https://e.com/a")]);
    let atom03 = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>A</title>\
            <entry><title type=\"text/plain\">old</title><link rel=\"alternate\" href=\"https://e.com/o\"/>\
            <id>tag:e.com,2004:1</id><issued>2004-01-01T19:48:21Z</issued></entry></feed>";
    let f = parse_feed(atom03.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries[0].title.as_deref(), Some("old"));
    assert_eq!(
        f.entries[0].published.map(|d| d.to_rfc3339()).as_deref(),
        Some("2004-01-01T19:48:21+00:00")
    );
    // One text element of a type feed-rs does not know refused the whole feed.
    let entry = |t: &str, extra: &str| {
        format!("<entry><title>{t}</title><id>urn:{t}</id><link href=\"https://e.com/{t}\"/>{extra}</entry>")
    };
    let typed = format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>{}{}{}</feed>",
        entry(
            "one",
            "<summary type=\"text/plain\">AT&amp;T &lt;S&gt;</summary>"
        ),
        entry(
            "two",
            "<content type=\"HTML\">&lt;p&gt;Lead &lt;b&gt;words&lt;/b&gt;&lt;/p&gt;</content>"
        ),
        entry("three", "<rights type=\"\">r</rights>"),
    );
    let f = parse_feed(typed.as_bytes(), "https://e.com/feed", None).unwrap();
    assert_eq!(f.entries.len(), 3);
    assert_eq!(f.entries[0].summary.as_deref(), Some("AT&T <S>"));
    assert!(f.entries[0].plain.summary, "text/plain is plain text");
    assert!(!f.entries[1].plain.content, "HTML is HTML");
    // HTML written as XML in an RSS description: the whole text, not up to `<em>`.
    let naked = "<rss version=\"2.0\"><channel><title>A</title><item><title>t</title>\
            <link>https://e.com/n</link><description>Lead <em>words</em> and the rest.</description>\
            </item></channel></rss>";
    let f = parse_feed(naked.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(
        f.entries[0].summary.as_deref(),
        Some("Lead <em>words</em> and the rest.")
    );
    // Entries nothing reads are an error, not a feed that never has news; an empty
    // feed, or an item in a CDATA section, is no such case.
    let unknown = "<rss version=\"2.0\"><channel><title>A</title><x:items xmlns:x=\"urn:x\">\
            <x:item><x:title>t</x:title></x:item></x:items></channel></rss>";
    let err = parse_feed(unknown.as_bytes(), "https://e.com/", None).unwrap_err();
    assert!(
        err.to_string().contains("holds 1 item or entry elements"),
        "{err}"
    );
    let empty = "<rss version=\"2.0\"><channel><title>A</title>\
            <description><![CDATA[<item>]]></description></channel></rss>";
    assert_eq!(titles(empty), Vec::<String>::new());
}

#[test]
fn entries_without_id_get_no_invented_id() {
    // Parsed twice: feed-rs would invent a random UUID for the third entry each time.
    for _ in 0..2 {
        let f = parse_feed(RSS.as_bytes(), "https://example.com/feed.xml", None).unwrap();
        assert_eq!(f.entries[1].guid, None);
        assert_eq!(f.entries[2].guid, None);
        assert_eq!(f.entries[2].link, None);
    }
}

#[test]
fn a_home_page_names_the_feeds_it_announces() {
    let page = br#"<!doctype html><html><head><title>Valley Herald</title>
<link rel="stylesheet" href="/site.css">
<link rel="alternate" type="application/rss+xml" title="News" href="/rss/news.xml">
<LINK REL='alternate' TYPE='application/atom+xml' HREF='https://feeds.example.net/herald.atom?a=1&amp;b=2'>
<link rel="alternate" hreflang="fr" href="/fr/">
<link href=/rss/news.xml type=application/rss+xml rel=alternate>
<link rel="alternate" type="application/feed+json" href="ftp://example.org/feed.json">
<link rel="alternate nofollow" type="application/feed+json" href="feed.json">
<link rel="alternate" type="application/rss+xml" href="/fourth.xml">
</head><body>Welcome</body></html>"#;
    let Err(e) = parse_feed(page, "https://herald.example.org/home/", None) else {
        panic!("a page is not a feed");
    };
    assert_eq!(e.class(), "not_a_feed");
    let ParseError::NotAFeed { feeds, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(
        feeds,
        &[
            "https://herald.example.org/rss/news.xml",
            "https://feeds.example.net/herald.atom?a=1&b=2",
            "https://herald.example.org/home/feed.json",
        ]
    );
    assert_eq!(
            e.to_string(),
            "not a feed: the body is an HTML page that announces feeds: \
             https://herald.example.org/rss/news.xml, https://feeds.example.net/herald.atom?a=1&b=2, \
             https://herald.example.org/home/feed.json (set the source's url to the feed)"
        );
}

#[test]
fn html_pages_and_empty_bodies_are_classified() {
    let html = b"<!DOCTYPE html><html><body>403 Forbidden</body></html>";
    assert!(matches!(
        parse_feed(html, "http://x/", None),
        Err(ParseError::NotAFeed { feeds, .. }) if feeds.is_empty()
    ));
    assert!(matches!(
        parse_feed(b"  \n ", "http://x/", None),
        Err(ParseError::Empty { .. })
    ));
    let bad = parse_feed(b"<rss version=\"2.0\"><channel><item>", "http://x/", None);
    assert!(bad.is_err());
    assert!(matches!(
        parse_feed(b"{\"not\": \"a feed\"}", "http://x/", None),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn skip_hours_and_days_are_read() {
    let rss = "<rss version=\"2.0\"><channel><title>S</title>
<skipHours><hour>0</hour><hour> 7 </hour><hour>24</hour><hour>99</hour></skipHours>
<skipDays><day>Saturday</day><day>sunday</day><day>Caturday</day></skipDays>
<item><title>x</title></item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "http://x/", None).unwrap();
    assert_eq!(f.skip_hours, 1 | (1 << 7));
    assert_eq!(f.skip_days, (1 << 5) | (1 << 6));
    assert_eq!(skip_times(b"<rss></rss>"), (0, 0));
}

#[test]
fn legacy_charsets_reach_feed_rs_as_unicode() {
    // Declared only in Content-Type: feed-rs alone would read these bytes as UTF-8.
    let xml = "<rss version=\"2.0\"><channel><title>Лента</title>
<item><guid>1</guid><title>Новости дня</title></item></channel></rss>";
    let (body, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
    let f = parse_feed(&body, "http://x/", Some("text/xml; charset=windows-1251")).unwrap();
    assert_eq!(f.encoding, "windows-1251");
    assert_eq!(f.title.as_deref(), Some("Лента"));
    assert_eq!(f.entries[0].title.as_deref(), Some("Новости дня"));
    // Declared in the prolog, served with a wrong header charset.
    let xml = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>
<rss version=\"2.0\"><channel><title>ニュース</title><item><guid>1</guid><title>東京</title></item></channel></rss>";
    let (body, _, _) = encoding_rs::SHIFT_JIS.encode(xml);
    let f = parse_feed(&body, "http://x/", Some("text/xml; charset=iso-8859-1")).unwrap();
    assert_eq!(f.title.as_deref(), Some("ニュース"));
    assert_eq!(f.entries[0].title.as_deref(), Some("東京"));
}

#[test]
fn a_reference_to_no_character_costs_its_character_not_the_feed() {
    // XML: a surrogate pair written as two references (Java, JavaScript), one alone,
    // NUL, past U+10FFFF; each made the reader refuse the whole feed.
    let rss = "<rss version=\"2.0\"><channel><title>S</title>
<item><guid>1</guid><title>Smile &#55357;&#56832; &#xD83D;&#xDE00; now</title></item>
<item><guid>2</guid><title>Cut &#55357; here &#56832; &#0; &#1114112; &#99999999999;</title></item>
<item><guid>3</guid><title>Fine &#233; &amp; AT&T</title></item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "http://x/", None).unwrap();
    let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
    assert_eq!(
        titles,
        [
            Some("Smile 😀 😀 now"),
            Some("Cut \u{FFFD} here \u{FFFD} \u{FFFD} \u{FFFD} \u{FFFD}"),
            Some("Fine é & AT&T")
        ]
    );
    // JSON Feed: a lone surrogate escape (a string cut inside an emoji), a low one alone;
    // a pair and an escaped backslash before `u` are left as they are.
    let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
{"id": "1", "title": "Party \ud83d", "content_text": "a \ude00 b \\ud83d c \ud83d\ude00"},
{"id": "2", "title": "Second", "content_text": "x"}]}"#;
    let f = parse_feed(json.as_bytes(), "http://x/", None).unwrap();
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].title.as_deref(), Some("Party \u{FFFD}"));
    assert_eq!(json_surrogates_repaired(b"\"\\"), None);
    assert_eq!(json_surrogates_repaired(br#""\\ud83d \ud83d\ude00""#), None);
    assert_eq!(
        json_surrogates_repaired(b"\"\\ud83d"),
        Some(b"\"\\ufffd".to_vec())
    );
}

#[test]
fn a_document_that_makes_the_xml_reader_panic_is_a_malformed_feed() {
    // Found by the `feed` fuzz target (issue 9): the XML declaration names an encoding,
    // then a second declaration inside the document names another.
    for body in [
        &include_bytes!("../../tests/fixtures/hostile/quick-xml-set-encoding-panic.xml")[..],
        &include_bytes!("../../tests/fixtures/hostile/quick-xml-set-encoding-panic-2.xml")[..],
    ] {
        assert!(matches!(
            parse_feed(body, "http://x/", None),
            Err(ParseError::Malformed(_))
        ));
    }
}

#[test]
fn atom_and_json_feed_parse() {
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>urn:a:1</id><title>T</title><link href="https://e.com/a"/><summary>S</summary>
<updated>2024-01-02T03:04:05Z</updated></entry></feed>"#;
    let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries[0].guid.as_deref(), Some("urn:a:1"));
    assert!(f.entries[0].updated.is_some());
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
"items":[{"id":"j1","url":"https://e.com/j1","title":"JT","content_text":"body"}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries[0].guid.as_deref(), Some("j1"));
    assert_eq!(f.entries[0].title.as_deref(), Some("JT"));
}

#[test]
fn a_json_feed_items_id_or_date_that_is_a_number_is_read_as_such() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":17,"url":"https://e.com/17","title":"Seventeen","content_text":"x"},
{"id":"s","url":"https://e.com/s","title":"S","content_text":"y"}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries[0].guid.as_deref(), Some("17"));
    assert_eq!(f.entries[1].guid.as_deref(), Some("s"));
    // A date that is a number is the Unix time it says; another non-string, no date.
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"a","url":"https://e.com/a","title":"A","content_text":"x","date_published":1796466864},
{"id":"b","url":"https://e.com/b","title":"B","content_text":"y","date_modified":1796466864000},
{"id":"c","url":"https://e.com/c","title":"C","content_text":"z","date_published":{"at":1}}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries.len(), 3);
    let when = |i: usize| {
        let e = &f.entries[i];
        e.published.or(e.updated).map(|t| t.timestamp())
    };
    assert_eq!(when(0), Some(1_796_466_864));
    assert_eq!(when(1), Some(1_796_466_864));
    assert_eq!(when(2), None);
    // JSON that is no feed is still refused, with feed-rs's reason.
    let bad = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":{"a":1}}"#;
    assert!(matches!(
        parse_feed(bad.as_bytes(), "https://e.com/", None),
        Err(ParseError::Malformed(_))
    ));
}

/// One field of the wrong type (an attachment without its type, an author given as a
/// name, tags as a string, a number for a text) refused the whole feed, every good item
/// with it: the field is now read as other readers read it, or left out.
#[test]
fn a_json_feed_version_in_another_spelling_is_read() {
    for version in [
        "1.0",
        "1",
        "1.1",
        "http://jsonfeed.org/version/1",
        "https://jsonfeed.org/version/1.1/",
    ] {
        let json = format!(
            r#"{{"version":"{version}","title":"J","items":[
{{"id":"a","url":"https://e.com/a","title":"A","content_text":"x"}}]}}"#
        );
        let f = parse_feed(json.as_bytes(), "https://e.com/", None)
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(f.entries.len(), 1, "{version}");
    }
    // another version, or none, is still refused: no JSON Feed says so
    for version in ["\"2.0\"", "\"https://example.com/version/1\"", "null"] {
        let json = format!(
            r#"{{"version":{version},"title":"J","items":[
{{"id":"a","url":"https://e.com/a","title":"A","content_text":"x"}}]}}"#
        );
        assert!(
            parse_feed(json.as_bytes(), "https://e.com/", None).is_err(),
            "{version}"
        );
    }
}

#[test]
fn a_json_feed_field_of_the_wrong_type_costs_that_field_not_the_feed() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":7,"author":"Desk",
"items":[
{"id":"good","url":"https://e.com/good","title":"Good","content_text":"kept"},
{"id":"a","url":"https://e.com/a","title":"A","content_text":"x",
 "attachments":[{"url":"https://e.com/a.mp3"},{"url":"https://e.com/b.mp3","mime_type":"audio/mpeg","size_in_bytes":1.5}]},
{"id":"b","url":"https://e.com/b","title":"B","content_text":"y","author":"Jane","authors":"Joe",
 "tags":"x","summary":123},
{"id":"c","url":"https://e.com/c","title":"C","content_text":"z","tags":[1,"two",null,{}],
 "attachments":{"url":"https://e.com/c.mp3"},"authors":[{"name":"Ann"},"Bo",5]},
"not an item"]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.title.as_deref(), Some("7"));
    let got: Vec<(Option<&str>, Vec<&str>)> = f
        .entries
        .iter()
        .map(|e| {
            (
                e.guid.as_deref(),
                e.authors.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // the feed's author stands for an item's without one
            (Some("good"), vec!["Desk"]),
            (Some("a"), vec!["Desk"]),
            (Some("b"), vec!["Jane", "Joe"]),
            (Some("c"), vec!["Ann", "Bo"]),
        ]
    );
    assert_eq!(f.entries[2].summary.as_deref(), Some("123"));
}

/// A document with no feed's root says which root it has: feed-rs's "no root element"
/// was said of documents that have one.
#[test]
fn a_document_without_a_feeds_root_names_the_root_it_has() {
    let message = |xml: &str| match parse_feed(xml.as_bytes(), "https://e.com/", None) {
        Err(ParseError::Malformed(m)) => m,
        other => panic!("{xml}: {other:?}"),
    };
    assert!(
        message("<?xml version=\"1.0\"?>\n<rss version=\"2.0\"></rss>")
            .contains("an <rss> document without a <channel> element")
    );
    assert!(message("<note><to>x</to></note>").contains("the root element is <note>"));
}

/// Atom content of a type that is not text is base64 data: no article text. Text,
/// HTML, XHTML and XML content is kept.
#[test]
fn atom_content_that_is_not_text_is_no_text() {
    let entry = |ty: &str, body: &str| {
        format!(
            "<entry><id>urn:{ty}</id><title>T</title><summary>S</summary>\
                 <content type=\"{ty}\">{body}</content></entry>"
        )
    };
    let atom = format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>{}{}{}{}</feed>",
        entry("application/octet-stream", "RW50cnkgQ29udGVudA=="),
        entry("html", "&lt;p&gt;Body&lt;/p&gt;"),
        entry("text", "Body"),
        entry("image/png", "iVBORw0KGgo="),
    );
    let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
    let content: Vec<Option<&str>> = f.entries.iter().map(|e| e.content.as_deref()).collect();
    assert_eq!(content[0], None);
    assert!(
        content[1].is_some_and(|c| c.contains("Body")),
        "{content:?}"
    );
    assert_eq!(content[2], Some("Body"));
    assert_eq!(content[3], None);
    assert!(f.entries.iter().all(|e| e.summary.as_deref() == Some("S")));
    for (ty, text) in [
        ("text/html; charset=utf-8", true),
        ("application/xhtml+xml", true),
        ("application/atom+xml", true),
        ("text/plain", true),
        ("application/octet-stream", false),
        ("audio/mpeg", false),
    ] {
        assert_eq!(is_text_media(ty), text, "{ty}");
    }
}

#[test]
fn an_atom_entry_is_not_linked_to_a_related_page() {
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id>
<updated>2026-12-05T10:00:00Z</updated>
<entry><id>urn:a</id><title>A</title><updated>2026-12-05T10:00:00Z</updated>
<link rel="related" href="https://other.example/background"/></entry>
<entry><id>urn:b</id><title>B</title><updated>2026-12-05T10:00:00Z</updated>
<link rel="self" href="https://e.com/api/b"/><link rel="enclosure" href="https://e.com/b.mp3"/></entry>
<entry><id>urn:c</id><title>C</title><updated>2026-12-05T10:00:00Z</updated>
<link rel="related" href="https://other.example/x"/><link href="https://e.com/c"/></entry>
</feed>"#;
    let f = parse_feed(atom.as_bytes(), "https://e.com/feed", None).unwrap();
    let links: Vec<Option<&str>> = f.entries.iter().map(|e| e.link.as_deref()).collect();
    assert_eq!(
        links,
        [None, Some("https://e.com/b.mp3"), Some("https://e.com/c")]
    );
}

#[test]
fn a_date_either_way_round_is_read_near_the_fetch() {
    let rss = r#"<rss version="2.0"><channel><title>T</title>
<item><guid>a</guid><title>A</title><pubDate>05/12/2026 09:36</pubDate></item>
</channel></rss>"#;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // (fetched, read as)
    for (fetched, read) in [
        ("2026-12-05T10:00:00Z", "2026-12-05T09:36:00Z"),
        ("2026-05-12T10:00:00Z", "2026-05-12T09:36:00Z"),
    ] {
        let f = parse_feed_at(rss.as_bytes(), "https://e.com/", None, at(fetched)).unwrap();
        assert_eq!(f.entries[0].published, Some(at(read)), "fetched {fetched}");
    }
}

#[test]
fn a_body_that_is_no_feed_says_what_it_was_served_as() {
    let e = parse_feed(b"\x89PNG\r\n{\x1a\n", "https://e.com/", Some("image/png"))
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("(served as image/png)"), "{e}");
}

#[test]
fn a_json_feed_items_relative_url_is_resolved() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"1","url":"/rel/j1","title":"T","content_text":"x"}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/feeds/all.json", None).unwrap();
    assert_eq!(f.entries[0].link.as_deref(), Some("https://e.com/rel/j1"));
}

#[test]
fn an_item_that_is_only_an_enclosure_links_to_its_file() {
    let rss = "<rss version=\"2.0\"><channel><title>P</title><item><guid>ep1</guid>\
            <enclosure url=\"https://pods.example/ep1.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
            </item><item><guid>ep2</guid><link>https://pods.example/ep2</link>\
            <enclosure url=\"https://pods.example/ep2.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
            </item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://pods.example/", None).unwrap();
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://pods.example/ep1.mp3")
    );
    assert_eq!(
        f.entries[1].link.as_deref(),
        Some("https://pods.example/ep2")
    );
    // A GUID that is a URL is the item's page, not its picture or its file.
    let rss = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>\
            <title>P</title><item><guid>https://news.example/b</guid>\
            <media:content url=\"https://cdn.example/b.jpg\" medium=\"image\"/></item>\
            <item><guid>https://pods.example/ep3</guid>\
            <enclosure url=\"https://pods.example/ep3.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
            </item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://news.example/", None).unwrap();
    let opts = crate::normalize::NormalizeOptions::new(chrono::Utc::now());
    let urls: Vec<Option<String>> = f
        .entries
        .iter()
        .map(|e| crate::normalize::normalize(e, &opts).url)
        .collect();
    assert_eq!(
        urls,
        [
            Some("https://news.example/b".to_owned()),
            Some("https://pods.example/ep3".to_owned())
        ]
    );
}

/// Plain text as declared: Atom's `type="text"` (also by default) and JSON Feed's plain
/// fields; never RSS, whose titles and descriptions carry HTML.
#[test]
fn the_strings_a_format_declares_plain_text_are_marked() {
    use crate::normalize::PlainText;
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>1</id><title type="text">Why &lt;script&gt; tags</title>
<summary type="html">&lt;p&gt;S&lt;/p&gt;</summary><content>C</content></entry></feed>"#;
    let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
    let want = PlainText {
        title: true,
        summary: false,
        content: true,
    };
    assert_eq!(f.entries[0].plain, want);
    assert_eq!(f.entries[0].title.as_deref(), Some("Why <script> tags"));
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"1","title":"T","summary":"S","content_text":"a < b"},
{"id":"2","title":"T","content_html":"<p>H</p>"}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    let all = PlainText {
        title: true,
        summary: true,
        content: true,
    };
    assert_eq!(f.entries[0].plain, all);
    assert_eq!(
        f.entries[1].plain,
        PlainText {
            title: true,
            ..PlainText::default()
        }
    );
    let rss = "<rss version=\"2.0\"><channel><title>R</title><item><guid>1</guid>\
            <title>x &lt;b&gt;</title><description>d</description></item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries[0].plain, PlainText::default());
}

/// A feed read from a file links its items relative to the web address it gives for itself
/// (Atom's `self`), else to its site's (RSS `<channel><link>`), not to the file: resolved
/// against a `file:` URL, such links were dropped as no article URL.
#[test]
fn a_file_feeds_relative_links_are_read_against_its_own_web_address() {
    let rss = "<rss version=\"2.0\"><channel><title>S</title><link>https://site.example/news/</link>\
            <item><title>A</title><link>/2024/a.html</link><description>x</description></item>\
            <item><title>B</title><link>b.html</link><description>y</description></item>\
            <item><title>C</title><link>https://other.example/c</link><description>z</description></item>\
            </channel></rss>";
    let f = parse_feed(rss.as_bytes(), "file:///srv/feeds/site.xml", None).unwrap();
    let links: Vec<_> = f.entries.iter().map(|e| e.link.as_deref()).collect();
    assert_eq!(
        links,
        [
            Some("https://site.example/2024/a.html"),
            Some("https://site.example/news/b.html"),
            Some("https://other.example/c"),
        ]
    );
    let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>S</title><id>urn:s</id>\
            <link rel=\"alternate\" href=\"https://site.example/\"/>\
            <link rel=\"self\" href=\"https://site.example/feeds/all.atom\"/>\
            <entry><id>urn:1</id><title>A</title><link href=\"posts/1\"/><summary>x</summary></entry>\
            </feed>";
    let f = parse_feed(atom.as_bytes(), "file:///srv/feeds/all.atom", None).unwrap();
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://site.example/feeds/posts/1")
    );
    // A token in the feed's own address stays out of its articles' URLs.
    let private = atom.replace("all.atom\"", "all.atom?token=S3CRET\"");
    assert!(private.contains("token=S3CRET"));
    let private = private.replace("posts/1", "#p1");
    let f = parse_feed(private.as_bytes(), "file:///srv/feeds/all.atom", None).unwrap();
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://site.example/feeds/all.atom#p1")
    );
    // JSON Feed: its `feed_url`, not its `home_page_url`.
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
        "home_page_url":"https://site.example/","feed_url":"https://site.example/feeds/feed.json",
        "items":[{"id":"1","url":"posts/1","title":"T","content_text":"x"}]}"#;
    let f = parse_feed(json.as_bytes(), "file:///srv/feeds/feed.json", None).unwrap();
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://site.example/feeds/posts/1")
    );
    // Fetched from the web, the feed's URL is the base, as before.
    let f = parse_feed(rss.as_bytes(), "https://mirror.example/f/site.xml", None).unwrap();
    assert_eq!(
        f.entries[1].link.as_deref(),
        Some("https://mirror.example/f/b.html")
    );
    // A file feed that gives no web address of its own: its relative links stay unresolved
    // (no article URL), never a `file:` one.
    let bare = rss.replace("<link>https://site.example/news/</link>", "");
    let f = parse_feed(bare.as_bytes(), "file:///srv/feeds/site.xml", None).unwrap();
    assert!(
        f.entries
            .iter()
            .all(|e| !e.link.as_deref().is_some_and(|l| l.starts_with("file:"))),
        "{:?}",
        f.entries.iter().map(|e| &e.link).collect::<Vec<_>>()
    );
}

/// HTML quoted in a CDATA section is text, whatever tags it holds: an HTML `<summary>` (of
/// a `<details>`) or an SVG `<title>` in it was taken for the feed's own, wrapped in a
/// second CDATA section whose `]]>` ended the first, and the whole feed was refused.
#[test]
fn html_in_cdata_that_holds_a_feeds_tag_names_is_read_as_it_is() {
    let atom = "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
        <title>Release notes</title><id>urn:rn</id><updated>2026-03-01T09:00:00Z</updated>\
        <entry><title>Version 4.2</title><id>urn:rn:42</id><updated>2026-03-01T09:00:00Z</updated>\
        <link href=\"https://e.com/4.2\"/><content type=\"html\"><![CDATA[<p>What changed.</p>\
        <details><summary><strong>Full changelog</strong></summary><ul><li>Fixed</li></ul>\
        </details>]]></content></entry></feed>";
    let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries.len(), 1);
    let content = f.entries[0].content.as_deref().unwrap_or_default();
    assert!(
        content.contains("<summary><strong>Full changelog</strong></summary><ul>"),
        "{content}"
    );
    let rss = "<rss version=\"2.0\"><channel><title>Charts</title><item><title>Sales</title>\
        <link>https://e.com/sales</link><description><![CDATA[<p>Up again.</p>\
        <svg><title>Chart <tspan>2026</tspan></title></svg>]]></description></item>\
        <item><title>Costs</title><link>https://e.com/costs</link>\
        <description>Down <em>a little</em>.</description></item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(
        f.entries[0].summary.as_deref(),
        Some("<p>Up again.</p><svg><title>Chart <tspan>2026</tspan></title></svg>")
    );
    // naked markup beside it is still wrapped
    assert_eq!(
        f.entries[1].summary.as_deref(),
        Some("Down <em>a little</em>.")
    );
    // In a comment too, such tags are no element of the feed's.
    let commented =
        "<rss version=\"2.0\"><channel><title>C</title><!-- <title>Old <b>x</b></title> -->\
        <item><title>One</title><link>https://e.com/1</link></item></channel></rss>";
    assert_eq!(repair::naked_markup_wrapped(commented.as_bytes()), None);
}

/// The naked-markup wrap pairs elements by a pattern, not by reading the XML: when what it
/// made does not parse, the document is read as it came, which parses.
#[test]
fn a_wrap_that_breaks_a_document_that_parses_is_not_used() {
    // A description nested in one (as HTML quoting another feed's item writes it): the wrap
    // ends at the inner close and leaves the outer one unpaired.
    let rss = "<rss version=\"2.0\"><channel><title>Q</title><item><title>Quoted</title>\
        <link>https://e.com/q</link><description><p>Quoting:</p><div><description>inner\
        </description></div></description></item></channel></rss>";
    let wrapped = repair::naked_markup_wrapped(rss.as_bytes()).expect("a wrap");
    assert!(
        feed_rs::parser::parse(&wrapped[..]).is_err(),
        "the wrap breaks it"
    );
    let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries.len(), 1);
    assert_eq!(f.entries[0].link.as_deref(), Some("https://e.com/q"));
}

/// A `&lt;` that is a comparison sign is no escaped markup: it kept the HTML beside it from
/// being wrapped, and the text was cut to what came before the first tag (nothing at all).
#[test]
fn a_less_than_sign_beside_naked_html_does_not_cost_the_text() {
    let rss = "<rss version=\"2.0\"><channel><title>News</title><item>\
        <title>AT&amp;T <b>wins</b> the bid</title><link>https://e.com/n1</link>\
        <description><p>The bank cut rates.</p><p>Inflation is now &lt; 2 percent.</p>\
        </description></item></channel></rss>";
    let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("AT&amp;T <b>wins</b> the bid"));
    let summary = e.summary.as_deref().unwrap_or_default();
    assert!(
        summary.contains("Inflation is now &lt; 2 percent."),
        "{summary}"
    );
    // Markup written escaped beside a stray element is still left as it is.
    let escaped = "<rss version=\"2.0\"><channel><title>N</title><item><title>T</title>\
        <description>&lt;p&gt;Text&lt;/p&gt;<img src=\"x\"/></description></item></channel></rss>";
    assert_eq!(repair::naked_markup_wrapped(escaped.as_bytes()), None);
}

/// One member of one item that serde_json refuses (a repeated `id`, a number past any
/// float) refused the whole feed; an integer id past 64 bits was rounded to a float, so
/// that ids apart in their last digits were one key.
#[test]
fn a_json_feed_member_serde_refuses_costs_that_member_not_the_feed() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"draft","id":"final","url":"https://e.com/a","title":"A","content_text":"x"},
{"id":1e400,"url":"https://e.com/b","title":"B","content_text":"y"},
{"id":123456789012345678901234567891,"url":"https://e.com/c","title":"C","content_text":"z"},
{"id":123456789012345678901234567892,"url":"https://e.com/d","title":"D","content_text":"w"},
{"id":-98765432109876543210,"url":"https://e.com/e","title":"E","content_text":"v"},
{"id":"s\"1e400\\","url":"https://e.com/f","title":"F 1e400","content_text":"u"}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    let ids: Vec<_> = f.entries.iter().map(|e| e.guid.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("final"),
            Some("1e400"),
            Some("123456789012345678901234567891"),
            Some("123456789012345678901234567892"),
            Some("-98765432109876543210"),
            Some("s\"1e400\\"),
        ]
    );
    assert_eq!(f.entries[5].title.as_deref(), Some("F 1e400"));
    // A repeated member alone, with nothing else to mend, is read too.
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"draft","url":"https://e.com/a","title":"A","content_text":"x","id":"final"}]}"#;
    let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
    assert_eq!(f.entries[0].guid.as_deref(), Some("final"));
    // Numbers a reader holds are left to the repair that reads them.
    assert_eq!(
        json::big_numbers_quoted(
            br#"{"a":[1,-2,3.5e2,18446744073709551615,-9223372036854775808]}"#
        ),
        None
    );
}
