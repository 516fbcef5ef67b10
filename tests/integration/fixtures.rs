//! Our own test stories (invented; no real outlet's text).

/// A wire story as the agency sent it, paragraphs separated by blank lines.
pub const HARBOUR: &str = "\
The port authority of Valmora approved a plan on Tuesday to deepen the northern shipping channel by four metres, allowing container vessels of up to 18,000 units to dock at the terminal for the first time.

The project, estimated at 410 million euros, will be financed jointly by the regional government and a consortium of three logistics companies, officials told reporters after the board meeting.

Dredging is expected to begin in the spring and last about two years. Environmental groups have asked the authority to publish a full assessment of the impact on the seagrass meadows near the harbour mouth.

Harbour master Ilse Brandt said the channel had become a bottleneck as traffic grew by a third over the past decade, with ships forced to wait offshore for the high tide.

The consortium said it expected annual throughput at the terminal to double by the end of the decade once the work was complete.";

/// An unrelated story.
pub const ORCHARD: &str = "\
Apple growers in the Tarn valley reported their smallest harvest in twenty years after a late frost in April destroyed most of the blossom in the upper orchards.

Cooperative chairman Paul Renaud said members had lost roughly sixty percent of the expected crop, and that several family farms were considering selling their land to developers.

The regional agriculture office has opened an emergency fund for growers, offering low-interest loans for frost protection equipment such as wind machines and overhead sprinklers.

Prices for local apples at the weekly market in Castelnau rose by almost half compared with last autumn.";

/// Builds an RSS description in HTML from paragraphs.
pub fn html(paragraphs: &[&str]) -> String {
    paragraphs
        .iter()
        .map(|p| format!("<p>{p}</p>"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paragraphs of a story.
pub fn paragraphs(story: &str) -> Vec<&str> {
    story
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// An agency's RSS feed titled `title` carrying both stories: `a1` the harbour story, `a2`
/// the orchard one (the HTTP and page tests serve it beside an outlet's copy).
pub fn agency_feed(title: &str) -> String {
    crate::helpers::rss(
        title,
        &[
            (
                "a1",
                "Valmora approves deeper channel",
                "http://agency.test/1",
                &html(&paragraphs(HARBOUR)),
            ),
            (
                "a2",
                "Late frost halves Tarn apple harvest",
                "http://agency.test/2",
                &html(&paragraphs(ORCHARD)),
            ),
        ],
    )
}
