//! `Gtin::parse` and `Gtin::from_u64` against an oracle written from the GS1 General
//! Specifications §7.9 (standard check digit calculation for GTIN-8, -12, -13 and -14):
//! multiply the data digits alternately by 3 and 1, starting with 3 at the digit next to the
//! check digit; the check digit is what brings the sum up to the next multiple of ten.

use marktrace::domain::gtin::{Gtin, GtinError};
use proptest::prelude::*;

/// The check digit of a string of data digits, computed as §7.9 lays it out.
fn check_digit(data: &str) -> u32 {
    let sum: u32 = data
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

/// The GTIN-14 of `input` if it is a valid GTIN per SPEC.md ("GTIN-14 with a valid check
/// digit; shorter GTINs are left-padded with zeros") and GS1 (8, 12, 13 or 14 digits; all
/// zeros names nothing). Surrounding whitespace is dropped, as the parser documents.
fn oracle(input: &str) -> Option<String> {
    let digits = input.trim();
    let ok = [8, 12, 13, 14].contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.chars().any(|c| c != '0')
        && check_digit(&digits[..digits.len() - 1])
            == digits[digits.len() - 1..].parse::<u32>().unwrap();
    ok.then(|| format!("{digits:0>14}"))
}

fn valid_gtin() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{7}", "[0-9]{11}", "[0-9]{12}", "[0-9]{13}"]
        .prop_filter("all zeros names no product", |data| {
            data.contains(|c| c != '0')
        })
        .prop_map(|data| format!("{data}{}", check_digit(&data)))
}

/// Published GTINs: the worked examples of Wikipedia's EAN-13, UPC-A and EAN-8 articles and
/// a GTIN-14 under GS1's example company prefix 0614141. They pin the oracle to reality.
#[test]
fn the_oracle_accepts_published_gtins() {
    for (typed, gtin14) in [
        ("4006381333931", "04006381333931"),
        ("036000291452", "00036000291452"),
        ("96385074", "00000096385074"),
        ("10614141000415", "10614141000415"),
    ] {
        assert_eq!(oracle(typed).as_deref(), Some(gtin14));
        assert_eq!(Gtin::parse(typed).unwrap().to_string(), gtin14);
    }
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_valid_gtin_of_any_length_parses_and_pads_to_14_digits(
        gtin in valid_gtin(),
        before in "[ \t\n]{0,2}",
        after in "[ \t\n]{0,2}",
    ) {
        let parsed = Gtin::parse(&format!("{before}{gtin}{after}"))
            .map_err(|e| TestCaseError::fail(format!("{gtin}: {e}")))?;
        let padded = format!("{gtin:0>14}");
        prop_assert_eq!(parsed.to_string(), padded.as_str());
        prop_assert_eq!(parsed.as_u64(), gtin.parse::<u64>().unwrap());
        prop_assert_eq!(Gtin::from_u64(parsed.as_u64()), Some(parsed));
        prop_assert_eq!(Gtin::parse(&padded), Ok(parsed));
        let json = serde_json::to_string(&parsed).unwrap();
        prop_assert_eq!(json, format!("\"{padded}\""));
    }

    #[test]
    fn one_wrong_digit_is_refused(
        gtin in valid_gtin(),
        position in any::<prop::sample::Index>(),
        shift in 1..10_u32,
    ) {
        let position = position.index(gtin.len());
        let mut changed: Vec<char> = gtin.chars().collect();
        let digit = changed[position].to_digit(10).unwrap();
        changed[position] = char::from_digit((digit + shift) % 10, 10).unwrap();
        let changed: String = changed.into_iter().collect();
        let result = Gtin::parse(&changed);
        prop_assert!(
            matches!(result, Err(GtinError::WrongCheckDigit { .. } | GtinError::Zero)),
            "{} (from {}): {:?}", changed, gtin, result
        );
        prop_assert_eq!(Gtin::from_u64(changed.parse().unwrap()), None);
    }

    #[test]
    fn parse_agrees_with_gs1_on_any_text(
        text in prop_oneof![
            "[0-9]{6,15}",
            "[ 0-9a+-]{0,16}",
            valid_gtin(),
            any::<String>(),
        ],
    ) {
        let parsed = Gtin::parse(&text);
        prop_assert_eq!(
            parsed.as_ref().ok().map(ToString::to_string),
            oracle(&text),
            "{:?}: {:?}", text, parsed
        );
    }

    #[test]
    fn from_u64_agrees_with_gs1_on_any_integer(
        value in prop_oneof![any::<u64>(), 0_u64..100_000_000_000_000, 99_999_999_999_990_u64..100_000_000_000_100],
    ) {
        let expected = (value < 100_000_000_000_000)
            .then(|| format!("{value:014}"))
            .and_then(|digits| oracle(&digits));
        prop_assert_eq!(Gtin::from_u64(value).map(|g| g.to_string()), expected);
    }
}
