//! The `~/sequence` command language (see `docs/commands.md`).
//!
//! Parsing happens on the transport side, where allocation is fine; the loop
//! only ever sees the resulting [`Command`], which is `Copy`.

/// Longest motif queue, per command and in total. Bounds memory whatever
/// arrives on the topic.
pub const MAX_QUEUE: usize = 32;

/// Default cap on a command's length in bytes; longer input is rejected
/// before it is tokenised.
pub const DEFAULT_MAX_COMMAND_BYTES: usize = 4096;

/// Unknown names listed in a rejection, so the status message stays short.
const MAX_LISTED_UNKNOWN: usize = 8;
/// Characters of an unknown name shown in a rejection.
const MAX_SHOWN_NAME: usize = 40;

/// A fixed-capacity queue of motif indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotifQueue {
    items: [u16; MAX_QUEUE],
    len: usize,
}

impl Default for MotifQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl MotifQueue {
    pub const fn new() -> Self {
        Self {
            items: [0; MAX_QUEUE],
            len: 0,
        }
    }

    /// `None` if `items` does not fit.
    pub fn from_slice(items: &[u16]) -> Option<Self> {
        let mut q = Self::new();
        q.extend(items).then_some(q)
    }

    pub fn as_slice(&self) -> &[u16] {
        &self.items[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends all of `items` or, if they do not fit, none of them.
    pub fn extend(&mut self, items: &[u16]) -> bool {
        if self.len + items.len() > MAX_QUEUE {
            return false;
        }
        self.items[self.len..self.len + items.len()].copy_from_slice(items);
        self.len += items.len();
        true
    }

    pub fn pop_front(&mut self) -> Option<u16> {
        if self.len == 0 {
            return None;
        }
        let first = self.items[0];
        self.items.copy_within(1..self.len, 0);
        self.len -= 1;
        Some(first)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Replace the queue and start preparing its first motif now.
    Run(MotifQueue),
    /// Add to the end of the queue (starts at once when nothing runs).
    Append(MotifQueue),
    /// Decelerate to a halt, then hold; clears the queue.
    Stop,
    /// Freeze the posture now; clears the queue.
    Hold,
    /// Scale motif time by this factor (already checked against the bounds).
    Speed(f64),
    /// Use this share of each joint's velocity limit, in (0, the start-up value] (the
    /// `velocity_limit_scale` parameter, changed live).
    VelocityScale(f64),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("command is {len} bytes; the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error("unknown motif(s): {}{}", .names.join(", "), if *.more > 0 { format!(" (and {} more)", .more) } else { String::new() })]
    UnknownMotifs { names: Vec<String>, more: usize },
    #[error("{got} motifs in one command; at most {max}")]
    TooMany { got: usize, max: usize },
    #[error("`{0}` needs an argument")]
    MissingArgument(&'static str),
    #[error("`{0}` takes no arguments")]
    UnexpectedArgument(&'static str),
    #[error("`{0}` is not a finite number")]
    BadNumber(String),
    #[error("speed {value} is outside the allowed range [{min}, {max}]")]
    SpeedOutOfRange { value: f64, min: f64, max: f64 },
    #[error(
        "velocity_limit_scale {value} is not in (0, {max}] (at most the node's start-up value)"
    )]
    ScaleOutOfRange { value: f64, max: f64 },
}

/// Parses command text against a library's motif names and the speed bounds.
#[derive(Debug, Clone)]
pub struct CommandParser {
    names: Vec<String>,
    speed_min: f64,
    speed_max: f64,
    max_bytes: usize,
    /// The highest `velocity_limit_scale` a command may set.
    velocity_scale_max: f64,
}

fn shown(name: &str) -> String {
    let mut s: String = name
        .chars()
        .take(MAX_SHOWN_NAME)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    // Whitespace that does not separate tokens (e.g. U+00A0) is shown as an
    // escape, or `circle wave` would look like two known names.
    if s.chars().any(|c| c.is_whitespace()) {
        s = s.escape_default().to_string();
    }
    if name.chars().count() > MAX_SHOWN_NAME {
        s.push('…');
    }
    s
}

impl CommandParser {
    pub fn new(names: Vec<String>, speed_min: f64, speed_max: f64, max_bytes: usize) -> Self {
        Self {
            names,
            speed_min,
            speed_max,
            max_bytes,
            velocity_scale_max: 1.0,
        }
    }

    /// Caps `velocity_limit_scale` commands at `max` (the node's start-up
    /// value: a live change may slow the arm, never make it faster than
    /// its operator configured).
    pub fn with_velocity_scale_max(mut self, max: f64) -> Self {
        self.velocity_scale_max = max;
        self
    }

    pub fn motif_names(&self) -> &[String] {
        &self.names
    }

    pub fn parse(&self, text: &str) -> Result<Command, CommandError> {
        // Checked before tokenising so a huge string costs one length check.
        if text.len() > self.max_bytes {
            return Err(CommandError::TooLong {
                len: text.len(),
                max: self.max_bytes,
            });
        }
        // Exactly the separators the docs name: ASCII spaces (and tabs,
        // newlines) and commas, so what separates tokens is visible.
        let mut tokens = text
            .split(|c: char| c.is_ascii_whitespace() || c == ',')
            .filter(|t| !t.is_empty());
        let Some(first) = tokens.next() else {
            return Err(CommandError::Empty);
        };
        match first.to_ascii_lowercase().as_str() {
            "stop" => no_args(tokens, "stop").map(|()| Command::Stop),
            "hold" => no_args(tokens, "hold").map(|()| Command::Hold),
            "speed" => {
                let value = self.number(tokens, "speed")?;
                if !(self.speed_min..=self.speed_max).contains(&value) {
                    return Err(CommandError::SpeedOutOfRange {
                        value,
                        min: self.speed_min,
                        max: self.speed_max,
                    });
                }
                Ok(Command::Speed(value))
            }
            "velocity_limit_scale" => {
                let value = self.number(tokens, "velocity_limit_scale")?;
                if !(value > 0.0 && value <= self.velocity_scale_max) {
                    return Err(CommandError::ScaleOutOfRange {
                        value,
                        max: self.velocity_scale_max,
                    });
                }
                Ok(Command::VelocityScale(value))
            }
            "append" => {
                let q = self.queue_of(tokens)?;
                if q.is_empty() {
                    return Err(CommandError::MissingArgument("append"));
                }
                Ok(Command::Append(q))
            }
            "run" => {
                let q = self.queue_of(tokens)?;
                if q.is_empty() {
                    return Err(CommandError::MissingArgument("run"));
                }
                Ok(Command::Run(q))
            }
            _ => self
                .queue_of(std::iter::once(first).chain(tokens))
                .map(Command::Run),
        }
    }

    /// The one finite number after `verb`.
    fn number<'a>(
        &self,
        mut tokens: impl Iterator<Item = &'a str>,
        verb: &'static str,
    ) -> Result<f64, CommandError> {
        let arg = tokens.next().ok_or(CommandError::MissingArgument(verb))?;
        no_args(tokens, verb)?;
        arg.parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| CommandError::BadNumber(shown(arg)))
    }

    /// The queue of these motif names, each a whole name (no splitting):
    /// unknown ones are listed as a command's are, at most a few, shown
    /// safely.
    pub fn queue_of<'a>(
        &self,
        tokens: impl Iterator<Item = &'a str>,
    ) -> Result<MotifQueue, CommandError> {
        let mut q = MotifQueue::new();
        let mut count = 0usize;
        let mut unknown: Vec<String> = Vec::new();
        let mut more = 0usize;
        for t in tokens {
            count += 1;
            match self.names.iter().position(|n| n == t) {
                Some(i) => {
                    // Overflow is reported below with the real count.
                    let _ = q.extend(&[i as u16]);
                }
                None => {
                    let s = shown(t);
                    if unknown.contains(&s) {
                        continue;
                    }
                    if unknown.len() < MAX_LISTED_UNKNOWN {
                        unknown.push(s);
                    } else {
                        more += 1;
                    }
                }
            }
        }
        if !unknown.is_empty() {
            return Err(CommandError::UnknownMotifs {
                names: unknown,
                more,
            });
        }
        if count > MAX_QUEUE {
            return Err(CommandError::TooMany {
                got: count,
                max: MAX_QUEUE,
            });
        }
        Ok(q)
    }
}

fn no_args<'a>(
    mut rest: impl Iterator<Item = &'a str>,
    what: &'static str,
) -> Result<(), CommandError> {
    match rest.next() {
        None => Ok(()),
        Some(_) => Err(CommandError::UnexpectedArgument(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAMES: [&str; 4] = ["circle", "wave", "reach_left", "lift"];

    fn parser() -> CommandParser {
        CommandParser::new(
            NAMES.iter().map(|s| s.to_string()).collect(),
            0.1,
            2.0,
            DEFAULT_MAX_COMMAND_BYTES,
        )
    }

    fn q(items: &[u16]) -> MotifQueue {
        MotifQueue::from_slice(items).unwrap()
    }

    #[test]
    fn sequences_and_keywords() {
        let p = parser();
        assert_eq!(p.parse("circle wave").unwrap(), Command::Run(q(&[0, 1])));
        assert_eq!(
            p.parse("  run lift,circle \n").unwrap(),
            Command::Run(q(&[3, 0]))
        );
        assert_eq!(p.parse("append wave").unwrap(), Command::Append(q(&[1])));
        assert_eq!(p.parse("STOP").unwrap(), Command::Stop);
        assert_eq!(p.parse("hold").unwrap(), Command::Hold);
        assert_eq!(p.parse("speed 1.5").unwrap(), Command::Speed(1.5));
        assert_eq!(
            p.parse("velocity_limit_scale 0.5").unwrap(),
            Command::VelocityScale(0.5)
        );
        assert_eq!(
            p.parse("velocity_limit_scale 0"),
            Err(CommandError::ScaleOutOfRange {
                value: 0.0,
                max: 1.0
            })
        );
        let p = p.with_velocity_scale_max(0.9);
        assert_eq!(
            p.parse("velocity_limit_scale 0.95"),
            Err(CommandError::ScaleOutOfRange {
                value: 0.95,
                max: 0.9
            })
        );
    }

    #[test]
    fn rejections() {
        let p = parser();
        assert_eq!(p.parse(" \t\n"), Err(CommandError::Empty));
        assert_eq!(p.parse(""), Err(CommandError::Empty));
        match p.parse("circle jump wave spin jump") {
            Err(CommandError::UnknownMotifs { names, more: 0 }) => {
                assert_eq!(names, ["jump", "spin"])
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "speed 0",
            "speed -1",
            "speed NaN",
            "speed inf",
            "speed 1e308",
            "speed x",
            "speed",
        ] {
            assert!(p.parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            p.parse("stop now"),
            Err(CommandError::UnexpectedArgument("stop"))
        ));
        assert!(matches!(
            p.parse("append"),
            Err(CommandError::MissingArgument("append"))
        ));
        let huge = "circle ".repeat(200_000);
        assert!(matches!(p.parse(&huge), Err(CommandError::TooLong { .. })));
        let many = "wave ".repeat(MAX_QUEUE + 1);
        assert!(matches!(p.parse(&many), Err(CommandError::TooMany { .. })));
        // Only ASCII whitespace and commas separate: a non-breaking space
        // joins two names into one unknown name, shown with its escape.
        let e = p.parse("circle\u{a0}wave").unwrap_err();
        assert_eq!(e.to_string(), "unknown motif(s): circle\\u{a0}wave");
        assert!(p.parse("circle\u{2003}").is_err());
    }

    #[test]
    fn queue_is_all_or_nothing() {
        let mut a = q(&[1; MAX_QUEUE - 1]);
        assert!(!a.extend(&[2, 3]));
        assert_eq!(a.len(), MAX_QUEUE - 1);
        assert!(a.extend(&[2]));
        assert_eq!(a.pop_front(), Some(1));
        assert_eq!(a.as_slice()[MAX_QUEUE - 2], 2);
    }

    proptest! {
        #[test]
        fn never_panics_and_bounded(s in ".{0,300}") {
            let p = parser();
            match p.parse(&s) {
                Ok(Command::Run(q)) | Ok(Command::Append(q)) => {
                    prop_assert!(!q.is_empty() && q.len() <= MAX_QUEUE);
                    prop_assert!(q.as_slice().iter().all(|&i| (i as usize) < NAMES.len()));
                }
                Ok(Command::Speed(v)) => prop_assert!(v.is_finite() && (0.1..=2.0).contains(&v)),
                Ok(_) => {}
                Err(e) => prop_assert!(e.to_string().len() < 1000),
            }
        }

        #[test]
        fn known_sequences_round_trip(idx in proptest::collection::vec(0usize..4, 1..MAX_QUEUE), sep in "[ ,\t]{1,3}") {
            let text = idx.iter().map(|&i| NAMES[i]).collect::<Vec<_>>().join(&sep);
            let want: Vec<u16> = idx.iter().map(|&i| i as u16).collect();
            prop_assert_eq!(parser().parse(&text).unwrap(), Command::Run(q(&want)));
        }

        #[test]
        fn one_unknown_rejects_everything(idx in proptest::collection::vec(0usize..4, 0..10), pos in 0usize..10, bad in "[a-z_]{1,12}") {
            prop_assume!(!NAMES.contains(&bad.as_str()) && !["run", "append", "stop", "hold", "speed"].contains(&bad.as_str()));
            let mut words: Vec<String> = idx.iter().map(|&i| NAMES[i].to_string()).collect();
            words.insert(pos.min(words.len()), bad.clone());
            match parser().parse(&words.join(" ")) {
                Err(CommandError::UnknownMotifs { names, .. }) => prop_assert_eq!(names, vec![bad]),
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn speed_accepts_only_in_bounds(v in proptest::num::f64::ANY) {
            let r = parser().parse(&format!("speed {v}"));
            if v.is_finite() && (0.1..=2.0).contains(&v) {
                prop_assert_eq!(r.unwrap(), Command::Speed(v));
            } else {
                prop_assert!(r.is_err());
            }
        }
    }
}
