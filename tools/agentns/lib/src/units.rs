// SPDX-License-Identifier: GPL-2.0
//! Counts, sizes and durations with units, as the command line takes and prints them.
//!
//! Every number is decimal, may have a fraction (`1.5k`) as long as the result is whole in
//! the smallest unit, and may group digits with single underscores between them (`1_000`).
//! Whitespace may separate a number from its unit (`1 hour`).
//!
//! Counts: a number and an optional SI multiplier, `k` or `K` (1000), `M` (1000²), `G`, `T`,
//! `P`: `1000`, `1k`, `1.5k` = 1500, `10M` = 10000000.
//!
//! Sizes: a number and an optional unit. `K`, `M`, `G`, `T`, `P` (any case, alone or followed
//! by `iB`) are powers of 1024, as in `head -c 1M`; `kB` (or `KB`), `MB`, `GB`, `TB`, `PB` are
//! powers of 1000; `B` or nothing is bytes. `4k` = 4096, `10MiB` = 10485760, `1G` =
//! 1073741824, `1.5M` = 1572864, `2MB` = 2000000.
//!
//! Durations, as systemd.time(7) writes them: one or more number-unit pairs, optionally
//! separated by whitespace, with the units `ns`/`nsec`, `us`/`usec`/`µs`, `ms`/`msec`,
//! `s`/`sec`/`second`/`seconds`, `m`/`min`/`minute`/`minutes`, `h`/`hr`/`hour`/`hours`,
//! `d`/`day`/`days`, `w`/`week`/`weeks`, `M`/`month`/`months` (30.44 days) and
//! `y`/`year`/`years` (365.25 days): `500ms`, `10s`, `2min`, `1h30min`, `2hours`, `1 hour`,
//! `1d`, `1w`. A number without a unit is seconds, and is allowed only alone (`1h30` is
//! refused rather than guessed).
//!
//! A budget limit of 0 means none; [`parse_limit`] also takes `infinity` for it, as systemd
//! does for its limits.

use std::fmt;

/// Why a count, size or duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitError(String);

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnitError {}

/// What [`parse_limit`] takes for "no limit".
pub const INFINITY: &str = "infinity";

/// Nanoseconds in a second, and the scale of [`number`]'s fixed-point values (10^9).
const NS_PER_S: u128 = 1_000_000_000;

/// Splits a leading decimal number (`12`, `1.5`, `.5`, `1_000`) off `s`: the value scaled by
/// 10^9 (so fractions of up to nine digits are exact) and the rest. Underscores may only
/// stand alone between two digits.
fn number<'a>(s: &'a str, whole: &str) -> Result<(u128, &'a str), UnitError> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(end);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let grouped_ok = |part: &str| {
        part.split('_')
            .enumerate()
            .all(|(i, g)| !g.is_empty() || (i == 0 && !part.contains('_')))
    };
    if (int.is_empty() && frac.is_empty())
        || frac.contains('.')
        || (num.contains('.') && frac.is_empty())
    {
        return Err(UnitError(format!("{whole:?}: expected a number")));
    }
    if !grouped_ok(int) || !grouped_ok(frac) {
        return Err(UnitError(format!(
            "{whole:?}: an underscore may only separate two digits"
        )));
    }
    let int = int.replace('_', "");
    let frac = frac.replace('_', "");
    if frac.len() > 9 {
        return Err(UnitError(format!("{whole:?}: at most 9 decimal places")));
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| UnitError(format!("{whole:?}: number too large")))?
    };
    let mut f: u128 = 0;
    for (i, d) in frac.bytes().enumerate() {
        f += u128::from(d - b'0') * 10u128.pow(8 - i as u32);
    }
    let v = int
        .checked_mul(NS_PER_S)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(|| UnitError(format!("{whole:?}: number too large")))?;
    Ok((v, rest))
}

/// `v` (scaled by 10^9) times `mult`, as a whole `u64`.
fn scaled(v: u128, mult: u128, whole: &str) -> Result<u64, UnitError> {
    let x = v
        .checked_mul(mult)
        .ok_or_else(|| UnitError(format!("{whole:?}: too large")))?;
    if x % NS_PER_S != 0 {
        return Err(UnitError(format!(
            "{whole:?}: not a whole number of the smallest unit"
        )));
    }
    u64::try_from(x / NS_PER_S).map_err(|_| UnitError(format!("{whole:?}: too large")))
}

/// Parses a count: `1000`, `1_000_000`, `1k`, `1.5k`, `10M` (SI multipliers: `k`/`K`, `M`,
/// `G`, `T`, `P` are powers of 1000).
pub fn parse_count(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    let (v, unit) = number(t, s)?;
    let exp = match unit.trim_start() {
        "" => 0,
        "k" | "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        u => {
            return Err(UnitError(format!(
                "{s:?}: unknown count multiplier {u:?} (use k, M, G, T or P, powers of 1000)"
            )));
        }
    };
    scaled(v, 1000u128.pow(exp), s)
}

/// Parses a size in bytes: `4096`, `4k`, `10MiB`, `1G`, `1.5M`, `2MB`.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    let (v, unit) = number(t, s)?;
    let unit = unit.trim_start();
    let mult: u128 = match unit {
        "" | "b" | "B" => 1,
        "kB" | "KB" => 1000,
        "MB" => 1000u128.pow(2),
        "GB" => 1000u128.pow(3),
        "TB" => 1000u128.pow(4),
        "PB" => 1000u128.pow(5),
        _ => {
            let (letter, tail) = unit.split_at(unit.chars().next().map_or(0, char::len_utf8));
            let exp = match letter {
                "k" | "K" => 1,
                "m" | "M" => 2,
                "g" | "G" => 3,
                "t" | "T" => 4,
                "p" | "P" => 5,
                _ => {
                    return Err(UnitError(format!(
                        "{s:?}: unknown size unit {unit:?} (use B, K/KiB, M/MiB, G/GiB, T/TiB, \
                         P/PiB, or kB, MB, GB, TB, PB)"
                    )));
                }
            };
            if !matches!(tail, "" | "iB" | "ib" | "i") {
                return Err(UnitError(format!("{s:?}: unknown size unit {unit:?}")));
            }
            1024u128.pow(exp)
        }
    };
    scaled(v, mult, s)
}

/// The nanoseconds in one `unit` of systemd.time(7), or `None` for an unknown unit.
fn duration_unit_ns(unit: &str) -> Option<u128> {
    const MIN: u128 = 60 * NS_PER_S;
    const HOUR: u128 = 60 * MIN;
    const DAY: u128 = 24 * HOUR;
    Some(match unit {
        "ns" | "nsec" => 1,
        "us" | "usec" | "µs" | "μs" => 1_000,
        "ms" | "msec" => 1_000_000,
        "s" | "sec" | "second" | "seconds" => NS_PER_S,
        "m" | "min" | "minute" | "minutes" => MIN,
        "h" | "hr" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => 7 * DAY,
        // systemd.time(7): a month is 30.44 days, a year 365.25 days.
        "M" | "month" | "months" => 2_629_800 * NS_PER_S,
        "y" | "year" | "years" => 31_557_600 * NS_PER_S,
        _ => return None,
    })
}

/// Parses a duration into nanoseconds: `30s`, `500ms`, `2min`, `1h30min`, `2hours`,
/// `1 hour`, `1.5s`, `10` (seconds). `infinity` is refused: see [`parse_limit`].
pub fn parse_duration_ns(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(UnitError("empty duration".into()));
    }
    if t == INFINITY {
        return Err(UnitError(format!(
            "{s:?}: a finite duration is needed here"
        )));
    }
    let mut rest = t;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (v, after) = number(rest, s)?;
        let after = after.trim_start();
        let uend = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(uend);
        let next = next.trim_start();
        let mult = if unit.is_empty() {
            if rest != t || !next.is_empty() {
                return Err(UnitError(format!(
                    "{s:?}: a number without a unit (seconds) is only allowed alone; give every \
                     part a unit, e.g. 1h30min"
                )));
            }
            NS_PER_S
        } else {
            duration_unit_ns(unit).ok_or_else(|| {
                UnitError(format!(
                    "{s:?}: unknown duration unit {unit:?} (use ns, us, ms, s, min, h, d, w, M, \
                     y or their long forms, as in systemd.time(7))"
                ))
            })?
        };
        let part = scaled(v, mult, s)?;
        total = total
            .checked_add(part)
            .ok_or_else(|| UnitError(format!("{s:?}: too large")))?;
        rest = next;
    }
    Ok(total)
}

/// Parses a duration as a [`std::time::Duration`].
pub fn parse_duration(s: &str) -> Result<std::time::Duration, UnitError> {
    parse_duration_ns(s).map(std::time::Duration::from_nanos)
}

/// Parses a budget limit with `parse` ([`parse_count`], [`parse_size`] or
/// [`parse_duration_ns`]); [`INFINITY`] is 0, which the kernel takes as no limit.
pub fn parse_limit(
    s: &str,
    parse: impl Fn(&str) -> Result<u64, UnitError>,
) -> Result<u64, UnitError> {
    if s.trim() == INFINITY {
        Ok(0)
    } else {
        parse(s)
    }
}

/// Formats bytes for people: `512 B`, `4.0 KiB`, `10.0 MiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

/// Formats nanoseconds for people: `850ns`, `12.5us`, `3.20ms`, `1.234s`, `2m03s`, `1h02m`.
pub fn format_duration_ns(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{:.1}us", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2}ms", ns as f64 / 1e6),
        1_000_000_000..60_000_000_000 => format!("{:.3}s", ns as f64 / 1e9),
        _ => {
            let s = ns / 1_000_000_000;
            if s < 3600 {
                format!("{}m{:02}s", s / 60, s % 60)
            } else {
                format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
            }
        }
    }
}

/// Formats a count with thousands separators: `1234567` -> `1,234,567`.
pub fn format_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("17B"), Ok(17));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert_eq!(parse_size("0.5k"), Ok(512));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("3kB"), Ok(3000));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert_eq!(parse_size("1 MB"), Ok(1_000_000));
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert!(parse_size("16E").is_err()); // no exbi: no u64 limit needs it
        assert!(parse_size("").is_err());
        assert!(parse_size("k").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("1.2.3").is_err());
        assert!(parse_size("1.5").is_err()); // half a byte
        assert!(parse_size("10Mb/s").is_err());
        assert!(parse_size("1X").is_err());
        assert!(parse_size("99999999999P").is_err()); // overflow
        assert_eq!(parse_size("15P"), Ok(15 << 50));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("30s"), Ok(30_000_000_000));
        assert_eq!(parse_duration_ns("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration_ns("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration_ns("1d"), Ok(86_400_000_000_000));
        assert_eq!(parse_duration_ns("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("250us"), Ok(250_000));
        assert_eq!(parse_duration_ns("7ns"), Ok(7));
        assert_eq!(parse_duration_ns("10"), Ok(10_000_000_000));
        assert_eq!(parse_duration_ns("0.25"), Ok(250_000_000));
        assert_eq!(parse_duration_ns(" 10s "), Ok(10_000_000_000));
        assert!(parse_duration_ns("1h30").is_err()); // a bare number only alone
        assert_eq!(parse_duration("2s"), Ok(std::time::Duration::from_secs(2)));
        assert!(parse_duration_ns("").is_err());
        assert!(parse_duration_ns("s").is_err());
        assert!(parse_duration_ns("10x").is_err());
        assert!(parse_duration_ns("1.5ns").is_err());
        assert!(parse_duration_ns("-1s").is_err());
        assert!(parse_duration_ns("999999999h").is_err());
    }

    #[test]
    fn systemd_time_durations() {
        const S: u64 = 1_000_000_000;
        for (text, secs) in [
            ("2hours", 7200),
            ("1 hour", 3600),
            ("1hr", 3600),
            ("1h30min", 5400),
            ("1h 30min", 5400),
            ("1 h 30 min", 5400),
            ("2min", 120),
            ("2 minutes", 120),
            ("1minute", 60),
            ("10s", 10),
            ("10sec", 10),
            ("1second", 1),
            ("3 seconds", 3),
            ("1d", 86_400),
            ("2days", 172_800),
            ("1w", 604_800),
            ("1week", 604_800),
            ("2 weeks", 1_209_600),
            ("1M", 2_629_800),
            ("1month", 2_629_800),
            ("1y", 31_557_600),
            ("1 year", 31_557_600),
            ("1y 1w", 31_557_600 + 604_800),
        ] {
            assert_eq!(parse_duration_ns(text), Ok(secs * S), "{text}");
        }
        assert_eq!(parse_duration_ns("500msec"), Ok(500_000_000));
        assert_eq!(parse_duration_ns("20usec"), Ok(20_000));
        assert_eq!(parse_duration_ns("20µs"), Ok(20_000)); // U+00B5 MICRO SIGN
        assert_eq!(parse_duration_ns("20μs"), Ok(20_000)); // U+03BC GREEK SMALL LETTER MU
        assert_eq!(parse_duration_ns("7nsec"), Ok(7));
        // m is a minute, M a month, as in systemd.time(7).
        assert_ne!(parse_duration_ns("1m"), parse_duration_ns("1M"));
        assert!(parse_duration_ns("1 hour 30").is_err());
        assert!(parse_duration_ns("1 hours30").is_err());
        assert!(parse_duration_ns("1 fortnight").is_err());
        assert!(parse_duration_ns("1H").is_err());
        // infinity is a limit's word, not a duration.
        assert!(parse_duration_ns("infinity").is_err());
        assert!(parse_duration("infinity").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("1000000"), Ok(1_000_000));
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("1k"), Ok(1000));
        assert_eq!(parse_count("1K"), Ok(1000));
        assert_eq!(parse_count("1.5k"), Ok(1500));
        assert_eq!(parse_count("10M"), Ok(10_000_000));
        assert_eq!(parse_count("2 G"), Ok(2_000_000_000));
        assert_eq!(parse_count("3T"), Ok(3_000_000_000_000));
        assert_eq!(parse_count("4P"), Ok(4_000_000_000_000_000));
        assert_eq!(parse_count("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_count("18446744073709551616").is_err());
        assert!(parse_count("20000P").is_err());
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("-1").is_err());
        assert!(parse_count("").is_err());
        assert!(parse_count("k").is_err());
        // Counts take SI multipliers only: no binary ones, no byte units, no lowercase m.
        for bad in ["1Ki", "1KiB", "1KB", "1m", "1g", "1B", "1x", "1kk"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn underscores_only_between_digits() {
        assert_eq!(parse_count("1_0_0"), Ok(100));
        assert_eq!(parse_size("1_024k"), Ok(1024 * 1024));
        assert_eq!(parse_duration_ns("1_000ms"), Ok(1_000_000_000));
        assert_eq!(parse_count("0.000_5M"), Ok(500));
        for bad in ["_1", "1_", "1__0", "1_.5", "1._5", "_", "1.", "."] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_take_infinity() {
        assert_eq!(parse_limit("infinity", parse_count), Ok(0));
        assert_eq!(parse_limit("infinity", parse_size), Ok(0));
        assert_eq!(parse_limit(" infinity", parse_duration_ns), Ok(0));
        assert_eq!(parse_limit("1M", parse_count), Ok(1_000_000));
        assert_eq!(parse_limit("1M", parse_size), Ok(1 << 20));
        assert_eq!(
            parse_limit("1M", parse_duration_ns),
            Ok(2_629_800_000_000_000)
        );
        assert_eq!(parse_limit("0", parse_count), Ok(0));
        assert!(parse_limit("Infinity", parse_count).is_err());
        assert!(parse_limit("inf", parse_size).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(4096), "4.0 KiB");
        assert_eq!(format_size(10 << 20), "10.0 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_duration_ns(850), "850ns");
        assert_eq!(format_duration_ns(12_500), "12.5us");
        assert_eq!(format_duration_ns(3_200_000), "3.20ms");
        assert_eq!(format_duration_ns(1_234_000_000), "1.234s");
        assert_eq!(format_duration_ns(123_000_000_000), "2m03s");
        assert_eq!(format_duration_ns(3_720_000_000_000), "1h02m");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1234567), "1,234,567");
    }
}
