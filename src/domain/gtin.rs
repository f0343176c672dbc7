//! The GS1 Global Trade Item Number a batch of marks may name (SPEC.md "Identifiers"). This
//! module owns the one form the crate keeps, GTIN-14, how shorter GTINs (GTIN-8, -12, -13) are
//! left-padded into it, and the GS1 mod-10 check digit; a [`Gtin`] value is proof that those rules
//! held. It does not know whether GS1 ever allocated the number or to whom: that needs GS1's
//! registry, which this crate does not consult.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Length of a GTIN-14, the form every GTIN is kept in.
const LENGTH: usize = 14;

/// 10^14: every GTIN-14 is below it.
const LIMIT: u64 = 100_000_000_000_000;

/// Why a string is not a GTIN. The messages are shown to API users as they are, so each says
/// what was found and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    #[error("character {character:?} at position {position} of a GTIN is not a digit 0-9")]
    NotADigit { character: char, position: usize },

    #[error("a GTIN has 8, 12, 13 or 14 digits, this one has {length}")]
    WrongLength { length: usize },

    #[error("GTIN check digit is {found}, expected {expected}")]
    WrongCheckDigit { found: u8, expected: u8 },

    #[error("a GTIN of all zeros names no product")]
    Zero,
}

/// A GTIN-14 with a valid check digit, never zero. GTIN-8, -12 and -13 are held left-padded with
/// zeros, so one product has one value whichever form it was typed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(u64);

super::string_schema!(
    Gtin,
    "^([0-9]{8}|[0-9]{12,14})$",
    "GTIN-8/12/13/14, check digit verified; answered as GTIN-14."
);

impl Gtin {
    /// Parses 8, 12, 13 or 14 ASCII digits, surrounding whitespace dropped, with a valid GS1
    /// check digit in the last position.
    pub fn parse(input: &str) -> Result<Gtin, GtinError> {
        let digits = input.trim();
        if let Some((index, character)) = digits
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(GtinError::NotADigit {
                character,
                position: index + 1,
            });
        }
        // Only ASCII digits are left, so bytes and characters count alike.
        let length = digits.len();
        if ![8, 12, 13, 14].contains(&length) {
            return Err(GtinError::WrongLength { length });
        }
        let value = digits
            .bytes()
            .fold(0_u64, |value, b| value * 10 + u64::from(b - b'0'));
        if value == 0 {
            return Err(GtinError::Zero);
        }
        let found = (value % 10) as u8;
        let expected = check_digit(value / 10);
        if found != expected {
            return Err(GtinError::WrongCheckDigit { found, expected });
        }
        Ok(Gtin(value))
    }

    /// The GTIN-14 held as an integer (SPEC.md's token field): `None` unless it is non-zero,
    /// below 10^14 and ends in a valid check digit.
    pub fn from_u64(value: u64) -> Option<Gtin> {
        let valid = value != 0 && value < LIMIT && (value % 10) as u8 == check_digit(value / 10);
        valid.then_some(Gtin(value))
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// The GS1 mod-10 check digit of the data digits `data` (the GTIN without its last digit).
/// Weights alternate 3, 1, 3, … from the rightmost data digit, so leading zeros add nothing and a
/// short GTIN has the same check digit padded or not. Both weights are prime to 10, so changing
/// any one digit changes the sum modulo 10: every single-digit error is caught.
fn check_digit(mut data: u64) -> u8 {
    let mut sum = 0;
    let mut weight = 3;
    while data > 0 {
        sum += (data % 10) * weight;
        weight = 4 - weight;
        data /= 10;
    }
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.0, width = LENGTH)
    }
}

/// Serialised as the 14-digit string: GS1 writes GTINs as digits with their leading zeros, and a
/// JSON number would lose them.
impl Serialize for Gtin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Gtin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Gtin, D::Error> {
        let s = String::deserialize(d)?;
        Gtin::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published GTINs in every accepted length: the worked examples of Wikipedia's EAN-13
    /// (4006381333931), UPC-A (036000291452) and EAN-8 (96385074) articles, and a GTIN-14 under
    /// 0614141, the company prefix GS1's own documents use in examples (10614141000415).
    const REAL: [(&str, &str); 4] = [
        ("4006381333931", "04006381333931"),
        ("036000291452", "00036000291452"),
        ("96385074", "00000096385074"),
        ("10614141000415", "10614141000415"),
    ];

    #[test]
    fn real_gtins_of_every_length_parse_to_their_padded_gtin_14() {
        for (typed, gtin14) in REAL {
            let gtin = Gtin::parse(typed).unwrap();
            assert_eq!(gtin.to_string(), gtin14);
            assert_eq!(Gtin::parse(gtin14), Ok(gtin));
            assert_eq!(Gtin::from_u64(gtin.as_u64()), Some(gtin));
        }
    }

    #[test]
    fn surrounding_whitespace_is_dropped() {
        assert_eq!(
            Gtin::parse(" 4006381333931\n").unwrap().as_u64(),
            4_006_381_333_931
        );
    }

    #[test]
    fn every_single_digit_change_of_a_valid_gtin_fails_the_check() {
        for (_, gtin14) in REAL {
            for position in 0..LENGTH {
                for digit in b'0'..=b'9' {
                    let mut changed = gtin14.as_bytes().to_vec();
                    if changed[position] == digit {
                        continue;
                    }
                    changed[position] = digit;
                    let changed = std::str::from_utf8(&changed).unwrap();
                    assert!(Gtin::parse(changed).is_err(), "{changed} passed");
                    assert_eq!(Gtin::from_u64(changed.parse().unwrap()), None, "{changed}");
                }
            }
        }
    }

    #[test]
    fn a_wrong_check_digit_names_the_expected_one() {
        assert_eq!(
            Gtin::parse("4006381333932").unwrap_err().to_string(),
            "GTIN check digit is 2, expected 1"
        );
    }

    #[test]
    fn other_lengths_non_digits_and_zero_are_refused() {
        for (input, error) in [
            ("", GtinError::WrongLength { length: 0 }),
            ("9638507", GtinError::WrongLength { length: 7 }),
            ("40063813339", GtinError::WrongLength { length: 11 }),
            ("104006381333931", GtinError::WrongLength { length: 15 }),
            ("00000000", GtinError::Zero),
            ("00000000000000", GtinError::Zero),
            (
                "4006381-333931",
                GtinError::NotADigit {
                    character: '-',
                    position: 8,
                },
            ),
            (
                "４006381333931",
                GtinError::NotADigit {
                    character: '４',
                    position: 1,
                },
            ),
            (
                "+4006381333931",
                GtinError::NotADigit {
                    character: '+',
                    position: 1,
                },
            ),
        ] {
            assert_eq!(Gtin::parse(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn from_u64_refuses_zero_and_numbers_of_fifteen_digits() {
        assert_eq!(Gtin::from_u64(0), None);
        // Fifteen digits whose last is the right check digit for the fourteen before it.
        let data = LIMIT / 10 + 1;
        let fifteen_digits = data * 10 + u64::from(check_digit(data));
        assert!(fifteen_digits >= LIMIT);
        assert_eq!(Gtin::from_u64(fifteen_digits), None);
        assert_eq!(Gtin::from_u64(u64::MAX), None);
    }

    #[test]
    fn serde_uses_the_14_digit_string_and_parses_on_the_way_in() {
        let gtin = Gtin::parse("96385074").unwrap();
        assert_eq!(serde_json::to_string(&gtin).unwrap(), "\"00000096385074\"");
        assert_eq!(
            serde_json::from_str::<Gtin>("\"00000096385074\"").unwrap(),
            gtin
        );
        assert!(serde_json::from_str::<Gtin>("\"00000096385075\"").is_err());
        assert!(serde_json::from_str::<Gtin>("96385074").is_err());
    }
}
