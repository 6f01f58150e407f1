//! Which motif and output names a library may hold.
//!
//! A motif is commanded by name in the `~/sequence` language
//! (`src/control/commands.rs`), which splits on whitespace and commas and
//! reads its first word as a keyword, case-insensitively. A name that parser
//! could split, or would read as a keyword, could never be commanded, so it is
//! rejected wherever a name enters a library: loading, `train`, `add`.

use super::limits::MAX_NAME_BYTES;

/// The command language's keywords, lower case; matched case-insensitively.
pub const COMMAND_KEYWORDS: [&str; 5] = ["run", "append", "stop", "hold", "speed"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("{name:?} is {len} bytes; at most {MAX_NAME_BYTES} are allowed")]
    TooLong { name: String, len: usize },
    #[error("{name:?} contains {what} (U+{code:04X}); names allow no whitespace, commas or control characters")]
    BadChar {
        name: String,
        what: &'static str,
        code: u32,
    },
    #[error("{0:?} starts or ends with a space")]
    Padded(String),
    #[error("{0:?} is a command keyword ({kw}); it could never be run as a motif", kw = COMMAND_KEYWORDS.join(", "))]
    Keyword(String),
}

fn check_chars(name: &str, inner_space_ok: bool) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong {
            name: name.chars().take(MAX_NAME_BYTES).collect::<String>() + "…",
            len: name.len(),
        });
    }
    let bad = name.chars().find_map(|c| {
        let what = if c.is_control() {
            "a control character"
        } else if c.is_whitespace() && !(inner_space_ok && c == ' ') {
            "whitespace"
        } else if c == ',' {
            "a comma"
        } else {
            return None;
        };
        Some((what, c))
    });
    match bad {
        Some((what, c)) => Err(NameError::BadChar {
            name: name.to_string(),
            what,
            code: c as u32,
        }),
        None if name.trim() != name => Err(NameError::Padded(name.to_string())),
        None => Ok(()),
    }
}

/// Whether `name` can be a motif: non-empty, at most `MAX_NAME_BYTES`, no
/// whitespace (any Unicode whitespace, including U+00A0), commas or control
/// characters, and not a command keyword in any letter case.
pub fn validate_motif_name(name: &str) -> Result<(), NameError> {
    check_chars(name, false)?;
    if COMMAND_KEYWORDS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
    {
        return Err(NameError::Keyword(name.to_string()));
    }
    Ok(())
}

/// Whether `name` can be an output (joint) name: it must round-trip as a
/// demonstration CSV column, which is split on commas and trimmed, so inner
/// spaces are the only whitespace allowed.
pub fn validate_output_name(name: &str) -> Result<(), NameError> {
    check_chars(name, true)
}
