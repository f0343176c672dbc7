//! `PenaltyDecision::new` and its deserialisation: generated decisions that follow every rule
//! pass and come back normalised; a decision with one field broken is refused with a message
//! that names that field; no JSON at all makes it panic. The rules are the module's documented
//! ones (non-empty bounded text, GB 32100 codes, ISO calendar dates in order, amounts in 万元
//! as non-negative decimals with at most six decimals); dates and amounts are judged by
//! oracles written here.

use marktrace::domain::penalty::{DecisionFields, PenaltyDecision};
use proptest::prelude::*;
use serde_json::{Map, Value};
use time::Date;

/// The text fields; every bound is between 100 and 4000 characters.
const TEXT_FIELDS: [&str; 10] = [
    "name",
    "legal_representative",
    "decision_number",
    "violation_type",
    "facts",
    "basis",
    "category",
    "content",
    "authority",
    "data_source",
];

fn field_mut<'a>(fields: &'a mut DecisionFields, name: &str) -> &'a mut String {
    match name {
        "name" => &mut fields.name,
        "uscc" => &mut fields.uscc,
        "legal_representative" => &mut fields.legal_representative,
        "decision_number" => &mut fields.decision_number,
        "violation_type" => &mut fields.violation_type,
        "facts" => &mut fields.facts,
        "basis" => &mut fields.basis,
        "category" => &mut fields.category,
        "content" => &mut fields.content,
        "fine_wan" => &mut fields.fine_wan,
        "confiscated_wan" => &mut fields.confiscated_wan,
        "decided_on" => &mut fields.decided_on,
        "publish_until" => &mut fields.publish_until,
        "authority" => &mut fields.authority,
        "authority_uscc" => &mut fields.authority_uscc,
        "data_source" => &mut fields.data_source,
        other => panic!("no field {other}"),
    }
}

/// A calendar date written `YYYY-MM-DD`, judged by the Gregorian rules directly.
fn date_oracle(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.trim();
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    let (year, month, day): (u32, u32, u32) = (
        text[..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..].parse().ok()?,
    );
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some((year, month, day))
}

/// A non-negative decimal: 1 to 12 digits, then optionally a point and 1 to 6 digits.
fn amount_oracle(text: &str) -> bool {
    let text = text.trim();
    let (integer, decimals) = match text.split_once('.') {
        Some((i, d)) => (i, Some(d)),
        None => (text, None),
    };
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    digits(integer, 12) && decimals.is_none_or(|d| digits(d, 6))
}

const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid GB 32100 code (the check character computed as in `uscc.rs`'s oracle).
fn uscc() -> impl Strategy<Value = String> {
    "[0-9A-HJ-NPQRTUWXY]{17}".prop_map(|data| {
        let mut weight = 1;
        let mut sum = 0;
        for c in data.chars() {
            sum += USCC_ALPHABET.find(c).unwrap() * weight;
            weight = weight * 3 % 31;
        }
        let check = USCC_ALPHABET.as_bytes()[(31 - sum % 31) % 31] as char;
        format!("{data}{check}")
    })
}

/// Text a person types: starts with a visible character, may carry surrounding blanks, and
/// holds any characters at all after that. (Built from characters rather than a regex: the
/// regex strategies cost ten times as much in a debug build.)
fn text() -> impl Strategy<Value = String> {
    let visible = prop::sample::select(
        "南昌某米业有限公司罚款伪造Aa0（"
            .chars()
            .collect::<Vec<_>>(),
    );
    let blanks = prop::collection::vec(prop::sample::select(vec![' ', '\u{3000}', '\n']), 0..3);
    (
        blanks.clone(),
        visible,
        prop::collection::vec(any::<char>(), 0..40),
        blanks,
    )
        .prop_map(|(before, first, rest, after)| {
            before
                .into_iter()
                .chain([first])
                .chain(rest)
                .chain(after)
                .collect()
        })
}

fn amount() -> impl Strategy<Value = String> {
    "[0-9]{1,12}(\\.[0-9]{1,6})?"
}

fn date() -> impl Strategy<Value = Date> {
    (1990..2100_i32, 1..=365_u16)
        .prop_map(|(year, day)| Date::from_ordinal_date(year, day).unwrap())
}

fn valid_fields() -> impl Strategy<Value = DecisionFields> {
    let texts = prop::collection::vec(text(), 10);
    (
        texts,
        uscc(),
        uscc(),
        amount(),
        amount(),
        date(),
        1..4000_i64,
    )
        .prop_map(
            |(texts, uscc, authority_uscc, fine, confiscated, decided, days)| {
                let mut t = texts.into_iter();
                let mut next = || t.next().unwrap();
                DecisionFields {
                    name: next(),
                    uscc: uscc.to_lowercase(),
                    legal_representative: next(),
                    decision_number: next(),
                    violation_type: next(),
                    facts: next(),
                    basis: next(),
                    category: next(),
                    content: next(),
                    fine_wan: fine,
                    confiscated_wan: format!(" {confiscated}"),
                    decided_on: decided.to_string(),
                    publish_until: (decided + time::Duration::days(days)).to_string(),
                    authority: next(),
                    authority_uscc,
                    data_source: next(),
                }
            },
        )
}

/// One field broken: the field's name and its bad value (or, for `order`, dates out of order).
fn broken_field() -> impl Strategy<Value = (&'static str, String)> {
    let text_field = prop::sample::select(TEXT_FIELDS.to_vec());
    let blank = "[ \t\n\u{3000}]{0,3}".boxed();
    let too_long = ("\\PC", 4001..4100_usize)
        .prop_map(|(c, n)| c.repeat(n))
        .prop_filter("a visible character", |s| !s.trim().is_empty())
        .boxed();
    let bad_amount = prop_oneof![
        "-[0-9]{1,4}(\\.[0-9])?",
        "\\+[0-9]{1,4}",
        "[0-9]{1,4}\\.",
        "\\.[0-9]{1,4}",
        "[0-9]{1,4}\\.[0-9]{7,9}",
        "[1-9][0-9]{12,14}",
        "[0-9]{1,3}[eE][0-9]",
        "[0-9]{1,3},[0-9]{3}",
        "[0-9]\\.[0-9]\\.[0-9]",
        "[0-9]{1,3}[ _][0-9]",
        "[０-９]{1,3}",
        "",
    ];
    let bad_date = prop_oneof![
        "[0-9]{4}/[0-9]{2}/[0-9]{2}",
        "[0-9]{4}-1[3-9]-[0-2][0-9]",
        "[0-9]{4}-00-[0-2][0-9]",
        "[0-9]{4}-0[1-9]-(00|3[2-9])",
        "[0-9]{4}-(04|06|09|11)-31",
        "(1900|2100|2023)-02-29",
        "[0-9]{4}-[0-9]-[0-9]{2}",
        "[0-9]{8}",
        "[+-][0-9]{4}-0[1-9]-1[0-9]",
        "[0-9]{5}-0[1-9]-1[0-9]",
        "\\PC{0,12}",
    ]
    .prop_filter("not a date", |d| date_oracle(d).is_none());
    let bad_uscc = (
        uscc(),
        0..18_usize,
        prop::sample::select(USCC_ALPHABET.chars().collect::<Vec<_>>()),
    )
        .prop_filter_map("a changed character", |(code, i, c)| {
            (code.chars().nth(i) != Some(c)).then(|| {
                code.chars()
                    .enumerate()
                    .map(|(j, o)| if j == i { c } else { o })
                    .collect::<String>()
            })
        });
    prop_oneof![
        (text_field.clone(), blank),
        (text_field, too_long),
        (
            prop::sample::select(vec!["fine_wan", "confiscated_wan"]),
            bad_amount
        ),
        (
            prop::sample::select(vec!["decided_on", "publish_until"]),
            bad_date
        ),
        (
            prop::sample::select(vec!["uscc", "authority_uscc"]),
            prop_oneof![bad_uscc.boxed(), "[0-9A-Z]{0,17}".boxed()]
        ),
        Just(("order", String::new())),
    ]
}

/// Arbitrary JSON, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::collection::vec(any::<char>(), 0..20)
            .prop_map(|c| Value::String(c.into_iter().collect())),
        amount().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,20}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_decision_that_follows_every_rule_passes_normalised(fields in valid_fields()) {
        let decision = PenaltyDecision::new(fields.clone())
            .map_err(|e| TestCaseError::fail(format!("{e}: {fields:?}")))?;
        let kept = decision.fields();
        for name in TEXT_FIELDS.iter().chain(&["fine_wan", "confiscated_wan"]) {
            let mut sent = fields.clone();
            let mut normalised = kept.clone();
            prop_assert_eq!(field_mut(&mut normalised, name).as_str(), field_mut(&mut sent, name).trim());
        }
        prop_assert_eq!(kept.uscc.as_str(), fields.uscc.to_uppercase());
        prop_assert_eq!(kept.decided_on.as_str(), fields.decided_on.as_str());
        prop_assert!(decision.publish_until() > decision.decided_on());
        // A stored decision reads back as itself.
        let json = serde_json::to_string(&decision).unwrap();
        prop_assert_eq!(serde_json::from_str::<PenaltyDecision>(&json).unwrap(), decision);
    }

    #[test]
    fn a_decision_with_one_field_broken_is_refused_naming_it(
        fields in valid_fields(),
        (field, bad) in broken_field(),
    ) {
        let mut fields = fields;
        if field == "order" {
            fields.publish_until = fields.decided_on.clone();
        } else {
            *field_mut(&mut fields, field) = bad.clone();
        }
        let message = match PenaltyDecision::new(fields) {
            Ok(_) => return Err(TestCaseError::fail(format!("{field} = {bad:?} was accepted"))),
            Err(e) => e.to_string(),
        };
        if field == "order" {
            prop_assert!(message.starts_with("publish_until must be after decided_on"), "{}", message);
        } else {
            prop_assert!(
                message.starts_with(&format!("{field} ")) || message.starts_with(&format!("{field}:")),
                "{} = {:?}: {}", field, bad, message
            );
        }
    }

    #[test]
    fn dates_and_amounts_are_accepted_exactly_as_their_rules_say(
        fields in valid_fields(),
        decided_on in prop_oneof!["[0-9]{4}-[0-9]{2}-[0-9]{2}", "[ +-]?[0-9]{4,5}-[0-9]{1,2}-[0-9]{1,2} ?", "\\PC{0,12}"],
        fine in prop_oneof!["[ +-]?[0-9.]{0,16}[ ]?", "[0-9]{0,13}(\\.[0-9]{0,7})?", "\\PC{0,8}"],
    ) {
        let mut with_date = fields.clone();
        with_date.decided_on = decided_on.clone();
        with_date.publish_until = "9999-12-31".into();
        let expected = date_oracle(&decided_on).is_some_and(|d| d < (9999, 12, 31));
        let result = PenaltyDecision::new(with_date);
        prop_assert_eq!(result.is_ok(), expected, "decided_on {:?}: {:?}", decided_on, result);
        if let Ok(decision) = result {
            prop_assert_eq!(decision.fields().decided_on.as_str(), decided_on.trim());
        }

        let mut with_fine = fields;
        with_fine.fine_wan = fine.clone();
        let result = PenaltyDecision::new(with_fine);
        prop_assert_eq!(result.is_ok(), amount_oracle(&fine), "fine_wan {:?}: {:?}", fine, result);
    }

    #[test]
    fn no_json_makes_deserialisation_panic(
        fields in valid_fields(),
        key in prop::sample::select(TEXT_FIELDS.iter().chain(&["uscc", "fine_wan", "decided_on", "extra"]).copied().collect::<Vec<_>>()),
        value in json(),
        whole in json(),
        drop in any::<bool>(),
    ) {
        let mut object: Map<String, Value> = match serde_json::to_value(&fields).unwrap() {
            Value::Object(object) => object,
            _ => unreachable!("fields serialise as an object"),
        };
        if drop {
            object.remove(key);
        } else {
            object.insert(key.to_owned(), value);
        }
        for candidate in [Value::Object(object), whole] {
            let text = candidate.to_string();
            if let Ok(decision) = serde_json::from_str::<PenaltyDecision>(&text) {
                // Whatever was accepted follows every rule: it passes them again.
                prop_assert_eq!(PenaltyDecision::new(decision.fields().clone()), Ok(decision));
            }
            let _ = serde_json::from_value::<PenaltyDecision>(candidate);
        }
    }
}
