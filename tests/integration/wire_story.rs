//! The real wire story from the shared corpus, edited the way outlets edit wire copy, folds into
//! one story; an unrelated story stays apart. The corpus text is read at test time, never
//! copied into the project.

use crate::fixtures::{html, paragraphs, ORCHARD};
use crate::helpers::{corpus, rss, FeedServer, TestEnv};

#[test]
fn edited_copies_of_the_shared_wire_story_fold_into_one_story() {
    let Some(path) = corpus("wire-story-azerbaijan-sco.txt") else {
        eprintln!("SKIPPED: ../shared/corpus/wire-story-azerbaijan-sco.txt is not present");
        return;
    };
    let text = std::fs::read_to_string(path).expect("read wire story");
    let mut lines = text.lines();
    let headline = lines.next().expect("headline").trim().to_owned();
    let rest: String = lines.collect::<Vec<_>>().join("\n");
    let paras: Vec<&str> = paragraphs(&rest);
    let dateline_at = paras
        .iter()
        .position(|p| p.starts_with("BAKU, Azerbaijan, April 17."))
        .expect("the story's dateline paragraph");
    let body = &paras[dateline_at..];
    assert!(body.len() > 5, "expected a multi-paragraph story");

    // As the outlet published it: section line, author line and headline above the body.
    let original = html(&paras);

    // Another dateline, headline and attribution.
    let lead = body[0]
        .replace("BAKU, Azerbaijan, April 17.", "BAKU, April 17 (Trend):")
        .replace("TurkicWorld reports", "Trend reports");
    let mut copy2: Vec<&str> = vec![&lead];
    copy2.extend_from_slice(&body[1..]);

    // The last paragraph trimmed and a "Follow us" line appended.
    let mut copy3: Vec<&str> = body[..body.len() - 1].to_vec();
    copy3.push("Follow us on Twitter @WireDesk for the latest news.");

    // Everything at once, with a byline.
    let lead4 = body[0].replace(
        "BAKU, Azerbaijan, April 17.",
        "BAKU, Azerbaijan, April 17 (AZERTAC) -",
    );
    let mut copy4: Vec<&str> = vec!["By Staff Reporter", &lead4];
    copy4.extend_from_slice(&body[1..body.len() - 1]);
    copy4.push("Read more: Politics news on our website.");

    let server = FeedServer::start();
    server.set(
        "turkic.xml",
        rss(
            "TurkicWorld",
            &[("tw-1", &headline, "http://turkic.test/1", &original)],
        ),
    );
    server.set(
        "trend.xml",
        rss(
            "Trend",
            &[(
                "tr-1",
                "Baku and SCO talk closer ties",
                "http://trend.test/1",
                &html(&copy2),
            )],
        ),
    );
    server.set(
        "daily.xml",
        rss(
            "Daily",
            &[(
                "d-1",
                &format!("{headline} - Daily Courier"),
                "http://daily.test/1",
                &html(&copy3),
            )],
        ),
    );
    server.set(
        "azertac.xml",
        rss(
            "Azertac",
            &[
                (
                    "az-1",
                    "Alakbarov meets SCO Secretary-General",
                    "http://az.test/1",
                    &html(&copy4),
                ),
                (
                    "az-2",
                    "Late frost halves Tarn apple harvest",
                    "http://az.test/2",
                    &html(&paragraphs(ORCHARD)),
                ),
            ],
        ),
    );
    let env = TestEnv::new(
        &[
            ("turkic", server.url("turkic.xml")),
            ("trend", server.url("trend.xml")),
            ("daily", server.url("daily.xml")),
            ("azertac", server.url("azertac.xml")),
        ],
        "5m",
    );
    env.command_ok(&["once"]);
    let articles = env.export();
    assert_eq!(articles.len(), 5, "{articles:#?}");
    let story = |src: &str, key: &str| {
        articles
            .iter()
            .find(|a| a["source"] == src && a["key"] == key)
            .and_then(|a| a["story"].as_u64())
            .unwrap_or_else(|| panic!("no article {src}/{key} in {articles:#?}"))
    };
    let wire = story("turkic", "g:tw-1");
    assert_eq!(
        story("trend", "g:tr-1"),
        wire,
        "dateline/headline/attribution edit"
    );
    assert_eq!(story("daily", "g:d-1"), wire, "trimmed + follow-us edit");
    assert_eq!(story("azertac", "g:az-1"), wire, "all edits together");
    assert_ne!(
        story("azertac", "g:az-2"),
        wire,
        "an unrelated story stays apart"
    );
}
