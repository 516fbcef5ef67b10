//! The built-in boilerplate rules: datelines, attributions, bylines, trailing notes, in the
//! order they are tried (see [the module](super) for how rules apply).

use super::{rule_filter, Position, Rule, RuleKind};

/// Month names for dateline patterns (English, abbreviated with optional dot).
const MONTH: &str = r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
/// Weekday names, abbreviated with optional dot.
const WEEKDAY: &str = r"(?i:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?";
/// An all-caps city of one to four words (`BAKU`, `NEW YORK`, `RIO DE JANEIRO`).
const CITY: &str = r"\p{Lu}[\p{Lu}\p{M}'’.\-]+(?:[ \-]\p{Lu}[\p{Lu}\p{M}'’.\-]*){0,3}";
/// Optional `, Country` / `, Calif.` / `, N.Y.` after the city.
const COUNTRY: &str = r"(?:,\s*\p{Lu}[\p{L}.]*(?:\s\p{Lu}[\p{L}.]*){0,2})?";
/// A parenthesised agency tag: `(AP)`, `(Reuters)`, `(Trend)`, `(UPI)`.
const AGENCY: &str = r"\(\p{L}[\p{L}\p{N} .&'\-]*\)";
/// A place written in mixed case, one to four capitalised words (`Paris`, `Rio de Janeiro`
/// is out: only capitalised words), for datelines that an agency tag follows.
const PLACE: &str = r"\p{Lu}[\p{L}\p{M}'’.\-]*(?:[ \-]\p{Lu}[\p{L}\p{M}'’.\-]*){0,3}";
/// A capitalised word other than "The" (but The Hague): an undated place before an
/// agency's tag ("The Automobile Association (AA) - Britain's biggest motoring group" is a
/// subject).
const NOT_THE: &str = r"(?:[\p{Lu}--T][\p{L}\p{M}'’.\-]*|T(?:[^h\s][\p{L}\p{M}'’.\-]*)?|Th(?:[^e\s][\p{L}\p{M}'’.\-]*)?|The[\p{L}\p{M}'’.\-]+|The Hague)";
/// The tag of a known agency, as outlets print it after a mixed-case place (`Paris (AFP) -`,
/// as Barron's and Yahoo carry AFP copy): unlike [`AGENCY`], a list, because a mixed-case
/// opening word and a parenthesis also begin prose.
const KNOWN_AGENCY: &str = r"\((?:AFP|AP|Reuters|REUTERS|Xinhua|XINHUA|UPI|dpa|DPA|Trend|TREND|AZERTAC|Azertac|APA|TASS|Tass|Anadolu|AA|EFE|ANSA|Kyodo|Yonhap|Bernama|PTI|IANS|CNN|Bloomberg|Sputnik|Interfax|KUNA|WAM|IRNA|AAP|PA|CP|Lusa|LUSA|PAP|ANP|Belga|BELGA|BTA|MTI|ČTK|CTK|STA|HINA|Agerpres|ATS|SDA|TTXVN|MENA|Europa Press|EUROPA PRESS|Prensa Latina|Notimex|Télam)\)";
/// Month names of French, Spanish, Portuguese, Italian and German datelines (`5 dic`,
/// `05 dez 2026`, `5 de diciembre de 2026`, `5. Dezember`), for the known agencies' datelines.
const MONTH_INTL: &str = r"(?i:janv(?:ier)?|févr(?:ier)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|août|sept(?:embre)?|oct(?:obre)?|nov(?:embre)?|déc(?:embre)?|ene(?:ro)?|feb(?:rero)?|mar(?:zo|ço)?|abr(?:il)?|may(?:o)?|jun(?:io|ho)?|jul(?:io|ho)?|ago(?:sto)?|sep(?:tiembre)?|set(?:embro|tembre)?|oct(?:ubre)?|nov(?:iembre|embro)?|dic(?:iembre|embre)?|jan(?:eiro|uar)?|fev(?:ereiro)?|mai(?:o)?|out(?:ubro)?|dez(?:embro|ember)?|gen(?:naio)?|febbraio|apr(?:ile)?|mag(?:gio)?|giu(?:gno)?|lug(?:lio)?|ott(?:obre)?|märz|okt(?:ober)?)\.?";
/// Separator after a dateline.
const SEP: &str = r"\s*(?:\.?(?:-{1,2}|–|—)|‒|―|:|\.)\s*";
/// A word of a byline's credit after its comma: capitalised (`Associated Press Writer`, `The
/// Globe and Mail`), a connector, or a role in lower case (`staff writer`); "By Monday,
/// thousands had fled" goes on in other words.
const CREDIT: &str = r"(?:\p{Lu}[\p{L}.'’&\-]*|to|for|and|of|the|at|in|on|with|de|staff|writer|reporter|correspondent|editor|contributor|special|senior|chief|political|business)";
/// A name word: `Sabir`, `O'Neil`, `J.`, `Al-Assad`.
const NAME: &str = r"\p{Lu}[\p{L}\p{M}'’.\-]*";

/// The built-in rule table.
pub fn builtin_rules() -> Vec<Rule> {
    builtin_defs()
        .into_iter()
        .filter_map(|(name, kind, pos, pat, disp)| Rule::compile(name, kind, pos, &pat, disp).ok())
        .map(|mut r| {
            r.may_match = rule_filter::for_builtin(&r.name);
            r
        })
        .collect()
}

/// The names of the built-in rules, in table order (no pattern is compiled).
pub fn builtin_names() -> Vec<&'static str> {
    builtin_defs().into_iter().map(|d| d.0).collect()
}

/// A built-in rule definition: name, kind, position, pattern, drop_from_display.
type Def = (&'static str, RuleKind, Position, String, bool);

/// The built-in rule definitions (uncompiled).
pub(super) fn builtin_defs() -> Vec<Def> {
    use Position::*;
    use RuleKind::*;
    let date_dm = format!(r"(?:{MONTH}\s*\d{{1,2}}|\d{{1,2}}\s+{MONTH})(?:,?\s*\d{{4}})?");
    // other languages' dates, only before a known agency: `5 dic`, `05 dez 2026`, `5 de
    // diciembre de 2026`, `5. Dezember`, `5/12`
    let date_intl = format!(
        r"(?:\d{{1,2}}\.?\s+(?:de\s+)?{MONTH_INTL}(?:\s+de)?(?:,?\s*\d{{4}})?|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)"
    );
    vec![
        // --- datelines ---
        (
            "dateline-city-date",
            Dateline,
            Leading,
            format!(r"{CITY}{COUNTRY},\s*{date_dm}\s*(?:{AGENCY})?{SEP}"),
            false,
        ),
        (
            "dateline-city-agency",
            Dateline,
            Leading,
            format!(r"{CITY}{COUNTRY}\s*{AGENCY}\s*(?:-{{1,2}}|–|—|‒|―|:)\s*"),
            false,
        ),
        (
            "dateline-place-agency",
            Dateline,
            Leading,
            // two places: dpa's "Berlin/Brüssel (dpa) -"; without a date, a place of up to
            // three words not opening with "The", and a dash only: "The Canadian Press (CP): A
            // new poll" is prose
            format!(
                r"{PLACE}(?:/\p{{Lu}}\p{{L}}+)?{COUNTRY},\s*(?:{date_dm}|{date_intl})\s*{KNOWN_AGENCY}{SEP}|{NOT_THE}(?:[ \-]\p{{Lu}}[\p{{L}}\p{{M}}'’.\-]*){{0,2}}(?:/\p{{Lu}}\p{{L}}+)?{COUNTRY}\s*{KNOWN_AGENCY}\s*\.?(?:-{{1,2}}|–|—|‒|―)\s*"
            ),
            false,
        ),
        (
            // the agency first: ANSA's "(ANSA) - ROMA, 05 DIC -"
            "dateline-agency-city-date",
            Dateline,
            Leading,
            format!(r"{KNOWN_AGENCY}\s*(?:-{{1,2}}|–|—)\s*{CITY},\s*\d{{1,2}}\s+\p{{L}}+\.?\s*(?:-{{1,2}}|–|—)\s*"),
            false,
        ),
        (
            // TASS and RIA Novosti: "МОСКВА, 5 декабря. /ТАСС/.", "МОСКВА, 5 дек — РИА Новости."
            "dateline-city-date-slashed",
            Dateline,
            Leading,
            format!(r"{CITY},\s*\d{{1,2}}\s+\p{{Ll}}+\.?\s*(?:/\p{{Lu}}+/|[—–-]\s*РИА\s+Новости)\.?\s*"),
            false,
        ),
        (
            // Kyodo's "【東京共同】", Yonhap's "(서울=연합뉴스) 홍길동 기자 ="
            "dateline-cjk-agency",
            Dateline,
            Leading,
            r"【\p{Han}{1,8}共同】\s*|[(（]\p{Hangul}{1,8}=연합뉴스[)）]\s*(?:\p{Hangul}{2,5}\s*(?:기자|특파원)\s*=\s*)?".to_string(),
            false,
        ),
        (
            "dateline-city-dash",
            Dateline,
            Leading,
            format!(r"\p{{Lu}}{{3}}[\p{{Lu}}\p{{M}}'’.\-]*(?:[ \-]\p{{Lu}}[\p{{Lu}}\p{{M}}'’.\-]*){{0,3}}{COUNTRY}(?:\s*(?:—|--|–)\s*|\s+-\s+)"),
            false,
        ),
        (
            "dateline-agency",
            Dateline,
            Leading,
            r"\((?i:reuters|ap|afp|upi|xinhua|trend|azertac|apa|dpa|tass|anadolu|bloomberg|efe|ansa|kyodo|yonhap|bernama|aap|pa|cp)\)\s*(?:-{1,2}|–|—|:)\s*"
                .to_string(),
            false,
        ),
        (
            // UPI's "Dec. 5 (UPI) --": a date and a known agency's tag, no place
            "dateline-date-agency",
            Dateline,
            Leading,
            format!(r"{date_dm}\s*{KNOWN_AGENCY}\s*(?:-{{1,2}}|–|—|‒|―)\s*"),
            false,
        ),
        (
            "dateline-cjk",
            Dateline,
            Leading,
            r"\p{Han}{2,10}\d{1,2}月\d{1,2}日(?:电|訊|讯|消息)\s*(?:（记者[^）]{0,20}）)?\s*".to_string(),
            false,
        ),
        (
            "dateline-thai",
            Dateline,
            Leading,
            r"\p{Thai}+\s*\d{1,2}\s*(?:ม\.ค\.|ก\.พ\.|มี\.ค\.|เม\.ย\.|พ\.ค\.|มิ\.ย\.|ก\.ค\.|ส\.ค\.|ก\.ย\.|ต\.ค\.|พ\.ย\.|ธ\.ค\.)\s*(?:\d{2,4}\s*)?(?:-|–|—)\s*".to_string(),
            false,
        ),
        // --- section / meta lines ---
        (
            "section-date-time",
            Line,
            Leading,
            format!(r"(?:\p{{Lu}}[\p{{L}}&\-]*\s+){{0,3}}(?:\d{{1,2}}\s+{MONTH},?\s+\d{{4}}|{MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}),?\s*(?:at\s+)?\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:\s*(?i:[ap]\.?m\.?))?(?:\s*(?:GMT|UTC|[A-Z]{{2,4}}T|\(?[+\-]\d{{2}}:?\d{{2}}\)?))?\s*\|?\s*"),
            false,
        ),
        (
            "updated-line",
            Line,
            WholeParagraph,
            // Around the digits only a date's or a time's words and figures ("Updated
            // Monday, Dec. 5, 2026 10:30", "Published today 09:12"), after "Posted by Jane
            // Doe on", "Published in print on" or "Updated this morning at": "Updated figures
            // released on Monday show inflation fell to 2.1 percent" and "Updated 2026
            // figures show …" are news.
            format!(r"(?i:updated|published|posted|last updated|first published)(?:\s+(?i:by)\s+\S+(?:\s+\S+){{0,3}}?|\s+(?i:in\s+print))?(?:\s+(?i:on|at))?:?\s+(?:(?i:this\s+(?:morning|afternoon|evening)\s+at)\s+)?(?:(?:{WEEKDAY}|{MONTH}|(?i:today|yesterday))[,.]?\s+){{0,2}}\d+(?i:st|nd|rd|th)?(?:[\s,.:/+\-|]*(?:\d+(?i:st|nd|rd|th)?|{MONTH}|{WEEKDAY}|[AaPp]\.?[Mm]\.?|[A-Z]{{1,4}}|(?i:at|on|ago|hours?|hrs?|minutes?|mins?|days?|h|uhr)\b))*[\s.]*"),
            false,
        ),
        (
            // "Publié le 05/12/2026 à 11h42", "Texto atualizado às 14h20",
            // "Aktualisiert am 5.12.2026, 11:42 Uhr"
            "updated-line-intl",
            Line,
            WholeParagraph,
            r"(?:\p{Lu}\p{Ll}+\s+)?(?i:publié|mis à jour|mise à jour|actualizado|actualización|atualizado|atualização|publicado|aggiornato|aggiornamento|pubblicato|aktualisiert|veröffentlicht|opublikowano|zaktualizowano|обновлено|опубликовано)(?:\s+(?i:le|el|em|am|on|il|às|as|a las|à|at|de|do|del|um|alle|o|a|dnia|в)\b|\s*[\d/.\-:,]+|\s*\d{1,2}h\d{2})*\s*\d{1,2}[:h]\d{2}\s*(?:h|Uhr)?\.?".to_string(),
            false,
        ),
        (
            // The note's first sentence, to its end (or to a colon that introduces what
            // follows): a one-paragraph summary may go on after it. Without an end in sight,
            // nothing.
            "editors-note",
            Line,
            Leading,
            r"(?i:editor['’]?s['’]?\s+note)\s*[:.\-–—][^.!?:]*[.!?:]+(?:\s+|$)".to_string(),
            false,
        ),
        (
            // A section's label before the text ("OPINION:", "COMMENT:", "COVID LATEST:"),
            // a paragraph of its own or in front of the first sentence: another outlet's
            // copy of the piece has none. In capitals, as labels are set; "Analysis: …" in
            // a sentence's case is left alone.
            "section-label",
            Line,
            Leading,
            r"(?:OPINION|COMMENT|ANALYSIS|EDITORIAL|EXCLUSIVE|EXPLAINER|REVIEW|PODCAST|VIDEO|WATCH|LISTEN|BREAKING(?: NEWS)?|LIVE|UPDATE|FACT CHECK|(?:COVID(?:-19)? |CORONAVIRUS )?LATEST)(?:\s*:\s*|\s*$)".to_string(),
            false,
        ),
        // --- bylines ---
        (
            "byline-by",
            Byline,
            WholeParagraph,
            format!(r"(?:By|BY)\s+{NAME}(?:\s+{NAME}){{0,3}}(?:(?:,\s*|\s+and\s+|\s*&\s*){NAME}(?:\s+{NAME}){{0,3}}){{0,3}}(?:\s*[,|/]\s*{CREDIT}(?:\s+{CREDIT}){{0,9}}|\s+(?:AP|Associated Press)(?:\s+[A-Za-z]+){{0,3}})?\.?"),
            false,
        ),
        (
            "name-line",
            Byline,
            WholeParagraph,
            format!(r"(?:{NAME}\s+){{1,3}}{NAME}"),
            false,
        ),
        // --- attributions ---
        (
            "attribution-reports",
            Attribution,
            Inline,
            r",\s+(?:(?:the\s+)?\p{Lu}[\p{L}\p{N}.\-]*(?:\s+\p{Lu}[\p{L}\p{N}.\-]*){0,3}|(?i:the (?:news )?agency|local media|state media))\s+(?:reports|reported|informs|writes)(?:\s+citing\s+[^.;!?]+)?[.!]"
                .to_string(),
            false,
        ),
        (
            "attribution-according-to",
            Attribution,
            Inline,
            r",\s+according\s+to\s+(?:the\s+)?(?i:xinhua|reuters|ap|afp|tass|trend|azertac|apa|report|interfax|ria novosti|anadolu(?: agency)?|upi|dpa|efe|ansa|yonhap|kyodo|irna|wam|kuna|spa|news\.az|report\.az|turkicworld|the (?:news )?agency)(?:\s+news\s+agency)?[.!]"
                .to_string(),
            false,
        ),
        (
            "reporting-by-parenthesised",
            Attribution,
            WholeParagraph,
            r"\(\s*(?i:additional\s+)?(?i:reporting|writing|editing|compiled|translated|produced|research|graphics)\s+(?i:by)\s+[^()]+\)\.?".to_string(),
            false,
        ),
        (
            "reporting-by",
            Attribution,
            WholeParagraph,
            r"(?i:additional\s+)?(?i:reporting|writing)\s+(?i:by)\s+[^;\n]+(?:;\s*(?i:additional\s+)?(?i:reporting|writing|editing|compiled|translated|produced)\s+(?i:by)\s+[^;\n]+){1,5}\.?"
                .to_string(),
            false,
        ),
        // --- trailing notes ---
        (
            "follow-us",
            TrailingNote,
            WholeParagraph,
            r"(?i:(?:follow|join)\s+(?:us|\S+(?:\s+\S+)?)\s+on\s+(?:twitter|x|facebook|telegram|instagram|linkedin|youtube|tiktok|threads|bluesky|mastodon|whatsapp|google news|our)\b).*|(?i:follow\s+us)(?:\s*[:!.>»]|\s+(?i:for|here|at|@|on\s+social\s+media)|\s*$).*"
                .to_string(),
            true,
        ),
        (
            "read-more",
            TrailingNote,
            WholeParagraph,
            r"(?i:read\s+more|related|see\s+also|also\s+read|more\s+on\s+this)(?:\s*(?::|>>|»|\.\.\.|…|-|–|—)\s*.*)?".to_string(),
            true,
        ),
        (
            "copyright",
            TrailingNote,
            WholeParagraph,
            r"(?:(?i:copyright)\s*(?:©|\((?i:c)\))?\s*\d{4}|©|\((?i:c)\)\s*\d{4}).*".to_string(),
            false,
        ),
        (
            "all-rights-reserved",
            TrailingNote,
            WholeParagraph,
            r".*(?i:all rights reserved)\.?".to_string(),
            false,
        ),
        (
            "post-appeared-first",
            TrailingNote,
            Trailing,
            r"(?i:the post)\s.+?\s(?i:appeared first on)\s[^.]+\.?".to_string(),
            true,
        ),
        (
            "continue-reading",
            TrailingNote,
            Trailing,
            r"(?:\[(?:…|\.\.\.)\]\s*)?(?:Continue reading|CONTINUE READING|Read the full (?:story|article)|Read full (?:story|article))(?:\s+[^.!?]+?)?\s*(?:…|\.\.\.|→|»|>>)?\.?".to_string(),
            true,
        ),
        (
            "image-credit",
            TrailingNote,
            Inline,
            r"\(\s*(?i:image|photo|picture|video)\s+(?i:credit)s?\s*:[^()]+\)".to_string(),
            false,
        ),
        (
            "photo-caption",
            TrailingNote,
            WholeParagraph,
            // "by" a name and a few words of credit ("Video by a bystander shows police …"
            // is news); after a colon, the caption.
            format!(r"(?:Photo|PHOTO|Image|IMAGE|Picture|Photograph|File photo|FILE PHOTO|Video|VIDEO)(?:\s+(?i:by)\s*:?\s+(?:{NAME}|@\S+|(?i:the\s+(?:author|writer|reporter)))(?:\s+\S+){{0,5}}|\s+(?i:credit)\s*:?\s*.+|\s*:\s*.+)"),
            false,
        ),
        (
            "subscribe",
            TrailingNote,
            WholeParagraph,
            // Addressed to the reader: "Subscribe now", "Subscribe to our newsletter",
            // "Subscribe for $1". "Subscribe to Netflix or not, viewers will pay more" is news.
            r"(?i:subscribe)\s+(?i:now|today|here)\b.*|(?i:subscribe)\s+(?i:to|for)\s+(?:(?i:our|this|free|just|only|unlimited|full|read|continue|get|access|unlock|support|keep|enjoy|receive|stay)\b|[$£€\d]).*|(?i:subscribe)\s+to\s+(?:(?i:the)\s+)?\p{Lu}\S*(?:\s+\p{Lu}\S*){0,3}\s*[.!]?|(?i:subscribe)\s+to\s+[^.!?]{0,60}\b(?i:newsletters?|podcast|channel|briefing|digest|alerts|updates)\b.*".to_string(),
            true,
        ),
        (
            "click-here",
            TrailingNote,
            WholeParagraph,
            // or ending one clause: "To read our full coverage, click here." ("Readers who
            // click here are sent to a fake page" goes on: news, not a prompt)
            // A clause that addresses the reader: it begins with "To", "For" or "If" and the
            // word before "click here" is not "to", or a comma, dash or colon comes before
            // it. "… urge their victims to click here." and "For years, residents were told
            // to click here." are news.
            r"(?i:click\s+here)\b.*|(?i:to|for|if)\s[^.!?\n]{0,120}?(?:,|\s(?:[^\s,]{3,}|[^\stT,][^\s,]?|[tT][^\soO,]))\s*(?i:click\s+here)\s*[.!]?|[^.!?\n]{0,120}?(?:,|\s[-–—:])\s*(?i:click\s+here)\s*[.!]?".to_string(),
            true,
        ),
        (
            "sign-up",
            TrailingNote,
            WholeParagraph,
            // and the line under it: "Sign in or register, then select …"
            // Addressed to the reader, as for `subscribe` ("Sign up to the scheme has been
            // slow" is news).
            r"(?i:sign\s+up)\s+(?i:here|now|today)\b.*|(?i:sign\s+up)\s+(?i:for|to)\s+(?:(?i:our|this|free|a\s+free|get|receive|unlimited|continue|read|access|keep|unlock)\b|[^.!?]{0,60}\b(?i:newsletters?|briefing|digest|alerts|updates|emails?)\b).*|(?i:sign|log)\s+(?i:in)\s+(?i:or)\s+(?i:register|sign\s+up|subscribe)\b.*".to_string(),
            true,
        ),
        (
            // AP's "___" then "Associated Press writers … contributed (to this report)."
            "contributed",
            Attribution,
            WholeParagraph,
            r"(?:The\s+)?(?:Associated\s+Press|AP|Reuters|AFP|Bloomberg|Xinhua)(?:\s+(?i:staff|video|news|business|political|medical|science|sports|global|investigative|data))?\s+(?i:writers?|reporters?|correspondents?|journalists?|photographers?)\b[^.]*\s(?i:contributed)(?:\s+(?i:to\s+this\s+(?:report|story)|reporting)\b[^.]*|\s+(?i:from)\s+\p{Lu}[^.]*)?\.?".to_string(),
            false,
        ),
        (
            // Bloomberg's "--With assistance from …", "Most Read from Bloomberg"
            "with-assistance",
            Attribution,
            WholeParagraph,
            r"(?:-{1,2}|–|—)\s*(?i:with\s+assistance\s+from)\s.+|(?i:most\s+read\s+from)\s+\p{Lu}[\p{L} ]*".to_string(),
            true,
        ),
        (
            // "This report by The Canadian Press was first published Dec. 5, 2026.", "This
            // article was originally published on The Conversation."
            "first-published",
            TrailingNote,
            WholeParagraph,
            r"(?i:this\s+(?:report|story|article)\s+by\s+the\s+canadian\s+press\s+was\s+first\s+published)\b.*|(?i:this\s+(?:story|article)\s+(?:was|has\s+been)\s+(?:originally|first)\s+(?:published|posted)\s+(?:on|by|in|at))\s+(?:[Tt]he\s+)?\p{Lu}[\p{L}'’.\-]*(?:\s+\p{Lu}[\p{L}'’.\-]*){0,4}(?:\s+(?:on|in)\s+[^.]{0,30})?\.?".to_string(),
            false,
        ),
        (
            // AP's closing lines: "Follow AP's coverage of … at …", "Find more of AP's …
            // coverage at …", "… AP is solely responsible for all content."
            "coverage-footer",
            TrailingNote,
            WholeParagraph,
            r"(?:Follow|Find\s+more\s+of|Find|More\s+of)\s+AP['’]s\s.*(?i:coverage)\b.*|(?:.*\s)?AP\s+is\s+solely\s+responsible\s+for\s+all\s+content\.?".to_string(),
            false,
        ),
        (
            "trust-principles",
            TrailingNote,
            WholeParagraph,
            r"(?i:our\s+standards\s*:\s*the\s+thomson\s+reuters\s+trust\s+principles)\.?".to_string(),
            true,
        ),
        (
            // a web page's ad slot, left in a feed's HTML
            "advertisement",
            TrailingNote,
            WholeParagraph,
            r"(?i:advertisement|advertising|(?:story|article|content)\s+continues\s+(?:below|after)\s+(?:this\s+|the\s+)?(?:advertisement|ad))\.?".to_string(),
            true,
        ),
        (
            // AFP's desk initials closing a dispatch: "abc/dl/xyz", "burs-fz/lth"
            "desk-initials",
            TrailingNote,
            WholeParagraph,
            r"(?:burs?-)?[a-z]{2,5}(?:[/\-][a-z]{2,5}){1,5}".to_string(),
            true,
        ),
        (
            // Xinhua's English copy ends its last paragraph with "Enditem"
            "enditem",
            TrailingNote,
            Trailing,
            r"(?:^|\s+)(?:Enditem|ENDITEM)\.?".to_string(),
            true,
        ),
        (
            // an outlet's desk alone on its line: "Redacción", "Redazione", "La rédaction
            // avec AFP", "oprac. redakcja"
            "desk-credit",
            Byline,
            WholeParagraph,
            r"(?:(?i:oprac)\.\s*)?(?i:redacción|redazione|redakcja|la rédaction|redaktion|redactie|redação|haber merkezi)(?:\s+(?i:avec|con|com|mit|met|with|z)\s+\p{L}+)?\.?".to_string(),
            false,
        ),
        (
            // "Читайте также:", "Te puede interesar:", "Leggi anche:", "Lire aussi :", …
            "read-more-intl",
            TrailingNote,
            WholeParagraph,
            r"(?i:читайте также|смотрите также|te puede interesar|lee también|leggi anche|lire aussi|à lire aussi|mehr zum thema|lesen sie auch|lees ook|leia também|xem thêm|czytaj także|czytaj też|ayrıca oku|اقرأ أيضا|यह भी पढ़ें|相关新闻|関連記事|관련기사)\s*(?:[:：].*|\.\.\.|…)?".to_string(),
            true,
        ),
        (
            // "Síguenos en …", "Suivez-nous sur …", "Folgen Sie uns …", "Seguici su …"
            "follow-us-intl",
            TrailingNote,
            WholeParagraph,
            r"(?i:síguenos|suivez-nous|folgen sie uns|seguici|siga-nos|obserwuj nas|подписывайтесь|bizi takip edin|volg ons)\b.*".to_string(),
            true,
        ),
        (
            // a credit line: "Источник: ТАСС", "Fonte: ANSA", "Quelle: dpa", "Source: Reuters"
            "source-line",
            Attribution,
            WholeParagraph,
            r"(?i:источник|fonte|quelle|bron|kaynak|nguồn|fuente|source|źródło|来源|출처)\s*[:：]\s*\p{L}[\p{L}.&\-/]*(?:\s+\p{Lu}[\p{L}.&\-/]*){0,4}".to_string(),
            false,
        ),
        (
            // "RIPRODUZIONE RISERVATA © Copyright ANSA", "<저작권자(c) 연합뉴스, 무단 전재…>"
            "rights-reserved-intl",
            TrailingNote,
            WholeParagraph,
            r"(?:(?:©|\((?i:c)\)|(?i:copyright))[^.!?]{0,3})?(?i:riproduzione riservata|todos los derechos reservados|tous droits réservés|alle rechte vorbehalten|todos os direitos reservados|все права защищены|wszelkie prawa zastrzeżone|tüm hakları saklıdır)(?:\s*(?:©|\((?i:c)\)|(?i:copyright)|\d{4}|\p{Lu}[\p{L}\p{N}.\-]*|[-–—|,.]))*|[<‹]\s*저작권자.*".to_string(),
            false,
        ),
        (
            // Xinhua's Chinese sign-offs: "（完）", "责任编辑：王磊", "【纠错】 【责任编辑：…】"
            "cjk-signoff",
            TrailingNote,
            WholeParagraph,
            r"[（(]完[）)]|[【\[]?责任编辑[：:][^】\]]*[】\]]?|【纠错】.*".to_string(),
            true,
        ),
        (
            "agency-signoff",
            TrailingNote,
            WholeParagraph,
            r"(?:[-–—]\s*)?\(?(?:Reuters|AP|AFP|Xinhua|TASS|dpa|Trend|UPI|Bloomberg|AZERTAC|Azertac|APA)\)?\.?".to_string(),
            false,
        ),
    ]
}
