//! The map of 江西's prefectures, drawn from the region table alone (no map tiles, nothing
//! fetched): each prefecture is the convex hull of its seat and its counties' seats, widened by
//! a round stroke of its own colour so that neighbours meet, and shaded by how many flags in
//! the caller's queue name it.

use crate::domain::region::{Region, RegionCode, RegionLevel, regions};

/// 江西省: the province the map shows.
const PROVINCE: u32 = 360000;
/// The drawing's width in SVG units; the height follows the province's shape.
const WIDTH: f64 = 600.0;
/// Room around the hulls for the widening stroke.
const MARGIN: f64 = 24.0;

/// One prefecture on the map.
pub struct Area {
    pub code: RegionCode,
    pub name: &'static str,
    /// The hull as SVG path data.
    pub path: String,
    pub fill: &'static str,
    /// Where its label goes: its seat.
    pub x: f64,
    pub y: f64,
    pub flags: usize,
}

/// The map: its size and its prefectures.
pub struct Map {
    pub width: f64,
    pub height: f64,
    pub areas: Vec<Area>,
}

/// The shade for a count of flags: lighter is fewer; dark text reads on every shade.
fn shade(flags: usize) -> &'static str {
    match flags {
        0 => "#e3ecdf",
        1..=2 => "#fde3b8",
        3..=9 => "#f8b878",
        _ => "#ef8f62",
    }
}

/// The prefectures of the province with the number of flags in each, as `count` reports them.
pub fn draw(count: impl Fn(RegionCode) -> usize) -> Map {
    let province = RegionCode::parse(&PROVINCE.to_string()).expect("江西 is in the table");
    let in_province: Vec<&Region> = regions()
        .iter()
        .filter(|r| r.level != RegionLevel::Province && province.covers(r.code))
        .collect();
    // An equirectangular projection scaled for the province's mean latitude.
    let (lat_min, lat_max) = bounds(in_province.iter().map(|r| r.latitude));
    let (lon_min, lon_max) = bounds(in_province.iter().map(|r| r.longitude));
    let squeeze = ((lat_min + lat_max) / 2.0).to_radians().cos();
    let scale = (WIDTH - 2.0 * MARGIN) / ((lon_max - lon_min) * squeeze);
    let project = |r: &Region| {
        (
            MARGIN + (r.longitude - lon_min) * squeeze * scale,
            MARGIN + (lat_max - r.latitude) * scale,
        )
    };
    let height = 2.0 * MARGIN + (lat_max - lat_min) * scale;
    let areas = in_province
        .iter()
        .filter(|r| r.level == RegionLevel::Prefecture)
        .map(|prefecture| {
            let points: Vec<(f64, f64)> = in_province
                .iter()
                .filter(|r| prefecture.code.covers(r.code))
                .map(|r| project(r))
                .collect();
            let (x, y) = project(prefecture);
            let flags = count(prefecture.code);
            Area {
                code: prefecture.code,
                name: prefecture.name,
                path: path(&hull(points)),
                fill: shade(flags),
                x,
                y,
                flags,
            }
        })
        .collect();
    Map {
        width: WIDTH,
        height,
        areas,
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// The convex hull (Andrew's monotone chain), counter-clockwise, without repeated points.
fn hull(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.partial_cmp(b).expect("coordinates are finite"));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut lower: Vec<(f64, f64)> = Vec::new();
    for &p in &points {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], p) <= 0.0 {
            lower.pop();
        }
        lower.push(p);
    }
    let mut upper: Vec<(f64, f64)> = Vec::new();
    for &p in points.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], p) <= 0.0 {
            upper.pop();
        }
        upper.push(p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// SVG path data through the points, closed.
fn path(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        d.push_str(if i == 0 { "M" } else { " L" });
        d.push_str(&format!("{x:.1} {y:.1}"));
    }
    d.push_str(" Z");
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefecture_of_jiangxi_is_drawn_inside_the_picture() {
        let map = draw(|code| usize::from(code.to_string() == "360100") * 3);
        assert_eq!(map.areas.len(), 11, "江西 has 11 prefectures");
        let nanchang = map.areas.iter().find(|a| a.name == "南昌市").unwrap();
        assert_eq!((nanchang.flags, nanchang.fill), (3, shade(3)));
        for area in &map.areas {
            assert!(area.path.starts_with('M') && area.path.ends_with('Z'));
            assert!(area.x > 0.0 && area.x < map.width && area.y > 0.0 && area.y < map.height);
        }
        // 赣州 lies south of 九江.
        let y = |name: &str| map.areas.iter().find(|a| a.name == name).unwrap().y;
        assert!(y("赣州市") > y("九江市"));
    }

    #[test]
    fn a_hull_keeps_only_the_outer_points() {
        let square = vec![(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0), (1.0, 1.0)];
        assert_eq!(hull(square).len(), 4);
    }
}
