//! The `WIREFOLD_…` overrides: which variable sets which key, and a specific problem for a
//! variable that cannot set one (a section, a list, a value of the wrong type, text that is
//! not UTF-8) instead of the reader's message about the internal types it was read into.

use std::collections::HashMap;

use super::{Problem, ENV_PREFIX};

/// The sections of the file: a variable naming one alone (`WIREFOLD_LOG=debug`) sets no key.
pub(super) const SECTIONS: [&str; 7] = [
    "store",
    "http",
    "fetch",
    "schedule",
    "dedup",
    "normalize",
    "log",
];

/// Keys that hold a list or a table: the environment's text cannot set them (README).
const LISTS: [&str; 3] = ["sources", "fetch.private_hosts", "normalize.rules"];

/// One override: the variable as it was set and the dotted key it sets.
pub(super) struct Variable {
    pub(super) name: String,
    pub(super) key: String,
    pub(super) value: String,
}

/// Every variable that sets a key: its name starts with `WIREFOLD_` in any case, as the
/// `config` crate matches it, and `__` separates a section from its key. `env` stands in
/// for the process's environment in tests. A variable that cannot set a key is left out,
/// with its problem in `problems`.
pub(super) fn overrides(
    env: Option<&HashMap<String, String>>,
    problems: &mut Vec<Problem>,
) -> Vec<Variable> {
    let mut variables: Vec<(String, Result<String, String>)> = match env {
        Some(env) => env
            .iter()
            .map(|(name, value)| (name.clone(), Ok(value.clone())))
            .collect(),
        None => std::env::vars_os()
            // A name that is not UTF-8 cannot start with the prefix as text.
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                Some((name, value.into_string().map_err(|v| format!("{v:?}"))))
            })
            .collect(),
    };
    let prefix = format!("{}_", ENV_PREFIX.to_lowercase());
    let mut out: Vec<Variable> = Vec::new();
    // The names in order, so that what is reported does not depend on the environment's.
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in variables {
        let lower = name.to_lowercase();
        let Some(rest) = lower.strip_prefix(&prefix) else {
            continue;
        };
        let key = rest.replace("__", ".");
        // The file's path and the command line's token: not keys, read where they are used.
        if key == "config" || key == "token" {
            continue;
        }
        let problem = |message: String| Problem {
            key: if key.is_empty() {
                name.clone()
            } else {
                key.clone()
            },
            source: None,
            message: attributed(message, &name),
        };
        let section = key.split('.').next().unwrap_or_default().to_uppercase();
        if key.is_empty() {
            problems.push(problem(format!(
                "names no key: a variable sets one key of a section, as \
                 {ENV_PREFIX}_<SECTION>__<KEY>"
            )));
        } else if key == "normalize" {
            problems.push(problem(
                "a section whose one key, rules, is a list, which the environment cannot \
                 set: write it in the file"
                    .into(),
            ));
        } else if SECTIONS.contains(&key.as_str()) {
            problems.push(problem(format!(
                "a section, not a value: set its keys one by one, as \
                 {ENV_PREFIX}_{section}__<KEY>"
            )));
        } else if LISTS
            .iter()
            .any(|l| key == *l || key.starts_with(&format!("{l}.")))
        {
            problems.push(problem(
                "a list, which the environment cannot set: write it in the file".into(),
            ));
        } else if key.split('.').count() > 2 || key.split('.').any(str::is_empty) {
            // `config` would make the value a table under a key that holds text or a number.
            problems.push(problem(format!(
                "unknown key: a variable sets one key of a section, as \
                 {ENV_PREFIX}_{section}__<KEY>"
            )));
        } else if let Some(i) = out.iter().position(|v| v.key == key) {
            // The same key in two spellings (`WIREFOLD_LOG__LEVEL`, `wirefold_log__level`):
            // the reader would take either, as the environment happens to list them.
            let other = out.remove(i);
            problems.push(problem(format!(
                "set twice, also by the environment variable {}: keep one",
                other.name
            )));
        } else {
            match value {
                // The reader takes these words for 1 and 0 wherever a number is asked for:
                // `CONCURRENCY=yes` ran one poll at a time, `MIN_SIMILARITY=on` was 1.0.
                Ok(value) if SWITCH_WORDS.contains(&value.trim().to_lowercase().as_str()) => {
                    match number_kind(&key) {
                        Some(kind) => problems.push(problem(format!("{value:?} is not {kind}"))),
                        None => out.push(Variable { name, key, value }),
                    }
                }
                Ok(value) => out.push(Variable { name, key, value }),
                Err(shown) => problems.push(problem(format!("{shown} is not UTF-8 text"))),
            }
        }
    }
    out
}

/// What the `config` crate reads as a switch, and as 1 or 0 for a number.
const SWITCH_WORDS: [&str; 6] = ["true", "false", "yes", "no", "on", "off"];

/// "a whole number" or "a number" when `key` (`section.key`) takes one, found by reading a
/// file that sets it alone; `None` for a switch, text, or a key that is not there.
fn number_kind(key: &str) -> Option<&'static str> {
    let (section, name) = key.split_once('.')?;
    let reads = |value: &str| {
        let quoted = toml::Value::String(name.to_owned());
        toml::from_str::<super::settings::Settings>(&format!("[{section}]\n{quoted} = {value}\n"))
            .is_ok()
    };
    if reads("true") || !reads("1") {
        None
    } else if reads("1.5") {
        Some("a number")
    } else {
        Some("a whole number")
    }
}

/// The problem of the variable behind `error`, when the error is a value of the wrong type
/// for a key the environment set; that variable is taken out of `variables`, so that the
/// rest can be read again and every problem reported at once.
pub(super) fn refused(
    error: &config::ConfigError,
    variables: &mut Vec<Variable>,
) -> Option<Problem> {
    let config::ConfigError::Type {
        key: Some(key),
        expected,
        ..
    } = error
    else {
        return None;
    };
    let i = variables.iter().position(|v| &v.key == key)?;
    let variable = variables.remove(i);
    let message = match *expected {
        // A whole number that does not fit the key's type (too large, or below 0 where it
        // cannot be) is one all the same: said to be out of range, as the file's reading says.
        e if e.contains("integer") => match whole_number(&variable.value) {
            Some(number) => format!("{number} is out of range"),
            None => format!("{:?} is not a whole number", variable.value),
        },
        e => {
            let wanted = match e {
                "a boolean" => "true or false",
                "a floating point" => "a number",
                e => e,
            };
            format!("{:?} is not {wanted}", variable.value)
        }
    };
    Some(Problem {
        key: variable.key,
        source: None,
        message: attributed(message, &variable.name),
    })
}

/// `value` when it is a whole number other than zero, of any size, written as the reader takes
/// one: digits after an optional sign, nothing around them.
fn whole_number(value: &str) -> Option<&str> {
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    let number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (number && digits.bytes().any(|b| b != b'0')).then_some(value)
}

/// `message`, saying which variable set the key.
pub(super) fn attributed(message: String, name: &str) -> String {
    format!("{message} (set by the environment variable {name})")
}

/// A hint for an unknown key that a variable set with one underscore where a section's key
/// takes two (`WIREFOLD_LOG_LEVEL` for `WIREFOLD_LOG__LEVEL`), or two after the prefix
/// (`WIREFOLD__LOG__LEVEL`).
pub(super) fn separator_hint(key: &str) -> Option<String> {
    if let Some(rest) = key.strip_prefix('_') {
        return Some(format!(
            "; one underscore after {ENV_PREFIX}: {ENV_PREFIX}_{}",
            rest.to_uppercase().replace('.', "__")
        ));
    }
    SECTIONS.iter().find_map(|section| {
        let rest = key.strip_prefix(section)?.strip_prefix('_')?;
        (!rest.is_empty() && !key.contains('.')).then(|| {
            format!(
                "; a section's key takes two underscores: {ENV_PREFIX}_{}__{}",
                section.to_uppercase(),
                rest.to_uppercase()
            )
        })
    })
}
