//! The reference connector behind the connector protocol (`docs/conformance-protocol.md`):
//! one JSON request on stdin, one JSON result on stdout. `trustbench conform --connector
//! target/debug/trustbench-connector` proves the protocol with the same code `trustbench
//! run` plays in process.
//!
//! The process environment is the protocol's input (the delegate's variables); it is read
//! once and handed to the connector as data, never left for the SDK to find.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

use harness::conform::{Request, RequestConnectivity};
use harness::connector::{self, Failure, Place};
use harness::sdk::{self, ServerTime};
use mock_server::Clock;
use serde_json::{Value, json};

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("trustbench-connector: cannot read the request: {e}");
        return ExitCode::from(2);
    }
    let request: Request = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trustbench-connector: not a protocol request: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("trustbench-connector: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect();
    let result = runtime.block_on(operate(&request, env));
    println!("{result}");
    ExitCode::SUCCESS
}

async fn operate(request: &Request, env: BTreeMap<String, String>) -> Value {
    let config = request.connector_config();
    let on_delegate = matches!(
        &request.connector.connectivity,
        RequestConnectivity::Delegate {
            delegate: Some(_),
            ..
        }
    );
    let place = Place {
        endpoint: env.get("AWS_ENDPOINT_URL").cloned().unwrap_or_default(),
        delegate: on_delegate.then_some(env),
        time: ServerTime::new(&Clock::real()),
    };
    let connection = match connector::connection_test(&place, &config).await {
        Ok(c) => c,
        Err(f) => return failure(&f),
    };
    let mut result = json!({
        "status": "success",
        "regions": connection.regions,
        "principal": connection.principal,
    });
    if let Some(check) = &request.deployment_check {
        let account = connection.principal.split(':').nth(4).unwrap_or_default();
        let Some(auditor) = check.auditors.get(account) else {
            return json!({
                "status": "failure", "stage": "deployment_check", "code": null,
                "message": format!("no auditor credentials for account {account}"),
            });
        };
        let auditor = sdk::access_key(&auditor.access_key_id, &auditor.secret_access_key);
        match connection.check_deployment(&check.check, auditor).await {
            Ok(verdict) => {
                result["missing_actions"] = json!(verdict.missing);
                if let Some(trusted) = verdict.trusted {
                    result["trusted"] = json!(trusted);
                }
            }
            Err(f) => return failure(&f),
        }
    }
    result
}

fn failure(f: &Failure) -> Value {
    json!({"status": "failure", "stage": f.stage, "code": f.code, "message": f.message})
}
