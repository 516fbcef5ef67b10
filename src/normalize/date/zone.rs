//! Time zones: the abbreviations feeds use (fixed offsets), the common IANA zone names with
//! their daylight-saving rule families, and the offset of a zone at a local time.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

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
    /// Israel: the Friday before the last Sunday of March, 02:00, to the last Sunday of
    /// October, 02:00.
    Israel,
    /// Lebanon: last Sunday of March to last Sunday of October, at midnight.
    Lebanon,
    /// Egypt (again since 2023): last Friday of April to the end of the last Thursday of
    /// October, at midnight.
    Egypt,
    /// Jordan: summer time all year since 24 February 2022 (and from October 2012 to
    /// December 2013); otherwise about the EU's dates (its own were days to weeks apart).
    Jordan,
    /// Syria: summer time all year since 25 March 2022; before, about the EU's dates.
    Syria,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Zone {
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

/// Timezone abbreviations used by feeds: fixed offsets, but for the generic North American
/// names (`ET`, `CT`, `MT`, `PT`, `AT`), which mean the local time, daylight saving or not.
pub(super) fn zone_abbrev(w: &str) -> Option<Zone> {
    let h = |x: i32| fixed(x * 60);
    let us = |x: i32| Zone {
        std_min: x * 60,
        dst: Dst::Us,
    };
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
        "at" => us(-4),
        "ast" => h(-4),
        "adt" => h(-3),
        "et" => us(-5),
        "est" => h(-5),
        "edt" => h(-4),
        "ct" => us(-6),
        "cst" => h(-6),
        "cdt" => h(-5),
        "mt" => us(-7),
        "mst" => h(-7),
        "mdt" => h(-6),
        "pt" => us(-8),
        "pst" => h(-8),
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
pub(super) fn zone_iana(w: &str) -> Option<Zone> {
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
        | "europe/sarajevo" | "europe/skopje" | "europe/tirane" => z(1, Dst::Eu),
        "europe/athens" | "europe/helsinki" | "europe/kiev" | "europe/kyiv"
        | "europe/bucharest" | "europe/sofia" | "europe/riga" | "europe/tallinn"
        | "europe/vilnius" | "europe/chisinau" | "asia/nicosia" => z(2, Dst::Eu),
        "europe/moscow" | "europe/istanbul" | "asia/istanbul" | "europe/minsk" | "asia/riyadh"
        | "asia/baghdad" | "asia/qatar" | "asia/kuwait" | "africa/nairobi" => z(3, Dst::None),
        "asia/amman" => z(2, Dst::Jordan),
        "asia/damascus" => z(2, Dst::Syria),
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
        "africa/johannesburg" | "africa/tripoli" => z(2, Dst::None),
        "asia/jerusalem" | "asia/tel_aviv" | "israel" => z(2, Dst::Israel),
        "asia/beirut" => z(2, Dst::Lebanon),
        "africa/cairo" | "egypt" => z(2, Dst::Egypt),
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

/// The last `day` of a month.
fn last_weekday(year: i32, month: u32, day: Weekday) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let last = NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()?;
    let back = (7 + last.weekday().num_days_from_monday() - day.num_days_from_monday()) % 7;
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

/// Whether local time `local` of `zone` falls in the EU's summer time: last Sunday of March
/// to last Sunday of October, 01:00 UTC both ways.
fn eu_summer(zone: Zone, local: NaiveDateTime) -> bool {
    let y = local.year();
    let at = |d: Option<NaiveDate>| d.and_then(|d| d.and_hms_opt(1, 0, 0));
    let utc = local - Duration::minutes(i64::from(zone.std_min));
    let (s, e) = (at(sunday(y, 3, 0)), at(sunday(y, 10, 0)));
    matches!((s, e), (Some(s), Some(e)) if utc >= s && utc < e)
}

/// Offset (minutes east of UTC) of `zone` at local time `local`.
pub(super) fn zone_offset(zone: Zone, local: NaiveDateTime) -> i32 {
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
        Dst::Eu => eu_summer(zone, local),
        Dst::Jordan => {
            let day =
                |y, m, d| NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(0, 0, 0));
            let since = |d: Option<NaiveDateTime>| d.is_some_and(|d| local >= d);
            since(day(2022, 2, 24))
                || (since(day(2012, 10, 26)) && !since(day(2013, 12, 20)))
                || eu_summer(zone, local)
        }
        Dst::Syria => {
            let all_year =
                NaiveDate::from_ymd_opt(2022, 3, 25).and_then(|d| d.and_hms_opt(0, 0, 0));
            all_year.is_some_and(|a| local >= a) || eu_summer(zone, local)
        }
        Dst::AuSouth => {
            let (e, s) = (at(sunday(y, 4, 1), 2), at(sunday(y, 10, 1), 2));
            matches!((s, e), (Some(s), Some(e)) if std_local >= s || std_local < e)
        }
        Dst::Nz => {
            let (e, s) = (at(sunday(y, 4, 1), 2), at(sunday(y, 9, 0), 2));
            matches!((s, e), (Some(s), Some(e)) if std_local >= s || std_local < e)
        }
        Dst::Israel => {
            let friday = sunday(y, 3, 0).and_then(|d| d.checked_sub_signed(Duration::days(2)));
            let (s, e) = (at(friday, 2), at(sunday(y, 10, 0), 2));
            matches!((s, e), (Some(s), Some(e)) if std_local >= s && std_local < e)
        }
        Dst::Lebanon => {
            let (s, e) = (at(sunday(y, 3, 0), 0), at(sunday(y, 10, 0), 0));
            matches!((s, e), (Some(s), Some(e)) if std_local >= s && std_local < e)
        }
        Dst::Egypt => {
            let friday = last_weekday(y, 10, Weekday::Thu).and_then(|d| d.succ_opt());
            let (s, e) = (at(last_weekday(y, 4, Weekday::Fri), 0), at(friday, 0));
            y >= 2023 && matches!((s, e), (Some(s), Some(e)) if std_local >= s && std_local < e)
        }
    };
    zone.std_min + if in_dst { 60 } else { 0 }
}
