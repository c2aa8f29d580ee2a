"""botocore against `trustbench serve --world tests/worlds/organizations.yaml`: service
control policies on STS, IAM and EC2 calls of member accounts, the messages that name them,
a role trusting only its organization, the policy simulator's verdict of the SCPs, and an
SCP change that takes effect after propagation."""

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REPO, serve

WORLD = REPO / "tests" / "worlds" / "organizations.yaml"

MANAGEMENT = ("AKIAORGMANAGEMENT001", "management-secret")
CONNECTOR = ("AKIAORGCONNECTOR0002", "connector-secret")
SANDBOX = ("AKIAORGSANDBOX000004", "sandbox-secret")
OUTSIDER = ("AKIAOUTSIDER00000009", "outsider-secret")
REGIONS_SCP = (
    "arn:aws:organizations::100000000001:policy/o-exampleorg01/service_control_policy/p-regions01"
)


@pytest.fixture
def url():
    """A fresh server with the organizations world on a virtual clock."""
    yield from serve("--world", str(WORLD), "--clock", "virtual")


def client(url, service, who, region="us-east-1"):
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=who[0],
        aws_secret_access_key=who[1],
    )


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]


def control(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data, method=method)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def test_a_region_allow_list_scp_is_named_in_the_ec2_denial(url):
    client(url, "ec2", CONNECTOR, "eu-west-1").describe_regions()
    err = error_of(client(url, "ec2", CONNECTOR).describe_regions)
    assert err["Code"] == "UnauthorizedOperation"
    assert (
        f"with an explicit deny in a service control policy: {REGIONS_SCP}. "
        "Encoded authorization failure message: " in err["Message"]
    ), err
    blob = err["Message"].split("Encoded authorization failure message: ")[1]
    decoded = json.loads(
        client(url, "sts", MANAGEMENT).decode_authorization_message(EncodedMessage=blob)[
            "DecodedMessage"
        ]
    )
    assert decoded["explicitDeny"] is True
    assert decoded["matchedStatements"]["items"][0]["statementId"] == "DenyOutsideEuWest1"
    # The management account is not bound by SCPs.
    client(url, "ec2", MANAGEMENT).describe_regions()


def test_an_ou_allowing_only_some_services_names_the_scp_for_iam(url):
    err = error_of(client(url, "iam", SANDBOX).list_users)
    assert err["Code"] == "AccessDenied"
    assert err["Message"].endswith(
        "because no service control policy allows the iam:ListUsers action"
    ), err


def test_a_role_trusting_its_organization(url):
    role = "arn:aws:iam::100000000003:role/org-reader"
    out = client(url, "sts", CONNECTOR, "eu-west-1").assume_role(
        RoleArn=role, RoleSessionName="inside"
    )
    assert out["AssumedRoleUser"]["Arn"].endswith("assumed-role/org-reader/inside")
    err = error_of(
        lambda: client(url, "sts", OUTSIDER).assume_role(RoleArn=role, RoleSessionName="out")
    )
    assert err["Code"] == "AccessDenied"
    assert err["Message"] == (
        "User: arn:aws:iam::200000000009:user/admin is not authorized to perform: "
        f"sts:AssumeRole on resource: {role}"
    )


def test_the_policy_simulator_says_whether_the_scps_allow(url):
    iam = client(url, "iam", CONNECTOR)

    def simulate(principal, region):
        return iam.simulate_principal_policy(
            PolicySourceArn=principal,
            ActionNames=["ec2:DescribeRegions"],
            ContextEntries=[
                {
                    "ContextKeyName": "aws:RequestedRegion",
                    "ContextKeyType": "string",
                    "ContextKeyValues": [region],
                }
            ],
        )["EvaluationResults"][0]

    connector = "arn:aws:iam::100000000002:user/connector"
    denied = simulate(connector, "us-east-1")
    assert denied["EvalDecision"] == "explicitDeny", denied
    assert denied["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    allowed = simulate(connector, "eu-west-1")
    assert allowed["EvalDecision"] == "allowed", allowed
    assert allowed["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    # A service-linked role is outside the SCPs.
    linked = simulate(
        "arn:aws:iam::100000000002:role/aws-service-role/AWSServiceRoleForExample", "us-east-1"
    )
    assert linked["EvalDecision"] == "allowed", linked
    assert linked["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    # An account of no organization has no OrganizationsDecisionDetail.
    outside = client(url, "iam", OUTSIDER).simulate_principal_policy(
        PolicySourceArn="arn:aws:iam::200000000009:user/admin",
        ActionNames=["ec2:DescribeRegions"],
    )["EvaluationResults"][0]
    assert outside["EvalDecision"] == "allowed"
    assert "OrganizationsDecisionDetail" not in outside


def test_an_scp_change_takes_effect_after_propagation(url):
    control(url, "POST", "/_mock/propagation", {"kinds": {"organizations": 60}})
    organizations = control(url, "GET", "/_mock/organizations")
    workloads = organizations["organizations"][0]["root"]["units"][0]
    assert workloads["name"] == "Workloads"
    workloads["policies"] = ["FullAWSAccess"]
    control(url, "POST", "/_mock/organizations", organizations)
    ec2 = client(url, "ec2", CONNECTOR)
    assert error_of(ec2.describe_regions)["Code"] == "UnauthorizedOperation"
    control(url, "POST", "/_mock/clock", {"advance_seconds": 60})
    ec2.describe_regions()
