// SPDX-License-Identifier: GPL-2.0
//! Sizes and durations with units, as the command line takes and prints them.
//!
//! Sizes: a number (a decimal fraction is allowed) and an optional unit. `K`, `M`, `G`, `T`,
//! `P` (any case, with or without `iB`) are powers of 1024; `kB`, `MB`, `GB`, `TB`, `PB` are
//! powers of 1000; `B` or nothing is bytes. `4k` = 4096, `10MiB` = 10485760, `1G` =
//! 1073741824, `1.5M` = 1572864, `2MB` = 2000000.
//!
//! Durations: one or more number-unit pairs, `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, `d`;
//! a bare number is seconds. `30s`, `500ms`, `2m`, `1h`, `1h30m`, `1.5s`.

use std::fmt;

/// Why a size or duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitError(String);

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnitError {}

/// Splits a leading decimal number (`12`, `1.5`, `.5`) off `s`: the value scaled by
/// 10^9 (so fractions of up to nine digits are exact) and the rest.
fn number(s: &str) -> Result<(u128, &str), UnitError> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(end);
    let num = num.replace('_', "");
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(UnitError(format!("{s:?}: expected a number")));
    }
    if frac.len() > 9 {
        return Err(UnitError(format!("{s:?}: at most 9 decimal places")));
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| UnitError(format!("{s:?}: number too large")))?
    };
    let mut f: u128 = 0;
    for (i, d) in frac.bytes().enumerate() {
        f += u128::from(d - b'0') * 10u128.pow(8 - i as u32);
    }
    let v = int
        .checked_mul(1_000_000_000)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(|| UnitError(format!("{s:?}: number too large")))?;
    Ok((v, rest))
}

fn scaled(v: u128, mult: u128, what: &str) -> Result<u64, UnitError> {
    let x = v
        .checked_mul(mult)
        .ok_or_else(|| UnitError(format!("{what}: too large")))?;
    if x % 1_000_000_000 != 0 {
        return Err(UnitError(format!(
            "{what}: not a whole number of the smallest unit"
        )));
    }
    u64::try_from(x / 1_000_000_000).map_err(|_| UnitError(format!("{what}: too large")))
}

/// Parses a size in bytes: `4096`, `4k`, `10MiB`, `1G`, `1.5M`, `2MB`.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    let (v, unit) = number(t)?;
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
                         or kB, MB, GB, TB)"
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

/// Parses a duration into nanoseconds: `30s`, `500ms`, `2m`, `1h`, `1h30m`, `1.5s`, `10` (s).
pub fn parse_duration_ns(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(UnitError("empty duration".into()));
    }
    let mut rest = t;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (v, after) = number(rest)?;
        let uend = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(uend);
        let mult: u128 = match unit.trim() {
            "" if rest == t && next.is_empty() => 1_000_000_000,
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" | "sec" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            u => {
                return Err(UnitError(format!(
                    "{s:?}: unknown duration unit {u:?} (use ns, us, ms, s, m, h, d)"
                )));
            }
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
        assert!(parse_size("16E").is_err());
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
        assert_eq!(parse_duration("2s"), Ok(std::time::Duration::from_secs(2)));
        assert!(parse_duration_ns("").is_err());
        assert!(parse_duration_ns("s").is_err());
        assert!(parse_duration_ns("10x").is_err());
        assert!(parse_duration_ns("1h30").is_err()); // a bare number only alone
        assert!(parse_duration_ns("1.5ns").is_err());
        assert!(parse_duration_ns("-1s").is_err());
        assert!(parse_duration_ns("999999999h").is_err());
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
