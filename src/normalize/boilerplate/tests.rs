//! Tests of the built-in rules (each against its positives and prose lines it must leave
//! alone), of display and fingerprint cleaning, and of rules from configuration.

use super::*;

const PROSE: &[&str] = &[
    "By the end of the year, prices had risen by a third across the region.",
    "The minister said the talks in Washington would continue next week.",
    "Related talks continued on Monday in Geneva.",
    "Copyright infringement cases rose sharply in 2023, the court said.",
    "Photographs of the event circulated widely on social media.",
    "Subscribers to the service rose 5% in the quarter.",
    "Updated figures show growth in the services sector.",
    "Like many on Twitter, she complained about the outage for hours.",
    "They will continue reading the bill on Monday, the speaker said.",
    "In April 17 people were injured in the blast.",
    "Washington — the capital — was quiet.",
    "Reporting by the Times revealed that the minister had lied.",
    "The agency reported a rise in cases, officials said.",
    "He said all rights reserved by the treaty remain in force today.",
    "Follow-up talks are planned, the spokesman said.",
    "SINGAPORE-listed banks rose - by a third - in the quarter.",
    "Sign in front of the school was vandalised overnight, police said.",
    "Advertisement spending rose 5% in the quarter, the agency said.",
    "This report was first published in March and has been cited by ministers since.",
    "Most read from the start, the novel was banned in 1956.",
    "Follow the money, the prosecutor told the jury on Monday.",
    "AP Business Writer Stan Choe said stocks fell.",
    "Reuters reporters at the scene said heavy rain had contributed to the collapse of 15 homes.",
    "AP reporters found that a lack of inspections contributed to the 2019 collapse that killed 43 people.",
    "Associated Press journalists saw smoke rising from the plant, which officials said contributed to the outage.",
    "Under the new law, each platform is solely responsible for all content its users post, the ministry said.",
    "See Reuters's earlier reporting on the dispute, the lawyer said.",
    "This article was first published in 1962 and sparked a national debate, the historian said.",
    "This story was first published in the school newspaper in 1968, according to archives.",
    "Reuters journalists across the region contributed from their own salaries to a fund for the family.",
    "This article was first published in The New Yorker in 1962 and sparked a national debate.",
    "The Automobile Association (AA) – Britain's biggest motoring group – said petrol prices would rise.",
    "Balanço atualizado da Proteção Civil indica 12 mortos; o próximo ponto de situação está marcado para as 18h00.",
    "Publicado hoy en el Boletín Oficial del Estado, el decreto entra en vigor mañana a las 00:00.",
    "Publié dimanche au Journal officiel, l'arrêté interdit la circulation de 7h00 à 19h00.",
    "Le journal a été condamné, alors que la mention tous droits réservés figurait sur chaque image.",
    "Alle Rechte vorbehalten, sagte der Verleger, gelten auch für KI-Trainingsdaten.",
    "Президент заявил, что все права защищены законом.",
    "Все права защищены законом, заявил президент.",
    "음악 저작권자들은 스트리밍 수익 배분 방식에 반발했다.",
    "Lee también criticó la decisión del tribunal constitucional.",
    "Mehr zum Thema Migration sagte Merz am Abend in der ARD.",
    "相关新闻发布会定于周五上午在市政府举行。",
    "Source: The deputy minister himself.",
    "Updated figures released on Monday show inflation fell to 2.1 percent in November.",
    "Published data show 40 percent of homes lack insulation.",
    "Published by Penguin in 2019, the memoir sold 2 million copies.",
    "By Monday, thousands of residents had fled the city as the fire spread toward the coast.",
    "Video by a bystander shows police officers dragging the man from his car.",
    "Fraudsters send messages that urge their victims to click here.",
    "Follow us, the protest leader shouted as the crowd surged toward the gates.",
    "Sign up to the scheme has been slow, the minister admitted.",
    "Subscribe to Netflix or not, viewers will see price rises in 2027.",
    "For years, residents were told to click here.",
    "To steal passwords, the gang sent emails telling staff to click here.",
    "Updated 2026 figures show inflation fell to 2.1 percent in November.",
    "By Friday, most residents had fled the city.",
    "Updated Dec. 5, officials said 12 people had died in the floods.",
    "Posted 12 times on the forum, the video was later removed.",
    "Follow us on the road to Damascus, the rebels said in a video.",
    "Subscribe to Disney Plus for less, analysts told viewers, as prices rose.",
    "Sign up for Universal Credit.",
    "Video by Hamas released on Sunday shows two hostages alive.",
    "Photographs by the author's father were shown in Paris in 1962.",
];

fn rule(name: &str) -> Rule {
    builtin_rules()
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

fn check(name: &str, positives: &[&str]) {
    let r = rule(name);
    for p in positives {
        assert!(r.is_match(p), "{name} should match {p:?}");
    }
    for p in PROSE {
        assert!(!r.is_match(p), "{name} must not match prose {p:?}");
    }
}

#[test]
fn all_builtins_compile() {
    assert_eq!(builtin_rules().len(), builtin_defs().len());
    // builtin_rules skips the empty-string check; every built-in passes it.
    for (name, kind, pos, pat, disp) in builtin_defs() {
        assert!(Rule::new(name, kind, pos, &pat, disp).is_ok(), "{name}");
    }
    let rules = Rules::default();
    assert_eq!(rules.rules().len(), builtin_defs().len());
}

#[test]
fn dateline_city_date() {
    check(
        "dateline-city-date",
        &[
            "BAKU, Azerbaijan, April 17. A delegation met officials.",
            "BAKU, Azerbaijan, April 17 (Trend): A delegation met officials.",
            "LONDON, March 3 (Reuters) - Shares fell.",
            "BEIJING, Jan. 5 (Xinhua) -- Officials said.",
            "NEW YORK, May 1 (UPI) -- Stocks rose.",
            "ANKARA, Dec 5 (Reuters) - Turkey said.",
            "KYIV, Ukraine, 17 April - Shelling continued.",
        ],
    );
}

#[test]
fn dateline_city_agency() {
    check(
        "dateline-city-agency",
        &[
            "WASHINGTON (AP) — The Senate voted.",
            "WASHINGTON (AP) - The Senate voted.",
            "PARIS (AFP) - France said.",
            "ATLANTA, Ga. (AP) — Storms hit.",
        ],
    );
}

#[test]
fn dateline_place_agency() {
    check(
        "dateline-place-agency",
        &[
            "Paris (AFP) - France on Friday unveiled a plan.",
            "Paris, Dec 5 (AFP) - France on Friday unveiled a plan.",
            "Washington (AP) — The Senate voted.",
            "Baku, Azerbaijan, Dec. 5 (Trend): A delegation met officials.",
            "Rio De Janeiro (Reuters) - Shares fell.",
        ],
    );
    // a name and a party, a company and its ticker: no agency
    for prose in [
        "Smith (Labour) - the member for the north - voted against.",
        "Kellan Foods (KFD) - shares rose.",
        "The Canadian Press (CP): A new poll shows support rising.",
    ] {
        assert!(!rule("dateline-place-agency").is_match(prose), "{prose}");
    }
}

#[test]
fn editors_note() {
    check(
        "editors-note",
        &[
            "Editor's note: This story has been updated with the final vote count.",
            "EDITOR’S NOTE — This is part of a series on the drought.",
            "Editors' note: An earlier version misstated the date.",
        ],
    );
    // the note's sentence goes; a summary after it in the same paragraph stays
    let rules = Rules::default();
    let cleaned = rules.clean_fingerprint(&[std::borrow::Cow::Borrowed(
        "Editor's note: This story was updated. The council approved its budget on Monday.",
    )]);
    assert_eq!(cleaned.len(), 1, "{cleaned:?}");
    assert_eq!(cleaned[0], "The council approved its budget on Monday.");
    // a note that introduces what follows ends at its colon; one without an end stays
    for (para, kept) in [
        (
            "Editor's note: The following is a release from city hall: The council approved its budget.",
            "The council approved its budget.",
        ),
        (
            "Editor's note - the council approved its budget on Monday and the mayor spoke",
            "Editor's note - the council approved its budget on Monday and the mayor spoke",
        ),
    ] {
        let paras = [std::borrow::Cow::Borrowed(para)];
        let cleaned = rules.clean_fingerprint(&paras);
        assert_eq!(cleaned.first().map(|c| c.as_ref()), Some(kept), "{para}");
    }
}

#[test]
fn dateline_cjk_and_thai() {
    check(
        "dateline-cjk",
        &[
            "新华社北京3月3日电 交通运输部周二表示",
            "中新网3月3日电 交通运输部周二表示",
            "新华社上海3月4日电（记者王明）上海市政府宣布",
        ],
    );
    check(
        "dateline-thai",
        &[
            "กรุงเทพฯ 3 มี.ค. - กระทรวงคมนาคมเปิดเผยว่า",
            "เชียงใหม่ 4 ธ.ค. 2566 - จังหวัดประกาศ",
        ],
    );
}

#[test]
fn dateline_city_dash_and_agency_only() {
    check(
        "dateline-city-dash",
        &[
            "WASHINGTON — The Senate voted.",
            "SAN FRANCISCO -- Tech shares fell.",
            // A plain hyphen between spaces (Singapore's and Malaysia's papers).
            "SINGAPORE - Shares rose.",
            "KUALA LUMPUR - Rain is expected.",
        ],
    );
    check(
        "dateline-agency",
        &[
            "(Reuters) - Shares fell.",
            "(AP) — Storms hit.",
            "(Bloomberg) -- Treasuries rose.",
        ],
    );
    check(
        "dateline-place-agency",
        &[
            "Madrid, 5 dic (EFE).- El Gobierno aprobó el plan.",
            "Lisboa, 05 dez 2026 (Lusa) - O Governo aprovou o plano.",
            "Paris, 5 déc 2026 (AFP) - Le gouvernement a approuvé le plan.",
            "Berlin/Brüssel (dpa) - Die Regierung billigte den Plan.",
            "Warszawa (PAP) - Rząd przyjął plan.",
            "The Hague (AFP) - Judges opened hearings.",
            "Madrid, 5 de diciembre de 2026 (Europa Press).- El Gobierno aprobó el plan.",
            "Hà Nội, 5/12 (TTXVN) - Chính phủ đã phê duyệt kế hoạch.",
        ],
    );
    check(
        "dateline-agency-city-date",
        &["(ANSA) - ROMA, 05 DIC - Il governo ha approvato il piano."],
    );
    check(
        "dateline-city-date-slashed",
        &[
            "МОСКВА, 5 декабря. /ТАСС/. Правительство одобрило план.",
            "МОСКВА, 5 дек — РИА Новости. Правительство одобрило план.",
        ],
    );
    check(
        "dateline-cjk-agency",
        &[
            "【東京共同】政府は計画を承認した。",
            "(서울=연합뉴스) 김민준 기자 = 정부는 계획을 승인했다.",
        ],
    );
    check(
        "updated-line-intl",
        &[
            "Publié le 05/12/2026 à 11h42",
            "Texto atualizado às 14h20",
            "Aktualisiert am 5.12.2026, 11:42 Uhr",
            "Ultimo aggiornamento 05/12/2026 14:12",
        ],
    );
    check(
        "dateline-date-agency",
        &[
            "Dec. 5 (UPI) -- The council voted.",
            "5 December (AFP) - Talks resumed.",
        ],
    );
}

#[test]
fn section_line() {
    check(
        "section-date-time",
        &[
            "Politics News 17 April 2023 14:05",
            "Politics News 17 April 2023 14:05 Someone Else",
            "World April 17, 2023 2:05 PM",
            "Economy 17.04.2023 14:05 |",
        ],
    );
    check(
        "updated-line",
        &[
            "Updated: April 17, 2023 14:05 GMT",
            "Published 17 April 2023",
            "Updated Monday, Dec. 5, 2026 10:30 a.m.",
            "Published on Tue 7 Dec 2026 09.12 GMT",
            "Posted today 09:12",
            "Updated 2 hours ago",
            "Posted by Jane Doe on Dec 7, 2026",
            "Posted by admin on December 7, 2026 at 10:32 am",
            "Published in print on Dec 7, 2026",
            "Updated this morning at 10:32",
            "Published 5:02 PM EST, Sat December 5, 2026",
            "Updated 10:32 a.m. EST Dec. 5, 2026",
            "Last updated: 07/12/2026 - 10:32",
            "Published: 7th December 2026",
        ],
    );
}

#[test]
fn section_labels() {
    check(
        "section-label",
        &[
            "OPINION:",
            "COMMENT: There are early signs",
            "ANALYSIS",
            "COVID LATEST: Cases rose",
        ],
    );
    let r = rule("section-label");
    for prose in [
        "Analysis: the vote",
        "LIVE coverage goes on",
        "UPDATED figures",
    ] {
        assert!(!r.is_match(prose), "{prose}");
    }
    // a label of its own leaves no paragraph; one in front of the text leaves the text
    let cleaned = Rules::default().clean_fingerprint(&[
        std::borrow::Cow::Borrowed("COMMENT:"),
        std::borrow::Cow::Borrowed("OPINION: There are early signs of a recovery."),
    ]);
    assert_eq!(cleaned, ["There are early signs of a recovery."]);
}

#[test]
fn bylines() {
    check(
        "byline-by",
        &[
            "By Sabir Alizade",
            "By JOHN SMITH, Associated Press",
            "By Jane Doe and John Roe",
            "BY ANNA O'NEIL | Reuters",
            "By STAN CHOE AP Business Writer",
            "By Zeke Miller and Colleen Long Associated Press",
            "By Jane Doe, Staff Writer for the Herald",
            "By Jane Doe, Special to The Globe and Mail",
            "By Jane Doe, Chief Political Correspondent for The New York Times",
            "By Jane Doe | Senior Reporter at The Daily Herald Group",
            "By Jane Doe, staff writer",
        ],
    );
    check("name-line", &["TurkicWorld Sabir Alizade", "Jane Doe"]);
}

#[test]
fn attributions() {
    check(
        "attribution-reports",
        &[
            "Officials met in Beijing on April 17, TurkicWorld reports.",
            "Officials met, Trend reports. They talked.",
            "Prices rose, the agency reported.",
            "Prices rose, Report informs citing the ministry.",
        ],
    );
    check(
        "attribution-according-to",
        &[
            "Prices rose, according to Xinhua.",
            "Prices rose, according to the agency.",
        ],
    );
    check(
        "reporting-by-parenthesised",
        &[
            "(Reporting by Jane Doe; Editing by John Roe)",
            "(Additional reporting by A B in Paris)",
        ],
    );
    check(
        "reporting-by",
        &["Reporting by Jane Doe; Writing by John Roe; Editing by Max Moe"],
    );
}

/// A "READ MORE:" header on a line of its own takes the bulleted list of other stories under
/// it along (NZ Herald); a list under the story's own words, or under a header no rule
/// removes, stays.
#[test]
fn a_removed_header_takes_its_list_along() {
    let rules = Rules::default();
    let text = |paras: &[&str]| -> Vec<String> {
        let display = rules.clean_display(paras);
        let fp = rules.clean_fingerprint(&display);
        assert_eq!(display, fp, "display and fingerprint agree here");
        display.iter().map(|p| p.to_string()).collect()
    };
    let story = "The minister said the talks in Washington would continue next week.";
    assert_eq!(
        text(&[
            story,
            "READ MORE:",
            "• Paul Glass: 9 things the govt needs to do to save the economy",
            "• Fran O'Sullivan: the budget nobody wanted",
        ]),
        [story]
    );
    assert_eq!(
        text(&[story, "READ MORE:", "• Another story", story]),
        [story, story],
        "the list ends where a paragraph without a bullet begins"
    );
    assert_eq!(
        text(&[story, "The measures:", "• schools reopen", "• shops reopen"]),
        [story, "The measures:", "• schools reopen", "• shops reopen"]
    );
    // Another rule's paragraph ending in a colon (a video caption, taken from the
    // fingerprint only) leaves the story's own list under it.
    let paras = [
        story,
        "Video: What the new rules mean for you:",
        "• schools reopen",
        "• shops reopen",
    ];
    let display = rules.clean_display(&paras);
    assert_eq!(display.len(), 4);
    let fp = rules.clean_fingerprint(&display);
    assert_eq!(fp, [story, "• schools reopen", "• shops reopen"]);
}

#[test]
fn inline_attribution_keeps_sentence() {
    let rules = Rules::default();
    let paras: Vec<Cow<'_, str>> = vec![Cow::Borrowed(
        "They met on April 17, Trend reports. Then they left.",
    )];
    let out = rules.clean_fingerprint(&paras);
    assert_eq!(out[0], "They met on April 17. Then they left.");
}

#[test]
fn trailing_notes() {
    check(
        "follow-us",
        &[
            "Follow us on Twitter @x",
            "Follow Trend on Telegram",
            "Join us on Facebook today",
            "Follow us for more updates.",
            "Follow us: @herald",
            "Follow us",
            "Follow us on social media for the latest updates",
            "Follow us on Mastodon",
        ],
    );
    check(
        "read-more",
        &[
            "Read more: Something else happened",
            "Related",
            "See also - other story",
        ],
    );
    check(
        "copyright",
        &[
            "Copyright 2023 The Associated Press.",
            "© 2023 Reuters",
            "(c) 2021 AFP",
        ],
    );
    check(
        "all-rights-reserved",
        &[
            "All rights reserved.",
            "2023 Trend News Agency. All rights reserved",
        ],
    );
    check(
        "post-appeared-first",
        &[
            "The post Azerbaijan and SCO talk appeared first on Example News.",
            "Text here. The post X appeared first on Y.",
        ],
    );
    check(
        "continue-reading",
        &[
            "Some summary […] Continue reading",
            "Summary text. Continue reading →",
            "Teaser. Read the full story",
        ],
    );
    check(
        "image-credit",
        &["Leaders met. (Image credit: Getty Images)"],
    );
    check(
        "photo-caption",
        &[
            "Photo: Reuters",
            "Photo by John Doe/Getty",
            "FILE PHOTO: A view of the city",
            "Photo by John Smith/Getty Images",
            "Video by Jane Doe for the Herald",
            "Photo credit: Getty Images",
            "Photo by: Jane Doe",
            "Photo by the author",
            "Photo by @janedoe",
        ],
    );
    check(
        "subscribe",
        &[
            "Subscribe to our newsletter",
            "Subscribe now for updates",
            "Subscribe for $1 a week",
            "Subscribe to The Morning newsletter for the day's news",
            "Subscribe to read the full story",
            "Subscribe to The Times",
            "Subscribe to unlock this article",
            "Subscribe to support local journalism",
            "Subscribe to keep reading",
        ],
    );
    check(
        "click-here",
        &[
            "Click here to read more",
            "Click here.",
            // NZ Herald's prompts, leading and trailing
            "TO READ THE HERALD'S FULL CORONAVIRUS COVERAGE CLICK HERE",
            "To challenge yourself with more quizzes, CLICK HERE.",
            "For the full schedule click here.",
            "If you want the results, click here",
            "Listen to the podcast - click here",
        ],
    );
    check(
        "sign-up",
        &[
            "Sign up for our daily briefing",
            "Sign up here",
            "Sign up to get the Morning Report newsletter in your inbox",
            "Sign up for free",
            "Sign up for unlimited access",
            "Sign up to continue reading",
            "Sign up to read this article",
            "SIGN IN OR REGISTER, THEN SELECT TOP NEWS STORIES",
            "Log in or subscribe to read more",
        ],
    );
    // A paragraph that goes on after a sentence's end, or after the words, is news, not the
    // prompt.
    for news in [
        "The council met on Monday. Residents can click here for the minutes, it said.",
        "Recipients who click here are sent to a fake tax office page that asks for bank details, police said.",
    ] {
        assert!(!rule("click-here").is_match(news), "{news}");
    }
    for news in [
        "Sign in to vote was the message thousands of citizens saw when the new online portal crashed on Sunday, the commission said.",
        "Log in to the tax office website with your national ID number and choose the refund tab.",
    ] {
        assert!(!rule("sign-up").is_match(news), "{news}");
    }
    check("agency-signoff", &["Reuters", "— AP", "(AFP)"]);
    check(
        "contributed",
        &[
            "Associated Press writers Matt Ott and Elaine Kurtenbach contributed.",
            "AP Medical Writer Jane Doe contributed to this report.",
            "Reuters reporter John Roe in Lagos contributed reporting.",
        ],
    );
    check(
        "with-assistance",
        &[
            "--With assistance from Jane Doe and John Roe.",
            "Most Read from Bloomberg",
            "Most Read from Bloomberg Businessweek",
        ],
    );
    check(
        "first-published",
        &[
            "This report by The Canadian Press was first published Dec. 5, 2026.",
            "This article was originally published on The Conversation.",
        ],
    );
    check(
        "coverage-footer",
        &[
            "Follow AP's coverage of Congress at https://example.com/hub/congress.",
            "Find more of AP's climate coverage at https://example.com/climate.",
            "The Associated Press receives support from several private foundations. AP is solely responsible for all content.",
        ],
    );
    check(
        "trust-principles",
        &["Our Standards: The Thomson Reuters Trust Principles."],
    );
    check(
        "advertisement",
        &[
            "Advertisement",
            "ADVERTISEMENT",
            "Story continues below advertisement",
        ],
    );
    check("desk-initials", &["abc/dl/xyz", "burs-fz/lth"]);
    check(
        "read-more-intl",
        &[
            "Читайте также: что-то ещё",
            "Leggi anche:",
            "Lire aussi : autre chose",
        ],
    );
    check(
        "follow-us-intl",
        &["Síguenos en nuestras redes", "Suivez-nous sur X"],
    );
    check(
        "source-line",
        &[
            "Источник: ТАСС",
            "Fonte: ANSA",
            "Quelle: dpa",
            "Source: Reuters",
        ],
    );
    check(
        "rights-reserved-intl",
        &[
            "RIPRODUZIONE RISERVATA © Copyright ANSA",
            "<저작권자(c) 연합뉴스, 무단 전재-재배포 금지>",
        ],
    );
    check(
        "cjk-signoff",
        &["（完）", "责任编辑：王磊", "【纠错】 【责任编辑：王磊】"],
    );
    check(
        "desk-credit",
        &[
            "Redacción",
            "Redazione",
            "La rédaction avec AFP",
            "oprac. redakcja",
        ],
    );
    check(
        "enditem",
        &[
            "Shipments to Southeast Asia grew strongly. Enditem",
            "Enditem",
        ],
    );
}

#[test]
fn display_cleaning_only_drops_junk() {
    let rules = Rules::default();
    let paras = [
        "BAKU, Azerbaijan, April 17. Body.",
        "Middle.",
        "Follow us on Twitter @x",
        "The post X appeared first on Y.",
    ];
    let out = rules.clean_display(&paras);
    assert_eq!(out, vec!["BAKU, Azerbaijan, April 17. Body.", "Middle."]);
}

#[test]
fn extra_rules_from_config() {
    let spec = RuleSpec {
        name: "site-promo".into(),
        position: "whole".into(),
        pattern: r"Download our app.{0,50}".into(),
        kind: Some("trailing_note".into()),
        drop_from_display: true,
    };
    let rules = Rules::with_extra(std::slice::from_ref(&spec)).unwrap();
    assert_eq!(rules.rules().len(), builtin_defs().len() + 1);
    // The built-in rules are the shared table's own automata, not a second compilation.
    let shared = Rules::shared_default();
    assert_eq!(shared.rules().len(), builtin_defs().len());
    for (mine, theirs) in rules.rules().iter().zip(shared.rules()) {
        assert_eq!(mine.name, theirs.name);
        assert!(
            std::sync::Arc::ptr_eq(&mine.matcher, &theirs.matcher),
            "{}",
            mine.name
        );
    }
    assert_eq!(
        rules.rules().last().map(|r| r.name.as_str()),
        Some("site-promo")
    );
    let names = super::builtin_names();
    assert_eq!(
        names,
        shared
            .rules()
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(rules.matching("Download our app now"), vec!["site-promo"]);
    assert!(
        rules
            .clean_display(&["Body.", "Download our app now"])
            .len()
            == 1
    );

    let bad = RuleSpec {
        pattern: "(unclosed".into(),
        ..spec.clone()
    };
    let err = Rules::with_extra(&[bad]).unwrap_err();
    assert!(matches!(err, RuleError::InvalidPattern { .. }));
    assert!(err.to_string().contains("site-promo"), "{err}");

    let bad = RuleSpec {
        position: "middle".into(),
        ..spec.clone()
    };
    let err = Rules::with_extra(&[bad]).unwrap_err();
    assert!(err.to_string().contains("site-promo") && err.to_string().contains("middle"));

    let bad = RuleSpec {
        pattern: ".*".into(),
        ..spec.clone()
    };
    assert!(matches!(
        Rules::with_extra(&[bad]),
        Err(RuleError::MatchesEmpty { .. })
    ));

    let bad = RuleSpec {
        kind: Some("banana".into()),
        ..spec
    };
    assert!(matches!(
        Rules::with_extra(&[bad]),
        Err(RuleError::UnknownKind { .. })
    ));
}

#[test]
fn each_rule_counts_the_paragraphs_it_changes_once() {
    let spec = RuleSpec {
        name: "harbour-bulletin".into(),
        position: "whole".into(),
        pattern: r"Tide tables are on page \d+\.".into(),
        kind: None,
        drop_from_display: true,
    };
    let rules = Rules::with_extra(std::slice::from_ref(&spec)).unwrap();
    let count = |table: &Rules, name: &str| {
        table
            .hits()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| h)
            .unwrap_or_else(|| panic!("no rule {name}"))
    };
    let paras = [
        "VALMORA, March 3 (Reuters) - Dock workers walked out on Tuesday.",
        "The union said its members would stay out.",
        "Tide tables are on page 12.",
    ];
    assert_eq!(
        rules.matching(paras[2]),
        vec!["harbour-bulletin"],
        "the operator's line"
    );
    let display = rules.clean_display(&paras);
    assert_eq!(display.len(), 2, "{display:?}");
    let fp = rules.clean_fingerprint(&display);
    assert_eq!(fp[0], "Dock workers walked out on Tuesday.");
    let fired: Vec<(&str, u64)> = rules.hits().filter(|(_, h)| *h > 0).collect();
    assert_eq!(
        fired,
        vec![("dateline-city-date", 1), ("harbour-bulletin", 1)],
        "the dropped line is counted by the display pass only, the dateline by the \
         fingerprint pass"
    );

    // Cleaning a stored article again is not counted; a clone shares the counts.
    let again = rules.reclean_fingerprint(&display);
    assert_eq!(again, fp);
    let clone = rules.clone();
    assert_eq!(count(&clone, "dateline-city-date"), 1);
    let _ = clone.clean_fingerprint(&display);
    assert_eq!(count(&rules, "dateline-city-date"), 2);

    // Each table counts its own: a new table of the same rules starts at zero, and lists
    // every rule, fired or not.
    let fresh = Rules::with_extra(std::slice::from_ref(&spec)).unwrap();
    assert!(fresh.hits().all(|(_, h)| h == 0));
    assert_eq!(fresh.hits().count(), builtin_defs().len() + 1);
    assert_eq!(count(&rules, "byline-by"), 0);
}
