//! Properties of the parsers: round trips, never panicking, the accepted spellings.

use proptest::prelude::*;

use ginkgo_domain::fuzzing::{domain_parsers, reference_isin_check_digit};
use ginkgo_domain::ids::parse_name;
use ginkgo_domain::money::{MoneyError, group_thousands, parse_integer};
use ginkgo_domain::time::parse_date;
use ginkgo_domain::{AccountNumber, CustomerName, Isin, Won};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_and_keeps_the_invariants(s in "\\PC{0,40}") {
        domain_parsers(s.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        domain_parsers(&bytes);
    }

    #[test]
    fn every_i64_round_trips_through_every_spelling(v in any::<i64>()) {
        let with_zero = format!("{v}.0");
        prop_assert_eq!(parse_integer(&v.to_string()), Ok(v));
        prop_assert_eq!(parse_integer(&group_thousands(v)), Ok(v));
        prop_assert_eq!(parse_integer(&with_zero), Ok(v));
        let korean = Won::new(v).to_korean();
        prop_assert_eq!(Won::parse(korean.trim_end_matches('원')), Ok(Won::new(v)));
    }

    #[test]
    fn thousands_separators_must_group_by_three(head in 1u32..1000, groups in proptest::collection::vec(0u32..1000, 1..5), bad in 0usize..4) {
        let good = std::iter::once(head.to_string())
            .chain(groups.iter().map(|g| format!("{g:03}")))
            .collect::<Vec<_>>()
            .join(",");
        let plain: String = good.chars().filter(|c| *c != ',').collect();
        prop_assert_eq!(parse_integer(&good), plain.parse::<i64>().map_err(|_| MoneyError::Empty));
        // A group of two or four digits is not a number.
        let mut broken: Vec<String> = std::iter::once(head.to_string())
            .chain(groups.iter().map(|g| format!("{g:03}")))
            .collect();
        let i = 1 + bad % groups.len();
        broken[i] = if bad % 2 == 0 { format!("{}", groups[i - 1] % 100) } else { format!("{:04}", groups[i - 1]) };
        if broken[i].len() != 3 {
            prop_assert!(matches!(parse_integer(&broken.join(",")), Err(MoneyError::NotANumber(_))));
        }
    }

    #[test]
    fn integral_floats_are_accepted_and_real_fractions_rejected(v in -1_000_000_000i64..1_000_000_000, zeros in 1usize..4, frac in 1u32..10) {
        let z = "0".repeat(zeros);
        let whole = format!("{v}.{z}");
        let fractional = format!("{v}.{z}{frac}");
        prop_assert_eq!(parse_integer(&whole), Ok(v));
        prop_assert!(matches!(parse_integer(&fractional), Err(MoneyError::Fractional(_))));
    }

    #[test]
    fn account_numbers_are_six_to_twenty_digits(s in "[0-9]{1,24}", pad in " {0,2}") {
        let padded = format!("{pad}{s}{pad}");
        let parsed = AccountNumber::parse(&padded);
        prop_assert_eq!(parsed.is_ok(), (6..=20).contains(&s.len()));
        if let Ok(a) = parsed {
            prop_assert_eq!(a.as_str(), s.as_str());
            prop_assert_eq!(a.masked().len(), s.len());
            prop_assert!(a.masked().contains('*'));
        }
    }

    #[test]
    fn account_numbers_with_anything_but_digits_are_rejected(head in "[0-9]{3,8}", junk in "[^0-9\\s]", tail in "[0-9]{3,8}") {
        let text = format!("{head}{junk}{tail}");
        prop_assert!(AccountNumber::parse(&text).is_err());
    }

    #[test]
    fn an_isin_with_its_computed_check_digit_verifies(body in "[A-Z]{2}[A-Z0-9]{9}", wrong in 1u32..10) {
        let check = reference_isin_check_digit(&body).expect("valid body");
        let text = format!("{body}{check}");
        let isin = Isin::parse(&text).expect("ISIN shape");
        prop_assert!(isin.check_digit_ok());
        let lower_text = format!("{}{check}", body.to_ascii_lowercase());
        let lower = Isin::parse(&lower_text).expect("lower case");
        prop_assert_eq!(&lower, &isin);
        let other_text = format!("{body}{}", (check + wrong) % 10);
        let other = Isin::parse(&other_text).expect("ISIN shape");
        prop_assert!(!other.check_digit_ok());
    }

    #[test]
    fn isins_of_the_wrong_shape_are_rejected(s in "[A-Z0-9]{0,14}") {
        let b = s.as_bytes();
        let shaped = s == "CASH" || (b.len() == 12 && b[..2].iter().all(u8::is_ascii_uppercase) && b[11].is_ascii_digit());
        prop_assert_eq!(Isin::parse(&s).is_ok(), shaped);
    }

    #[test]
    fn names_are_trimmed_and_bounded(s in "\\PC{0,60}") {
        match CustomerName::parse(&s) {
            Ok(n) => {
                prop_assert_eq!(n.as_str(), s.trim());
                prop_assert!(n.as_str().chars().count() <= CustomerName::MAX_CHARS);
            }
            Err(_) => prop_assert!(s.trim().is_empty() || s.trim().chars().count() > CustomerName::MAX_CHARS || s.chars().any(char::is_control)),
        }
        prop_assert_eq!(parse_name(&s, "x", 10).is_ok(), !s.trim().is_empty() && s.trim().chars().count() <= 10 && !s.trim().chars().any(char::is_control));
    }

    #[test]
    fn dates_round_trip_in_both_shapes(days in 0i64..200_000) {
        let date = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("date") + chrono::Duration::days(days);
        let dashed = date.format("%Y-%m-%d").to_string();
        let compact = date.format("%Y%m%d").to_string();
        prop_assert_eq!(parse_date(&dashed), Some(date));
        prop_assert_eq!(parse_date(&compact), Some(date));
    }
}
