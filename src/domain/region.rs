//! GB/T 2260 administrative division codes (行政区划代码) for the places a mark
//! can be granted to or enforced in. This module owns the table shipped in
//! `regions.tsv` — every provincial-level division of China, and every
//! prefecture- and county-level division of 江西省, the brand's home — and
//! what follows from a code's shape: which division contains which, and how
//! far apart two divisions' seats of government are. A [`RegionCode`] value
//! is proof that the code is in that table. It does not hold divisions below
//! county level, counties outside 江西, or history: a code abolished before
//! the table's edition (such as 360105 湾里区) is unknown, and keeping the
//! table current when the Ministry of Civil Affairs publishes changes is a
//! data update, not a code change.

use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Mean Earth radius used by the haversine formula, in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0;

/// The shipped table, parsed on first use. Kept sorted by code so that lookups
/// are binary searches.
static TABLE: LazyLock<Vec<Region>> = LazyLock::new(|| load(include_str!("regions.tsv")));

/// Every division in the table, in code order.
pub fn regions() -> &'static [Region] {
    &TABLE
}

/// Why a string is not a known region code. The messages are shown to API users
/// as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("a region code is exactly six ASCII digits (GB/T 2260), {input:?} is not")]
    NotSixDigits { input: String },

    #[error(
        "region code {code} is not a GB/T 2260 code known here: the table holds every \
         province and every prefecture and county of 江西省"
    )]
    Unknown { code: String },
}

/// A GB/T 2260 code present in the shipped table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(u32);

super::string_schema!(RegionCode, "^[0-9]{6}$", "GB/T 2260 region code.");

/// Where a division sits in the hierarchy. GB/T 2260 encodes it in the code:
/// `PP0000` is a province, `PPCC00` a prefecture, `PPCCDD` a county-level
/// division (district, county-level city or county).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionLevel {
    Province,
    Prefecture,
    County,
}

/// One row of the table. The point is the division's seat of government, not
/// its geographic centroid (see the header of `regions.tsv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub code: RegionCode,
    pub name: &'static str,
    pub level: RegionLevel,
    pub latitude: f64,
    pub longitude: f64,
}

impl RegionCode {
    /// Accepts exactly six ASCII digits naming a division in the table. No
    /// trimming: a code is an identifier sent by software, and a stray space
    /// points at a bug worth reporting.
    pub fn parse(s: &str) -> Result<RegionCode, RegionError> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionError::NotSixDigits {
                input: s.to_owned(),
            });
        }
        let value = s
            .bytes()
            .fold(0_u32, |acc, digit| acc * 10 + u32::from(digit - b'0'));
        find(value)
            .map(|region| region.code)
            .ok_or_else(|| RegionError::Unknown { code: s.to_owned() })
    }

    /// Whether `other` is this division or lies inside it: a province covers
    /// every code sharing its first two digits, a prefecture every code
    /// sharing its first four, and a county-level division only itself.
    pub fn covers(self, other: RegionCode) -> bool {
        match level_of(self.0) {
            RegionLevel::Province => self.0 / 10_000 == other.0 / 10_000,
            RegionLevel::Prefecture => self.0 / 100 == other.0 / 100,
            RegionLevel::County => self == other,
        }
    }

    /// The digits every code this one covers starts with (`36` for 360000, `3611` for
    /// 361100, all six for a county), for prefix queries equivalent to [`RegionCode::covers`].
    pub fn covered_prefix(self) -> String {
        let code = self.to_string();
        let digits = match level_of(self.0) {
            RegionLevel::Province => 2,
            RegionLevel::Prefecture => 4,
            RegionLevel::County => 6,
        };
        code[..digits].to_owned()
    }

    /// The provincial-level division containing this one (itself for a
    /// province). The loader guarantees every row's province is in the table.
    pub fn province(self) -> RegionCode {
        RegionCode(self.0 / 10_000 * 10_000)
    }

    /// The prefecture containing a county-level division, the prefecture
    /// itself, or `None` for a province. A county whose prefecture is not in
    /// the table — one directly under its province (省直辖县级行政区划), or
    /// a district of a municipality — also has `None`.
    pub fn prefecture(self) -> Option<RegionCode> {
        match level_of(self.0) {
            RegionLevel::Province => None,
            RegionLevel::Prefecture => Some(self),
            RegionLevel::County => find(self.0 / 100 * 100).map(|region| region.code),
        }
    }

    /// The table row for this code.
    pub fn info(self) -> &'static Region {
        // Every RegionCode is made by `parse` or by the hierarchy methods from
        // a code found in the table, so the lookup cannot miss.
        find(self.0).expect("a RegionCode is only made from codes in the table")
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// Serialised as the six-digit string: that is how the codes are written
/// everywhere else (licences, ID numbers, the Ministry's lists).
impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parsed, so a stored or received code is checked against the table like any other input.
impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        RegionCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for RegionCode {
    type Err = RegionError;

    fn from_str(s: &str) -> Result<RegionCode, RegionError> {
        RegionCode::parse(s)
    }
}

/// Great-circle distance in kilometres between the two divisions' seats of
/// government (haversine formula, spherical Earth of radius 6371 km). Good to
/// a few kilometres at this table's precision; it is not a travel distance.
pub fn distance_km(a: RegionCode, b: RegionCode) -> f64 {
    let (a, b) = (a.info(), b.info());
    let (lat_a, lat_b) = (a.latitude.to_radians(), b.latitude.to_radians());
    let half_dlat = (lat_b - lat_a) / 2.0;
    let half_dlon = (b.longitude - a.longitude).to_radians() / 2.0;
    let h = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlon.sin().powi(2);
    // Rounding can push h a hair above 1 for antipodal points; asin would then
    // return NaN.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

fn find(code: u32) -> Option<&'static Region> {
    let table: &'static [Region] = LazyLock::force(&TABLE).as_slice();
    table
        .binary_search_by_key(&code, |region| region.code.0)
        .ok()
        .map(|index| &table[index])
}

fn level_of(code: u32) -> RegionLevel {
    if code % 10_000 == 0 {
        RegionLevel::Province
    } else if code % 100 == 0 {
        RegionLevel::Prefecture
    } else {
        RegionLevel::County
    }
}

/// Parses the shipped table. The table is part of the program, so a malformed
/// row is a programming error: it panics with the line at fault, and the
/// tests load the table so that such an error never reaches a release.
fn load(text: &'static str) -> Vec<Region> {
    let mut regions: Vec<Region> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(index, line)| parse_row(index + 1, line))
        .collect();
    regions.sort_by_key(|region| region.code);
    for pair in regions.windows(2) {
        assert!(
            pair[0].code != pair[1].code,
            "regions.tsv: code {} appears twice",
            pair[0].code
        );
    }
    for region in &regions {
        let province = region.code.province();
        assert!(
            regions
                .binary_search_by_key(&province, |other| other.code)
                .is_ok(),
            "regions.tsv: {} {} has no province row {}",
            region.code,
            region.name,
            province
        );
    }
    regions
}

fn parse_row(line_number: usize, line: &'static str) -> Region {
    let fields: Vec<&'static str> = line.split('\t').collect();
    let [code, name, level, latitude, longitude] = fields[..] else {
        panic!(
            "regions.tsv line {line_number}: expected 5 tab-separated fields, found {}",
            fields.len()
        );
    };
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "regions.tsv line {line_number}: code {code:?} is not six digits"
    );
    let code: u32 = code
        .parse()
        .unwrap_or_else(|error| panic!("regions.tsv line {line_number}: code: {error}"));
    let level = match level {
        "province" => RegionLevel::Province,
        "prefecture" => RegionLevel::Prefecture,
        "county" => RegionLevel::County,
        other => panic!("regions.tsv line {line_number}: unknown level {other:?}"),
    };
    // `covers`, `province` and `prefecture` read the level from the code, so
    // the column must agree with it.
    assert!(
        level == level_of(code),
        "regions.tsv line {line_number}: level {level:?} does not match code {code:06}"
    );
    assert!(
        !name.trim().is_empty(),
        "regions.tsv line {line_number}: empty name"
    );
    let coordinate = |text: &str, what: &str, limit: f64| -> f64 {
        let value: f64 = text
            .parse()
            .unwrap_or_else(|error| panic!("regions.tsv line {line_number}: {what}: {error}"));
        assert!(
            value.is_finite() && value.abs() <= limit,
            "regions.tsv line {line_number}: {what} {value} is out of range"
        );
        value
    };
    Region {
        code: RegionCode(code),
        name,
        level,
        latitude: coordinate(latitude, "latitude", 90.0),
        longitude: coordinate(longitude, "longitude", 180.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_covered_prefix_agrees_with_covers() {
        let codes: Vec<RegionCode> = ["360000", "361100", "361102", "360102", "350000", "110000"]
            .iter()
            .map(|c| RegionCode::parse(c).unwrap())
            .collect();
        for a in &codes {
            for b in &codes {
                let by_prefix = b.to_string().starts_with(&a.covered_prefix());
                assert_eq!(a.covers(*b), by_prefix, "{a} {b}");
            }
        }
    }

    fn code(text: &str) -> RegionCode {
        RegionCode::parse(text).unwrap()
    }

    fn jiangxi() -> impl Iterator<Item = &'static Region> {
        let jiangxi = code("360000");
        TABLE
            .iter()
            .filter(move |region| jiangxi.covers(region.code))
    }

    fn count(level: RegionLevel, regions: impl Iterator<Item = &'static Region>) -> usize {
        regions.filter(|region| region.level == level).count()
    }

    #[test]
    fn the_shipped_table_loads() {
        assert_eq!(TABLE.len(), 34 + 11 + 100);
    }

    #[test]
    #[should_panic(expected = "regions.tsv line 2: expected 5 tab-separated fields, found 4")]
    fn a_table_row_with_a_missing_field_is_refused_when_loaded() {
        load("# header\n360000\t江西省\tprovince\t28.64\n");
    }

    #[test]
    #[should_panic(expected = "level County does not match code 360100")]
    fn a_table_row_whose_level_contradicts_its_code_is_refused_when_loaded() {
        load("360000\t江西省\tprovince\t28.64\t115.82\n360100\t南昌市\tcounty\t28.68\t115.86\n");
    }

    #[test]
    #[should_panic(expected = "has no province row 360000")]
    fn a_table_row_without_its_province_is_refused_when_loaded() {
        load("360100\t南昌市\tprefecture\t28.68\t115.86\n");
    }

    #[test]
    fn there_are_34_provinces_11_jiangxi_prefectures_and_100_jiangxi_counties() {
        assert_eq!(count(RegionLevel::Province, TABLE.iter()), 34);
        assert_eq!(count(RegionLevel::Prefecture, jiangxi()), 11);
        assert_eq!(count(RegionLevel::County, jiangxi()), 100);
    }

    #[test]
    fn every_code_in_the_table_parses_and_round_trips() {
        for region in TABLE.iter() {
            let text = region.code.to_string();
            assert_eq!(text.len(), 6);
            let parsed = code(&text);
            assert_eq!(parsed, region.code);
            assert_eq!(parsed.info(), region);
        }
    }

    #[test]
    fn a_code_serialises_as_its_six_digit_string() {
        assert_eq!(
            serde_json::to_string(&code("361181")).unwrap(),
            "\"361181\""
        );
    }

    #[test]
    fn info_gives_the_current_name_and_level() {
        let longnan = code("360783").info();
        assert_eq!(longnan.name, "龙南市");
        assert_eq!(longnan.level, RegionLevel::County);
        assert_eq!(code("361100").info().name, "上饶市");
        assert_eq!(code("820000").info().level, RegionLevel::Province);
    }

    #[test]
    fn a_province_covers_everything_inside_it_and_nothing_outside() {
        let jiangxi = code("360000");
        assert!(jiangxi.covers(jiangxi));
        assert!(jiangxi.covers(code("360102")));
        assert!(jiangxi.covers(code("361181")));
        assert!(jiangxi.covers(code("361100")));
        assert!(!jiangxi.covers(code("350000")));
        // 350100 福州市 is not in the table, but covering is decided by the
        // code alone, so the answer must not depend on that.
        assert!(!jiangxi.covers(RegionCode(350_100)));
    }

    #[test]
    fn a_prefecture_covers_its_own_counties_only() {
        let shangrao = code("361100");
        assert!(shangrao.covers(shangrao));
        assert!(shangrao.covers(code("361102")));
        assert!(shangrao.covers(code("361181")));
        assert!(!shangrao.covers(code("360102")));
        assert!(!shangrao.covers(code("360000")));
        assert!(!shangrao.covers(code("361000")));
    }

    #[test]
    fn a_county_covers_only_itself() {
        for county in TABLE.iter().filter(|r| r.level == RegionLevel::County) {
            for other in TABLE.iter() {
                assert_eq!(
                    county.code.covers(other.code),
                    county.code == other.code,
                    "{} covers {}?",
                    county.code,
                    other.code
                );
            }
        }
    }

    #[test]
    fn every_division_is_covered_by_its_province_and_prefecture() {
        for region in TABLE.iter() {
            assert!(region.code.province().covers(region.code));
            assert_eq!(region.code.province().info().level, RegionLevel::Province);
            if let Some(prefecture) = region.code.prefecture() {
                assert!(prefecture.covers(region.code));
                assert_eq!(prefecture.info().level, RegionLevel::Prefecture);
            }
        }
    }

    #[test]
    fn the_hierarchy_of_a_county_a_prefecture_and_a_province() {
        let dexing = code("361181");
        assert_eq!(dexing.province(), code("360000"));
        assert_eq!(dexing.prefecture(), Some(code("361100")));
        assert_eq!(code("361100").prefecture(), Some(code("361100")));
        assert_eq!(code("361100").province(), code("360000"));
        assert_eq!(code("360000").prefecture(), None);
        assert_eq!(code("360000").province(), code("360000"));
        assert_eq!(code("110000").prefecture(), None);
    }

    #[test]
    fn every_jiangxi_county_has_its_prefecture_in_the_table() {
        for county in jiangxi().filter(|r| r.level == RegionLevel::County) {
            assert!(
                county.code.prefecture().is_some(),
                "{} {}",
                county.code,
                county.name
            );
        }
    }

    #[test]
    fn an_unknown_code_is_refused_and_named() {
        let error = RegionCode::parse("999999").unwrap_err();
        assert_eq!(
            error,
            RegionError::Unknown {
                code: "999999".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "region code 999999 is not a GB/T 2260 code known here: the table holds every \
             province and every prefecture and county of 江西省"
        );
        // Abolished in 2019 (merged into 新建区 and 红谷滩区).
        assert!(matches!(
            RegionCode::parse("360105"),
            Err(RegionError::Unknown { .. })
        ));
    }

    #[test]
    fn text_that_is_not_six_ascii_digits_is_refused_and_quoted() {
        let error = RegionCode::parse("36010").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a region code is exactly six ASCII digits (GB/T 2260), \"36010\" is not"
        );
        for input in ["36O100", "3601000", "", " 36010", "+36010", "３６０１００"] {
            assert_eq!(
                RegionCode::parse(input).unwrap_err(),
                RegionError::NotSixDigits {
                    input: input.into()
                },
                "{input:?}"
            );
        }
    }

    #[test]
    fn nanchang_to_ganzhou_is_about_330_km_as_the_crow_flies() {
        // About 400 km by road; the seats of government are 2.85° of latitude
        // and 0.93° of longitude apart, which is about 330 km in a straight line.
        let distance = distance_km(code("360100"), code("360700"));
        assert!((320.0..=340.0).contains(&distance), "{distance}");
    }

    #[test]
    fn distance_is_symmetric_and_zero_to_itself() {
        let (nanchang, dexing) = (code("360100"), code("361181"));
        assert_eq!(distance_km(nanchang, nanchang), 0.0);
        assert_eq!(distance_km(nanchang, dexing), distance_km(dexing, nanchang));
        // Beijing to Shanghai is about 1070 km between the city governments.
        let beijing_shanghai = distance_km(code("110000"), code("310000"));
        assert!(
            (1040.0..=1100.0).contains(&beijing_shanghai),
            "{beijing_shanghai}"
        );
    }

    #[test]
    fn every_jiangxi_point_lies_inside_jiangxi() {
        for region in jiangxi() {
            assert!(
                (24.5..=30.1).contains(&region.latitude)
                    && (113.6..=118.5).contains(&region.longitude),
                "{} {} at {}, {}",
                region.code,
                region.name,
                region.latitude,
                region.longitude
            );
        }
    }

    #[test]
    fn every_county_lies_near_its_prefecture() {
        for county in TABLE.iter().filter(|r| r.level == RegionLevel::County) {
            let Some(prefecture) = county.code.prefecture() else {
                continue;
            };
            // Seats of government, not centroids: the farthest are 修水县 from
            // 九江 and 石城县 from 赣州, both about 153 km.
            let distance = distance_km(county.code, prefecture);
            assert!(
                distance <= 160.0,
                "{} {} is {distance:.0} km from {}",
                county.code,
                county.name,
                prefecture.info().name
            );
        }
    }
}
