//! Where an attach or detach spends its time: `netctl attach --timings`
//! prints each step's share on stderr (`tests/bench/run` collects them).
//!
//! A step ends where [`step`] is called and began where the previous one
//! ended. Nothing is recorded unless [`start`] was called: the library
//! pays one uncontended lock per step otherwise.

use std::sync::Mutex;
use std::time::Instant;

struct Clock {
    last: Option<Instant>,
    steps: Vec<(&'static str, f64)>,
}

static CLOCK: Mutex<Clock> = Mutex::new(Clock { last: None, steps: Vec::new() });

/// Starts timing (and forgets earlier steps).
pub fn start() {
    let mut clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    clock.last = Some(Instant::now());
    clock.steps.clear();
}

/// Ends the step `name`.
pub fn step(name: &'static str) {
    let now = Instant::now();
    let mut clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(last) = clock.last.replace(now) {
        clock.steps.push((name, (now - last).as_secs_f64() * 1000.0));
    }
}

/// The steps so far, in milliseconds, in order.
pub fn take() -> Vec<(&'static str, f64)> {
    std::mem::take(&mut CLOCK.lock().unwrap_or_else(|e| e.into_inner()).steps)
}

#[cfg(test)]
mod tests {
    #[test]
    fn steps_are_timed_only_once_started() {
        super::step("before");
        assert!(super::take().is_empty());
        super::start();
        super::step("one");
        std::thread::sleep(std::time::Duration::from_millis(2));
        super::step("two");
        let steps = super::take();
        assert_eq!(steps.iter().map(|s| s.0).collect::<Vec<_>>(), ["one", "two"]);
        assert!(steps[1].1 >= 2.0, "{steps:?}");
    }
}
