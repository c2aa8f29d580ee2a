"""boto3 code tested against trustbench with the fixtures of conftest.py."""

import botocore.exceptions
import pytest

ROLE = "arn:aws:iam::222222222222:role/deploy"
DEPLOYER = ("AKIAEXAMPLEDEPLOYER1", "deployer-secret")
CUSTOMER_ADMIN = ("AKIAEXAMPLECUSTOMER1", "customer-secret")


def deploy_session_ec2(aws):
    """EC2 with the deploy role's session, as the deployer assumes it."""
    creds = aws("sts", *DEPLOYER).assume_role(
        RoleArn=ROLE, RoleSessionName="ci", ExternalId="customer-42"
    )["Credentials"]
    return aws("ec2", creds["AccessKeyId"], creds["SecretAccessKey"], token=creds["SessionToken"])


def test_the_deploy_role_lists_regions_with_its_external_id(aws):
    regions = [r["RegionName"] for r in deploy_session_ec2(aws).describe_regions()["Regions"]]
    assert "us-east-1" in regions


def test_a_customer_who_removes_the_role_policy_breaks_the_deploy(aws):
    aws("iam", *CUSTOMER_ADMIN).delete_role_policy(RoleName="deploy", PolicyName="regions")
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        deploy_session_ec2(aws).describe_regions()
    assert denied.value.response["Error"]["Code"] == "UnauthorizedOperation"


def test_each_test_starts_from_the_loaded_world(aws):
    # The test before this one deleted the role's policy; the fixture's reset brought it back.
    iam = aws("iam", *CUSTOMER_ADMIN)
    assert iam.list_role_policies(RoleName="deploy")["PolicyNames"] == ["regions"]
    deploy_session_ec2(aws).describe_regions()


def test_a_wrong_external_id_is_access_denied(aws):
    sts = aws("sts", *DEPLOYER)
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="ci", ExternalId="customer-41")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_signature_from_the_wrong_secret_is_refused(aws):
    sts = aws("sts", DEPLOYER[0], "not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sts.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
