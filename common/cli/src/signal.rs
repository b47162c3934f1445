//! Signals by name or number, the way kill(1) and `docker kill -s` take
//! them: `KILL`, `SIGKILL`, `kill` or `9`.

use nix::sys::signal::Signal;

use crate::error::{invalid, Invalid};

/// The signals a runtime passes on to the container it waits for, like
/// `docker run`'s sig-proxy and tini; SIGWINCH is the terminal's business.
pub const FORWARDED: [Signal; 6] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Parses a signal name (with or without `SIG`, any case) or number.
pub fn parse(text: &str) -> Result<Signal, Invalid> {
    let bad =
        || invalid("signal", text, "expected a name like TERM or SIGKILL, or a number like 15");
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_name_or_number() {
        assert_eq!(parse("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("sigterm").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("10").unwrap(), Signal::SIGUSR1);
        for bad in ["NOPE", "99", "", "-1"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
