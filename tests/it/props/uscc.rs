//! `Uscc::parse` and `Uscc::parse_legacy` against an oracle written from GB 32100-2015
//! 《法人和其他组织统一社会信用代码编码规则》: the 31-character code alphabet (I, O, S, V, Z
//! left out), weights W_i = 3^(i-1) mod 31 for positions 1 to 17, and the check character
//! C18 = 31 - (Σ C_i·W_i mod 31), where 31 stands for 0.

use marktrace::domain::uscc::{Uscc, UsccError};
use proptest::prelude::*;

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn value(c: char) -> Option<usize> {
    ALPHABET.find(c)
}

/// The check character of 17 data characters, computed from the standard's formula (the
/// weights as powers of 3, not the code's table).
fn check_character(data: &str) -> char {
    let mut weight = 1;
    let mut sum = 0;
    for c in data.chars() {
        sum += value(c).expect("data from the alphabet") * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET.as_bytes()[check] as char
}

/// Whether `input` is a valid code per the standard, after SPEC.md's trim and upper-casing.
fn oracle(input: &str) -> Option<String> {
    let code = input.trim().to_ascii_uppercase();
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 || !chars.iter().all(|&c| value(c).is_some()) {
        return None;
    }
    let data: String = chars[..17].iter().collect();
    (check_character(&data) == chars[17]).then_some(code)
}

/// Whether `input` is an acceptable legacy registration number: trimmed and upper-cased,
/// 1 to 30 of digits, A-Z and '-'.
fn legacy_oracle(input: &str) -> Option<String> {
    let code = input.trim().to_ascii_uppercase();
    let ok = (1..=30).contains(&code.chars().count())
        && code
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '-');
    ok.then_some(code)
}

fn valid_code() -> impl Strategy<Value = String> {
    "[0-9A-HJ-NPQRTUWXY]{17}".prop_map(|data| {
        let check = check_character(&data);
        format!("{data}{check}")
    })
}

/// Whitespace `str::trim` drops: ASCII and Unicode (U+3000 is a CJK full-width space).
fn blank() -> impl Strategy<Value = String> {
    "[ \t\r\n\u{3000}\u{a0}]{0,3}"
}

/// Each ASCII letter independently lower- or upper-case.
fn mixed_case(code: &str, lower: &[bool]) -> String {
    code.chars()
        .zip(lower.iter().cycle())
        .map(|(c, &l)| if l { c.to_ascii_lowercase() } else { c })
        .collect()
}

/// Text near a code: the right length give or take one, from the alphabet, its lower case,
/// the five excluded letters, blanks and a few non-ASCII characters.
fn near_code() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(ALPHABET.chars().collect::<Vec<_>>()),
            2 => prop::sample::select("abcdefghjklmnpqrtuwxyiosvzIOSVZ".chars().collect::<Vec<_>>()),
            1 => prop::sample::select(vec![' ', '\t', '码', 'ß', 'Ａ', '０', '-', '\u{3000}']),
        ],
        16..=20,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// The codes the module's own tests take from public business licences: they pin the oracle
/// to reality.
#[test]
fn the_oracle_accepts_codes_from_public_licences() {
    for code in [
        "914403001922038216",
        "91110108795101314G",
        "91330000704202479R",
    ] {
        assert_eq!(oracle(code).as_deref(), Some(code));
        assert!(Uscc::parse(code).is_ok());
    }
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_valid_code_parses_whatever_its_case_and_surrounding_blanks(
        code in valid_code(),
        lower in prop::collection::vec(any::<bool>(), 18),
        before in blank(),
        after in blank(),
    ) {
        let typed = format!("{before}{}{after}", mixed_case(&code, &lower));
        let uscc = Uscc::parse(&typed).map_err(|e| TestCaseError::fail(format!("{typed:?}: {e}")))?;
        prop_assert_eq!(uscc.as_str(), code.as_str());
        prop_assert!(!uscc.is_legacy());
        prop_assert_eq!(uscc.to_string(), code);
    }

    #[test]
    fn any_single_character_change_is_refused(
        code in valid_code(),
        position in 0..18_usize,
        replacement in prop_oneof![
            4 => prop::sample::select(ALPHABET.chars().collect::<Vec<_>>()),
            1 => any::<char>(),
        ],
    ) {
        let original = code.chars().nth(position).unwrap();
        // Upper-casing makes a lower-case letter the same character, not a change.
        prop_assume!(replacement.to_ascii_uppercase() != original);
        let changed: String = code
            .chars()
            .enumerate()
            .map(|(i, c)| if i == position { replacement } else { c })
            .collect();
        let result = Uscc::parse(&changed);
        prop_assert!(result.is_err(), "{changed:?} was accepted");
        if value(replacement.to_ascii_uppercase()).is_some() {
            prop_assert!(
                matches!(result, Err(UsccError::WrongCheckCharacter { .. })),
                "{changed:?}: {result:?}"
            );
        }
    }

    #[test]
    fn parse_agrees_with_the_standard_on_any_text(
        text in prop_oneof![near_code(), any::<String>(), "\\PC{0,40}"],
    ) {
        let parsed = Uscc::parse(&text);
        let expected = oracle(&text);
        prop_assert_eq!(
            parsed.as_ref().ok().map(Uscc::as_str),
            expected.as_deref(),
            "{:?}: {:?}", text, parsed
        );
    }

    #[test]
    fn parse_legacy_accepts_exactly_its_documented_shape(
        text in prop_oneof!["[ 0-9A-Za-z-]{0,32}", any::<String>(), near_code()],
    ) {
        let parsed = Uscc::parse_legacy(&text);
        let expected = legacy_oracle(&text);
        prop_assert_eq!(
            parsed.as_ref().ok().map(Uscc::as_str),
            expected.as_deref(),
            "{:?}: {:?}", text, parsed
        );
        prop_assert!(parsed.is_ok_and(|uscc| uscc.is_legacy()) || legacy_oracle(&text).is_none());
    }
}
