//! Account valuation: total assets, profit and return %, exactly.

use serde::{Serialize, Serializer};

use crate::{MoneyError, Won};

/// A return in hundredths of a percent (`1234` = 12.34 %), rounded once, half away from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReturnRate {
    pub hundredths_of_percent: i64,
}

impl ReturnRate {
    /// profit / principal × 100, rounded to 2 decimals once; `None` when principal is 0.
    pub fn compute(profit: Won, principal: Won) -> Option<ReturnRate> {
        if principal.get() == 0 {
            return None;
        }
        // profit / principal × 100 × 100 in i128 to avoid overflow, then round half away from zero.
        let num = i128::from(profit.get()) * 10_000;
        let den = i128::from(principal.get());
        let q = num / den;
        let r = num % den;
        let rounded = if 2 * r.abs() >= den.abs() {
            q + if (num < 0) != (den < 0) { -1 } else { 1 }
        } else {
            q
        };
        i64::try_from(rounded).ok().map(|h| ReturnRate {
            hundredths_of_percent: h,
        })
    }

    /// The value as a decimal string: `12.34`, `-0.05`.
    pub fn to_decimal_string(self) -> String {
        let h = self.hundredths_of_percent;
        let sign = if h < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:02}",
            h.unsigned_abs() / 100,
            h.unsigned_abs() % 100
        )
    }

    /// For JSON at the edge only: the f64 nearest to the 2-decimal value, which serialises back
    /// to exactly the same 2-decimal text.
    pub fn as_f64(self) -> f64 {
        self.to_decimal_string().parse().unwrap_or(0.0)
    }
}

impl Serialize for ReturnRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

/// The valuation figures of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Valuation {
    pub total_assets: Won,
    pub principal: Won,
    pub profit: Won,
    pub return_rate: Option<ReturnRate>,
}

impl Valuation {
    /// `holdings` are (price, quantity) pairs, the cash line included (quantity 1, price = cash).
    pub fn compute(
        holdings: impl IntoIterator<Item = (Won, i64)>,
        principal: Won,
    ) -> Result<Valuation, MoneyError> {
        let mut total = Won::ZERO;
        for (price, qty) in holdings {
            total = total.checked_add(price.checked_mul(qty)?)?;
        }
        Valuation::from_total(total, principal)
    }

    pub fn from_total(total_assets: Won, principal: Won) -> Result<Valuation, MoneyError> {
        let profit = total_assets.checked_sub(principal)?;
        Ok(Valuation {
            total_assets,
            principal,
            profit,
            return_rate: ReturnRate::compute(profit, principal),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(p: i64, q: i64) -> Option<String> {
        ReturnRate::compute(Won::new(p), Won::new(q)).map(ReturnRate::to_decimal_string)
    }

    #[test]
    fn return_rate_rounds_once_half_away_from_zero() {
        assert_eq!(rate(1, 3), Some("33.33".into()));
        assert_eq!(rate(2, 3), Some("66.67".into()));
        assert_eq!(rate(-2, 3), Some("-66.67".into()));
        assert_eq!(rate(1, 8000), Some("0.01".into())); // 0.0125 → 0.01
        assert_eq!(rate(1, 1600), Some("0.06".into())); // 0.0625 → 0.06
        assert_eq!(rate(1, 400), Some("0.25".into()));
        assert_eq!(rate(1, 20000), Some("0.01".into())); // 0.005 → 0.01
        assert_eq!(rate(-1, 20000), Some("-0.01".into()));
        assert_eq!(rate(5, 0), None);
    }

    #[test]
    fn valuation_sums_cash_and_holdings() {
        let v = Valuation::compute(
            [(Won::new(8585), 21), (Won::new(24269), 1)],
            Won::new(100_000),
        )
        .expect("no overflow");
        assert_eq!(v.total_assets, Won::new(8585 * 21 + 24269));
        assert_eq!(v.profit, Won::new(8585 * 21 + 24269 - 100_000));
        assert_eq!(
            v.return_rate.map(ReturnRate::to_decimal_string),
            Some("104.55".into())
        );
    }

    #[test]
    fn valuation_overflow_is_an_error() {
        assert!(Valuation::compute([(Won::new(i64::MAX), 2)], Won::ZERO).is_err());
    }

    proptest! {
        #[test]
        fn rate_is_within_half_a_hundredth(p in -1_000_000_000i64..1_000_000_000, q in 1i64..1_000_000_000) {
            let r = ReturnRate::compute(Won::new(p), Won::new(q)).expect("nonzero");
            let exact = (p as f64) * 10_000.0 / (q as f64);
            prop_assert!(((r.hundredths_of_percent as f64) - exact).abs() <= 0.5 + 1e-6);
        }
    }
}
