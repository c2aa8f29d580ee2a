//! The request pipeline, in order: **parse → authenticate → authorize → handle → encode**.
//!
//! Every AWS API request goes through [`handle`]; each stage is one function below, takes
//! typed input and fails with an [`AwsError`] that `encode` puts into the service's error
//! shape. Nothing here takes a lock: the store is read through an `ArcSwap` snapshot.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::api::{ActionSpec, Audit, Authorization, Call};
use crate::auth::keys::{authenticate, sigv4_error};
use crate::auth::sigv4::{self, Signature, SignedRequest};
use crate::control::ControlToken;
use crate::delegates::Delegates;
use crate::error::AwsError;
use crate::faults::{self, FaultEffect};
use crate::log::{Decider, Decision, Record};
use crate::routing;
use crate::service::{Endpoint, Service};
use crate::state::State;
use crate::transport::{Delivered, Dropped, deliver, read_body, whole};
use crate::wire::query::Params;
use crate::wire::{self, Body};
use crate::{control, delegates, wire::xml::Node};

/// What the requests to one server's port are served with.
#[derive(Debug)]
pub(crate) struct Site {
    pub(crate) state: Arc<State>,
    pub(crate) delegates: Arc<Delegates>,
    /// What every control call but the health check must present, when set.
    pub(crate) control_token: Option<ControlToken>,
}

/// Serves one HTTP request: the control API under `/_mock/`, the ECS endpoints under
/// `/_delegate/`, AWS APIs everywhere else.
pub(crate) async fn handle(
    site: Arc<Site>,
    req: Request<Incoming>,
    body_timeout: Duration,
    peer: IpAddr,
) -> Result<Response<Delivered>, Dropped> {
    let state = &site.state;
    let request_id = state.request_ids.next();
    let (parts, body) = req.into_parts();
    let body = match read_body(body, body_timeout).await {
        Ok(b) => b,
        Err(e) => {
            let service = sniff_service(&parts, b"");
            let now = state.clock.now();
            return Ok(whole(wire::error(service, &e, request_id.as_str(), now)));
        }
    };
    if parts.uri.path().starts_with(control::PREFIX) {
        return Ok(whole(control::handle(
            state,
            &site.delegates,
            site.control_token.as_ref(),
            &parts,
            &body,
        )));
    }
    if parts.uri.path().starts_with(delegates::PREFIX) {
        let (response, fault) = delegates::handle(state, &parts);
        return deliver(response, fault).await;
    }
    let now = state.clock.now();
    let (response, record, fault) = answer(state, &parts, &body, now, peer, request_id.as_str());
    state.requests.push(record);
    deliver(response, fault).await
}

/// Answers one AWS API request (everything but delivery): the response, its log record and
/// the fault that struck, if one did.
pub(crate) fn answer(
    state: &State,
    parts: &Parts,
    body: &[u8],
    now: SystemTime,
    peer: IpAddr,
    request_id: &str,
) -> (Response<Body>, Record, Option<FaultEffect>) {
    let mut trace = Trace::default();
    let (response, error_code) =
        match process(state, parts, body, now, Client { ip: peer }, &mut trace) {
            Ok((service, action, result)) => (
                wire::success(service, action, &result, request_id, now),
                None,
            ),
            Err((service, err)) => {
                tracing::debug!(code = %err.code, status = %err.status, "request refused");
                let service = service.unwrap_or_else(|| sniff_service(parts, body));
                (wire::error(service, &err, request_id, now), Some(err.code))
            }
        };
    let fault = trace.fault;
    let record = trace.entry(now, response.status().as_u16(), error_code);
    (response, record, fault)
}

/// What the stages learned of a request, for the request log.
#[derive(Debug, Default)]
struct Trace {
    service: Option<Service>,
    action: Cow<'static, str>,
    region: String,
    principal: Arc<str>,
    iam_action: &'static str,
    resource: String,
    denied: bool,
    decider: Option<Decider>,
    /// The fault rule that struck, if one did.
    fault: Option<FaultEffect>,
    also_allowed: Vec<(&'static str, String)>,
}

impl Trace {
    fn entry(self, now: SystemTime, status: u16, error_code: Option<Cow<'static, str>>) -> Record {
        let decision = match (&error_code, self.denied) {
            (_, true) => Decision::Denied,
            (None, false) => Decision::Allowed,
            (Some(_), false) => Decision::Error,
        };
        Record {
            time: now,
            service: self.service.map(Endpoint::Aws),
            action: self.action,
            iam_action: self.iam_action,
            resource: self.resource,
            region: self.region,
            principal: self.principal,
            decision,
            decider: self.decider,
            error_code,
            status,
            also_allowed: self.also_allowed,
        }
    }
}

type Outcome = Result<(Service, &'static str, Vec<Node>), (Option<Service>, AwsError)>;

/// Where a request came from.
#[derive(Debug, Clone, Copy)]
struct Client {
    ip: IpAddr,
}

/// parse → authenticate → authorize → handle.
fn process(
    state: &State,
    parts: &Parts,
    body: &[u8],
    now: SystemTime,
    client: Client,
    trace: &mut Trace,
) -> Outcome {
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body,
    };
    let (params, signature) = parse(parts, &signed).map_err(|e| (None, e))?;
    let outcome = stages(
        state,
        &signed,
        &params,
        signature.as_ref(),
        now,
        client,
        trace,
    );
    if trace.action.is_empty() {
        // Not an action of the table: the log shows what was asked.
        trace.action = Cow::Owned(params.get("Action").unwrap_or_default().to_owned());
    }
    outcome
}

/// The stages after parsing; `trace.action` is set once the action is known.
fn stages(
    state: &State,
    signed: &SignedRequest<'_>,
    params: &Params,
    signature: Option<&Signature<'_>>,
    now: SystemTime,
    client: Client,
    trace: &mut Trace,
) -> Outcome {
    let service = route(params, signature).map_err(|e| (None, e))?;
    trace.service = Some(service);
    trace.region = signature
        .map(|s| s.scope.region().to_owned())
        .unwrap_or_default();
    let fail = |e| (Some(service), e);
    let store = state.iam.store();
    let caller = match signature {
        Some(sig) => {
            authenticate(&store, &state.sessions, signed, sig, service, now).map_err(fail)?
        }
        None => {
            // Unsigned: only the action's validity can be told before the missing signature.
            let spec = action_spec(service, params).map_err(fail)?;
            if !matches!(spec.authorization, Authorization::Unsigned) {
                return Err(fail(AwsError::missing_authentication_token(service)));
            }
            Arc::clone(&state.anonymous)
        }
    };
    let spec = action_spec(service, params).map_err(fail)?;
    trace.action = Cow::Borrowed(spec.name);
    let call = Call {
        service,
        params,
        caller: &caller,
        store: &store,
        iam: &state.iam,
        ec2: &state.ec2,
        sessions: &state.sessions,
        issuers: &state.issuers,
        temporary_credentials: signature.is_some_and(|s| s.access_key_id.starts_with("ASIA")),
        region: signature.map_or("", |s| s.scope.region()),
        source_ip: client.ip,
        now,
        audit: Audit::default(),
    };
    trace.principal = Arc::clone(&caller.arn);
    trace.iam_action = spec.iam_action;
    let target = faults::Target {
        service: service.signing_name(),
        action: spec.name,
        principal: &caller.arn,
        region: call.region,
    };
    if let Some(effect) = state.faults.strike(&target) {
        trace.fault = Some(effect);
        if let Some(err) = effect.error(service) {
            return Err(fail(err));
        }
    }
    let result = authorize(&call, spec).and_then(|()| (spec.handler)(&call));
    let (action, resource, denied, decider, also_allowed) = call.audit.take();
    trace.also_allowed = also_allowed;
    if !resource.is_empty() {
        trace.resource = resource;
        trace.denied = denied;
        trace.decider = decider;
    }
    if let Some(action) = action {
        trace.iam_action = action;
    }
    let result = result.map_err(fail)?;
    Ok((service, spec.name, result))
}

/// Parameters (query string + form body) and the SigV4 signature, if any.
fn parse<'a>(
    parts: &Parts,
    signed: &SignedRequest<'a>,
) -> Result<(Params, Option<Signature<'a>>), AwsError> {
    if parts.method != Method::GET && parts.method != Method::POST {
        return Err(AwsError::unsupported_method(parts.method.as_str()));
    }
    let form = is_form(parts).then_some(signed.body);
    let params = Params::parse(parts.uri.query(), form)?;
    // Before routing, a malformed signature is worded for the service the request most
    // likely addresses.
    let signature =
        sigv4::parse(signed).map_err(|e| sigv4_error(sniff_service(parts, signed.body), e))?;
    Ok((params, signature))
}

fn is_form(parts: &Parts) -> bool {
    parts.method == Method::POST
        && parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            })
}

/// The service a request most likely addresses, read leniently before anything is
/// validated, so that even a malformed request is refused in that service's words and
/// error shape: the credential scope's service, else the `Version` parameter, else STS.
/// Only called on the error path.
fn sniff_service(parts: &Parts, body: &[u8]) -> Service {
    let scope_service = |credential: &str| {
        credential
            .split(',')
            .next()
            .and_then(|c| c.split('/').nth(3))
            .and_then(Service::from_signing_name)
    };
    let query = parts.uri.query().unwrap_or_default().as_bytes();
    let header = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split("Credential=").nth(1))
        .and_then(scope_service);
    header
        .or_else(|| {
            form_urlencoded::parse(query)
                .find(|(k, _)| k == "X-Amz-Credential")
                .and_then(|(_, v)| scope_service(&v))
        })
        .or_else(|| {
            form_urlencoded::parse(query)
                .chain(form_urlencoded::parse(body))
                .find(|(k, _)| k == "Version")
                .and_then(|(_, v)| Service::from_api_version(&v))
        })
        .unwrap_or(Service::Sts)
}

/// Which service the request is for: the signature's scope when signed (the Host header is
/// never trusted: clients use endpoint overrides), else the `Version` parameter.
fn route(params: &Params, signature: Option<&Signature<'_>>) -> Result<Service, AwsError> {
    let by_version = params.get("Version").and_then(Service::from_api_version);
    match signature {
        Some(sig) => {
            Service::from_signing_name(sig.scope.service()).ok_or_else(|| match by_version {
                Some(service) => AwsError::signature_problem(
                    service,
                    format!("Credential should be scoped to correct service: '{service}'. "),
                ),
                None => AwsError::unknown_service(sig.scope.service()),
            })
        }
        None => Ok(by_version.unwrap_or(Service::Sts)),
    }
}

/// The action named by `Action`, after checking `Version`.
fn action_spec(service: Service, params: &Params) -> Result<&'static ActionSpec, AwsError> {
    let action = params.get("Action").ok_or_else(AwsError::missing_action)?;
    let version = params.get("Version");
    if version != Some(service.api_version()) {
        return Err(AwsError::invalid_action(service, action, version));
    }
    routing::lookup(service, action)
        .ok_or_else(|| AwsError::invalid_action(service, action, version))
}

/// Identity-based authorization of actions whose resource the table names (handlers that
/// authorize by themselves do it in the handler).
fn authorize(call: &Call<'_>, spec: &ActionSpec) -> Result<(), AwsError> {
    match spec.authorization {
        Authorization::Policy(resource_of) => {
            call.authorize(spec.iam_action, &resource_of(call), |_| {})
        }
        Authorization::Always | Authorization::Unsigned | Authorization::Handler => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_requests_route_by_version() {
        let p = Params::parse(Some("Action=DescribeRegions&Version=2016-11-15"), None)
            .expect("test input parses");
        assert_eq!(route(&p, None), Ok(Service::Ec2));
        let p = Params::parse(Some("Action=GetCallerIdentity"), None).expect("test input parses");
        assert_eq!(route(&p, None), Ok(Service::Sts));
    }

    #[test]
    fn version_mismatch_is_invalid_action() {
        let p = Params::parse(Some("Action=GetCallerIdentity&Version=2010-05-08"), None)
            .expect("test input parses");
        let err = action_spec(Service::Sts, &p).err();
        assert_eq!(
            err.map(|e| e.message),
            Some("Could not find operation GetCallerIdentity for version 2010-05-08".into())
        );
    }
}
