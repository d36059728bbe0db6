//! Language choice and the few phrases the renderer formats itself (dates and durations), so
//! the templates can say "valid for ${request.expiresIn}" grammatically in every language.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The language used when nothing better matches.
pub(crate) const FALLBACK: &str = "en";

/// Lookup order for a recipient locale: the exact tag (`fr-ca`), its primary subtag (`fr`),
/// then English. Tags are lower-cased with `_` read as `-` (Okta profiles hold `fr_CA`).
/// Anything that is not a plausible tag is ignored rather than trusted as a lookup key.
pub(crate) fn candidates(locale: Option<&str>) -> Vec<String> {
    let mut out = Vec::with_capacity(3);
    if let Some(tag) = locale.and_then(normalize) {
        if let Some((primary, _)) = tag.split_once('-') {
            let primary = primary.to_owned();
            out.push(tag);
            out.push(primary);
        } else {
            out.push(tag);
        }
    }
    if !out.iter().any(|c| c == FALLBACK) {
        out.push(FALLBACK.to_owned());
    }
    out
}

/// The recipient's own candidates, without the English fallback: the exact tag, then its
/// primary subtag. Empty for no (or an implausible) locale.
pub(crate) fn requested(locale: Option<&str>) -> Vec<String> {
    let mut out = candidates(locale);
    if locale.and_then(normalize).is_none_or(|tag| tag.split('-').next() != Some(FALLBACK)) {
        out.retain(|c| c != FALLBACK);
    }
    out
}

/// `fr_CA` → `fr-ca`; `None` for an empty or implausible tag.
pub(crate) fn normalize(locale: &str) -> Option<String> {
    let tag = locale.trim().replace('_', "-").to_ascii_lowercase();
    let plausible = !tag.is_empty()
        && tag.len() <= 35
        && tag.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
        && tag.split('-').next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    plausible.then_some(tag)
}

const EN_MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const FR_MONTHS: [&str; 12] =
    ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
const DE_MONTHS: [&str; 12] =
    ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];
const ES_MONTHS: [&str; 12] =
    ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"];

/// A moment in the template language. The recipient's time zone is unknown, so it is UTC and
/// says so.
pub(crate) fn format_time(lang: &str, t: DateTime<Utc>) -> String {
    let (y, d, h, m) = (t.year(), t.day(), t.hour(), t.minute());
    let month = t.month0() as usize;
    let pick = |names: &[&'static str; 12]| names.get(month).copied().unwrap_or_default();
    match lang {
        "fr" => format!("{d} {} {y} à {h:02}:{m:02} UTC", pick(&FR_MONTHS)),
        "de" => format!("{d}. {} {y}, {h:02}:{m:02} UTC", pick(&DE_MONTHS)),
        "es" => format!("{d} de {} de {y}, {h:02}:{m:02} UTC", pick(&ES_MONTHS)),
        "ja" => format!("{y}年{}月{d}日 {h:02}:{m:02} UTC", month + 1),
        _ => {
            let (pm, h12) = t.hour12();
            format!("{} {d}, {y}, {h12}:{m:02} {} UTC", pick(&EN_MONTHS), if pm { "PM" } else { "AM" })
        }
    }
}

/// A lifetime in the largest whole unit: 10 → "10 minutes", 60 → "1 hour", 10080 → "7 days".
/// The templates place it where the bare duration reads well in their language
/// ("expire in …", "… lang gültig", "有効期限は…です", "…後に").
pub(crate) fn format_duration(lang: &str, minutes: i64) -> String {
    let (n, unit) = if minutes >= 1440 && minutes % 1440 == 0 {
        (minutes / 1440, Unit::Day)
    } else if minutes >= 60 && minutes % 60 == 0 {
        (minutes / 60, Unit::Hour)
    } else {
        (minutes, Unit::Minute)
    };
    let one = n == 1;
    let word = match (lang, unit) {
        ("fr", Unit::Minute) => {
            if one {
                "minute"
            } else {
                "minutes"
            }
        }
        ("fr", Unit::Hour) => {
            if one {
                "heure"
            } else {
                "heures"
            }
        }
        ("fr", Unit::Day) => {
            if one {
                "jour"
            } else {
                "jours"
            }
        }
        ("de", Unit::Minute) => {
            if one {
                "Minute"
            } else {
                "Minuten"
            }
        }
        ("de", Unit::Hour) => {
            if one {
                "Stunde"
            } else {
                "Stunden"
            }
        }
        ("de", Unit::Day) => {
            if one {
                "Tag"
            } else {
                "Tage"
            }
        }
        ("es", Unit::Minute) => {
            if one {
                "minuto"
            } else {
                "minutos"
            }
        }
        ("es", Unit::Hour) => {
            if one {
                "hora"
            } else {
                "horas"
            }
        }
        ("es", Unit::Day) => {
            if one {
                "día"
            } else {
                "días"
            }
        }
        ("ja", Unit::Minute) => return format!("{n}分"),
        ("ja", Unit::Hour) => return format!("{n}時間"),
        ("ja", Unit::Day) => return format!("{n}日"),
        (_, Unit::Minute) => {
            if one {
                "minute"
            } else {
                "minutes"
            }
        }
        (_, Unit::Hour) => {
            if one {
                "hour"
            } else {
                "hours"
            }
        }
        (_, Unit::Day) => {
            if one {
                "day"
            } else {
                "days"
            }
        }
    };
    format!("{n} {word}")
}

#[derive(Clone, Copy)]
enum Unit {
    Minute,
    Hour,
    Day,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lookup_order() {
        assert_eq!(candidates(Some("fr_CA")), ["fr-ca", "fr", "en"]);
        assert_eq!(candidates(Some("de")), ["de", "en"]);
        assert_eq!(candidates(Some("en-GB")), ["en-gb", "en"]);
        assert_eq!(candidates(Some("../../etc")), ["en"]);
        assert_eq!(candidates(None), ["en"]);
    }

    #[test]
    fn times_and_durations() {
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 19, 7, 0).single().expect("valid");
        assert_eq!(format_time("en", t), "November 30, 2026, 7:07 PM UTC");
        assert_eq!(format_time("fr", t), "30 novembre 2026 à 19:07 UTC");
        assert_eq!(format_time("de", t), "30. November 2026, 19:07 UTC");
        assert_eq!(format_time("es", t), "30 de noviembre de 2026, 19:07 UTC");
        assert_eq!(format_time("ja", t), "2026年11月30日 19:07 UTC");
        assert_eq!(format_duration("en", 10), "10 minutes");
        assert_eq!(format_duration("en", 60), "1 hour");
        assert_eq!(format_duration("de", 10080), "7 Tage");
        assert_eq!(format_duration("fr", 1), "1 minute");
        assert_eq!(format_duration("ja", 90), "90分");
        assert_eq!(format_duration("ja", 10080), "7日");
    }
}
