//! Times, durations, sizes and tables as Docker prints them (`docker ps`,
//! `docker images`, `docker logs -t`) and parses them (`-m 100m`,
//! `--since 10m`). Each printer has its parser beside it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{invalid, Invalid};

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A past moment relative to now: "Less than a second", "3 seconds",
/// "About a minute", "2 hours", … (Docker's go-units HumanDuration).
pub fn duration(seconds: u64) -> String {
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86400);
    match seconds {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if days < 14 => format!("{days} days"),
        _ if days < 60 => format!("{} weeks", days / 7),
        _ if days < 730 => format!("{} months", days / 30),
        _ => format!("{} years", days / 365),
    }
}

/// "3 minutes ago" for a moment in seconds since the epoch.
pub fn ago(then: u64) -> String {
    format!("{} ago", duration(now().saturating_sub(then)))
}

/// Sizes in decimal units with three significant digits: "4.37MB".
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let decimals = match value {
        _ if unit == 0 || value >= 100.0 => 0,
        _ if value >= 10.0 => 1,
        _ => 2,
    };
    let text = format!("{value:.decimals$}");
    let text =
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    format!("{text}{}", UNITS[unit])
}

/// Parses a size the way Docker does (`-m`, `--memory-swap`, `--log-opt
/// max-size`): bytes, or a number with a unit `b k m g t` (powers of
/// 1024; `kb`, `KiB` and `K` all mean the same).
pub fn parse_size(text: &str) -> Result<u64, Invalid> {
    let bad = |why: &str| invalid("size", text, why);
    let expected = "expected a number with an optional unit b, k, m, g or t (like 100m)";
    let lower = text.trim().to_ascii_lowercase();
    let number_end = lower.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    let scale: u64 = match unit.trim_start() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad(expected)),
    };
    let value: f64 = number.parse().map_err(|_| bad(expected))?;
    let bytes = value * scale as f64;
    if !(1.0..9.0e18).contains(&bytes) {
        return Err(bad("must be at least 1 byte and less than 8 EiB"));
    }
    Ok(bytes as u64)
}

/// Rows aligned in columns, three spaces apart, as Go's tabwriter does
/// for `docker ps` and `docker images`. The first row is the header.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 < row.len() {
                line.push_str(&format!("{cell:<w$}   ", w = widths[c]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// RFC 3339 in UTC ("2026-11-23T09:55:00Z"), for JSON output.
pub fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86400) as i64;
    let rem = seconds % 86400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// RFC 3339 with nanoseconds, in UTC: `2026-11-23T09:55:00.123456789Z`
/// (a log line's time, as `docker logs -t` shows it).
pub fn rfc3339_nanos(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = rfc3339(since.as_secs());
    format!("{}.{:09}Z", seconds.trim_end_matches('Z'), since.subsec_nanos())
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time
/// (`2026-11-23T09:55:00Z`, with an optional fraction): the inverse of
/// [`rfc3339`] and [`rfc3339_nanos`].
pub fn parse_rfc3339(text: &str) -> Option<u128> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (t.next()??, t.next()??, t.next()??);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && h <= 23
        && m <= 59
        && s <= 60
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    let nanos: u128 = format!("{:0<9}", &fraction[..fraction.len().min(9)]).parse().ok()?;
    Some(u128::from(days * 86400 + h * 3600 + m * 60 + s) * 1_000_000_000 + nanos)
}

/// A moment as `--since`/`--until` take it, in nanoseconds since the
/// epoch: an RFC 3339 time, Unix seconds (`1700000000.5`), or a duration
/// before `now` (`10s`, `5m`, `1h30m`), as Docker takes it. `flag` names
/// the option in the error.
pub fn parse_moment(flag: &'static str, text: &str, now: SystemTime) -> Result<u128, Invalid> {
    let bad = || {
        invalid(
            flag,
            text,
            "expected a time (2026-11-23T09:55:00Z), Unix seconds, or a duration like 10m",
        )
    };
    if let Some(nanos) = parse_rfc3339(text) {
        return Ok(nanos);
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return if seconds >= 0.0 { Ok((seconds * 1e9) as u128) } else { Err(bad()) };
    }
    let ago = parse_duration(text).ok_or_else(bad)?;
    Ok(now.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos().saturating_sub(ago.as_nanos()))
}

/// A Go-style duration: `500ms`, `10s`, `5m`, `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let scale = match &rest[..unit] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return None,
        };
        total += scale * u32::try_from(value).ok()?;
        rest = &rest[unit..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(duration(0), "Less than a second");
        assert_eq!(duration(3), "3 seconds");
        assert_eq!(duration(61), "About a minute");
        assert_eq!(duration(600), "10 minutes");
        assert_eq!(duration(3700), "About an hour");
        assert_eq!(duration(5 * 86400), "5 days");
    }

    #[test]
    fn sizes_have_three_significant_digits() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(999), "999B");
        assert_eq!(size(4_370_000), "4.37MB");
        assert_eq!(size(1_000_000), "1MB");
        assert_eq!(size(12_340_000), "12.3MB");
        assert_eq!(size(123_400_000), "123MB");
    }

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("100m").unwrap(), 100 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_size("2MiB").unwrap(), 2 << 20);
        for bad in
            ["12q", "", "m", "-5m", "0", "1..2m", "10 mbytes", "9999999t", "10bb", "5kbb", "10ii"]
        {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["A".into(), "BB".into(), "C".into()],
            vec!["long".into(), "x".into(), "".into()],
        ];
        assert_eq!(table(&rows), "A      BB   C\nlong   x\n");
    }

    #[test]
    fn times_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_427_700), "2026-11-23T09:55:00Z");
        let t = UNIX_EPOCH + Duration::new(1_795_000_000, 123_456_789);
        let text = rfc3339_nanos(t);
        assert_eq!(text, "2026-11-18T11:06:40.123456789Z");
        assert_eq!(parse_rfc3339(&text), Some(1_795_000_000_123_456_789));
        assert_eq!(parse_rfc3339("2026-11-18T11:06:40Z"), Some(1_795_000_000_000_000_000));
        assert_eq!(parse_rfc3339("2026-13-18T08:26:40Z"), None);
    }

    #[test]
    fn moments_are_times_seconds_or_durations_ago() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let since = |t| parse_moment("--since", t, now);
        assert_eq!(since("10s").unwrap(), 999_990 * 1_000_000_000);
        assert_eq!(since("1h30m").unwrap(), (1_000_000 - 5400) * 1_000_000_000);
        assert_eq!(since("1700000000.5").unwrap(), 1_700_000_000_500_000_000);
        for bad in ["yesterday", "5x", "", "-3"] {
            assert!(since(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    }
}
