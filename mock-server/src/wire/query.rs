//! The AWS query protocol as STS and IAM speak it: request parameters in, `…Response` /
//! `ErrorResponse` XML out.
//!
//! Parameters come from the URL query string and, for POST, a form-encoded body. Decoding is
//! strict where AWS's clients never send anything else: invalid percent-encoding or UTF-8 and
//! duplicate names are refused instead of guessed at.

use std::borrow::Cow;

use crate::error::{AwsError, Fault};
use crate::redact;
use crate::wire::xml::{self, Node};

/// The decoded request parameters (`Action`, `Version`, and the action's own).
#[derive(Default, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    /// Every name and value, decoded, one after another (one allocation for them all).
    text: String,
    /// Where each pair lies in `text`, in the order received: the name is
    /// `text[start..middle]`, the value `text[middle..end]`.
    pairs: Vec<(usize, usize, usize)>,
}

// Hand-written: presigned URLs and web identity calls carry tokens in parameters.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| {
                let shown = if redact::is_secret(k) {
                    redact::REDACTED
                } else {
                    v
                };
                (k, shown)
            }))
            .finish()
    }
}

impl Params {
    /// Parses the URL query string and a form body, refusing duplicates across both.
    /// SigV4 presigning parameters (`X-Amz-…`) are kept: they are part of the query string.
    pub(crate) fn parse(query: Option<&str>, form: Option<&[u8]>) -> Result<Self, AwsError> {
        let count = |raw: &[u8]| raw.iter().filter(|b| **b == b'&').count() + 1;
        let mut pairs =
            Vec::with_capacity(query.map_or(0, |q| count(q.as_bytes())) + form.map_or(0, count));
        let mut text = Vec::with_capacity(query.map_or(0, str::len) + form.map_or(0, <[u8]>::len));
        if let Some(q) = query {
            decode_into(q.as_bytes(), &mut text, &mut pairs)?;
        }
        if let Some(body) = form {
            decode_into(body, &mut text, &mut pairs)?;
        }
        // Every piece was checked on its own, so the whole is UTF-8 too.
        let text = utf8(text)?;
        let params = Self { text, pairs };
        if let Some(name) = duplicate(&params) {
            return Err(AwsError::duplicate_parameter(name));
        }
        Ok(params)
    }

    /// Every parameter, in the order received.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|&(start, middle, end)| {
            (
                self.text.get(start..middle).unwrap_or_default(),
                self.text.get(middle..end).unwrap_or_default(),
            )
        })
    }

    /// The value of a parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The members `{prefix}.N{suffix}` of a list parameter, ordered by N. Keys whose N is
    /// not a positive integer are ignored, as AWS does.
    pub(crate) fn indexed(&self, prefix: &str, suffix: &str) -> Vec<(u32, &str)> {
        let mut out: Vec<(u32, &str)> = self
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                let n = rest.strip_suffix(suffix)?;
                let n: u32 = n.parse().ok().filter(|n| *n > 0)?;
                Some((n, v))
            })
            .collect();
        out.sort_unstable_by_key(|(n, _)| *n);
        out
    }

    /// The values of the list parameter `{prefix}.N`, ordered by N.
    pub(crate) fn list(&self, prefix: &str) -> Vec<&str> {
        self.indexed(prefix, "")
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }
}

/// The (alphabetically) first name given twice: compared pairwise for the few parameters of most requests
/// (no allocation), through a sorted copy for many.
fn duplicate(params: &Params) -> Option<&str> {
    if params.pairs.len() <= 16 {
        return (params.iter().enumerate())
            .filter(|(i, (k, _))| params.iter().take(*i).any(|(seen, _)| seen == *k))
            .map(|(_, (k, _))| k)
            .min();
    }
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k).collect();
    names.sort_unstable();
    names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// Decodes the pairs of `input` onto the end of `text`, noting where each lies in `pairs`.
fn decode_into(
    input: &[u8],
    text: &mut Vec<u8>,
    pairs: &mut Vec<(usize, usize, usize)>,
) -> Result<(), AwsError> {
    for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let start = text.len();
        decode_onto(k, text)?;
        let middle = text.len();
        decode_onto(v, text)?;
        pairs.push((start, middle, text.len()));
    }
    Ok(())
}

/// Form decoding onto the end of `out`: `+` is a space, `%XX` a byte; the result must be
/// UTF-8. The runs between them are copied whole.
fn decode_onto(raw: &[u8], out: &mut Vec<u8>) -> Result<(), AwsError> {
    let start = out.len();
    let mut rest = raw;
    // Names and values are short: a plain scan beats a vectorised search's setup.
    while let Some(at) = rest.iter().position(|b| matches!(b, b'+' | b'%')) {
        out.extend_from_slice(&rest[..at]);
        if rest[at] == b'+' {
            out.push(b' ');
            rest = &rest[at + 1..];
            continue;
        }
        let hex = match rest.get(at + 1..at + 3) {
            Some(&[high, low]) => nibble(high).zip(nibble(low)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        let Some(b) = hex else {
            let bad = &rest[at..rest.len().min(at + 3)];
            let bad = String::from_utf8_lossy(bad).into_owned();
            return Err(AwsError::malformed_query_string(if bad.len() < 3 {
                "Incomplete trailing escape % sequence".to_owned()
            } else {
                format!("Illegal hex character in escape % pattern: {bad}")
            }));
        };
        out.push(b);
        rest = &rest[at + 3..];
    }
    out.extend_from_slice(rest);
    let piece = &out[start..];
    if !piece.is_ascii() {
        std::str::from_utf8(piece).map_err(|_| not_utf8())?;
    }
    Ok(())
}

/// The value of a hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn not_utf8() -> AwsError {
    AwsError::malformed_query_string("The query string or body is not valid UTF-8")
}

fn utf8(bytes: Vec<u8>) -> Result<String, AwsError> {
    String::from_utf8(bytes).map_err(|_| not_utf8())
}

/// `<{Action}Response xmlns=…><{Action}Result>…</…><ResponseMetadata>…`
pub(crate) fn success(namespace: &str, action: &str, result: &[Node], request_id: &str) -> String {
    let mut out = String::with_capacity(384 + 4 * action.len() + xml::size(result));
    out.push_str(xml::DECLARATION);
    xml::open_suffixed(&mut out, action, "Response", Some(namespace));
    // Actions without output (IAM DeleteUser, …) have no Result element at all.
    if !result.is_empty() {
        xml::open_suffixed(&mut out, action, "Result", None);
        xml::render(&mut out, result, "member");
        xml::close_suffixed(&mut out, action, "Result");
    }
    xml::open(&mut out, "ResponseMetadata", None);
    xml::leaf(&mut out, "RequestId", request_id);
    xml::close(&mut out, "ResponseMetadata");
    xml::close_suffixed(&mut out, action, "Response");
    out
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986 unreserved characters kept).
pub(crate) fn url_encode_document(document: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = String::with_capacity(document.len() * 2);
    out.extend(percent_encoding::utf8_percent_encode(document, UNRESERVED));
    out
}

/// The namespace of errors raised by AWS's request framework before the service sees the
/// request (`InvalidAction`), as captured from STS.
const FRAMEWORK_NAMESPACE: &str = "http://webservices.amazon.com/AWSFault/2005-15-09";

/// `<ErrorResponse xmlns=…><Error><Type>…</Type><Code>…</Code><Message>…</Message></Error><RequestId>…`
pub(crate) fn error(namespace: &str, err: &AwsError, request_id: &str) -> String {
    let mut out = String::with_capacity(384);
    out.push_str(xml::DECLARATION);
    let namespace = if err.framework {
        FRAMEWORK_NAMESPACE
    } else {
        namespace
    };
    xml::open(&mut out, "ErrorResponse", Some(namespace));
    xml::open(&mut out, "Error", None);
    let kind: Cow<'_, str> = match err.fault {
        Fault::Sender => "Sender".into(),
        Fault::Receiver => "Receiver".into(),
    };
    xml::leaf(&mut out, "Type", &kind);
    xml::leaf(&mut out, "Code", &err.code);
    xml::leaf(&mut out, "Message", &err.message);
    xml::close(&mut out, "Error");
    xml::leaf(&mut out, "RequestId", request_id);
    xml::close(&mut out, "ErrorResponse");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_and_form_parameters_are_merged() {
        let p = Params::parse(
            Some("Action=GetCallerIdentity"),
            Some(b"Version=2011-06-15&A+b=c%2Fd"),
        );
        let p = p.expect("test input parses");
        assert_eq!(p.get("Action"), Some("GetCallerIdentity"));
        assert_eq!(p.get("Version"), Some("2011-06-15"));
        assert_eq!(p.get("A b"), Some("c/d"));
    }

    #[test]
    fn duplicate_parameters_are_refused() {
        let err = Params::parse(Some("Action=A"), Some(b"Action=B")).err();
        assert_eq!(err.map(|e| e.code), Some("InvalidQueryParameter".into()));
    }

    #[test]
    fn bad_percent_encoding_and_utf8_are_refused() {
        for bad in [&b"A=%zz"[..], b"A=%4", b"A=%ff%fe", b"A=%+1", b"A=%-1"] {
            let err = Params::parse(None, Some(bad)).err();
            assert_eq!(
                err.map(|e| e.code),
                Some("MalformedQueryString".into()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn list_members_come_in_index_order() {
        let p = Params::parse(Some("R.2=b&R.1=a&R.10=c&R.x=no&R.0=no"), None)
            .expect("test input parses");
        assert_eq!(p.list("R"), vec!["a", "b", "c"]);
    }

    #[test]
    fn a_character_split_between_name_and_value_is_refused() {
        // "€" is E2 82 AC: each piece alone is not UTF-8, though the two together are.
        let err = Params::parse(None, Some(b"A%E2=%82%AC")).err();
        assert_eq!(err.map(|e| e.code), Some("MalformedQueryString".into()));
    }

    proptest! {
        #[test]
        fn pairs_from_query_and_form_come_back_in_order(
            pairs in proptest::collection::btree_map("[A-Za-z.0-9]{1,12}", ".{0,20}", 0..24),
            split in 0usize..24,
        ) {
            let pairs: Vec<(String, String)> = pairs.into_iter().collect();
            let encode = |part: &[(String, String)]| {
                form_urlencoded::Serializer::new(String::new()).extend_pairs(part).finish()
            };
            let (query, form) = pairs.split_at(split.min(pairs.len()));
            let (query, form) = (encode(query), encode(form));
            let p = Params::parse(Some(&query), Some(form.as_bytes())).expect("test input parses");
            let got: Vec<(&str, &str)> = p.iter().collect();
            let want: Vec<(&str, &str)> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn what_parses_reads_as_the_url_standard_decodes_it(
            input in proptest::collection::vec(
                proptest::sample::select(b"aZ09=&+%-._~ \xc3\xa9\xe2\x82\xac".to_vec()), 0..64),
        ) {
            if let Ok(p) = Params::parse(None, Some(&input)) {
                let ours: Vec<(&str, &str)> = p.iter().collect();
                let standard: Vec<(String, String)> = form_urlencoded::parse(&input)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let standard: Vec<(&str, &str)> =
                    standard.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                prop_assert_eq!(ours, standard);
            }
        }

        #[test]
        fn any_bytes_parse_or_fail_cleanly(input in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Params::parse(None, Some(&input));
        }

        #[test]
        fn encoded_values_round_trip(key in "[A-Za-z.0-9]{1,20}", value in ".{0,40}") {
            let enc: String = form_urlencoded::Serializer::new(String::new()).append_pair(&key, &value).finish();
            let p = Params::parse(None, Some(enc.as_bytes())).expect("test input parses");
            prop_assert_eq!(p.get(&key), Some(value.as_str()));
        }
    }
}
