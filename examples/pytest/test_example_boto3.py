"""boto3 code tested against trustbench with the fixtures of conftest.py."""

import botocore.exceptions
import pytest

ROLE = "arn:aws:iam::222222222222:role/deploy"
DEPLOYER = ("AKIAEXAMPLEDEPLOYER1", "deployer-secret")


def test_the_deploy_role_lists_regions_with_its_external_id(aws):
    sts = aws("sts", *DEPLOYER)
    creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="ci", ExternalId="customer-42")[
        "Credentials"
    ]
    ec2 = aws(
        "ec2",
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    regions = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]
    assert "us-east-1" in regions


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
