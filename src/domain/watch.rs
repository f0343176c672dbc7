//! Detection's memory of one serial, updated in O(1) per scan: what each rule of
//! [`detection`](super::detection) needs to know whether it may fire, and nothing more. A
//! [`Watch`] says which flags the scans seen so far may justify; only then does detection read
//! the serial's history and let [`evaluate`](super::detection::evaluate) decide, with its
//! evidence. So a serial scanned a hundred thousand times costs what one scanned twice does.
//!
//! Folded over scans in time order, a watch suspects exactly the flags `evaluate` finds on the
//! same scans (a property test below holds it to that):
//! - impossible travel compares consecutive placed scans: the watch keeps the newest one;
//! - many regions counts distinct prefectures in a window: the watch keeps each prefecture's
//!   newest time within the window of the newest scan, so at most `regions` entries;
//! - excessive scans counts distinct clients: the watch keeps up to `clients` fingerprints;
//! - diverted and leaked look at one scan each and need no memory.

use std::hash::{Hash, Hasher};

use time::OffsetDateTime;

use super::detection::{Observation, Thresholds, outside, precise, too_fast};
use super::region::RegionCode;
use super::verdict::{Flag, Verdict};

/// One committed scan as a watch sees it: no id, no client beyond a fingerprint.
#[derive(Clone, Copy, Debug)]
pub struct Sighting<'a> {
    pub at: OffsetDateTime,
    pub region: Option<RegionCode>,
    pub client: &'a str,
    pub verdict: Verdict,
}

impl Observation {
    /// The scan as a watch sees it.
    pub fn sighting(&self) -> Sighting<'_> {
        Sighting {
            at: self.at,
            region: self.region,
            client: &self.client,
            verdict: self.verdict,
        }
    }
}

/// What detection remembers of one serial. A few hundred bytes at the default thresholds.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// The newest scan placed precisely enough to time travel.
    placed: Option<(OffsetDateTime, RegionCode)>,
    /// Each prefecture seen within the window of the newest scan, with its newest time.
    prefectures: Vec<(RegionCode, OffsetDateTime)>,
    newest: Option<OffsetDateTime>,
    /// Fingerprints of distinct clients, at most the threshold's count.
    clients: Vec<u64>,
    /// Flags the scans seen so far may justify.
    suspects: Vec<Flag>,
}

impl Watch {
    /// A watch over `scans`, in time order.
    pub fn over<'a>(
        scans: impl IntoIterator<Item = Sighting<'a>>,
        licensed: &[RegionCode],
        t: &Thresholds,
    ) -> Watch {
        let mut watch = Watch::default();
        for scan in scans {
            watch.see(scan, licensed, t);
        }
        watch
    }

    /// Takes one more scan into account: O(1), bounded by the thresholds.
    pub fn see(&mut self, scan: Sighting, licensed: &[RegionCode], t: &Thresholds) {
        if let Some(region) = scan.region {
            self.travel(scan.at, region, t);
            self.spread(scan.at, region, t);
            if outside(region, licensed) {
                self.suspect(Flag::Diverted);
            }
        }
        if scan.verdict == Verdict::Void {
            self.suspect(Flag::Leaked);
        }
        if self.clients.len() < t.clients {
            let print = fingerprint(scan.client);
            if !self.clients.contains(&print) {
                self.clients.push(print);
            }
            if self.clients.len() >= t.clients {
                self.suspect(Flag::ExcessiveScans);
            }
        }
    }

    /// The flags the scans seen so far may justify.
    pub fn suspects(&self) -> &[Flag] {
        &self.suspects
    }

    fn travel(&mut self, at: OffsetDateTime, region: RegionCode, t: &Thresholds) {
        if !precise(region) {
            return;
        }
        if let Some(last) = self.placed {
            if too_fast(last, (at, region), t).is_some() {
                self.suspect(Flag::Cloned);
            }
            if at < last.0 {
                return;
            }
        }
        self.placed = Some((at, region));
    }

    fn spread(&mut self, at: OffsetDateTime, region: RegionCode, t: &Thresholds) {
        let Some(prefecture) = region.prefecture() else {
            return;
        };
        let newest = self.newest.map_or(at, |n| n.max(at));
        self.newest = Some(newest);
        let since = newest - time::Duration::days(t.window_days);
        if at < since {
            return;
        }
        match self.prefectures.iter_mut().find(|(p, _)| *p == prefecture) {
            Some((_, seen)) => *seen = (*seen).max(at),
            None => self.prefectures.push((prefecture, at)),
        }
        self.prefectures.retain(|(_, seen)| *seen >= since);
        if self.prefectures.len() >= t.regions {
            self.suspect(Flag::Cloned);
        }
    }

    fn suspect(&mut self, flag: Flag) {
        if !self.suspects.contains(&flag) {
            self.suspects.push(flag);
        }
    }
}

/// 64 bits of a client hash: distinct clients collide with odds of about 2⁻⁶⁴ per pair.
fn fingerprint(client: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    client.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::detection::evaluate;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn observations(raw: &[(u16, u8, u8, bool)]) -> Vec<Observation> {
        // Regions from three provinces, at province, prefecture and county level.
        const REGIONS: [&str; 9] = [
            "360000", "360100", "360102", "360702", "361102", "440000", "360202", "310000",
            "360402",
        ];
        let mut at = datetime!(2026-11-29 08:00 UTC);
        raw.iter()
            .enumerate()
            .map(|(i, &(minutes, region, client, void))| {
                at += time::Duration::minutes(i64::from(minutes) * 7);
                Observation {
                    scan_id: i as u64,
                    at,
                    region: (region < 9)
                        .then(|| RegionCode::parse(REGIONS[region as usize]).unwrap()),
                    client: format!("client-{}", client % 24),
                    verdict: if void {
                        Verdict::Void
                    } else {
                        Verdict::Genuine
                    },
                }
            })
            .collect()
    }

    fn sorted(mut flags: Vec<Flag>) -> Vec<Flag> {
        flags.sort();
        flags.dedup();
        flags
    }

    proptest! {
        #![proptest_config(crate::domain::seeded(512))]

        /// Folded over scans in time order, a watch suspects exactly what `evaluate` finds.
        #[test]
        fn a_watch_suspects_exactly_what_evaluate_finds(
            raw in proptest::collection::vec((0u16..600, 0u8..12, 0u8..255, proptest::bool::weighted(0.02)), 0..60),
            licensed in 0usize..3,
        ) {
            let scans = observations(&raw);
            let licensed: Vec<RegionCode> = [&["360000"][..], &["360100"], &["440000", "310000"]][licensed]
                .iter().map(|r| RegionCode::parse(r).unwrap()).collect();
            let t = Thresholds::default();
            let found = sorted(evaluate(&scans, &licensed, &t).into_iter().map(|f| f.flag).collect());
            let watch = Watch::over(scans.iter().map(Observation::sighting), &licensed, &t);
            prop_assert_eq!(sorted(watch.suspects().to_vec()), found);
        }
    }

    #[test]
    fn a_hundred_thousand_scans_keep_a_watch_as_small_as_two() {
        let t = Thresholds::default();
        let licensed = [RegionCode::parse("360000").unwrap()];
        let raw: Vec<(u16, u8, u8, bool)> =
            (0..100_000).map(|i| (1, 2, (i % 7) as u8, false)).collect();
        let scans = observations(&raw);
        let watch = Watch::over(scans.iter().map(Observation::sighting), &licensed, &t);
        let two = Watch::over(scans[..2].iter().map(Observation::sighting), &licensed, &t);
        assert!(watch.suspects().is_empty());
        assert_eq!(watch.clients.len(), 7);
        assert_eq!(watch.prefectures.len(), two.prefectures.len());
        assert!(watch.clients.len() <= t.clients && watch.prefectures.len() <= t.regions);
    }
}
