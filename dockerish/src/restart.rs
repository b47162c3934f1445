//! Restart policies (`run --restart`), kept by the container's own
//! supervisor: there is no daemon to restart anything, so the process that
//! waits for the container decides, when it exits, whether to run it
//! again, and waits out Docker's back-off first.
//!
//! | policy | restarts when the command exits … |
//! |---|---|
//! | `no` (default) | never |
//! | `on-failure[:N]` | with a status other than 0, at most N times (no N: without end) |
//! | `always` | always |
//! | `unless-stopped` | always; differs from `always` only at boot (below) |
//!
//! `stop`, `kill` and `rm -f` end the policy first ([`end_policy`]): a
//! container stopped by hand stays stopped. The back-off is Docker's: 100 ms
//! before the first restart, doubling each time up to a minute, back to
//! 100 ms once a run lasted 10 s.
//!
//! At boot nothing is running, supervisors included: `dockerish start
//! --all-restartable` starts every `always` container, and every
//! `unless-stopped` one not stopped by hand (one line of a systemd unit,
//! see the README).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};
use crate::state::Containers;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    No,
    /// At most this many restarts (0: no limit).
    OnFailure(u32),
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    pub fn is_no(&self) -> bool {
        *self == RestartPolicy::No
    }

    /// Whether a command that exited with `code`, restarted `count` times
    /// so far, runs again (unless someone stopped it).
    pub fn restarts(&self, code: i32, count: u32) -> bool {
        match *self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || count < max),
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }

    /// Docker's `HostConfig.RestartPolicy.Name` and `MaximumRetryCount`.
    pub fn name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure(_) => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    pub fn max_retries(&self) -> u32 {
        match *self {
            RestartPolicy::OnFailure(max) => max,
            _ => 0,
        }
    }

    /// Started by `start --all-restartable` (at boot): `always`, and
    /// `unless-stopped` unless stopped by hand.
    pub fn starts_at_boot(&self, stopped_by_hand: bool) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::UnlessStopped => !stopped_by_hand,
            _ => false,
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("--restart", s, why.to_string());
        let (name, count) = match s.split_once(':') {
            Some((name, count)) => (name, Some(count)),
            None => (s, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => match count {
                None => RestartPolicy::OnFailure(0),
                Some(n) => match n.parse::<u32>() {
                    Ok(n) if n > 0 => RestartPolicy::OnFailure(n),
                    _ => return Err(bad("the count of on-failure:N is a number above 0")),
                },
            },
            _ => return Err(bad("expected no, on-failure[:N], always or unless-stopped")),
        };
        if count.is_some() && !matches!(policy, RestartPolicy::OnFailure(_)) {
            return Err(bad("only on-failure takes a count"));
        }
        Ok(policy)
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::OnFailure(n) if *n > 0 => write!(f, "on-failure:{n}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Kept as the text users type (`on-failure:3`).
impl Serialize for RestartPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Docker's restart back-off.
pub struct Backoff {
    next: Duration,
}

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
const RESET_AFTER: Duration = Duration::from_secs(10);

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST_DELAY }
    }
}

impl Backoff {
    /// The wait before the next start, after a run that lasted `ran_for`.
    pub fn after(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= RESET_AFTER {
            self.next = FIRST_DELAY;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_DELAY);
        delay
    }
}

/// Ends the container's restart policy before it is stopped by hand
/// (`stop`, `kill`, `rm -f`): its supervisor, deciding when the command
/// exits or waiting out a back-off, sees this and lets it end. Nothing to
/// do for a container without a policy.
pub fn end_policy(containers: &Containers, id: &str) -> Result<()> {
    let container = containers.load(id)?;
    if container.config.restart.is_no() || container.state.manually_stopped {
        return Ok(());
    }
    containers.update(id, |c| {
        c.state.manually_stopped = true;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_dockers() {
        for (text, policy) in [
            ("no", RestartPolicy::No),
            ("always", RestartPolicy::Always),
            ("unless-stopped", RestartPolicy::UnlessStopped),
            ("on-failure", RestartPolicy::OnFailure(0)),
            ("on-failure:2", RestartPolicy::OnFailure(2)),
        ] {
            assert_eq!(text.parse::<RestartPolicy>().unwrap(), policy);
            assert_eq!(policy.to_string(), text);
        }
        for bad in ["sometimes", "on-failure:x", "on-failure:0", "always:3", "on-failure:-1"] {
            assert!(bad.parse::<RestartPolicy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn on_failure_counts_and_always_does_not() {
        let p = RestartPolicy::OnFailure(2);
        assert!(p.restarts(1, 0) && p.restarts(1, 1) && !p.restarts(1, 2) && !p.restarts(0, 0));
        assert!(RestartPolicy::Always.restarts(0, 1000));
        assert!(!RestartPolicy::No.restarts(1, 0));
    }

    #[test]
    fn backoff_doubles_and_resets_after_ten_seconds() {
        let mut b = Backoff::default();
        let short = Duration::from_millis(5);
        let delays: Vec<u128> = (0..4).map(|_| b.after(short).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800]);
        assert_eq!(b.after(Duration::from_secs(10)).as_millis(), 100);
        for _ in 0..20 {
            b.after(short);
        }
        assert_eq!(b.after(short), MAX_DELAY);
    }
}
