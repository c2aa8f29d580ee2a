"""boto3's EC2 client against `trustbench serve --world WORLD --clock virtual`: availability
zones, account attributes, instances (filters, pagination, lifecycle on the server clock,
a declared stopped one),
DryRun and authorization (UnauthorizedOperation, iam:PassRole), images, tags, the default
VPC's network, key pairs, launch templates, region and partition isolation, and an `ec2`
delegate seen as an instance.

Each test gets its own server (they start in milliseconds), so tests that launch or
terminate instances, tag resources or move the clock cannot see each other. The clock is
virtual: it stands still unless a test moves it (`POST /_mock/clock`), so nothing sleeps.
"""

import json
import tempfile
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import GOV, STD, serve

ACCOUNT = STD["account"]
IMAGE = "ami-0123456789abcdef0"
INSTANCE = "i-0123456789abcdef0"
STOPPED = "i-0aaaaaaaaaaaaaaaa"
UNKNOWN_INSTANCE = "i-0fedcba9876543210"
UNKNOWN_IMAGE = "ami-0fedcba9876543210"

# A user who may launch instances and describe anything, but neither terminate instances
# nor pass roles (iam:PassRole) nor tag.
DEPLOYER = {
    "account": ACCOUNT,
    "key": "AKIADEPLOYER00000001",
    "secret": "deployer-secret",
}

# The world: the default world's standard admin and DEPLOYER (with an image, key pair,
# launch template, a running and a stopped instance in us-east-1, and an `ec2` delegate
# there) and the GovCloud admin.
WORLD = {
    "accounts": [
        {
            "id": ACCOUNT,
            "users": [
                {
                    "name": "admin",
                    "managed_policies": ["AdministratorAccess"],
                    "access_keys": [{"id": STD["key"], "secret": STD["secret"]}],
                },
                {
                    "name": "deployer",
                    "inline_policies": {
                        "run": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["ec2:RunInstances", "ec2:Describe*"],
                                    "Resource": "*",
                                }
                            ],
                        }
                    },
                    "access_keys": [{"id": DEPLOYER["key"], "secret": DEPLOYER["secret"]}],
                },
            ],
            "roles": [
                {
                    "name": name,
                    "trust_policy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ec2.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                }
                for name in ["app", "delegate-role"]
            ],
            "instance_profiles": [{"name": "app", "roles": ["app"]}],
            "ec2": {
                "us-east-1": {
                    "images": [{"id": IMAGE, "name": "app-image", "tags": {"team": "web"}}],
                    "key_pairs": [{"name": "deploy-key"}],
                    "launch_templates": [
                        {"name": "web-template", "image": IMAGE, "instance_type": "t3.small"}
                    ],
                    "instances": [
                        {
                            "id": INSTANCE,
                            "image": IMAGE,
                            "instance_type": "t3.small",
                            "key_name": "deploy-key",
                            "tags": {"env": "prod"},
                            "instance_profile": "app",
                        },
                        {"id": STOPPED, "image": IMAGE, "state": "stopped"},
                    ],
                }
            },
        },
        {
            "id": GOV["account"],
            "partition": "aws-us-gov",
            "users": [
                {
                    "name": "admin",
                    "managed_policies": ["AdministratorAccess"],
                    "access_keys": [{"id": GOV["key"], "secret": GOV["secret"]}],
                }
            ],
        },
    ],
    # Without `instance_profile`, the delegate gets one named after its role.
    "delegates": [
        {
            "name": "worker",
            "kind": "ec2",
            "account": ACCOUNT,
            "region": "us-east-1",
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/delegate-role",
        }
    ],
}


@pytest.fixture(scope="module")
def world_file():
    """WORLD as a world file for the module's servers (JSON is YAML too)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ec2.yaml"
        path.write_text(json.dumps(WORLD, indent=2))
        yield str(path)


@pytest.fixture
def url(world_file):
    """A fresh `trustbench serve` with WORLD on a virtual clock; yields its endpoint URL."""
    yield from serve("--world", world_file, "--clock", "virtual")


_session = None


def client(url, who=STD, region="us-east-1"):
    """A boto3 EC2 client for `who` in `region`. One session serves every test (it loads
    the EC2 model once); it is made inside the first test, in the isolated environment."""
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session.client(
        "ec2",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=who["key"],
        aws_secret_access_key=who["secret"],
    )


def advance(url, seconds):
    """Moves the server's virtual clock."""
    body = json.dumps({"advance_seconds": seconds}).encode()
    req = urllib.request.Request(f"{url}/_mock/clock", data=body, method="POST")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200


def error_of(excinfo):
    """(code, message, HTTP status) of a ClientError."""
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def instances(out):
    """The instances of a DescribeInstances (or RunInstances) response, flattened."""
    if "Instances" in out:
        return out["Instances"]
    return [i for r in out["Reservations"] for i in r["Instances"]]


def tags(resource):
    """A resource's `Tags` list as a dict."""
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def run(ec2, count=1, **extra):
    """RunInstances of the world's image; the instances launched."""
    out = ec2.run_instances(ImageId=IMAGE, MinCount=count, MaxCount=count, **extra)
    return out["Instances"]


# --- Regions: zones and account attributes -------------------------------------------------


def test_availability_zones_of_a_standard_region(url):
    zones = client(url).describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == [f"us-east-1{c}" for c in "abcdef"]
    assert [z["ZoneId"] for z in zones] == [f"use1-az{n}" for n in range(1, 7)]
    assert all(z["State"] == "available" and z["RegionName"] == "us-east-1" for z in zones)
    assert all(z["ZoneType"] == "availability-zone" for z in zones)


def test_availability_zones_of_govcloud(url):
    zones = client(url, GOV, "us-gov-west-1").describe_availability_zones()
    zones = zones["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == [f"us-gov-west-1{c}" for c in "abc"]
    assert [z["ZoneId"] for z in zones] == [f"usgw1-az{n}" for n in range(1, 4)]
    assert all(z["State"] == "available" for z in zones)


def test_account_attributes_name_the_default_vpc(url):
    ec2 = client(url)
    out = ec2.describe_account_attributes(AttributeNames=["default-vpc"])
    [attribute] = out["AccountAttributes"]
    assert attribute["AttributeName"] == "default-vpc"
    [value] = attribute["AttributeValues"]
    vpc_id = value["AttributeValue"]
    assert vpc_id.startswith("vpc-")
    [vpc] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["IsDefault"] is True
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    assert vpc["OwnerId"] == ACCOUNT


# --- DescribeInstances ---------------------------------------------------------------------


def test_the_declared_instance_with_its_tags_and_profile(url):
    out = client(url).describe_instances(InstanceIds=[INSTANCE])
    [reservation] = out["Reservations"]
    assert reservation["OwnerId"] == ACCOUNT
    [instance] = reservation["Instances"]
    assert instance["InstanceId"] == INSTANCE
    assert instance["ImageId"] == IMAGE
    assert instance["InstanceType"] == "t3.small"
    assert instance["KeyName"] == "deploy-key"
    assert tags(instance) == {"env": "prod"}
    profile = instance["IamInstanceProfile"]
    assert profile["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/app"
    assert profile["Id"].startswith("AIPA")
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1a"


def test_describe_instances_filters_by_tag(url):
    ec2 = client(url)
    prod = instances(ec2.describe_instances(Filters=[{"Name": "tag:env", "Values": ["prod"]}]))
    assert [i["InstanceId"] for i in prod] == [INSTANCE]
    wildcard = ec2.describe_instances(Filters=[{"Name": "tag:env", "Values": ["pr*"]}])
    assert [i["InstanceId"] for i in instances(wildcard)] == [INSTANCE]
    none = ec2.describe_instances(Filters=[{"Name": "tag:env", "Values": ["staging"]}])
    assert none["Reservations"] == []


def test_a_declared_running_instance_is_running(url):
    """A world's instance is `running` (its default state) from the start, not `pending`."""
    ec2 = client(url)
    [instance] = instances(ec2.describe_instances(InstanceIds=[INSTANCE]))
    assert instance["State"] == {"Code": 16, "Name": "running"}
    running = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )
    assert INSTANCE in {i["InstanceId"] for i in instances(running)}


def test_instance_state_filter_tells_pending_from_running(url):
    ec2 = client(url)
    [new] = run(ec2)
    pending = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending"]}]
    )
    assert new["InstanceId"] in {i["InstanceId"] for i in instances(pending)}
    advance(url, 20)
    running = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )
    assert new["InstanceId"] in {i["InstanceId"] for i in instances(running)}
    pending = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending"]}]
    )
    assert new["InstanceId"] not in {i["InstanceId"] for i in instances(pending)}


def test_a_declared_stopped_instance(url):
    ec2 = client(url)
    stopped = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}]
    )
    [instance] = instances(stopped)
    assert instance["InstanceId"] == STOPPED
    assert instance["State"] == {"Code": 80, "Name": "stopped"}
    assert instance["InstanceType"] == "t3.micro"


def test_a_stopped_instance_keeps_its_subnet_and_private_address(url):
    ec2 = client(url)
    [instance] = instances(ec2.describe_instances(InstanceIds=[STOPPED]))
    [subnet] = ec2.describe_subnets(
        Filters=[
            {"Name": "availability-zone", "Values": [instance["Placement"]["AvailabilityZone"]]},
            {"Name": "default-for-az", "Values": ["true"]},
        ]
    )["Subnets"]
    assert instance.get("SubnetId") == subnet["SubnetId"]
    assert instance.get("VpcId") == subnet["VpcId"]
    assert instance.get("PrivateIpAddress", "").startswith("172.31.")
    assert instance.get("PrivateDnsName", "").endswith(".ec2.internal")


def test_an_unknown_filter_is_refused(url):
    with pytest.raises(ClientError) as err:
        client(url).describe_instances(Filters=[{"Name": "nope", "Values": ["x"]}])
    assert error_of(err) == ("InvalidParameterValue", "The filter 'nope' is invalid", 400)


def test_the_paginator_sees_every_instance_once(url):
    ec2 = client(url)
    launched = {i["InstanceId"] for i in run(ec2, 12)}
    assert len(launched) == 12
    everything = {i["InstanceId"] for i in instances(ec2.describe_instances())}
    # The 12, the two declared instances and the delegate's.
    assert launched | {INSTANCE, STOPPED} <= everything
    assert len(everything) == 15
    seen, pages = [], 0
    paginator = ec2.get_paginator("describe_instances")
    for page in paginator.paginate(PaginationConfig={"PageSize": 5}):
        pages += 1
        ids = [i["InstanceId"] for i in instances(page)]
        assert len(ids) <= 5
        seen.extend(ids)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 15
    assert set(seen) == everything


def test_instance_ids_cannot_be_combined_with_max_results(url):
    with pytest.raises(ClientError) as err:
        client(url).describe_instances(InstanceIds=[INSTANCE], MaxResults=5)
    code, message, status = error_of(err)
    assert (code, status) == ("InvalidParameterCombination", 400)
    assert "maxResults" in message


def test_unknown_and_malformed_instance_ids(url):
    ec2 = client(url)
    with pytest.raises(ClientError) as err:
        ec2.describe_instances(InstanceIds=[UNKNOWN_INSTANCE])
    assert error_of(err) == (
        "InvalidInstanceID.NotFound",
        f"The instance ID '{UNKNOWN_INSTANCE}' does not exist",
        400,
    )
    with pytest.raises(ClientError) as err:
        ec2.describe_instances(InstanceIds=["i-nothex!"])
    code, message, status = error_of(err)
    assert (code, status) == ("InvalidInstanceID.Malformed", 400)
    assert "i-nothex!" in message


# --- RunInstances and TerminateInstances on the server clock -------------------------------


def test_an_instance_runs_then_terminates_on_the_clock(url):
    ec2 = client(url)
    [new] = run(
        ec2,
        InstanceType="t3.micro",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}
        ],
    )
    instance_id = new["InstanceId"]
    assert new["State"] == {"Code": 0, "Name": "pending"}
    assert tags(new) == {"Name": "web-1"}

    advance(url, 20)
    [described] = instances(ec2.describe_instances(InstanceIds=[instance_id]))
    assert described["State"] == {"Code": 16, "Name": "running"}
    assert described["InstanceType"] == "t3.micro"
    assert tags(described) == {"Name": "web-1"}

    [change] = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"]
    assert change["InstanceId"] == instance_id
    assert change["PreviousState"] == {"Code": 16, "Name": "running"}
    assert change["CurrentState"] == {"Code": 32, "Name": "shutting-down"}

    advance(url, 20)
    [described] = instances(ec2.describe_instances(InstanceIds=[instance_id]))
    assert described["State"] == {"Code": 48, "Name": "terminated"}


def test_a_pending_instance_can_be_terminated(url):
    ec2 = client(url)
    [new] = run(ec2)
    [change] = ec2.terminate_instances(InstanceIds=[new["InstanceId"]])["TerminatingInstances"]
    assert change["PreviousState"]["Name"] == "pending"
    assert change["CurrentState"] == {"Code": 32, "Name": "shutting-down"}


# --- DryRun and authorization --------------------------------------------------------------


def test_dry_run_of_an_allowed_call(url):
    ec2 = client(url)
    before = {i["InstanceId"] for i in instances(ec2.describe_instances())}
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, DryRun=True)
    assert error_of(err) == (
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
        412,
    )
    with pytest.raises(ClientError) as err:
        ec2.terminate_instances(InstanceIds=[INSTANCE], DryRun=True)
    assert error_of(err)[::2] == ("DryRunOperation", 412)
    # Nothing was launched or terminated.
    after = instances(ec2.describe_instances())
    assert {i["InstanceId"] for i in after} == before
    assert all(i["State"]["Name"] != "shutting-down" for i in after)


def test_dry_run_of_a_denied_call(url):
    deployer = client(url, DEPLOYER)
    with pytest.raises(ClientError) as err:
        deployer.terminate_instances(InstanceIds=[INSTANCE], DryRun=True)
    code, message, status = error_of(err)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert "Encoded authorization failure message" in message
    # What the deployer may do, DryRun says it may.
    with pytest.raises(ClientError) as err:
        deployer.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, DryRun=True)
    assert error_of(err)[::2] == ("DryRunOperation", 412)


def test_passing_a_role_needs_iam_pass_role(url):
    deployer = client(url, DEPLOYER)
    with pytest.raises(ClientError) as err:
        run(deployer, IamInstanceProfile={"Name": "app"})
    code, message, status = error_of(err)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert "Encoded authorization failure message" in message
    # Without the profile the same launch is allowed.
    [plain] = run(deployer)
    assert "IamInstanceProfile" not in plain
    # The admin may pass the role: the instance gets the profile.
    [with_profile] = run(client(url), IamInstanceProfile={"Name": "app"})
    profile_arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/app"
    assert with_profile["IamInstanceProfile"]["Arn"] == profile_arn


# --- Images --------------------------------------------------------------------------------


def test_describe_images_by_owner(url):
    ec2 = client(url)
    [own] = ec2.describe_images(Owners=["self"])["Images"]
    assert own["ImageId"] == IMAGE
    assert own["Name"] == "app-image"
    assert own["OwnerId"] == ACCOUNT
    assert tags(own) == {"team": "web"}
    amazon = ec2.describe_images(Owners=["amazon"])["Images"]
    assert len(amazon) >= 1
    assert all(i["ImageOwnerAlias"] == "amazon" for i in amazon)
    assert all(i["OwnerId"] != ACCOUNT and i["Public"] is True for i in amazon)
    assert IMAGE not in {i["ImageId"] for i in amazon}


def test_an_unknown_image(url):
    with pytest.raises(ClientError) as err:
        client(url).describe_images(ImageIds=[UNKNOWN_IMAGE])
    code, message, status = error_of(err)
    assert (code, status) == ("InvalidAMIID.NotFound", 400)
    assert UNKNOWN_IMAGE in message


# --- Tags ----------------------------------------------------------------------------------


def test_create_describe_and_delete_tags(url):
    ec2 = client(url)
    ec2.create_tags(Resources=[INSTANCE], Tags=[{"Key": "owner", "Value": "alice"}])

    def instance_tags():
        out = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [INSTANCE]}])
        assert all(t["ResourceType"] == "instance" for t in out["Tags"])
        assert all(t["ResourceId"] == INSTANCE for t in out["Tags"])
        return {t["Key"]: t["Value"] for t in out["Tags"]}

    assert instance_tags() == {"env": "prod", "owner": "alice"}
    [instance] = instances(ec2.describe_instances(InstanceIds=[INSTANCE]))
    assert tags(instance) == {"env": "prod", "owner": "alice"}

    ec2.delete_tags(Resources=[INSTANCE], Tags=[{"Key": "owner"}])
    assert instance_tags() == {"env": "prod"}
    [instance] = instances(ec2.describe_instances(InstanceIds=[INSTANCE]))
    assert tags(instance) == {"env": "prod"}


# --- Network, key pairs and launch templates -----------------------------------------------


def test_the_default_vpc_and_its_subnets(url):
    ec2 = client(url)
    [vpc] = ec2.describe_vpcs()["Vpcs"]
    assert vpc["IsDefault"] is True
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    subnets = subnets["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == [
        f"us-east-1{c}" for c in "abcdef"
    ]
    assert all(s["VpcId"] == vpc["VpcId"] and s["DefaultForAz"] is True for s in subnets)
    assert len({s["SubnetId"] for s in subnets}) == 6


def test_the_default_security_group_by_name(url):
    ec2 = client(url)
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    [vpc] = default_vpc["Vpcs"]
    [group] = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert group["GroupName"] == "default"
    assert group["GroupId"].startswith("sg-")
    assert group["VpcId"] == vpc["VpcId"]
    assert group["OwnerId"] == ACCOUNT


def test_key_pairs_and_launch_templates(url):
    ec2 = client(url)
    [key] = ec2.describe_key_pairs()["KeyPairs"]
    assert key["KeyName"] == "deploy-key"
    assert key["KeyPairId"].startswith("key-")
    assert key["KeyFingerprint"]
    [template] = ec2.describe_launch_templates()["LaunchTemplates"]
    assert template["LaunchTemplateName"] == "web-template"
    assert template["LaunchTemplateId"].startswith("lt-")
    assert template["DefaultVersionNumber"] == template["LatestVersionNumber"] == 1
    named = ec2.describe_launch_templates(LaunchTemplateNames=["web-template"])
    assert named["LaunchTemplates"][0]["LaunchTemplateId"] == template["LaunchTemplateId"]
    # An instance launched from the template gets its image and type.
    out = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateName": "web-template"}, MinCount=1, MaxCount=1
    )
    [instance] = out["Instances"]
    assert (instance["ImageId"], instance["InstanceType"]) == (IMAGE, "t3.small")


# --- Isolation between regions and partitions ----------------------------------------------


def test_instances_are_invisible_from_other_regions_and_partitions(url):
    west = client(url, region="us-west-2")
    assert west.describe_instances()["Reservations"] == []
    with pytest.raises(ClientError) as err:
        west.describe_instances(InstanceIds=[INSTANCE])
    assert error_of(err)[0] == "InvalidInstanceID.NotFound"
    assert west.describe_images(Owners=["self"])["Images"] == []
    gov = client(url, GOV, "us-gov-west-1")
    assert gov.describe_instances()["Reservations"] == []
    # The region signed for is the one served: us-east-1 still has it.
    assert instances(client(url).describe_instances(InstanceIds=[INSTANCE]))


# --- Delegates -----------------------------------------------------------------------------


def test_an_ec2_delegate_is_a_running_instance_with_its_profile(url):
    out = client(url).describe_instances(Filters=[{"Name": "tag:Name", "Values": ["worker"]}])
    [instance] = instances(out)
    assert instance["InstanceId"].startswith("i-")
    assert instance["State"]["Name"] == "running"
    profile = instance["IamInstanceProfile"]
    assert profile["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/delegate-role"
    assert profile["Id"].startswith("AIPA")
    # Not in other regions.
    west = client(url, region="us-west-2")
    filtered = west.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["worker"]}])
    assert filtered["Reservations"] == []
