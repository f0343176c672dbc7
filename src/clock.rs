//! Timestamps as the log writes them: RFC 3339, UTC, exactly six fractional digits and `Z`
//! (`2026-11-29T03:40:00.123456Z`). One spelling per instant keeps envelopes, and so leaf hashes,
//! reproducible by any verifier.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

const RECORDED_AT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formats an instant in the log's timestamp format, truncated to microseconds.
pub fn format_micros(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(RECORDED_AT)
        .expect("every UTC instant in the years 0000..=9999 formats")
}

/// The current time in the log's timestamp format.
pub fn now_micros() -> String {
    format_micros(OffsetDateTime::now_utc())
}

/// The current time in Unix seconds, as key validities count it.
pub fn unix_now() -> u64 {
    OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_have_exactly_six_fractional_digits_and_z() {
        assert_eq!(
            format_micros(datetime!(2026-11-29 03:40:00.123456789 UTC)),
            "2026-11-29T03:40:00.123456Z"
        );
        assert_eq!(
            format_micros(datetime!(2026-01-02 03:04:05 +08:00)),
            "2026-01-01T19:04:05.000000Z"
        );
    }
}
