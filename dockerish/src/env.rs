//! A container's environment, as Docker builds it: the image's variables,
//! then `HOSTNAME`, `TERM` with `-t`, `--env-file`s and `-e` flags, a
//! later value replacing an earlier one but keeping its place.

use std::collections::HashMap;

use crate::error::{Error, Result, ToolError};

/// The environment, in the order variables were first set, a later value
/// replacing an earlier one.
#[derive(Default)]
pub struct Env {
    order: Vec<String>,
    values: HashMap<String, String>,
}

impl Env {
    pub fn set(&mut self, key: &str, value: &str) {
        if self.values.insert(key.to_string(), value.to_string()).is_none() {
            self.order.push(key.to_string());
        }
    }

    pub fn set_entry(&mut self, entry: &str) {
        if let Some((k, v)) = entry.split_once('=') {
            self.set(k, v);
        }
    }

    /// `-e KEY=VALUE`, or `-e KEY`: the value of KEY here, if it is set.
    pub fn set_flag(&mut self, flag: &str) -> Result<()> {
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (flag, std::env::var(flag).ok()),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::invalid("environment variable", flag, "expected KEY=VALUE or KEY"));
        }
        if let Some(value) = value {
            self.set(key, &value);
        }
        Ok(())
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    pub fn entries(&self) -> Vec<String> {
        self.order.iter().map(|k| format!("{k}={}", self.values[k])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_later_values_win_in_first_order() {
        let mut env = Env::default();
        env.set_entry("PATH=/bin");
        env.set_flag("A=1").unwrap();
        env.set_flag("PATH=/usr/bin").unwrap();
        assert_eq!(env.entries(), args(&["PATH=/usr/bin", "A=1"]));
        assert!(env.set_flag("=x").is_err());
        env.set_flag("DOCKERISH_SURELY_UNSET_VARIABLE").unwrap();
        assert!(!env.has("DOCKERISH_SURELY_UNSET_VARIABLE"));
    }
}
