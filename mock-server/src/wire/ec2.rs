//! The EC2 dialect of the query protocol: lower-camel result elements directly under
//! `…Response`, `requestId` first, `item` list members, and the `Response/Errors/Error` error
//! envelope with `RequestID` (capital D).

use crate::error::AwsError;
use crate::wire::xml::{self, Node};

/// `<{Action}Response xmlns=…><requestId>…</requestId>…</…>`
pub(crate) fn success(namespace: &str, action: &str, result: &[Node], request_id: &str) -> String {
    let mut out = String::with_capacity(256 + 2 * action.len() + xml::size(result));
    out.push_str(xml::DECLARATION);
    xml::open_suffixed(&mut out, action, "Response", Some(namespace));
    xml::leaf(&mut out, "requestId", request_id);
    xml::render(&mut out, result, "item");
    xml::close_suffixed(&mut out, action, "Response");
    out
}

/// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…`
pub(crate) fn error(err: &AwsError, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(xml::DECLARATION);
    xml::open(&mut out, "Response", None);
    xml::open(&mut out, "Errors", None);
    xml::open(&mut out, "Error", None);
    xml::leaf(&mut out, "Code", &err.code);
    xml::leaf(&mut out, "Message", &err.message);
    xml::close(&mut out, "Error");
    xml::close(&mut out, "Errors");
    xml::leaf(&mut out, "RequestID", request_id);
    xml::close(&mut out, "Response");
    out
}
