//! Money: integer minor units plus an ISO-4217 currency. Never floating point.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{CrmError, Result};

/// An ISO-4217 currency code, validated against the ISO list (e.g. `EUR`, `USD`, `JPY`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a three-letter ISO-4217 code (case-insensitive input, stored upper-case).
    pub fn parse(code: &str) -> Result<Self> {
        let upper = code.trim().to_ascii_uppercase();
        let known = iso_currency::Currency::from_code(&upper).ok_or_else(|| {
            CrmError::validation("currency", format!("unknown ISO-4217 code {code:?}"))
        })?;
        let b = known.code().as_bytes();
        Ok(Self([b[0], b[1], b[2]]))
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The bytes come from the ISO table and are ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of minor-unit digits (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn minor_digits(&self) -> u32 {
        iso_currency::Currency::from_code(self.code())
            .and_then(|c| c.exponent())
            .map(u32::from)
            .unwrap_or(0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = CrmError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

/// An amount of money in integer minor units (cents for EUR) of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units (may be negative, e.g. for discounts or credits).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Money from minor units and a currency code.
    pub fn new(minor: i64, currency: &str) -> Result<Self> {
        Ok(Self {
            minor,
            currency: Currency::parse(currency)?,
        })
    }

    /// Money from minor units and an already-parsed currency.
    pub const fn of(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Zero in the given currency.
    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Adds two amounts of the same currency, failing on mixed currencies or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or_else(|| CrmError::validation("amount", "overflow"))
    }

    /// Subtracts `other`, failing on mixed currencies or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or_else(|| CrmError::validation("amount", "overflow"))
    }

    /// Multiplies by an integer quantity, failing on overflow.
    pub fn checked_mul(self, factor: i64) -> Result<Money> {
        self.minor
            .checked_mul(factor)
            .map(|minor| Money { minor, ..self })
            .ok_or_else(|| CrmError::validation("amount", "overflow"))
    }

    /// `self * numerator / denominator`, rounded half away from zero, in exact integer
    /// arithmetic (used for percentages such as discounts and weighted forecasts).
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Result<Money> {
        if denominator == 0 {
            return Err(CrmError::validation("denominator", "must not be zero"));
        }
        let p = i128::from(self.minor) * i128::from(numerator);
        let d = i128::from(denominator);
        let q = p / d;
        let r = p % d;
        let rounded = if (r.abs() * 2) >= d.abs() {
            q + if (p < 0) != (d < 0) { -1 } else { 1 }
        } else {
            q
        };
        i64::try_from(rounded)
            .map(|minor| Money { minor, ..self })
            .map_err(|_| CrmError::validation("amount", "overflow"))
    }

    fn same_currency(self, other: Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(CrmError::validation(
                "currency",
                format!("cannot combine {} with {}", self.currency, other.currency),
            ))
        }
    }
}

impl fmt::Display for Money {
    /// Formats as `1234.50 EUR` using the currency's minor digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if digits == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(digits);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency,
            width = digits as usize
        )
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_formats() {
        let m = Money::new(123_450, "eur").unwrap();
        assert_eq!(m.to_string(), "1234.50 EUR");
        assert_eq!(Money::new(-5, "USD").unwrap().to_string(), "-0.05 USD");
        assert_eq!(Money::new(1500, "JPY").unwrap().to_string(), "1500 JPY");
        assert_eq!(Money::new(1, "KWD").unwrap().to_string(), "0.001 KWD");
    }

    #[test]
    fn rejects_unknown_currency() {
        let e = Money::new(1, "EUX").unwrap_err();
        assert!(matches!(e, CrmError::Validation { ref field, .. } if field == "currency"));
    }

    #[test]
    fn mixed_currency_add_fails() {
        let a = Money::new(1, "EUR").unwrap();
        let b = Money::new(1, "USD").unwrap();
        assert!(a.checked_add(b).is_err());
        assert_eq!(a.checked_add(a).unwrap().minor, 2);
    }

    #[test]
    fn ratio_rounds_half_away_from_zero() {
        let m = Money::new(5, "EUR").unwrap();
        assert_eq!(m.mul_ratio(1, 2).unwrap().minor, 3);
        assert_eq!(
            Money::new(-5, "EUR")
                .unwrap()
                .mul_ratio(1, 2)
                .unwrap()
                .minor,
            -3
        );
        assert_eq!(
            Money::new(100, "EUR")
                .unwrap()
                .mul_ratio(25, 100)
                .unwrap()
                .minor,
            25
        );
    }

    proptest! {
        #[test]
        fn currency_parse_never_panics(s in ".{0,8}") {
            let _ = Currency::parse(&s);
        }

        #[test]
        fn arithmetic_never_panics(a in any::<i64>(), b in any::<i64>(), n in any::<i64>(), d in any::<i64>()) {
            let c = Currency::parse("EUR").unwrap();
            let _ = Money::of(a, c).checked_add(Money::of(b, c));
            let _ = Money::of(a, c).checked_sub(Money::of(b, c));
            let _ = Money::of(a, c).checked_mul(b);
            let _ = Money::of(a, c).mul_ratio(n, d);
            let _ = Money::of(a, c).to_string();
        }

        #[test]
        fn serde_roundtrip(a in any::<i64>()) {
            let m = Money::new(a, "CHF").unwrap();
            let s = serde_json::to_string(&m).unwrap();
            let back: Money = serde_json::from_str(&s).unwrap();
            prop_assert_eq!(m, back);
        }
    }
}
