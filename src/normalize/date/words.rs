//! The date tokenizer, and the words it meets: month names in the languages feeds use,
//! weekday names and noise words (both ignored).

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Tok<'a> {
    /// Digits: value and digit count.
    Num(u32, usize),
    /// A run of letters (any script), `_` included.
    Word(&'a str),
    /// One ASCII punctuation byte.
    Punct(u8),
    /// Whitespace run.
    Space,
}

pub(super) fn tokenize(s: &str) -> Option<Vec<Tok<'_>>> {
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

/// Month number of a month name in the languages feeds commonly use.
pub(super) fn month_name(w: &str) -> Option<u32> {
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
        // Portuguese and Italian abbreviations that are none of the above
        "gen" => 1,
        "fev" => 2,
        "mag" => 5,
        "giu" => 6,
        "lug" => 7,
        "set" => 9,
        "out" | "ott" => 10,
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
        // Polish (genitive, as dates write them)
        "stycznia" => 1,
        "lutego" => 2,
        "marca" => 3,
        "kwietnia" => 4,
        "maja" => 5,
        "czerwca" => 6,
        "lipca" => 7,
        "sierpnia" => 8,
        "września" => 9,
        "października" => 10,
        "listopada" => 11,
        "grudnia" => 12,
        // Greek (genitive)
        "ιανουαρίου" => 1,
        "φεβρουαρίου" => 2,
        "μαρτίου" => 3,
        "απριλίου" => 4,
        "μαΐου" => 5,
        "ιουνίου" => 6,
        "ιουλίου" => 7,
        "αυγούστου" => 8,
        "σεπτεμβρίου" => 9,
        "οκτωβρίου" => 10,
        "νοεμβρίου" => 11,
        "δεκεμβρίου" => 12,
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
pub(super) fn is_weekday(w: &str) -> bool {
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
pub(super) fn is_noise(w: &str) -> bool {
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
