//! The Unified Social Credit Code (统一社会信用代码, GB 32100-2015) that
//! identifies a licensee, and the older registration numbers still accepted
//! when a caller says so explicitly. This module owns the normalisation of
//! such codes (trim, ASCII upper-case), their character set and the GB 32100
//! check character; a [`Uscc`] value is proof that those rules held. It does
//! not know whether a code was ever issued, which registry issued it, or what
//! the region and organisation parts inside it mean: that needs the national
//! credit registry, which this crate does not consult.

use std::fmt;

use serde::{Serialize, Serializer};

/// Characters allowed in a GB 32100 code, in the order that gives each one its
/// value (its index). I, O, S, V and Z are left out by the standard because
/// they are easily confused with 1, 0, 5, U and 2.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1 to 17: 3^(i-1) mod 31, as tabulated in GB 32100-2015.
/// Every weight is non-zero modulo the prime 31, so changing any single
/// character always changes the check character.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Length of a GB 32100 code: 17 data characters and one check character.
const LENGTH: usize = 18;

/// Longest legacy registration number accepted. Pre-2015 business licence
/// numbers have 15 digits and organisation codes 9 characters (10 with their
/// hyphen); 30 leaves room for local variants without accepting free text.
const LEGACY_MAX_LENGTH: usize = 30;

/// Why a string is not an acceptable code. The messages are shown to API users
/// as they are, so each one says what was found and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("a unified social credit code has 18 characters, this one has {length}")]
    WrongLength { length: usize },

    #[error(
        "character '{character}' at position {position} is not allowed in a unified social \
         credit code: only digits and the letters A-Y except I, O, S, V are used"
    )]
    ForbiddenCharacter { character: char, position: usize },

    #[error("check character is {found}, expected {expected}")]
    WrongCheckCharacter { found: char, expected: char },

    #[error("a legacy registration code has 1 to 30 characters, this one has {length}")]
    LegacyWrongLength { length: usize },

    #[error(
        "character '{character}' at position {position} is not allowed in a legacy \
         registration code: only digits, the letters A-Z and '-' are used"
    )]
    LegacyForbiddenCharacter { character: char, position: usize },
}

/// A licensee's registration code, normalised and checked.
///
/// Two values are equal only if both the code and the legacy flag are equal:
/// the same characters accepted once as a GB 32100 code and once as a legacy
/// number are different claims about what the code is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Uscc {
    code: String,
    legacy: bool,
}

impl Uscc {
    /// Parses a GB 32100-2015 code: surrounding whitespace is dropped and
    /// letters are upper-cased, then the code must be 18 characters from the
    /// standard's alphabet with a correct check character in position 18.
    pub fn parse(input: &str) -> Result<Uscc, UsccError> {
        let code = normalise(input);
        let length = code.chars().count();
        if length != LENGTH {
            return Err(UsccError::WrongLength { length });
        }
        let mut values = [0_u32; LENGTH];
        for (index, character) in code.chars().enumerate() {
            values[index] = value_of(character).ok_or(UsccError::ForbiddenCharacter {
                character,
                position: index + 1,
            })?;
        }
        let expected = check_character(&values);
        let found = char::from(ALPHABET[values[LENGTH - 1] as usize]);
        if found != expected {
            return Err(UsccError::WrongCheckCharacter { found, expected });
        }
        Ok(Uscc {
            code,
            legacy: false,
        })
    }

    /// Parses a pre-2015 registration number (15-digit business licence
    /// number, organisation code with or without its hyphen, and the like).
    /// Only the shape is checked: after trimming and upper-casing, 1 to 30
    /// characters among digits, A-Z and '-'. Any such string is accepted and
    /// marked legacy, including one that would also pass [`Uscc::parse`]:
    /// the caller asked for legacy handling, and deciding when to allow that
    /// is the caller's business, not this type's.
    pub fn parse_legacy(input: &str) -> Result<Uscc, UsccError> {
        let code = normalise(input);
        let length = code.chars().count();
        if !(1..=LEGACY_MAX_LENGTH).contains(&length) {
            return Err(UsccError::LegacyWrongLength { length });
        }
        if let Some((index, character)) = code
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_digit() || c.is_ascii_uppercase() || *c == '-'))
        {
            return Err(UsccError::LegacyForbiddenCharacter {
                character,
                position: index + 1,
            });
        }
        Ok(Uscc { code, legacy: true })
    }

    /// The normalised code: upper-case, without surrounding whitespace.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether the code was accepted as a legacy registration number, without
    /// the GB 32100 check.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

/// Serialised as the bare code so that API payloads and stored documents carry
/// what a person would type; the legacy flag travels in its own field where a
/// payload needs it.
impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.code)
    }
}

/// Only ASCII letters are upper-cased: a Unicode case mapping can change the
/// number of characters (ß becomes SS), which would make the length and
/// position in an error message disagree with what the user sent.
fn normalise(input: &str) -> String {
    input.trim().to_ascii_uppercase()
}

fn value_of(character: char) -> Option<u32> {
    let byte = u8::try_from(character).ok()?;
    ALPHABET
        .iter()
        .position(|&allowed| allowed == byte)
        .and_then(|index| u32::try_from(index).ok())
}

/// C18 = 31 - (Σ value·weight mod 31), where a result of 31 stands for 0.
fn check_character(values: &[u32; LENGTH]) -> char {
    let sum: u32 = values
        .iter()
        .zip(WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    let check = (31 - sum % 31) % 31;
    char::from(ALPHABET[check as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes printed on public business licences.
    const REAL_CODES: [&str; 3] = [
        "914403001922038216",
        "91110108795101314G",
        "91330000704202479R",
    ];

    fn replace_at(code: &str, index: usize, replacement: char) -> String {
        code.chars()
            .enumerate()
            .map(|(i, c)| if i == index { replacement } else { c })
            .collect()
    }

    #[test]
    fn real_codes_from_public_licences_are_accepted() {
        for code in REAL_CODES {
            let uscc = Uscc::parse(code).unwrap();
            assert_eq!(uscc.as_str(), code);
            assert!(!uscc.is_legacy());
        }
    }

    #[test]
    fn a_code_with_one_changed_character_fails_its_check() {
        for code in REAL_CODES {
            for index in 0..LENGTH {
                let original = code.chars().nth(index).unwrap();
                for &byte in ALPHABET {
                    let replacement = char::from(byte);
                    if replacement == original {
                        continue;
                    }
                    let altered = replace_at(code, index, replacement);
                    assert!(
                        matches!(
                            Uscc::parse(&altered),
                            Err(UsccError::WrongCheckCharacter { .. })
                        ),
                        "{altered} (from {code}) was not refused by its check character"
                    );
                }
            }
        }
    }

    #[test]
    fn a_wrong_check_character_names_the_expected_one() {
        let error = Uscc::parse("914403001922038218").unwrap_err();
        assert_eq!(
            error,
            UsccError::WrongCheckCharacter {
                found: '8',
                expected: '6'
            }
        );
        assert_eq!(error.to_string(), "check character is 8, expected 6");
    }

    #[test]
    fn lower_case_and_surrounding_whitespace_are_normalised() {
        let uscc = Uscc::parse(" \t91110108795101314g\n").unwrap();
        assert_eq!(uscc.as_str(), "91110108795101314G");
        assert_eq!(uscc, Uscc::parse("91110108795101314G").unwrap());
    }

    #[test]
    fn a_code_of_the_wrong_length_is_refused_with_its_length() {
        let error = Uscc::parse("91110108795101314").unwrap_err();
        assert_eq!(error, UsccError::WrongLength { length: 17 });
        assert_eq!(
            error.to_string(),
            "a unified social credit code has 18 characters, this one has 17"
        );
        assert_eq!(
            Uscc::parse("   ").unwrap_err(),
            UsccError::WrongLength { length: 0 }
        );
        assert_eq!(
            Uscc::parse("91110108795101314GG").unwrap_err(),
            UsccError::WrongLength { length: 19 }
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 17 ASCII characters and one three-byte character: the right length,
        // so the error must be about the character, not the length.
        let error = Uscc::parse("91110108795101314码").unwrap_err();
        assert_eq!(
            error,
            UsccError::ForbiddenCharacter {
                character: '码',
                position: 18
            }
        );
    }

    #[test]
    fn letters_the_standard_never_uses_are_refused_with_their_position() {
        for letter in ['I', 'O', 'S', 'V', 'Z'] {
            let code = replace_at(REAL_CODES[1], 9, letter);
            let error = Uscc::parse(&code).unwrap_err();
            assert_eq!(
                error,
                UsccError::ForbiddenCharacter {
                    character: letter,
                    position: 10
                }
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "character '{letter}' at position 10 is not allowed in a unified social \
                     credit code: only digits and the letters A-Y except I, O, S, V are used"
                )
            );
        }
    }

    #[test]
    fn a_forbidden_letter_typed_in_lower_case_is_named_in_upper_case() {
        let code = replace_at(REAL_CODES[0], 0, 'o');
        assert_eq!(
            Uscc::parse(&code).unwrap_err(),
            UsccError::ForbiddenCharacter {
                character: 'O',
                position: 1
            }
        );
    }

    #[test]
    fn legacy_registration_numbers_are_accepted_and_marked_legacy() {
        for (input, normalised) in [
            ("440301103097413", "440301103097413"),
            (" 19220382-1 ", "19220382-1"),
            ("mb0a12345", "MB0A12345"),
        ] {
            let uscc = Uscc::parse_legacy(input).unwrap();
            assert_eq!(uscc.as_str(), normalised);
            assert!(uscc.is_legacy());
        }
    }

    #[test]
    fn a_valid_code_sent_as_legacy_stays_legacy_and_differs_from_the_checked_one() {
        let legacy = Uscc::parse_legacy(REAL_CODES[2]).unwrap();
        assert!(legacy.is_legacy());
        assert_ne!(legacy, Uscc::parse(REAL_CODES[2]).unwrap());
    }

    #[test]
    fn a_legacy_code_that_is_empty_or_too_long_is_refused_with_its_length() {
        let error = Uscc::parse_legacy("  ").unwrap_err();
        assert_eq!(error, UsccError::LegacyWrongLength { length: 0 });
        assert_eq!(
            error.to_string(),
            "a legacy registration code has 1 to 30 characters, this one has 0"
        );
        assert_eq!(
            Uscc::parse_legacy(&"1".repeat(31)).unwrap_err(),
            UsccError::LegacyWrongLength { length: 31 }
        );
        assert!(Uscc::parse_legacy(&"1".repeat(30)).is_ok());
    }

    #[test]
    fn a_legacy_code_with_other_characters_is_refused_naming_the_character() {
        let error = Uscc::parse_legacy("4403 01103097413").unwrap_err();
        assert_eq!(
            error,
            UsccError::LegacyForbiddenCharacter {
                character: ' ',
                position: 5
            }
        );
        assert_eq!(
            error.to_string(),
            "character ' ' at position 5 is not allowed in a legacy registration code: \
             only digits, the letters A-Z and '-' are used"
        );
        assert!(matches!(
            Uscc::parse_legacy("粤440301"),
            Err(UsccError::LegacyForbiddenCharacter {
                character: '粤',
                position: 1
            })
        ));
    }

    #[test]
    fn a_code_displays_and_serialises_as_its_normalised_text() {
        let uscc = Uscc::parse("91330000704202479r").unwrap();
        assert_eq!(uscc.to_string(), "91330000704202479R");
        assert_eq!(
            serde_json::to_string(&uscc).unwrap(),
            "\"91330000704202479R\""
        );
    }
}
