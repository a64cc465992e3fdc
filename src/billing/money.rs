//! Exact money: the Admin API's `amount` is a decimal string in cents ("123.45" = $1.2345),
//! kept as an integer count of 10⁻¹⁵ cent, so sums are exact (floats lose cents over many
//! small rows) and only the final rendering rounds, once.

use serde::{Serialize, Serializer};
use std::fmt::Write;

/// Decimal places of a cent kept exactly. The API sends a handful; more is refused rather
/// than rounded, so a total can never silently differ from its rows.
const SCALE: u32 = 15;
const ONE_CENT: i128 = 10i128.pow(SCALE);
/// Digits accepted before the decimal point: $10¹⁸, far beyond any bill, far within i128.
const MAX_INT_DIGITS: usize = 20;

/// An amount of US dollars, exact to 10⁻¹⁵ cent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i128);

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses the API's `amount` (a decimal string in cents, optionally signed).
    ///
    /// # Errors
    /// Why the text is not such an amount (never the text itself: it is a server's).
    pub fn from_cents_str(text: &str) -> Result<Money, &'static str> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) {
            return Err("not a decimal number");
        }
        if digits.contains('.') && frac.is_empty() {
            return Err("not a decimal number");
        }
        if int.len() > MAX_INT_DIGITS {
            return Err("too large");
        }
        let frac_digits = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        if frac_digits > SCALE {
            return Err("more decimal places than can be kept exactly");
        }
        let int: i128 = int.parse().map_err(|_| "too large")?;
        let frac: i128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| "too large")?
        };
        let units = int * ONE_CENT + frac * 10i128.pow(SCALE - frac_digits);
        Ok(Money(if negative { -units } else { units }))
    }

    /// The sum, saturating (a total past $10²¹ is a hostile answer, not a bill).
    pub fn plus(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// Dollars, exact: every digit kept, at least two decimals (`"0.001"`, `"12.30"`).
    pub fn dollars_exact(self) -> String {
        let places = SCALE + 2;
        let mut text = self.0.unsigned_abs().to_string();
        let places_usize = places as usize;
        if text.len() <= places_usize {
            text = format!("{}{text}", "0".repeat(places_usize + 1 - text.len()));
        }
        let (int, frac) = text.split_at(text.len() - places_usize);
        let frac = frac.trim_end_matches('0');
        let frac = format!("{frac:0<2}");
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{int}.{frac}")
    }

    /// Whole cents, rounded half away from zero: what a person reads.
    pub fn rounded_cents(self) -> i128 {
        let half = ONE_CENT / 2;
        let magnitude = (self.0.unsigned_abs() + half as u128) / ONE_CENT as u128;
        let magnitude = i128::try_from(magnitude).unwrap_or(i128::MAX);
        if self.0 < 0 {
            -magnitude
        } else {
            magnitude
        }
    }

    /// `$1,234.57`: rounded to the cent, thousands grouped.
    pub fn display(self) -> String {
        let cents = self.rounded_cents();
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        format!(
            "{sign}${}.{:02}",
            group_thousands(&(cents / 100).to_string()),
            cents % 100
        )
    }

    /// This amount's share of `total` in per mille (0 when the total is not positive).
    pub fn permille_of(self, total: Money) -> u32 {
        if total.0 <= 0 || self.0 <= 0 {
            return 0;
        }
        // Units are at most ~10³⁶: scaling by 1000 first could overflow, so divide first.
        let scaled = self.0 / (total.0 / 1000).max(1);
        u32::try_from(scaled.min(1000)).unwrap_or(1000)
    }
}

/// JSON carries money as an exact string of dollars: a number would invite floats.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.dollars_exact())
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with thousands grouped.
pub fn count(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// `45.3 %` from per mille.
pub fn percent(permille: u32) -> String {
    let mut out = String::new();
    let _ = write!(out, "{}.{} %", permille / 10, permille % 10);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Money {
        Money::from_cents_str(text).unwrap()
    }

    #[test]
    fn cents_strings_become_exact_dollars() {
        assert_eq!(m("123.45").dollars_exact(), "1.2345");
        assert_eq!(m("100").dollars_exact(), "1.00");
        assert_eq!(m("0.1").dollars_exact(), "0.001");
        assert_eq!(m("-250").dollars_exact(), "-2.50");
        assert_eq!(m("0").dollars_exact(), "0.00");
        assert_eq!(m("123456789.5").display(), "$1,234,567.90");
        assert_eq!(m("0.5").display(), "$0.01", "half a cent rounds up");
        assert_eq!(m("0.49").display(), "$0.00");
    }

    #[test]
    fn a_thousand_tenths_of_a_cent_are_exactly_a_dollar() {
        let mut total = Money::ZERO;
        let mut float = 0.0f64;
        for _ in 0..1000 {
            total = total.plus(m("0.1"));
            float += 0.1;
        }
        assert_eq!(total.dollars_exact(), "1.00");
        assert_eq!(total.rounded_cents(), 100);
        assert_ne!(float, 100.0, "the float sum drifts: {float}");
    }

    #[test]
    fn what_is_not_an_amount_is_refused() {
        for bad in [
            "",
            "1e5",
            "1.",
            ".5",
            "12a",
            "1.0000000000000001",
            "--1",
            "+1",
        ] {
            assert!(Money::from_cents_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shares_and_counts_read_well() {
        assert_eq!(m("45").permille_of(m("100")), 450);
        assert_eq!(percent(453), "45.3 %");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
    }
}
