//! AWS's time formats, written and read in one place.
//!
//! - RFC 3339 to the second (`2026-11-24T15:00:00Z`): IAM and STS dates, instance metadata
//!   and container credentials, policy conditions, the control API, the request log.
//! - EC2's milliseconds (`2026-11-24T15:00:00.000Z`): launch times and the like.
//! - SigV4's basic format (`20261124T150000Z`): `X-Amz-Date` and the credential scope.
//! - The HTTP `Date` header (RFC 7231): `wire`.

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// RFC 3339, UTC, to the second: `2026-11-24T15:00:00Z`.
pub(crate) fn iso(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// RFC 3339, UTC, with the clock's own precision (`2026-11-24T15:00:00.123456789Z`): the
/// control API's clock and the request log.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()
}

/// [`iso`] of a Unix time in seconds (empty when out of range).
pub(crate) fn iso_unix(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// EC2's format, UTC, to the millisecond: `2026-11-24T15:00:00.000Z`.
pub(crate) fn ec2(t: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    OffsetDateTime::from(t).format(format).unwrap_or_default()
}

/// An RFC 3339 time, if `text` is one.
pub(crate) fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Parses `20260124T101500Z` (on every signed request: by hand, not through a format
/// description).
pub(crate) fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |at: usize, len: usize| {
        (b[at..at + len].iter()).try_fold(0u16, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
        })
    };
    let two = |at| number(at, 2).and_then(|n| u8::try_from(n).ok());
    let date = time::Date::from_calendar_date(
        i32::from(number(0, 4)?),
        time::Month::try_from(two(4)?).ok()?,
        two(6)?,
    )
    .ok()?;
    let clock = time::Time::from_hms(two(9)?, two(11)?, two(13)?).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .into(),
    )
}

/// Formats `20260124T101500Z`.
pub(crate) fn format_amz_date(t: SystemTime) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(t)
        .format(format)
        .unwrap_or_else(|_| "19700101T000000Z".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    proptest::proptest! {
        /// The hand parser reads exactly what the format description reads.
        #[test]
        fn amz_dates_parse_as_their_format_says(s in concat!(
            "[0-9]{8}T[0-9]{6}Z|.{0,18}|",
            "[0-9]{4}(0[0-9]|1[0-3])([0-2][0-9]|3[0-2])T([01][0-9]|2[0-4])[0-6][0-9][0-6][0-9]Z",
        )) {
            let format =
                time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
            let expected = time::PrimitiveDateTime::parse(&s, format)
                .ok()
                .map(|t| SystemTime::from(t.assume_utc()));
            proptest::prop_assert_eq!(parse_amz_date(&s), expected);
        }
    }

    #[test]
    fn each_format_is_aws_s() {
        let t = UNIX_EPOCH + Duration::from_millis(1_893_456_000_250);
        assert_eq!(iso(t), "2030-01-01T00:00:00Z");
        assert_eq!(iso_unix(1_893_456_000), "2030-01-01T00:00:00Z");
        assert_eq!(rfc3339(t), "2030-01-01T00:00:00.25Z");
        assert_eq!(ec2(t), "2030-01-01T00:00:00.250Z");
        assert_eq!(
            parse_rfc3339("2030-01-01T00:00:00Z").map(|t| t.unix_timestamp()),
            Some(1_893_456_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
