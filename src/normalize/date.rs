//! Lenient date parsing for feed timestamps, and the choice of an article's date.
//!
//! [`parse_date`] is meant to be installed as feed-rs's timestamp parser. RFC 3339 goes
//! through chrono directly; everything else (RFC 2822 and its many broken variants, W3C-DTF,
//! asctime, `YYYY/MM/DD`, Korean/Greek/Hungarian month and marker words, IANA zone names for
//! the common zones, ...) goes through one small tokenizer. Inputs longer than 120 bytes are
//! rejected outright, so the cost is bounded.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday,
};

use super::DateSource;

/// Picks the article date: `published`, else `updated`, else `now`. A date more than
/// `max_future` ahead of `now` is replaced by `now` and flagged [`DateSource::ClampedFuture`].
pub fn choose_date(
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_future: Duration,
) -> (DateTime<Utc>, DateSource) {
    let (d, src) = match (published, updated) {
        (Some(p), _) => (p, DateSource::Published),
        (None, Some(u)) => (u, DateSource::Updated),
        (None, None) => return (now, DateSource::FirstSeen),
    };
    match now.checked_add_signed(max_future) {
        Some(limit) if d > limit => (now, DateSource::ClampedFuture),
        _ => (d, src),
    }
}

/// Parses a feed date string leniently; `None` when it is not a date. Fractional seconds
/// are dropped (whole-second precision, as feed dates are compared across feeds).
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 120 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return d.with_timezone(&Utc).with_nanosecond(0);
    }
    Parser::new(s)?.parse()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    /// Digits: value and digit count.
    Num(u32, usize),
    /// A run of letters (any script), `_` included.
    Word(&'a str),
    /// One ASCII punctuation byte.
    Punct(u8),
    /// Whitespace run.
    Space,
}

fn tokenize(s: &str) -> Option<Vec<Tok<'_>>> {
    let mut toks = Vec::with_capacity(16);
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start > 9 {
                return None;
            }
            let v: u32 = s[start..i].parse().ok()?;
            toks.push(Tok::Num(v, i - start));
        } else if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            toks.push(Tok::Space);
        } else if c.is_ascii_punctuation() && c != b'_' {
            toks.push(Tok::Punct(c));
            i += 1;
        } else {
            // Letters (ASCII or not): a word runs until digit, space or ASCII punctuation.
            let start = i;
            let rest = &s[i..];
            let mut end = rest.len();
            for (off, ch) in rest.char_indices() {
                if ch.is_ascii_digit()
                    || ch.is_whitespace()
                    || (ch.is_ascii_punctuation() && ch != '_')
                {
                    end = off;
                    break;
                }
                if !(ch.is_alphabetic()
                    || ch == '_'
                    || unicode_normalization::char::is_combining_mark(ch))
                {
                    return None;
                }
            }
            if end == 0 {
                return None;
            }
            i = start + end;
            toks.push(Tok::Word(&s[start..i]));
        }
    }
    Some(toks)
}

/// Daylight-saving rule families for the IANA zones we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    None,
    /// US/Canada: 2nd Sunday of March to 1st Sunday of November (since 2007).
    Us,
    /// EU: last Sunday of March to last Sunday of October, 01:00 UTC.
    Eu,
    /// Southern Australia: 1st Sunday of October to 1st Sunday of April.
    AuSouth,
    /// New Zealand: last Sunday of September to 1st Sunday of April.
    Nz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Zone {
    /// Standard offset east of UTC, minutes.
    std_min: i32,
    dst: Dst,
}

const fn fixed(min: i32) -> Zone {
    Zone {
        std_min: min,
        dst: Dst::None,
    }
}

/// Timezone abbreviations (fixed offsets) used by feeds.
fn zone_abbrev(w: &str) -> Option<Zone> {
    let h = |x: i32| fixed(x * 60);
    Some(match w {
        "z" | "ut" | "utc" | "gmt" | "wet" | "etc/utc" | "etc/gmt" | "etc/universal"
        | "etc/zulu" | "universal" | "zulu" | "utc/gmt" => h(0),
        "bst" | "west" | "cet" | "met" | "mez" | "wat" | "ist/irl" => h(1),
        "cest" | "mest" | "mesz" | "eet" | "sast" | "cat" => h(2),
        "eest" | "msk" | "eat" | "trt" | "idt" => h(3),
        "azt" | "gst" | "get" | "amt" | "samt" => h(4),
        "pkt" | "uzt" | "yekt" => h(5),
        "ist" => fixed(330),
        "npt" => fixed(345),
        "bdt" | "almt" => h(6),
        "ict" | "wib" => h(7),
        "hkt" | "sgt" | "awst" | "pht" | "cst/china" | "wita" | "myt" => h(8),
        "jst" | "kst" => h(9),
        "acst" => fixed(570),
        "acdt" => fixed(630),
        "aest" => h(10),
        "aedt" => h(11),
        "nzst" => h(12),
        "nzdt" => h(13),
        "at" | "ast" => h(-4),
        "adt" => h(-3),
        "et" | "est" => h(-5),
        "edt" => h(-4),
        "ct" | "cst" => h(-6),
        "cdt" => h(-5),
        "mt" | "mst" => h(-7),
        "mdt" => h(-6),
        "pt" | "pst" => h(-8),
        "pdt" => h(-7),
        "akst" => h(-9),
        "akdt" => h(-8),
        "hst" => h(-10),
        "nst" => fixed(-210),
        "ndt" => fixed(-150),
        "brt" => h(-3),
        "art" => h(-3),
        _ => return None,
    })
}

/// The common IANA zone names (lowercased), with their DST rule family.
fn zone_iana(w: &str) -> Option<Zone> {
    let z = |h: i32, dst: Dst| Zone {
        std_min: h * 60,
        dst,
    };
    Some(match w {
        "america/new_york"
        | "america/toronto"
        | "america/detroit"
        | "us/eastern"
        | "america/montreal"
        | "america/indiana/indianapolis" => z(-5, Dst::Us),
        "america/chicago" | "us/central" | "america/winnipeg" => z(-6, Dst::Us),
        "america/denver" | "us/mountain" | "america/edmonton" | "america/boise" => z(-7, Dst::Us),
        "america/phoenix" | "us/arizona" => z(-7, Dst::None),
        "america/los_angeles" | "us/pacific" | "america/vancouver" => z(-8, Dst::Us),
        "america/anchorage" | "us/alaska" => z(-9, Dst::Us),
        "pacific/honolulu" | "us/hawaii" => z(-10, Dst::None),
        "america/halifax" => z(-4, Dst::Us),
        "america/sao_paulo" | "america/argentina/buenos_aires" | "america/buenos_aires" => {
            z(-3, Dst::None)
        }
        "america/mexico_city" | "america/bogota" | "america/lima" => {
            if w == "america/mexico_city" {
                z(-6, Dst::None)
            } else {
                z(-5, Dst::None)
            }
        }
        "europe/london" | "europe/dublin" | "europe/lisbon" | "atlantic/canary" => z(0, Dst::Eu),
        "europe/paris" | "europe/berlin" | "europe/madrid" | "europe/rome" | "europe/amsterdam"
        | "europe/brussels" | "europe/vienna" | "europe/zurich" | "europe/stockholm"
        | "europe/oslo" | "europe/copenhagen" | "europe/warsaw" | "europe/prague"
        | "europe/budapest" | "europe/belgrade" | "europe/zagreb" | "europe/ljubljana"
        | "europe/bratislava" | "europe/luxembourg" | "europe/monaco" | "europe/malta"
        | "europe/sarajevo" | "europe/skopje" | "europe/tirane" | "cet" => z(1, Dst::Eu),
        "europe/athens" | "europe/helsinki" | "europe/kiev" | "europe/kyiv"
        | "europe/bucharest" | "europe/sofia" | "europe/riga" | "europe/tallinn"
        | "europe/vilnius" | "europe/chisinau" | "asia/nicosia" | "eet" => z(2, Dst::Eu),
        "europe/moscow" | "europe/istanbul" | "asia/istanbul" | "europe/minsk" | "asia/riyadh"
        | "asia/baghdad" | "asia/qatar" | "asia/kuwait" | "africa/nairobi" => z(3, Dst::None),
        "asia/tehran" => Zone {
            std_min: 210,
            dst: Dst::None,
        },
        "asia/baku" | "asia/tbilisi" | "asia/yerevan" | "asia/dubai" | "europe/samara" => {
            z(4, Dst::None)
        }
        "asia/kabul" => Zone {
            std_min: 270,
            dst: Dst::None,
        },
        "asia/karachi" | "asia/tashkent" | "asia/yekaterinburg" | "asia/almaty"
        | "asia/ashgabat" | "asia/dushanbe" => z(5, Dst::None),
        "asia/kolkata" | "asia/calcutta" | "asia/colombo" => Zone {
            std_min: 330,
            dst: Dst::None,
        },
        "asia/kathmandu" => Zone {
            std_min: 345,
            dst: Dst::None,
        },
        "asia/dhaka" | "asia/bishkek" => z(6, Dst::None),
        "asia/bangkok" | "asia/jakarta" | "asia/ho_chi_minh" | "asia/saigon" => z(7, Dst::None),
        "asia/shanghai" | "asia/hong_kong" | "asia/singapore" | "asia/manila" | "asia/taipei"
        | "asia/kuala_lumpur" | "australia/perth" | "prc" => z(8, Dst::None),
        "asia/tokyo" | "asia/seoul" | "japan" => z(9, Dst::None),
        "australia/brisbane" => z(10, Dst::None),
        "australia/sydney" | "australia/melbourne" | "australia/canberra" | "australia/hobart" => {
            z(10, Dst::AuSouth)
        }
        "australia/adelaide" => Zone {
            std_min: 570,
            dst: Dst::AuSouth,
        },
        "pacific/auckland" | "nz" => z(12, Dst::Nz),
        "africa/cairo"
        | "africa/johannesburg"
        | "africa/tripoli"
        | "asia/jerusalem"
        | "asia/beirut"
        | "asia/amman"
        | "asia/damascus" => z(2, Dst::None),
        "africa/lagos" | "africa/algiers" | "africa/casablanca" | "africa/tunis" => z(1, Dst::None),
        _ => return None,
    })
}

/// The `n`th (1-based) Sunday of a month, or the last one for `n == 0`.
fn sunday(year: i32, month: u32, n: u8) -> Option<NaiveDate> {
    if n == 0 {
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let last = NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()?;
        let back = last.weekday().num_days_from_sunday();
        return last.checked_sub_signed(Duration::days(i64::from(back)));
    }
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n)
}

/// Offset (minutes east of UTC) of `zone` at local time `local`.
fn zone_offset(zone: Zone, local: NaiveDateTime) -> i32 {
    let y = local.year();
    let at = |d: Option<NaiveDate>, h: u32| d.and_then(|d| d.and_hms_opt(h, 0, 0));
    // Transition instants are compared with local wall time (close enough around the
    // one ambiguous hour).
    let std_local = local;
    let in_dst = match zone.dst {
        Dst::None => false,
        Dst::Us => {
            let (start, end) = if y >= 2007 {
                (at(sunday(y, 3, 2), 2), at(sunday(y, 11, 1), 1))
            } else {
                (at(sunday(y, 4, 1), 2), at(sunday(y, 10, 0), 1))
            };
            matches!((start, end), (Some(s), Some(e)) if std_local >= s && std_local < e)
        }
        Dst::Eu => {
            // 01:00 UTC both ways.
            let utc = local - Duration::minutes(i64::from(zone.std_min));
            let (s, e) = (at(sunday(y, 3, 0), 1), at(sunday(y, 10, 0), 1));
            matches!((s, e), (Some(s), Some(e)) if utc >= s && utc < e)
        }
        Dst::AuSouth => {
            let (e, s) = (at(sunday(y, 4, 1), 2), at(sunday(y, 10, 1), 2));
            matches!((s, e), (Some(s), Some(e)) if std_local >= s || std_local < e)
        }
        Dst::Nz => {
            let (e, s) = (at(sunday(y, 4, 1), 2), at(sunday(y, 9, 0), 2));
            matches!((s, e), (Some(s), Some(e)) if std_local >= s || std_local < e)
        }
    };
    zone.std_min + if in_dst { 60 } else { 0 }
}

/// Month number of a month name in the languages feeds commonly use.
fn month_name(w: &str) -> Option<u32> {
    Some(match w {
        // English
        "jan" | "january" => 1,
        "feb" | "february" => 2,
        "mar" | "march" => 3,
        "apr" | "april" => 4,
        "may" => 5,
        "jun" | "june" => 6,
        "jul" | "july" => 7,
        "aug" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "oct" | "october" => 10,
        "nov" | "november" => 11,
        "dec" | "december" => 12,
        // German / Dutch / Scandinavian
        "januar" | "jänner" | "januari" | "janvier" | "janv" => 1,
        "februar" | "februari" | "février" | "fevrier" | "févr" | "fevr" | "fév" => 2,
        "märz" | "mär" | "maerz" | "maart" | "mars" | "mart" => 3,
        "avril" | "avr" | "aprile" | "abril" | "abr" | "aprel" | "nisan" => 4,
        "mai" | "mei" | "maj" | "mayo" | "maggio" | "maio" | "mayıs" => 5,
        "juni" | "juin" | "junio" | "giugno" | "junho" | "iyun" | "haziran" => 6,
        "juli" | "juillet" | "juil" | "julio" | "luglio" | "julho" | "iyul" | "temmuz" => 7,
        "augustus" | "août" | "aout" | "agosto" | "ago" | "avqust" | "ağustos" => 8,
        "septembre" | "septiembre" | "setiembre" | "settembre" | "setembro" | "sentyabr"
        | "eylül" => 9,
        "oktober" | "okt" | "octobre" | "octubre" | "ottobre" | "outubro" | "oktyabr" | "ekim" => {
            10
        }
        "novembre" | "noviembre" | "novembro" | "noyabr" | "kasım" => 11,
        "dezember" | "dez" | "décembre" | "déc" | "decembre" | "diciembre" | "dic" | "dicembre"
        | "dezembro" | "dekabr" | "aralık" | "december." => 12,
        "enero" | "ene" | "gennaio" | "janeiro" | "yanvar" | "ocak" => 1,
        "febrero" | "febbraio" | "fevereiro" | "fevral" | "şubat" => 2,
        "marzo" | "março" => 3,
        // Russian (nominative and genitive)
        "январь" | "января" | "янв" => 1,
        "февраль" | "февраля" | "фев" => 2,
        "март" | "марта" | "мар" => 3,
        "апрель" | "апреля" | "апр" => 4,
        "май" | "мая" => 5,
        "июнь" | "июня" | "июн" => 6,
        "июль" | "июля" | "июл" => 7,
        "август" | "августа" | "авг" => 8,
        "сентябрь" | "сентября" | "сен" | "сент" => 9,
        "октябрь" | "октября" | "окт" => 10,
        "ноябрь" | "ноября" | "ноя" => 11,
        "декабрь" | "декабря" | "дек" => 12,
        // Greek abbreviations
        "ιαν" => 1,
        "φεβ" => 2,
        "μάώ" | "μάρ" | "μαρ" => 3,
        "απρ" => 4,
        "μάι" | "μαι" | "μαΐ" | "μαϊ" | "μάϊ" => 5,
        "ιούν" | "ιουν" => 6,
        "ιούλ" | "ιουλ" => 7,
        "αύγ" | "αυγ" => 8,
        "σεπ" => 9,
        "οκτ" => 10,
        "νοέ" | "νοε" => 11,
        "δεκ" => 12,
        // Hungarian
        "január" => 1,
        "február" => 2,
        "március" => 3,
        "április" => 4,
        "május" => 5,
        "június" => 6,
        "július" => 7,
        "augusztus" => 8,
        "szeptember" => 9,
        "október" => 10,
        _ => return None,
    })
}

/// Weekday names (ignored).
fn is_weekday(w: &str) -> bool {
    matches!(
        w,
        "mon"
            | "monday"
            | "tue"
            | "tues"
            | "tuesday"
            | "wed"
            | "weds"
            | "wednesday"
            | "thu"
            | "thur"
            | "thurs"
            | "thursday"
            | "fri"
            | "friday"
            | "sat"
            | "saturday"
            | "sun"
            | "sunday"
            | "montag"
            | "dienstag"
            | "mittwoch"
            | "donnerstag"
            | "freitag"
            | "samstag"
            | "sonntag"
            | "lundi"
            | "mardi"
            | "mercredi"
            | "jeudi"
            | "vendredi"
            | "samedi"
            | "dimanche"
            | "lunes"
            | "martes"
            | "miércoles"
            | "jueves"
            | "viernes"
            | "sábado"
            | "domingo"
            | "κυρ"
            | "δευ"
            | "τρι"
            | "τετ"
            | "πεμ"
            | "πέμ"
            | "παρ"
            | "σαβ"
            | "σάβ"
    )
}

/// Words carrying no date information.
fn is_noise(w: &str) -> bool {
    matches!(
        w,
        "t" | "at"
            | "on"
            | "of"
            | "the"
            | "de"
            | "del"
            | "um"
            | "à"
            | "le"
            | "st"
            | "nd"
            | "rd"
            | "th"
            | "h"
    )
}

struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    i: usize,
}

#[derive(Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    time: Option<(u32, u32, u32)>,
    offset_min: Option<i32>,
    zone: Option<Zone>,
    pm: Option<bool>,
    korean: bool,
}

fn two_digit_year(v: u32) -> i32 {
    let v = v as i32;
    if v < 50 {
        2000 + v
    } else {
        1900 + v
    }
}

fn year_of(v: u32, len: usize) -> Option<i32> {
    match len {
        4 => Some(v as i32),
        1 | 2 => Some(two_digit_year(v)),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Option<Self> {
        Some(Parser {
            toks: tokenize(s)?,
            i: 0,
        })
    }

    fn peek(&self, k: usize) -> Option<Tok<'a>> {
        self.toks.get(self.i + k).copied()
    }

    fn only_numbers(&self) -> Option<Vec<(u32, usize, Option<u8>)>> {
        // Returns [(value, len, preceding punct)] when the input is digits and '-' only.
        let mut v = Vec::new();
        let mut pending: Option<u8> = None;
        for t in &self.toks {
            match t {
                Tok::Num(n, l) => {
                    v.push((*n, *l, pending.take()));
                }
                Tok::Punct(b'-') if pending.is_none() => pending = Some(b'-'),
                _ => return None,
            }
        }
        if pending.is_some() {
            return None;
        }
        Some(v)
    }

    fn parse(mut self) -> Option<DateTime<Utc>> {
        // Truncated ISO 8601 forms that are only digits and dashes.
        if let Some(nums) = self.only_numbers() {
            if let Some(d) = compact_iso(&nums) {
                return Some(d);
            }
        }
        let mut f = Fields::default();
        while let Some(t) = self.peek(0) {
            self.i += 1;
            match t {
                Tok::Space | Tok::Punct(b',' | b'.' | b'(' | b')' | b'[' | b']' | b';') => {}
                Tok::Word(w) => self.word(w, &mut f)?,
                Tok::Num(n, len) => self.number(n, len, &mut f)?,
                Tok::Punct(c @ (b'+' | b'-')) => {
                    if f.time.is_some() {
                        let sign = if c == b'-' { -1 } else { 1 };
                        let off = self.offset()?;
                        if f.offset_min.is_some() {
                            return None;
                        }
                        f.offset_min = Some(sign * off);
                    } else if c == b'+' {
                        return None;
                    }
                }
                Tok::Punct(b'/' | b':') => {}
                Tok::Punct(_) => return None,
            }
        }
        finish(f)
    }

    /// Parses `HH`, `HHMM`, `HH:MM` after a sign; returns minutes.
    fn offset(&mut self) -> Option<i32> {
        let Some(Tok::Num(a, alen)) = self.peek(0) else {
            return None;
        };
        self.i += 1;
        let (h, m) = match alen {
            4 => (a / 100, a % 100),
            3 => (a / 100, a % 100),
            1 | 2 => {
                if self.peek(0) == Some(Tok::Punct(b':')) {
                    let Some(Tok::Num(m, 2)) = self.peek(1) else {
                        return None;
                    };
                    self.i += 2;
                    (a, m)
                } else {
                    (a, 0)
                }
            }
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        Some((h * 60 + m) as i32)
    }

    fn word(&mut self, w: &str, f: &mut Fields) -> Option<()> {
        let lw = w.to_lowercase();
        let lw = lw.as_str();
        // IANA zone names: Word '/' Word ['/' Word].
        if self.peek(0) == Some(Tok::Punct(b'/')) {
            if let Some(Tok::Word(w2)) = self.peek(1) {
                let mut name = format!("{lw}/{}", w2.to_lowercase());
                let mut used = 2;
                if self.peek(2) == Some(Tok::Punct(b'/')) {
                    if let Some(Tok::Word(w3)) = self.peek(3) {
                        name = format!("{name}/{}", w3.to_lowercase());
                        used = 4;
                    }
                }
                let z = zone_iana(&name).or_else(|| zone_abbrev(&name))?;
                self.i += used;
                f.zone = Some(z);
                return Some(());
            }
        }
        if lw == "at" && f.time.is_some() {
            f.zone = zone_abbrev(lw);
            return Some(());
        }
        if is_weekday(lw) || is_noise(lw) {
            return Some(());
        }
        if let Some(m) = month_name(lw) {
            if f.month.is_some() {
                return None;
            }
            f.month = Some(m);
            return Some(());
        }
        match lw {
            "am" | "a" if self.am_pm_dot(lw) => f.pm = Some(false),
            "pm" | "p" if self.am_pm_dot(lw) => f.pm = Some(true),
            "오전" => {
                f.pm = Some(false);
                f.korean = true;
            }
            "오후" => {
                f.pm = Some(true);
                f.korean = true;
            }
            "上午" | "午前" => f.pm = Some(false),
            "下午" | "午後" => f.pm = Some(true),
            "년" | "월" | "일" | "시" | "분" | "초" => f.korean = true,
            "年" | "月" | "日" | "时" | "時" | "分" | "秒" => {}
            _ => {
                let z = zone_iana(lw).or_else(|| zone_abbrev(lw))?;
                f.zone = Some(z);
            }
        }
        Some(())
    }

    /// `a.m.` / `p.m.`: consumes the `.m.` after a lone `a`/`p`; `am`/`pm` pass directly.
    fn am_pm_dot(&mut self, lw: &str) -> bool {
        if lw.len() == 2 {
            return true;
        }
        if self.peek(0) == Some(Tok::Punct(b'.')) {
            if let Some(Tok::Word(m)) = self.peek(1) {
                if m.eq_ignore_ascii_case("m") {
                    self.i += 2;
                    return true;
                }
            }
        }
        false
    }

    fn number(&mut self, n: u32, len: usize, f: &mut Fields) -> Option<()> {
        // CJK markers directly after a number: 2004년 05월 28일 / 2023年4月17日.
        if let Some(Tok::Word(w)) = self.peek(0) {
            let slot = match w {
                "년" | "年" => Some(0),
                "월" | "月" => Some(1),
                "일" | "日" => Some(2),
                _ => None,
            };
            if let Some(slot) = slot {
                self.i += 1;
                if w.chars().all(|c| ('\u{AC00}'..='\u{D7AF}').contains(&c)) {
                    f.korean = true;
                }
                match slot {
                    0 => f.year = Some(year_of(n, len)?),
                    1 => f.month = Some(n),
                    _ => f.day = Some(n),
                }
                return Some(());
            }
        }
        match self.peek(0) {
            Some(Tok::Punct(b':')) => return self.time(n, f),
            Some(Tok::Punct(sep @ (b'-' | b'/' | b'.')))
                if f.year.is_none()
                    && f.day.is_none()
                    && matches!(self.peek(1), Some(Tok::Num(..)) | Some(Tok::Word(_))) =>
            {
                // A '.' after a day followed by a month word ("17. April") is just a dot.
                if sep == b'.' {
                    if let Some(Tok::Word(_)) = self.peek(1) {
                        return self.loose(n, len, f);
                    }
                }
                return self.date_group(n, len, sep, f);
            }
            _ => {}
        }
        self.loose(n, len, f)
    }

    fn loose(&mut self, n: u32, len: usize, f: &mut Fields) -> Option<()> {
        if len == 4 {
            if f.year.is_some() {
                return None;
            }
            f.year = Some(n as i32);
        } else if len <= 2 {
            if f.day.is_none() {
                f.day = Some(n);
            } else if f.year.is_none() {
                f.year = Some(two_digit_year(n));
            } else {
                return None;
            }
        } else {
            return None;
        }
        Some(())
    }

    fn time(&mut self, h: u32, f: &mut Fields) -> Option<()> {
        if f.time.is_some() {
            return None;
        }
        // peek(0) is ':'
        let Some(Tok::Num(m, _)) = self.peek(1) else {
            return None;
        };
        self.i += 2;
        let mut s = 0;
        if self.peek(0) == Some(Tok::Punct(b':')) {
            let Some(Tok::Num(sv, _)) = self.peek(1) else {
                return None;
            };
            s = sv;
            self.i += 2;
            if self.peek(0) == Some(Tok::Punct(b':')) {
                return None;
            }
            // Fractional seconds.
            if matches!(self.peek(0), Some(Tok::Punct(b'.' | b','))) {
                if let Some(Tok::Num(..)) = self.peek(1) {
                    self.i += 2;
                }
            }
        }
        if h > 24 || m > 59 || s > 60 {
            return None;
        }
        f.time = Some((h, m, s.min(59)));
        Some(())
    }

    fn date_group(&mut self, first: u32, first_len: usize, sep: u8, f: &mut Fields) -> Option<()> {
        #[derive(Clone, Copy)]
        enum Part {
            Num(u32, usize),
            Month(u32),
        }
        let mut parts = vec![Part::Num(first, first_len)];
        while self.peek(0) == Some(Tok::Punct(sep)) {
            match self.peek(1) {
                Some(Tok::Num(v, l)) => parts.push(Part::Num(v, l)),
                Some(Tok::Word(w)) => parts.push(Part::Month(month_name(&w.to_lowercase())?)),
                _ => break,
            }
            self.i += 2;
            if parts.len() > 3 {
                return None;
            }
        }
        if parts.iter().any(|p| matches!(p, Part::Month(_))) {
            // 13-Feb-2012, 2004-július-13
            for p in parts {
                match p {
                    Part::Month(m) => {
                        if f.month.is_some() {
                            return None;
                        }
                        f.month = Some(m);
                    }
                    Part::Num(v, l) => self.loose(v, l, f)?,
                }
            }
            return Some(());
        }
        let nums: Vec<(u32, usize)> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Num(v, l) => Some((*v, *l)),
                Part::Month(_) => None,
            })
            .collect();
        let (y, m, d) = match nums.as_slice() {
            [(y, 4), (m, _), (d, _)] => (*y as i32, *m, *d),
            [(a, la), (b, _), (c, 4)] if *la <= 2 => {
                let (mo, da) = if sep == b'/' {
                    if *a > 12 {
                        (*b, *a)
                    } else {
                        (*a, *b)
                    }
                } else if *b > 12 && *a <= 12 {
                    (*a, *b)
                } else {
                    (*b, *a)
                };
                (*c as i32, mo, da)
            }
            [(a, 2), (b, 2), (c, 2)] => match sep {
                b'-' => (two_digit_year(*a), *b, *c),
                b'/' => (two_digit_year(*c), *a, *b),
                _ => (two_digit_year(*c), *b, *a),
            },
            [(y, 4), (m, _)] => (*y as i32, *m, 1),
            _ => return None,
        };
        f.year = Some(y);
        f.month = Some(m);
        f.day = Some(d);
        Some(())
    }
}

/// `-YYMM`, `-YY-MM`, `YYMMDD`, `YY-MM-DD`-style truncated ISO 8601 and `YYYYMMDD`.
fn compact_iso(nums: &[(u32, usize, Option<u8>)]) -> Option<DateTime<Utc>> {
    let ymd = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|n| n.and_utc())
    };
    match nums {
        [(v, 4, Some(b'-'))] => ymd(two_digit_year(v / 100), v % 100, 1),
        [(y, 2, Some(b'-')), (m, 2, Some(b'-'))] => ymd(two_digit_year(*y), *m, 1),
        [(v, 6, None)] => ymd(two_digit_year(v / 10000), (v / 100) % 100, v % 100),
        [(v, 8, None)] => ymd((v / 10000) as i32, (v / 100) % 100, v % 100),
        _ => None,
    }
}

fn finish(f: Fields) -> Option<DateTime<Utc>> {
    let year = f.year?;
    let (month, day) = match (f.month, f.day) {
        (Some(m), Some(d)) => (m, d),
        (Some(m), None) if f.time.is_none() => (m, 1),
        (None, None) if f.time.is_none() => (1, 1),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (mut h, mi, s) = f.time.unwrap_or((0, 0, 0));
    match f.pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let local = if h == 24 {
        if mi != 0 || s != 0 {
            return None;
        }
        date.succ_opt()?.and_time(NaiveTime::MIN)
    } else {
        date.and_time(NaiveTime::from_hms_opt(h, mi, s)?)
    };
    let offset = match (f.offset_min, f.zone) {
        (Some(o), _) => o,
        (None, Some(z)) => zone_offset(z, local),
        (None, None) if f.korean => 9 * 60,
        (None, None) => 0,
    };
    let utc = local.checked_sub_signed(Duration::minutes(i64::from(offset)))?;
    Some(utc.and_utc())
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn common_feed_forms() {
        let cases = [
            ("Tue, 03 Jun 2003 09:39:21 GMT", "2003-06-03T09:39:21Z"),
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
    }
}
