//! Detection, pure: the rules from one serial's scans (and its batch's licensed regions) to the
//! flags they justify, each with its evidence, and the `FlagRaised` event that records a flag
//! (stream `flag-<serial>-<flag>`, created once). No rule looks at one shopper's repeated scans
//! as suspicious: distinct places, distinct clients and licensed regions decide.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::region::{RegionCode, RegionLevel, distance_km};
use crate::domain::verdict::{Flag, Verdict};

pub const FLAG_RAISED: &str = "FlagRaised";

/// The data of `FlagRaised`. No personal data: scan ids, regions and times, never clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = FlagData)]
pub struct FlagRaised {
    pub serial: u64,
    pub flag: Flag,
    /// `impossible_travel`, `many_regions`, `distinct_clients`, `outside_licensed_regions`,
    /// `void_mark_scanned` or `claims_disagree`.
    pub rule: String,
    /// The queues it lands in: where it was observed, and the batch's licensed regions.
    pub regions: Vec<RegionCode>,
    pub batch_id: String,
    pub enterprise_uscc: String,
    pub evidence: Evidence,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = FlagEvidence)]
pub struct Evidence {
    pub scan_ids: Vec<u64>,
    pub observed_in: Vec<RegionCode>,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub thresholds: Option<serde_json::Value>,
}

/// The stream of one flag of one serial: created once, so a flag is raised once.
pub fn flag_stream(serial: u64, flag: Flag) -> String {
    format!("flag-{serial}-{}", flag.as_str())
}

/// The rules' thresholds (configuration; these are the defaults).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Thresholds {
    /// Faster than this between two scans' regions is impossible travel.
    pub speed_kmh: f64,
    /// This many distinct prefecture-level regions within `window_days` is a copied label.
    pub regions: usize,
    pub window_days: i64,
    /// This many distinct clients scanning one serial is excessive.
    pub clients: usize,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            speed_kmh: 300.0,
            regions: 3,
            window_days: 7,
            clients: 20,
        }
    }
}

/// One committed scan, as the rules see it.
#[derive(Clone, Debug)]
pub struct Observation {
    pub scan_id: u64,
    pub at: OffsetDateTime,
    pub region: Option<RegionCode>,
    pub client: String,
    pub verdict: Verdict,
}

/// A flag a rule raised, with what made it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub flag: Flag,
    pub rule: &'static str,
    pub scan_ids: Vec<u64>,
    /// Where the evidence was observed.
    pub regions: Vec<RegionCode>,
    pub detail: String,
}

/// Prefecture precision or better: a province-level position says too little to time travel.
pub(super) fn precise(region: RegionCode) -> bool {
    region.info().level != RegionLevel::Province
}

/// Every flag the scans justify. `scans` may come in any order.
pub fn evaluate(scans: &[Observation], licensed: &[RegionCode], t: &Thresholds) -> Vec<Finding> {
    let mut scans: Vec<&Observation> = scans.iter().collect();
    scans.sort_by_key(|s| (s.at, s.scan_id));
    let mut found = Vec::new();
    found.extend(impossible_travel(&scans, t));
    if !found.iter().any(|f| f.flag == Flag::Cloned) {
        found.extend(many_regions(&scans, t));
    }
    found.extend(excessive(&scans, t));
    found.extend(diverted(&scans, licensed));
    found.extend(leaked(&scans));
    found
}

fn impossible_travel(scans: &[&Observation], t: &Thresholds) -> Option<Finding> {
    let placed: Vec<(&Observation, RegionCode)> = scans
        .iter()
        .filter_map(|s| Some((*s, s.region.filter(|r| precise(*r))?)))
        .collect();
    placed.windows(2).find_map(|pair| {
        let ((a, ra), (b, rb)) = (pair[0], pair[1]);
        let (km, hours) = too_fast((a.at, ra), (b.at, rb), t)?;
        Some(Finding {
            flag: Flag::Cloned,
            rule: "impossible_travel",
            scan_ids: vec![a.scan_id, b.scan_id],
            regions: vec![ra, rb],
            detail: format!(
                "{km:.0} km in {:.0} min: faster than {} km/h",
                hours * 60.0,
                t.speed_kmh
            ),
        })
    })
}

/// The distance and hours between two placed scans, when covering it would take more than the
/// speed limit.
pub(super) fn too_fast(
    (a_at, a): (OffsetDateTime, RegionCode),
    (b_at, b): (OffsetDateTime, RegionCode),
    t: &Thresholds,
) -> Option<(f64, f64)> {
    let km = distance_km(a, b);
    let hours = (b_at - a_at).abs().as_seconds_f64() / 3600.0;
    (km > t.speed_kmh * hours).then_some((km, hours))
}

fn many_regions(scans: &[&Observation], t: &Thresholds) -> Option<Finding> {
    let window = time::Duration::days(t.window_days);
    let placed: Vec<(&Observation, RegionCode)> = scans
        .iter()
        .filter_map(|s| Some((*s, s.region?.prefecture()?)))
        .collect();
    (0..placed.len()).find_map(|start| {
        let until = placed[start].0.at + window;
        let mut regions: Vec<RegionCode> = Vec::new();
        let mut ids = Vec::new();
        for (scan, prefecture) in placed[start..].iter().take_while(|(s, _)| s.at <= until) {
            if !regions.contains(prefecture) {
                regions.push(*prefecture);
                ids.push(scan.scan_id);
            }
        }
        (regions.len() >= t.regions).then(|| Finding {
            flag: Flag::Cloned,
            rule: "many_regions",
            scan_ids: ids,
            detail: format!(
                "{} prefecture-level regions within {} days",
                regions.len(),
                t.window_days
            ),
            regions,
        })
    })
}

fn excessive(scans: &[&Observation], t: &Thresholds) -> Option<Finding> {
    let mut clients: Vec<&str> = scans.iter().map(|s| s.client.as_str()).collect();
    clients.sort_unstable();
    clients.dedup();
    (clients.len() >= t.clients).then(|| Finding {
        flag: Flag::ExcessiveScans,
        rule: "distinct_clients",
        scan_ids: scans.iter().map(|s| s.scan_id).collect(),
        regions: distinct(scans.iter().filter_map(|s| s.region)),
        detail: format!("{} distinct clients", clients.len()),
    })
}

fn diverted(scans: &[&Observation], licensed: &[RegionCode]) -> Option<Finding> {
    let strays: Vec<&Observation> = scans
        .iter()
        .filter(|s| s.region.is_some_and(|r| outside(r, licensed)))
        .copied()
        .collect();
    (!strays.is_empty()).then(|| Finding {
        flag: Flag::Diverted,
        rule: "outside_licensed_regions",
        scan_ids: strays.iter().map(|s| s.scan_id).collect(),
        regions: distinct(strays.iter().filter_map(|s| s.region)),
        detail: format!(
            "scanned outside the licensed regions {}",
            licensed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Whether a scan's region lies outside every licensed region. Outside means disjoint: a
/// province-level scan in the licensed province proves nothing.
pub(super) fn outside(region: RegionCode, licensed: &[RegionCode]) -> bool {
    !licensed.is_empty()
        && licensed
            .iter()
            .all(|l| !l.covers(region) && !region.covers(*l))
}

fn leaked(scans: &[&Observation]) -> Option<Finding> {
    let void: Vec<&Observation> = scans
        .iter()
        .filter(|s| s.verdict == Verdict::Void)
        .copied()
        .collect();
    (!void.is_empty()).then(|| Finding {
        flag: Flag::Leaked,
        rule: "void_mark_scanned",
        scan_ids: void.iter().map(|s| s.scan_id).collect(),
        regions: distinct(void.iter().filter_map(|s| s.region)),
        detail: "a voided, lost or stolen mark was scanned".into(),
    })
}

fn distinct(regions: impl Iterator<Item = RegionCode>) -> Vec<RegionCode> {
    let mut out: Vec<RegionCode> = Vec::new();
    for region in regions {
        if !out.contains(&region) {
            out.push(region);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn scan(id: u64, minutes: i64, region: &str, client: &str) -> Observation {
        Observation {
            scan_id: id,
            at: datetime!(2026-11-29 08:00 UTC) + time::Duration::minutes(minutes),
            region: Some(RegionCode::parse(region).unwrap()),
            client: client.into(),
            verdict: Verdict::Genuine,
        }
    }

    fn flags(scans: &[Observation], licensed: &[&str]) -> Vec<(Flag, &'static str)> {
        let licensed: Vec<RegionCode> = licensed
            .iter()
            .map(|r| RegionCode::parse(r).unwrap())
            .collect();
        evaluate(scans, &licensed, &Thresholds::default())
            .into_iter()
            .map(|f| (f.flag, f.rule))
            .collect()
    }

    #[test]
    fn one_shopper_scanning_ten_times_is_never_suspect() {
        let scans: Vec<_> = (0..10)
            .map(|i| scan(i, i as i64, "360102", "shopper"))
            .collect();
        assert_eq!(flags(&scans, &["360100"]), vec![]);
    }

    #[test]
    fn nanchang_and_ganzhou_within_an_hour_is_impossible_travel() {
        // 南昌 to 赣州 is about 350 km: not in 60 minutes at 300 km/h.
        let scans = [scan(1, 0, "360102", "a"), scan(2, 60, "360702", "b")];
        assert_eq!(
            flags(&scans, &["360000"]),
            vec![(Flag::Cloned, "impossible_travel")]
        );
    }

    #[test]
    fn neighbouring_cities_a_day_apart_are_innocent() {
        // 南昌 and 九江, about 120 km, 24 hours apart.
        let scans = [scan(1, 0, "360102", "a"), scan(2, 24 * 60, "360402", "b")];
        assert_eq!(flags(&scans, &["360000"]), vec![]);
    }

    #[test]
    fn province_level_positions_never_time_travel() {
        let scans = [scan(1, 0, "360000", "a"), scan(2, 1, "440000", "b")];
        assert_eq!(flags(&scans, &["360000", "440000"]), vec![]);
    }

    #[test]
    fn three_prefectures_in_a_week_is_a_copied_label() {
        let day = 24 * 60;
        let scans = [
            scan(1, 0, "360102", "a"),
            scan(2, 2 * day, "360402", "b"),
            scan(3, 4 * day, "361102", "c"),
        ];
        assert_eq!(
            flags(&scans, &["360000"]),
            vec![(Flag::Cloned, "many_regions")]
        );
        let spread = [
            scan(1, 0, "360102", "a"),
            scan(2, 4 * day, "360402", "b"),
            scan(3, 8 * day, "361102", "c"),
        ];
        assert_eq!(flags(&spread, &["360000"]), vec![], "not within seven days");
    }

    #[test]
    fn twenty_distinct_clients_are_excessive_but_twenty_scans_by_few_are_not() {
        let many: Vec<_> = (0..20)
            .map(|i| scan(i, i as i64 * 600, "360102", &format!("c{i}")))
            .collect();
        assert_eq!(
            flags(&many, &["360100"]),
            vec![(Flag::ExcessiveScans, "distinct_clients")]
        );
        let few: Vec<_> = (0..40)
            .map(|i| scan(i, i as i64 * 600, "360102", &format!("c{}", i % 19)))
            .collect();
        assert_eq!(flags(&few, &["360100"]), vec![]);
    }

    #[test]
    fn a_scan_outside_the_licensed_regions_is_diverted_and_inside_is_not() {
        let inside = [scan(1, 0, "361102", "a")];
        assert_eq!(flags(&inside, &["361100"]), vec![]);
        let outside = [scan(1, 0, "360102", "a")];
        assert_eq!(
            flags(&outside, &["361100"]),
            vec![(Flag::Diverted, "outside_licensed_regions")]
        );
        // A partner brand's region named in the licence: where agreed, not diverted.
        let partner = [scan(1, 0, "310000", "a")];
        assert_eq!(flags(&partner, &["360000", "310000"]), vec![]);
        // A province-level position inside the licensed province proves nothing.
        let vague = [scan(1, 0, "360000", "a")];
        assert_eq!(flags(&vague, &["360100"]), vec![]);
    }

    #[test]
    fn a_scanned_void_mark_has_leaked() {
        let mut void = scan(1, 0, "360102", "a");
        void.verdict = Verdict::Void;
        assert_eq!(
            flags(&[void], &["360100"]),
            vec![(Flag::Leaked, "void_mark_scanned")]
        );
    }
}
