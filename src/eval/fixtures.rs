//! The shared wire story with edited copies, plus our own fixtures: copies that must fold and
//! template stories that must not ("Azerbaijan, SCO …" vs "Azerbaijan, ASEAN …", daily
//! reports with other figures, live blogs of other days, "20 new cases" vs "11 new cases",
//! headlines saying the opposite over one summary), and Chinese and Thai items (character
//! n-grams).
//!
//! The shared story is read from the corpus at run time; its template twin is derived from it
//! at run time (other organization, people, places and date). Everything else here is our
//! own writing.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::{EvalItem, EvalSet};

fn html(paras: &[&str]) -> String {
    paras
        .iter()
        .map(|p| format!("<p>{}</p>", html_escape::encode_text(p)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A story of our own with paragraphs separated by blank lines.
const FERRY: &str = "\
The regional transport board approved on Tuesday a plan to replace the four oldest ferries on the Lindholm crossing with battery-electric vessels, cutting the route's fuel use by an estimated nine tenths.

The contract, worth 212 million crowns, went to a shipyard in Tromsvik that has built two similar vessels for a neighbouring county. The first ferry is due in service in the autumn of next year.

Charging stations will be installed at both piers during the summer closure. Board chairwoman Ragna Holt said the crossing carries almost a million passengers a year and had become the county's largest single source of emissions.

Unions representing the crews welcomed the decision but asked for a training programme before the new vessels enter service.

The old ferries will be offered for sale to operators abroad.";

const MARKET: [&str; 3] = [
    "Trading on the Caspian stock exchange reached 14.2 million manats on Monday, up from 9.8 million on Friday. The benchmark index closed at 1,204.5 points. Government bonds accounted for 61 percent of the volume.",
    "Trading on the Caspian stock exchange reached 11.7 million manats on Tuesday, down from 14.2 million on Monday. The benchmark index closed at 1,198.1 points. Government bonds accounted for 58 percent of the volume.",
    "Trading on the Caspian stock exchange reached 16.3 million manats on Wednesday, up from 11.7 million on Tuesday. The benchmark index closed at 1,211.9 points. Government bonds accounted for 64 percent of the volume.",
];

/// Builds the set; `corpus` is the shared corpus directory (the wire story is skipped when it
/// is missing).
pub fn set(corpus: &Path) -> EvalSet {
    let t0 = DateTime::<Utc>::UNIX_EPOCH + Duration::days(19_000);
    let mut items = Vec::new();
    let mut at = t0;
    let mut push = |title: &str, body: String, label: u64, items: &mut Vec<EvalItem>| {
        at += Duration::minutes(7);
        items.push(EvalItem {
            title: title.to_owned(),
            body,
            at,
            label,
        });
    };

    // 1. The shared wire story and its copies; its template twin.
    if let Ok(text) = std::fs::read_to_string(corpus.join("wire-story-azerbaijan-sco.txt")) {
        let mut lines = text.lines();
        let headline = lines.next().unwrap_or("").trim().to_owned();
        let rest: String = lines.collect::<Vec<_>>().join("\n");
        let paras: Vec<&str> = rest
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let start = paras
            .iter()
            .position(|p| p.starts_with("BAKU"))
            .unwrap_or(0);
        let body = &paras[start..];
        if body.len() > 3 {
            push(&headline, html(&paras), 1, &mut items);
            let lead = body[0]
                .replace("BAKU, Azerbaijan, April 17.", "BAKU, April 17 (Trend):")
                .replace("TurkicWorld reports", "Trend reports");
            let mut c2 = vec![lead.as_str()];
            c2.extend_from_slice(&body[1..]);
            push(&format!("{headline} - Trend"), html(&c2), 1, &mut items);
            let mut c3: Vec<&str> = body[..body.len() - 1].to_vec();
            c3.push("Follow us on Twitter @WireDesk for the latest news.");
            push(&headline, html(&c3), 1, &mut items);
            let lead4 = body[0].replace(
                "BAKU, Azerbaijan, April 17.",
                "BAKU, Azerbaijan, April 17 (AZERTAC) -",
            );
            let mut c4 = vec!["By Staff Reporter", lead4.as_str()];
            c4.extend_from_slice(&body[1..3.min(body.len())]);
            c4.push("Read more: Politics news on our website.");
            push(
                "Azerbaijan and SCO discuss expanding cooperation",
                html(&c4),
                1,
                &mut items,
            );
            // The template twin: another organization, another meeting, another day.
            let twin: Vec<String> = body
                .iter()
                .map(|p| {
                    p.replace(
                        "Shanghai Cooperation Organization",
                        "Association of Southeast Asian Nations",
                    )
                    .replace("SCO", "ASEAN")
                    .replace("Zhang Ming", "Kao Kim Hourn")
                    .replace("Ming", "Kao")
                    .replace("China's capital Beijing", "Indonesia's capital Jakarta")
                    .replace("China", "Indonesia")
                    .replace("April 17", "May 4")
                    .replace(
                        "Uzbekistan's Samarkand last September",
                        "Cambodia's Phnom Penh last November",
                    )
                })
                .collect();
            let twin: Vec<&str> = twin.iter().map(String::as_str).collect();
            push(
                "Azerbaijan, ASEAN discuss expanding co-op",
                html(&twin),
                2,
                &mut items,
            );
        }
    }

    // 2. Our own story and its copies.
    let ferry: Vec<&str> = FERRY.split("\n\n").collect();
    push(
        "Lindholm crossing to get electric ferries",
        html(&ferry),
        10,
        &mut items,
    );
    let mut f2 = vec!["By Jonas Berg"];
    let lead = format!("TROMSVIK, March 3 (Reuters) - {}", ferry[0]);
    f2.push(&lead);
    f2.extend_from_slice(&ferry[1..3]);
    f2.push("(Reporting by Jonas Berg; Editing by Mia Lund)");
    push(
        "UPDATE 1-Electric ferries for Lindholm crossing",
        html(&f2),
        10,
        &mut items,
    );
    push(
        "Electric ferries ordered | North Coast Post",
        html(&[
            ferry[0],
            "The post Electric ferries ordered appeared first on North Coast Post.",
        ]),
        10,
        &mut items,
    );

    // 3. Daily market reports: one template, other figures: three stories.
    for (k, m) in MARKET.iter().enumerate() {
        push(
            "Caspian stock exchange daily trading",
            html(&[m]),
            20 + k as u64,
            &mut items,
        );
    }

    // 4. Live blogs of other days and case counts: short items, all different stories...
    let live = [
        ("Coronavirus live updates for 15 September", "Follow the latest news on the pandemic: vaccination figures, travel rules and hospital numbers from around the country, updated through the day."),
        ("Coronavirus live updates for 17 September", "Follow the latest news on the pandemic: vaccination figures, travel rules and hospital numbers from around the country, updated through the day."),
        ("Northland reports 20 new cases", "Health officials in Northland reported 20 new cases of the virus on Sunday, all linked to known clusters, and urged residents to get tested."),
        ("Northland reports 11 new cases", "Health officials in Northland reported 11 new cases of the virus on Sunday, all linked to known clusters, and urged residents to get tested."),
    ];
    for (k, (t, s)) in live.iter().enumerate() {
        push(t, html(&[s]), 30 + k as u64, &mut items);
    }
    // ... except a second outlet's copy of the 20-cases item.
    push(
        "Northland reports 20 new cases - Daily Courier",
        html(&["Health officials in Northland reported 20 new cases of the virus on Sunday, all linked to known clusters, and urged residents to get tested. Read more: Health news"]),
        32,
        &mut items,
    );
    // 6. Headline + summary items over one summary whose headlines say the opposite (rule
    // 3g): two stories each; another outlet's copy under a headline that names no outcome
    // joins the first and bridges nothing. And copies whose rewritten headlines use opposite
    // words in another order, which stay one story.
    let vote = "Parliament voted on the opposition's motion of no confidence in Prime Minister Elin Vass's cabinet on Tuesday evening after a debate that lasted six hours.";
    push(
        "Government survives confidence vote",
        html(&[vote]),
        60,
        &mut items,
    );
    push(
        "Government loses confidence vote",
        html(&[vote]),
        61,
        &mut items,
    );
    push(
        "Vass cabinet faces confidence vote - Daily Courier",
        html(&[vote]),
        60,
        &mut items,
    );
    let open = "Share trading began on the Caspian exchange this morning with bank and energy stocks leading the board, dealers in Baku said.";
    push("Caspian markets open higher", html(&[open]), 62, &mut items);
    push("Caspian markets open lower", html(&[open]), 63, &mut items);
    let senate = "Senators voted 52 to 48 on the nomination of Adaeze Okafor as trade minister after a hearing on her years as head of the export agency.";
    push(
        "Senate votes to confirm Okafor as trade minister",
        html(&[senate]),
        64,
        &mut items,
    );
    push(
        "Senate votes not to confirm Okafor as trade minister",
        html(&[senate]),
        65,
        &mut items,
    );
    let fx = "The dollar traded at 151.20 yen in Tokyo on Thursday afternoon, its strongest level in five weeks, as traders bet on a wider gap between interest rates.";
    push("Dollar rises against the yen", html(&[fx]), 66, &mut items);
    push(
        "Yen falls against the dollar",
        html(&[&format!("{fx} Read more: Markets")]),
        66,
        &mut items,
    );
    let cup = "Harbour City won the regional cup final 3-1 against Rovers at the North Stadium on Saturday, with two goals from striker Tomas Reyes in the second half.";
    push(
        "Harbour City beat Rovers in cup final",
        html(&[cup]),
        67,
        &mut items,
    );
    push(
        "Rovers lose to Harbour City in cup final",
        html(&[cup]),
        67,
        &mut items,
    );

    // 5. Scripts without word spaces (character n-grams): our own Chinese and Thai items, a
    // trimmed copy under another dateline, and an unrelated item of the same agency.
    let zh = "交通运输部周二表示，今年将新建和改造农村公路三万公里，重点支持中西部地区的县乡道路建设。该部门负责人说，资金将主要来自中央财政和地方政府专项债券，预计带动就业超过五十万人。";
    push(
        "交通运输部：今年新建改造农村公路三万公里",
        html(&[&format!("新华社北京3月3日电 {zh}")]),
        50,
        &mut items,
    );
    let zh_cut: String = zh.chars().take(44).collect();
    push(
        "农村公路建设提速",
        html(&[&format!("中新网3月3日电 {zh_cut}")]),
        50,
        &mut items,
    );
    push("上海将建新国际会议中心", html(&["新华社上海3月4日电 上海市政府周三宣布，将在浦东新区建设一座新的国际会议中心，预计总投资一百二十亿元，三年内建成，可同时举办十场大型会议。"]), 51, &mut items);
    let th = "กระทรวงคมนาคมเปิดเผยว่าจะสร้างรถไฟฟ้าสายใหม่เชื่อมสนามบินสุวรรณภูมิกับใจกลางเมือง โดยคาดว่าจะเปิดให้บริการภายในปี 2570 และจะช่วยลดเวลาเดินทางลงครึ่งหนึ่ง";
    push(
        "คมนาคมเตรียมสร้างรถไฟฟ้าสายใหม่ไปสุวรรณภูมิ",
        html(&[&format!("กรุงเทพฯ 3 มี.ค. - {th}")]),
        52,
        &mut items,
    );
    push("รถไฟฟ้าสายใหม่เชื่อมสนามบิน", html(&[th]), 52, &mut items);
    push("เชียงใหม่คุมเข้มฝุ่นควัน", html(&["เชียงใหม่ 4 มี.ค. - จังหวัดเชียงใหม่ประกาศมาตรการควบคุมฝุ่นควันเพิ่มเติม ห้ามเผาในที่โล่งจนถึงสิ้นเดือนเมษายน และขอความร่วมมือประชาชนงดกิจกรรมกลางแจ้ง"]), 53, &mut items);
    EvalSet {
        name: "wire-story+fixtures".into(),
        items,
    }
}
