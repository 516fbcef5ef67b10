//! The bench article of issue 4, shared by `benches/pipeline.rs` and `examples/fp_stages.rs`
//! (included with `#[path]`), so that the criterion numbers and the callgrind counts are for
//! the same text.

use wirefold::normalize::RawEntry;

pub const PARAS: &[&str] = &[
    "LINDHOLM, March 3 (Reuters) - The regional transport board approved on Tuesday a plan to replace the four oldest ferries on the Lindholm crossing with battery-electric vessels, cutting the route's fuel use by an estimated nine tenths and ending the diesel era on one of the busiest short-sea links in the north, board officials told reporters after a meeting that ran late into the evening.",
    "The contract, worth 212 million crowns, went to a shipyard in Tromsvik that has already delivered two similar vessels to a neighbouring county. The first of the new ferries is due in service in the autumn of next year, and the remaining three will follow at intervals of about five months, according to the timetable the board published alongside its decision.",
    "Charging stations will be installed at both piers during the summer closure, when the crossing is served by a smaller chartered vessel. Board chairwoman Ragna Holt said the crossing carries almost a million passengers and three hundred thousand vehicles a year and had become the county's largest single source of greenhouse gas emissions from transport.",
    "Unions representing the crews welcomed the decision but asked for a proper training programme before the new vessels enter service, saying the switch to battery propulsion changes routines on the bridge and in the engine room. The board said the shipyard would train the first crews on its own test vessel during the winter months.",
    "Local businesses on the island side of the crossing had lobbied for more frequent departures, and the board said the faster charging cycle of the new ferries would allow two extra round trips on weekdays. Fares will stay unchanged until at least the end of the decade, the chairwoman added.",
    "Environmental groups broadly welcomed the plan but said the county should also look at the freight traffic on the crossing, where heavy lorries still make up a large share of the vehicles carried. A spokesman for the regional nature council said the group would ask the board to publish annual figures on energy use, noise and the condition of the seabed near the piers, which has suffered from the wash of the old diesel vessels for many years.",
    "The old ferries, built in the early nineteen-nineties, will be offered for sale to operators abroad. (Reporting by Jonas Berg; Editing by Mia Lund)",
];

/// The article; `lang` is the feed's declared language (most feeds declare one: then the
/// language detector is skipped).
pub fn article_in(lang: Option<&str>) -> RawEntry {
    let html: String = PARAS
        .iter()
        .map(|p| format!("<p>{}</p>\n", html_escape::encode_text(p)))
        .collect();
    RawEntry {
        guid: Some("bench-1".into()),
        link: Some("https://news.example/2026/03/03/ferries?utm_source=rss".into()),
        title: Some("Lindholm crossing to get electric ferries - Daily Courier".into()),
        content: Some(format!(
            "<div class=\"story\"><script>var ad = 1;</script>{html}<p>Follow us on Twitter for the latest news.</p></div>"
        )),
        published: None,
        language: lang.map(str::to_owned),
        ..RawEntry::default()
    }
}

pub fn article() -> RawEntry {
    article_in(Some("en"))
}
