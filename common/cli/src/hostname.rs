//! The one rule for a host name, which ns-exec sets (sethostname(2)),
//! rootfs writes into /etc/hostname and /etc/hosts, and dockerish takes
//! from `--hostname`: 1 to 64 bytes (the kernel's limit, `__NEW_UTS_LEN`)
//! of letters, digits, `-` and `.` (RFC 1123), not starting with `-`.

use crate::error::{invalid, Invalid};

/// The kernel's longest host name.
pub const MAX_LEN: usize = 64;

pub fn validate(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= MAX_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "hostname",
            name,
            "use 1 to 64 letters, digits, '-' and '.', not starting with '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_digits_dashes_and_dots() {
        for bad in ["", "-x", "a b", "x/y", "a_b", &"a".repeat(65)] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert!(validate("web-1.example").is_ok());
        assert!(validate(&"a".repeat(64)).is_ok());
    }
}
