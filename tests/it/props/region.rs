//! `RegionCode::parse` and `covers` against the shipped table, read here independently from
//! `src/domain/regions.tsv`, and against the hierarchy its level column states (GB/T 2260: a
//! province contains its prefectures, a prefecture its counties), built as a tree of parents
//! rather than from the digits' shape as the code does.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use marktrace::domain::region::{RegionCode, RegionLevel};
use proptest::prelude::*;

const TABLE: &str = include_str!("../../../src/domain/regions.tsv");

static PARSED_TABLE: LazyLock<BTreeMap<&str, &str>> = LazyLock::new(table);

/// Every row's code and level, by code.
fn table() -> BTreeMap<&'static str, &'static str> {
    TABLE
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[0], fields[2])
        })
        .collect()
}

/// The row directly above a code: a county's prefecture when the table has it, else its
/// province; a prefecture's province; none for a province.
fn parent(table: &BTreeMap<&str, &str>, code: &str) -> Option<String> {
    let prefecture = format!("{}00", &code[..4]);
    let province = format!("{}0000", &code[..2]);
    match table[code] {
        "province" => None,
        "prefecture" => Some(province),
        _ if table.contains_key(prefecture.as_str()) => Some(prefecture),
        _ => Some(province),
    }
}

/// Whether `outer` is `inner` or one of its ancestors in the table's tree.
fn contains(table: &BTreeMap<&str, &str>, outer: &str, inner: &str) -> bool {
    let mut at = Some(inner.to_owned());
    while let Some(code) = at {
        if code == outer {
            return true;
        }
        at = parent(table, &code);
    }
    false
}

fn level(code: RegionCode) -> &'static str {
    match code.info().level {
        RegionLevel::Province => "province",
        RegionLevel::Prefecture => "prefecture",
        RegionLevel::County => "county",
    }
}

/// Every code in the table parses, round-trips, and has the level its row gives.
#[test]
fn every_code_in_the_shipped_table_parses() {
    let table = table();
    assert_eq!(
        table.len(),
        145,
        "34 provinces and 江西's 11 prefectures and 100 counties"
    );
    for (&text, &row_level) in &table {
        let code = RegionCode::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(code.to_string(), text);
        assert_eq!(level(code), row_level, "{text}");
        assert_eq!(
            serde_json::from_str::<RegionCode>(&format!("\"{text}\"")).unwrap(),
            code
        );
    }
}

/// All 145² pairs: fewer than a property's cases would sample, so every one is checked.
#[test]
fn covers_is_the_table_hierarchy_for_every_pair_of_codes() {
    let table = table();
    let codes: Vec<(&str, RegionCode)> = table
        .keys()
        .map(|&text| (text, RegionCode::parse(text).unwrap()))
        .collect();
    for &(outer_text, outer) in &codes {
        for &(inner_text, inner) in &codes {
            let expected = contains(&table, outer_text, inner_text);
            assert_eq!(
                outer.covers(inner),
                expected,
                "{outer_text} covers {inner_text}?"
            );
            let by_prefix = inner_text.starts_with(&outer.covered_prefix());
            assert_eq!(
                by_prefix,
                expected,
                "prefix {} of {outer_text}",
                outer.covered_prefix()
            );
        }
        assert!(outer.province().covers(outer));
        assert_eq!(level(outer.province()), "province");
        if let Some(prefecture) = outer.prefecture() {
            assert!(contains(&table, &prefecture.to_string(), outer_text));
            assert_eq!(level(prefecture), "prefecture");
        }
    }
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn parse_accepts_exactly_the_codes_in_the_table(
        text in prop_oneof![
            "[0-9]{6}",
            "3[0-9]{5}",
            "36[0-9]{2}[0-9]{2}",
            "[ 0-9+-]{4,8}",
            "\\PC{0,8}",
            any::<String>(),
        ],
    ) {
        let table = &*PARSED_TABLE;
        let parsed = RegionCode::parse(&text);
        prop_assert_eq!(parsed.is_ok(), table.contains_key(text.as_str()), "{:?}: {:?}", text, parsed);
        if let Ok(code) = parsed {
            prop_assert_eq!(code.to_string(), text.clone());
        }
        let json = serde_json::to_string(&text).unwrap();
        prop_assert_eq!(serde_json::from_str::<RegionCode>(&json).ok(), parsed.ok());
    }
}
