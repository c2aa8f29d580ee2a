"""boto3/botocore and the aws CLI, independent of the Rust SDK, against `trustbench serve`."""

import json
import subprocess
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import GOV, STD, aws_cli, clean_env, serve


def client(service, endpoint, who, region):
    return boto3.session.Session(
        aws_access_key_id=who["key"],
        aws_secret_access_key=who["secret"],
        region_name=region,
    ).client(service, endpoint_url=endpoint)


@pytest.mark.parametrize("who,region", [(STD, "us-east-1"), (GOV, "us-gov-west-1")])
def test_boto3_get_caller_identity(endpoint, who, region):
    out = client("sts", endpoint, who, region).get_caller_identity()
    assert out["Arn"] == who["arn"]
    assert out["Account"] == who["account"]
    assert out["UserId"].startswith("AIDA")
    assert len(out["ResponseMetadata"]["RequestId"]) == 36


def test_boto3_describe_regions_in_both_partitions(endpoint):
    std = client("ec2", endpoint, STD, "us-east-1").describe_regions()["Regions"]
    names = {r["RegionName"] for r in std}
    assert "us-east-1" in names and not any(n.startswith("us-gov-") for n in names)
    assert all(r["Endpoint"] == f"ec2.{r['RegionName']}.amazonaws.com" for r in std)
    gov = client("ec2", endpoint, GOV, "us-gov-west-1").describe_regions()["Regions"]
    assert sorted(r["RegionName"] for r in gov) == ["us-gov-east-1", "us-gov-west-1"]


def test_boto3_parses_each_services_error_shape(endpoint):
    with pytest.raises(ClientError) as sts_err:
        client("sts", endpoint, GOV, "us-east-1").get_caller_identity()
    assert sts_err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert sts_err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    wrong = dict(STD, secret="wrong")
    with pytest.raises(ClientError) as ec2_err:
        client("ec2", endpoint, wrong, "us-east-1").describe_regions()
    assert ec2_err.value.response["Error"]["Code"] == "AuthFailure"
    assert ec2_err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert len(ec2_err.value.response["ResponseMetadata"]["RequestId"]) == 36


def run_cli(endpoint, who, region, *args):
    env = clean_env(
        AWS_ACCESS_KEY_ID=who["key"],
        AWS_SECRET_ACCESS_KEY=who["secret"],
        AWS_DEFAULT_REGION=region,
        AWS_ENDPOINT_URL=endpoint,
    )
    return subprocess.run(
        [aws_cli(), *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("who,region", [(STD, "us-east-1"), (GOV, "us-gov-east-1")])
def test_aws_cli_sts_get_caller_identity(endpoint, who, region):
    done = run_cli(endpoint, who, region, "sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == who["arn"]


def test_aws_cli_ec2_describe_regions(endpoint):
    done = run_cli(endpoint, GOV, "us-gov-west-1", "ec2", "describe-regions")
    assert done.returncode == 0, done.stderr
    regions = json.loads(done.stdout)["Regions"]
    assert sorted(r["RegionName"] for r in regions) == ["us-gov-east-1", "us-gov-west-1"]


def test_aws_cli_reports_the_error_code(endpoint):
    done = run_cli(endpoint, STD, "us-gov-west-1", "ec2", "describe-regions")
    assert done.returncode != 0
    assert "AuthFailure" in done.stderr


def test_aws_cli_ec2_launch_page_and_dry_run(endpoint):
    """The CLI's own paginator and DryRun handling against EC2 (in us-west-1, which no
    other test uses)."""
    images = run_cli(
        endpoint, STD, "us-west-1", "ec2", "describe-images", "--owners", "amazon",
        "--filters", "Name=architecture,Values=x86_64",
    )
    assert images.returncode == 0, images.stderr
    [image] = json.loads(images.stdout)["Images"]
    dry = run_cli(
        endpoint, STD, "us-west-1", "ec2", "run-instances", "--image-id", image["ImageId"],
        "--count", "1", "--dry-run",
    )
    assert dry.returncode != 0
    assert "DryRunOperation" in dry.stderr
    assert "Request would have succeeded, but DryRun flag is set." in dry.stderr
    launched = run_cli(
        endpoint, STD, "us-west-1", "ec2", "run-instances", "--image-id", image["ImageId"],
        "--count", "7", "--instance-type", "t3.micro",
    )
    assert launched.returncode == 0, launched.stderr
    ids = {i["InstanceId"] for i in json.loads(launched.stdout)["Instances"]}
    assert len(ids) == 7
    # --page-size 5: the CLI follows NextToken and merges the pages.
    listed = run_cli(
        endpoint, STD, "us-west-1", "ec2", "describe-instances", "--page-size", "5",
    )
    assert listed.returncode == 0, listed.stderr
    seen = [
        i["InstanceId"]
        for r in json.loads(listed.stdout)["Reservations"]
        for i in r["Instances"]
    ]
    assert sorted(seen) == sorted(ids)


def control(endpoint, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{endpoint}{path}", data=data, method=method)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def test_aws_cli_succeeds_after_a_moved_real_time_clock_is_reset():
    """Issue 17: a reset gives back a fresh server, clock included, so a process signing
    with the machine's clock (the aws CLI) is inside the SigV4 window again."""
    for url in serve():
        control(url, "POST", "/_mock/clock", {"advance_seconds": 3600})
        skewed = run_cli(url, STD, "us-east-1", "sts", "get-caller-identity")
        assert skewed.returncode != 0
        assert "SignatureDoesNotMatch" in skewed.stderr, skewed.stderr
        control(url, "POST", "/_mock/reset")
        done = run_cli(url, STD, "us-east-1", "sts", "get-caller-identity")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["Arn"] == STD["arn"]
