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
