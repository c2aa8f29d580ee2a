"""botocore's own default credential chain, in a subprocess with exactly a delegate's
environment (from `GET /_mock/delegates`), against `trustbench serve --world
tests/worlds/delegates.yaml`: instance metadata, container credentials and IRSA."""

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import REPO, clean_env, serve

WORLD = REPO / "tests" / "worlds" / "delegates.yaml"

# What a process on a delegate runs: botocore's default chain, then GetCallerIdentity.
WHOAMI = """
import json, sys
import boto3
from botocore.exceptions import BotoCoreError, ClientError
try:
    s = boto3.session.Session()
    arn = s.client("sts").get_caller_identity()["Arn"]
    print(json.dumps({"arn": arn, "region": s.region_name}))
except ClientError as e:
    print(json.dumps({"error": e.response["Error"]["Code"]}))
except BotoCoreError as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
"""


@pytest.fixture(scope="module")
def delegates():
    """`trustbench serve` with the delegates world; yields {name: env}."""
    for url in serve("--world", str(WORLD)):
        with urllib.request.urlopen(f"{url}/_mock/delegates") as r:
            listed = json.load(r)["delegates"]
        yield {d["name"]: d["env"] for d in listed}


def on(env: dict, **extra: str) -> dict:
    """Runs WHOAMI with the delegate's environment (and nothing of ours)."""
    full = clean_env(**env, **extra)
    if "AWS_EC2_METADATA_SERVICE_ENDPOINT" in env:
        del full["AWS_EC2_METADATA_DISABLED"]
    out = subprocess.run(
        [sys.executable, "-c", WHOAMI], env=full, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_instance_gets_its_profile_role_from_imds(delegates):
    # Unlike aws-config, botocore does not ask instance metadata for the region.
    assert on(delegates["box"]).get("error") == "NoRegionError"
    got = on(delegates["box"], AWS_DEFAULT_REGION="eu-west-1")
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got


def imds_get(env: dict, path: str) -> int:
    """The status of a tokenless (IMDSv1) GET."""
    url = env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] + "/" + path
    try:
        with urllib.request.urlopen(url) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_imdsv1_works_only_where_the_instance_allows_it(delegates):
    assert imds_get(delegates["box"], "latest/meta-data/instance-id") == 401
    assert imds_get(delegates["v1box"], "latest/meta-data/instance-id") == 200
    got = on(delegates["v1box"], AWS_DEFAULT_REGION="us-east-1")
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got


def test_instances_without_credentials(delegates):
    for name in ["bare", "wrong-trust"]:
        got = on(delegates[name], AWS_DEFAULT_REGION="us-east-1")
        assert got.get("error") == "NoCredentialsError", (name, got)


def test_a_task_gets_its_role_from_the_container_endpoint(delegates):
    for name in ["task", "task-file"]:
        got = on(delegates[name])
        assert got.get("arn", "").startswith(
            "arn:aws:sts::111111111111:assumed-role/task-role/"
        ), (name, got)
    wrong = dict(delegates["task"], AWS_CONTAINER_AUTHORIZATION_TOKEN="stolen")
    assert on(wrong).get("error") == "CredentialRetrievalError"


def test_a_pod_exchanges_its_token_for_the_annotated_role(delegates):
    got = on(delegates["pod"])
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/irsa-role/"
    ), got
    assert on(delegates["wrong-sa"]).get("error") == "AccessDenied"
    assert on(delegates["unannotated"]).get("error") == "NoCredentialsError"


def test_a_pod_beyond_the_node_hop_limit_falls_back_to_imdsv1(delegates):
    # The token request from the pod times out (botocore's 1 s); botocore then asks without
    # a token, which the node allows (http_tokens: optional): the node's role. aws-config,
    # which never falls back, has no credentials there (tests/e2e/delegates.rs).
    got = on(delegates["pod-on-v1box"])
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got
    # Within the hop limit the token flow works from the pod.
    got = on(delegates["pod-on-hop2-node"])
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got


def test_an_unreachable_sts_endpoint_is_a_connection_error(delegates):
    got = on(delegates["walled"], AWS_DEFAULT_REGION="us-east-1")
    assert got.get("error") == "EndpointConnectionError", got


def post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{url}{path}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as r:
        return json.load(r)


LATE_BOX = {
    "name": "late-box",
    "kind": "ec2",
    "account": "111111111111",
    "region": "eu-west-1",
    "role_arn": "arn:aws:iam::111111111111:role/delegate-role",
}


@pytest.fixture(scope="module")
def propagating():
    """`trustbench serve` with a 30 s propagation delay and an ec2 delegate declared through
    the control API after start; yields {name: env}."""
    for url in serve("--world", str(WORLD), "--propagation-delay", "30s"):
        post(url, "/_mock/delegates", LATE_BOX)
        with urllib.request.urlopen(f"{url}/_mock/delegates") as r:
            listed = json.load(r)["delegates"]
        yield {d["name"]: d["env"] for d in listed}


def test_instance_metadata_is_at_the_root_of_the_instances_own_port(delegates):
    for name in ["box", "v1box"]:
        endpoint = delegates[name]["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
        scheme, _, address = endpoint.partition("://")
        assert scheme == "http" and "/" not in address, endpoint
    assert (
        delegates["box"]["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
        != delegates["v1box"]["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
    )
    assert delegates["box6"]["AWS_EC2_METADATA_SERVICE_ENDPOINT"].startswith("http://[::1]:")
    got = on(delegates["box6"], AWS_DEFAULT_REGION="eu-west-1")
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got


def test_a_delegate_declared_on_a_propagating_server_serves_credentials_at_once(propagating):
    got = on(propagating["late-box"], AWS_DEFAULT_REGION="eu-west-1")
    assert got.get("arn", "").startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got


def js_connection_test(env: dict, region: str) -> dict:
    """The JavaScript adapter's connection test with the delegate's credentials (its SDK's
    default chain, `fromNodeProviderChain`), in exactly the delegate's environment."""
    request = {
        "protocol": "trustbench-connector/2",
        "scenario": "issue-17",
        "operation": "connection_test",
        "connector": {
            "credentials": "delegate_role",
            "cross_account": None,
            "test_region": region,
            "connectivity": {"type": "delegate", "selectors": [], "delegate": "box"},
        },
        "deployment_check": None,
    }
    full = clean_env(**env)
    if "AWS_EC2_METADATA_SERVICE_ENDPOINT" in env:
        del full["AWS_EC2_METADATA_DISABLED"]
    out = subprocess.run(
        ["node", str(REPO / "adapters" / "javascript" / "connector.mjs")],
        input=json.dumps(request),
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_javascript_default_chain_reads_instance_metadata_at_the_root(delegates):
    got = js_connection_test(delegates["box"], "eu-west-1")
    assert got["status"] == "success", got
    assert got["principal"].startswith(
        "arn:aws:sts::111111111111:assumed-role/delegate-role/i-"
    ), got


def test_the_javascript_default_chain_on_a_delegate_declared_while_propagating(propagating):
    got = js_connection_test(propagating["late-box"], "eu-west-1")
    assert got["status"] == "success", got
