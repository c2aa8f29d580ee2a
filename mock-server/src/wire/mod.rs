//! Bytes in and out: request parameters, response envelopes and headers, request ids.
//!
//! Nothing here looks at credentials or policies. `query` is the STS/IAM dialect, `ec2` the
//! EC2 one, `xml` the only writer of XML.

pub(crate) mod ec2;
pub(crate) mod query;
pub(crate) mod xml;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::Full;

use crate::error::AwsError;
use crate::service::Service;
use xml::Node;

/// The body type of every response.
pub(crate) type Body = Full<Bytes>;

/// The XML namespace of a service's responses.
pub(crate) fn namespace(service: Service) -> &'static str {
    match service {
        Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
        Service::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
    }
}

/// A successful action's response.
pub(crate) fn success(
    service: Service,
    action: &str,
    result: &[Node],
    request_id: &str,
    now: SystemTime,
) -> Response<Body> {
    let body = match service {
        Service::Sts | Service::Iam => {
            query::success(namespace(service), action, result, request_id)
        }
        Service::Ec2 => ec2::success(namespace(service), action, result, request_id),
    };
    respond(http::StatusCode::OK, service, body, request_id, now)
}

/// An error response in the service's shape.
pub(crate) fn error(
    service: Service,
    err: &AwsError,
    request_id: &str,
    now: SystemTime,
) -> Response<Body> {
    let body = match service {
        Service::Sts | Service::Iam => query::error(namespace(service), err, request_id),
        Service::Ec2 => ec2::error(err, request_id),
    };
    respond(err.status, service, body, request_id, now)
}

fn respond(
    status: http::StatusCode,
    service: Service,
    body: String,
    request_id: &str,
    now: SystemTime,
) -> Response<Body> {
    let content_type = match service {
        Service::Sts | Service::Iam => "text/xml",
        Service::Ec2 => "text/xml;charset=UTF-8",
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, id);
    }
    headers.insert(header::DATE, http_date(now));
    response
}

const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amzn-requestid");

/// The `Date` header, from the server clock: SDKs correct their clock skew from it, so a
/// virtual clock must show here too (hyper's own date header is off).
/// HTTP dates cover 1970 to 9999; a clock set outside that shows the nearest end. The
/// formatted value is kept per thread for the second it names (as hyper does for its own).
pub(crate) fn http_date(now: SystemTime) -> HeaderValue {
    const LATEST: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, HeaderValue)>> = const { std::cell::RefCell::new(None) };
    }
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().min(LATEST));
    LAST.with_borrow_mut(|last| match last {
        Some((s, value)) if *s == secs => value.clone(),
        _ => {
            let clamped = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let value = HeaderValue::from_str(&httpdate::fmt_http_date(clamped))
                .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
            *last = Some((secs, value.clone()));
            value
        }
    })
}

/// Makes request ids shaped like AWS's (UUID form), unique per server, without a syscall
/// or a lock per request.
#[derive(Debug)]
pub(crate) struct RequestIds {
    seed: u64,
    counter: AtomicU64,
}

impl RequestIds {
    /// A generator with a random seed.
    pub(crate) fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        Self {
            seed: RandomState::new().hash_one(0x7275_7374_6265_6e63_u64),
            counter: AtomicU64::new(0),
        }
    }

    /// The next id, e.g. `c6104cbe-af31-11e0-8154-cbc7ccf896c7`.
    pub(crate) fn next(&self) -> RequestId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let a = splitmix(self.seed ^ n);
        let b = splitmix(a ^ n.rotate_left(32));
        // 8-4-4-4-12 hex digits: `a`'s 48 high bits, a version nibble 4 and `a`'s low 12,
        // the variant bits 10 and 14 bits of `b`, then `b`'s low 48 (as a random UUID).
        let fields: [(u64, usize); 5] = [
            (a >> 32, 8),
            ((a >> 16) & 0xffff, 4),
            (0x4000 | (a & 0xfff), 4),
            (0x8000 | (b >> 48) & 0x3fff, 4),
            (b & 0xffff_ffff_ffff, 12),
        ];
        let mut id = [b'-'; 36];
        let mut at = 0;
        for (value, digits) in fields {
            for shift in (0..digits).rev() {
                id[at] = HEX[((value >> (shift * 4)) & 0xf) as usize];
                at += 1;
            }
            // Past the separator.
            at += 1;
        }
        RequestId(id)
    }
}

/// A request id: 36 characters of UUID, kept on the stack.
#[derive(Clone, Copy)]
pub(crate) struct RequestId([u8; 36]);

impl RequestId {
    pub(crate) fn as_str(&self) -> &str {
        // Hex digits and dashes only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable 64-bit fingerprint of a string (key ids and the like; not for security).
pub(crate) fn fingerprint(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| splitmix(h ^ u64::from(b)))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_header_never_panics_whatever_the_clock() {
        use std::time::{Duration, UNIX_EPOCH};
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(http_date(before), "Thu, 01 Jan 1970 00:00:00 GMT");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(http_date(far), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_unique() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        let (a, b) = (a.as_str(), b.as_str());
        assert_ne!(a, b);
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{a}");
        for id in [a, b] {
            assert!(
                id.chars()
                    .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            assert_eq!(id.as_bytes()[14], b'4', "version 4: {id}");
            assert!(
                b"89ab".contains(&id.as_bytes()[19]),
                "RFC 4122 variant: {id}"
            );
        }
    }
}
