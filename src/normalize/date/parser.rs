//! The date parser: walks the tokens, fills the date fields (year, month, day, time, offset
//! or zone, AM/PM), and turns them into a UTC instant; plus the digits-only truncated ISO 8601
//! forms.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::words::{is_noise, is_weekday, month_name, tokenize, Tok};
use super::zone::{zone_abbrev, zone_iana, zone_offset, Zone};

pub(super) struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    i: usize,
}

#[derive(Default, Clone)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    time: Option<(u32, u32, u32)>,
    offset_min: Option<i32>,
    zone: Option<Zone>,
    pm: Option<bool>,
    korean: bool,
    /// Day and month came as two numbers of which either could be the month (`05/12/2026`):
    /// the other reading is a date too.
    swappable: bool,
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
    pub(super) fn new(s: &'a str) -> Option<Self> {
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

    /// The date, and when day and month could be read the other way round, that reading.
    pub(super) fn parse_readings(mut self) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        // Truncated ISO 8601 forms that are only digits and dashes.
        if let Some(nums) = self.only_numbers() {
            if let Some(d) = compact_iso(&nums) {
                return Some((d, None));
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
        let other = f.swappable.then(|| {
            let mut g = f.clone();
            std::mem::swap(&mut g.month, &mut g.day);
            g
        });
        Some((finish(f)?, other.and_then(finish)))
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
            // A military zone letter after the time (`10:05:00 A`): RFC 5322 4.3 reads
            // them all as -0000, their sign having been used both ways.
            _ if lw.len() == 1
                && lw.bytes().all(|b| b.is_ascii_alphabetic())
                && f.time.is_some()
                && f.zone.is_none() =>
            {
                f.zone = zone_abbrev("z");
            }
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
                f.swappable = (1..=12).contains(a) && (1..=12).contains(b) && a != b;
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
