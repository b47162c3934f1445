//! Container IDs and names, as Docker makes them.

use std::fs::File;
use std::io::Read;

use crate::error::{Error, Result, ToolError};

/// A 64-hex-digit ID from 32 random bytes (getrandom via /dev/urandom).
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(Error::io("read", "/dev/urandom"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if name.len() >= 2 && first_ok && rest_ok {
        Ok(())
    } else {
        Err(Error::invalid("container name", name, "only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed"))
    }
}

const ADJECTIVES: [&str; 24] = [
    "brave", "calm", "clever", "eager", "fervent", "gentle", "happy", "jolly", "keen", "lucid",
    "merry", "nifty", "noble", "patient", "quiet", "relaxed", "serene", "sharp", "steady",
    "tender", "upbeat", "vivid", "wise", "zealous",
];
const NOUNS: [&str; 24] = [
    "babbage", "bohr", "curie", "darwin", "dijkstra", "euler", "fermat", "gauss", "hopper",
    "kepler", "knuth", "lamport", "lovelace", "maxwell", "noether", "pascal", "ritchie", "shannon",
    "thompson", "torvalds", "turing", "volta", "wozniak", "yalow",
];

/// A name like `keen_turing` that is not in `taken`; a number is appended
/// once the plain combinations run out.
pub fn generate(taken: &[String]) -> String {
    let seed = random_id().map(|id| u64::from_str_radix(&id[..16], 16).unwrap_or(0)).unwrap_or(0);
    for attempt in 0u64.. {
        let n = seed.wrapping_add(attempt.wrapping_mul(7919)) as usize;
        let base = format!(
            "{}_{}",
            ADJECTIVES[n % ADJECTIVES.len()],
            NOUNS[(n / ADJECTIVES.len()) % NOUNS.len()]
        );
        let name = if attempt < (ADJECTIVES.len() * NOUNS.len()) as u64 {
            base
        } else {
            format!("{base}{attempt}")
        };
        if !taken.contains(&name) {
            return name;
        }
    }
    unreachable!("an unbounded range always finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_digits_and_differ() {
        let (a, b) = (random_id().unwrap(), random_id().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["web", "a1", "my_box.2-x"] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in ["", "a", "_x", "-x", "has space", "x/y", "ünï"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_names_avoid_taken_ones() {
        let all: Vec<String> =
            ADJECTIVES.iter().flat_map(|a| NOUNS.iter().map(move |n| format!("{a}_{n}"))).collect();
        let name = generate(&all);
        assert!(!all.contains(&name));
        assert!(validate(&name).is_ok());
    }
}
