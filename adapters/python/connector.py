#!/usr/bin/env python3
"""An AWS connector on boto3/botocore's own credential chain, speaking the trustbench
connector protocol (docs/conformance-protocol.md): one JSON request on stdin, one JSON
result on stdout.

Static keys go to the session; the delegate's role and IRSA use botocore's default chain
over the environment the runner gives (instance metadata, container credentials, web
identity); cross-account access is a generated config profile (role_arn, external_id,
and source_profile or credential_source), as a user would write it.
"""

import fnmatch
import json
import os
import sys
import tempfile

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def fail(stage, code, message):
    return {"status": "failure", "stage": stage, "code": code, "message": message}


def client_code(error):
    return error.response.get("Error", {}).get("Code")


def partition_of_region(region):
    """The partition of a region name (the protocol's regions are aws, aws-us-gov, aws-cn)."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def partition_mismatch(connector):
    """A failure when the cross-account Role ARN is in another partition than the test
    region: GovCloud and standard AWS do not reach each other."""
    cross = connector.get("cross_account")
    parts = cross["role_arn"].split(":") if cross else []
    if len(parts) < 2 or parts[0] != "arn" or parts[1] not in ("aws", "aws-us-gov", "aws-cn"):
        return None
    region = connector["test_region"]
    if parts[1] != partition_of_region(region):
        return fail(
            "configuration",
            None,
            f"the Role ARN is in partition {parts[1]}, the test region {region} is not",
        )
    return None


def credential_kind(credentials):
    """`access_key`, `delegate_role` or `irsa` (`{"access_key": {...}}` or a plain word)."""
    return credentials if isinstance(credentials, str) else next(iter(credentials))


def source_lines(credentials):
    """How the generated target profile gets its source credentials: a source profile's
    lines, or a `credential_source` for the delegate's own chain."""
    if credential_kind(credentials) == "access_key":
        key = credentials["access_key"]
        return [
            "source_profile = source",
            "[profile source]",
            f"aws_access_key_id = {key['access_key_id']}",
            f"aws_secret_access_key = {key['secret_access_key']}",
        ]
    if "AWS_WEB_IDENTITY_TOKEN_FILE" in os.environ and "AWS_ROLE_ARN" in os.environ:
        return [
            "source_profile = source",
            "[profile source]",
            f"role_arn = {os.environ['AWS_ROLE_ARN']}",
            f"web_identity_token_file = {os.environ['AWS_WEB_IDENTITY_TOKEN_FILE']}",
        ]
    if "AWS_CONTAINER_CREDENTIALS_FULL_URI" in os.environ:
        return ["credential_source = EcsContainer"]
    return ["credential_source = Ec2InstanceMetadata"]


def session_for(request, workdir):
    """The boto3 session of the connector's final credentials, and whether it assumes a
    role (so a failure resolving it is the assume_role stage)."""
    connector = request["connector"]
    credentials = connector["credentials"]
    region = connector["test_region"]
    cross = connector.get("cross_account")
    if not cross:
        if credential_kind(credentials) == "access_key":
            key = credentials["access_key"]
            return boto3.session.Session(
                aws_access_key_id=key["access_key_id"],
                aws_secret_access_key=key["secret_access_key"],
                region_name=region,
            )
        return boto3.session.Session(region_name=region)
    lines = ["[profile target]", f"role_arn = {cross['role_arn']}", "role_session_name = trustbench-connector"]
    if cross.get("external_id"):
        lines.append(f"external_id = {cross['external_id']}")
    if cross.get("session_duration_seconds"):
        lines.append(f"duration_seconds = {cross['session_duration_seconds']}")
    lines += source_lines(credentials)
    path = os.path.join(workdir, "config")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.environ["AWS_CONFIG_FILE"] = path
    return boto3.session.Session(profile_name="target", region_name=region)


def connection_test(request, workdir):
    connector = request["connector"]
    kind = credential_kind(connector["credentials"])
    connectivity = connector["connectivity"]
    if kind in ("delegate_role", "irsa"):
        if connectivity["type"] != "delegate":
            return fail("configuration", None, f"{kind} needs a delegate"), None
        if connectivity.get("delegate") is None:
            return fail("configuration", None, "no delegate matches the selectors"), None
    elif connectivity["type"] == "delegate" and connectivity.get("delegate") is None:
        return fail("configuration", None, "no delegate matches the selectors"), None
    mismatch = partition_mismatch(connector)
    if mismatch:
        return mismatch, None
    if kind == "irsa" and not (
        "AWS_ROLE_ARN" in os.environ and "AWS_WEB_IDENTITY_TOKEN_FILE" in os.environ
    ):
        return fail("credentials", None, "no web identity on this delegate"), None
    cross = connector.get("cross_account")
    # Resolve the source credentials first, so their failures are the credentials stage.
    if kind != "access_key":
        try:
            source = boto3.session.Session(region_name=connector["test_region"]).get_credentials()
            if source is None:
                return fail("credentials", None, "no credentials found"), None
            source.get_frozen_credentials()
        except ClientError as e:
            return fail("credentials", client_code(e), str(e)), None
        except BotoCoreError as e:
            return fail("credentials", None, str(e)), None
    session = session_for(request, workdir)
    try:
        resolved = session.get_credentials()
        if resolved is None:
            return fail("credentials", None, "no credentials found"), None
        resolved.get_frozen_credentials()
    except ClientError as e:
        return fail("assume_role" if cross else "credentials", client_code(e), str(e)), None
    except BotoCoreError as e:
        return fail("assume_role" if cross else "credentials", None, str(e)), None
    try:
        regions = [r["RegionName"] for r in session.client("ec2").describe_regions()["Regions"]]
    except ClientError as e:
        return fail("describe_regions", client_code(e), str(e)), None
    except BotoCoreError as e:
        return fail("describe_regions", None, str(e)), None
    try:
        principal = session.client("sts").get_caller_identity()["Arn"]
    except ClientError as e:
        return fail("caller_identity", client_code(e), str(e)), None
    except BotoCoreError as e:
        return fail("caller_identity", None, str(e)), None
    return {"status": "success", "regions": regions, "principal": principal}, session


def trusts(document, service):
    """Whether a trust policy lets `service` assume the role (an Allow statement for
    sts:AssumeRole, or a wildcard covering it, whose Service principal names it)."""
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]

    def names(value, wanted):
        values = value if isinstance(value, list) else [value]
        return any(isinstance(v, str) and wanted(v) for v in values)

    return any(
        s.get("Effect") == "Allow"
        and names((s.get("Principal") or {}).get("Service", []), lambda p: p == service)
        and names(s.get("Action", []), lambda a: fnmatch.fnmatchcase("sts:assumerole", a.lower()))
        for s in statements
        if isinstance(s.get("Principal"), dict)
    )


def deployment_check(request, principal):
    """The check's verdict: the actions its principal is not allowed (and, for a role that
    must trust a service, whether it does), from SimulatePrincipalPolicy."""
    check = request["deployment_check"]
    account = principal.split(":")[4]
    auditor = check["auditors"][account]
    iam = boto3.session.Session(
        aws_access_key_id=auditor["access_key_id"],
        aws_secret_access_key=auditor["secret_access_key"],
        region_name=request["connector"]["test_region"],
    ).client("iam")
    verdict = {}
    if check.get("role"):
        role = iam.get_role(RoleName=check["role"])["Role"]
        source = role["Arn"]
        if check.get("trusts"):
            # boto3 decodes the URL-encoded document into a dict.
            verdict["trusted"] = trusts(role["AssumeRolePolicyDocument"], check["trusts"])
    else:
        source = principal
        if ":assumed-role/" in principal:
            name = principal.split(":assumed-role/", 1)[1].split("/")[0]
            source = iam.get_role(RoleName=name)["Role"]["Arn"]
    account = source.split(":")[4]
    missing = set()
    paginator = iam.get_paginator("simulate_principal_policy")
    for simulation in check["simulations"]:
        arns = [a.replace("${Account}", account) for a in simulation["resource_arns"]]
        kwargs = {"PolicySourceArn": source, "ActionNames": simulation["actions"]}
        if arns != ["*"]:
            kwargs["ResourceArns"] = arns
        for page in paginator.paginate(**kwargs):
            missing.update(
                r["EvalActionName"] for r in page["EvaluationResults"] if r["EvalDecision"] != "allowed"
            )
    verdict["missing_actions"] = sorted(missing)
    return verdict


def main():
    request = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as workdir:
        result, _ = connection_test(request, workdir)
        if result["status"] == "success" and request["operation"] == "deployment_check":
            try:
                result.update(deployment_check(request, result["principal"]))
            except (ClientError, BotoCoreError) as e:
                code = client_code(e) if isinstance(e, ClientError) else None
                result = fail("deployment_check", code, str(e))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
