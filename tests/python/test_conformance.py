"""The boto3, aws CLI and JavaScript connector adapters (adapters/) certified against the whole scenario
catalogue through `trustbench conform`, with their manifests."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, _binary


def conform(connector: str, manifest: Path) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(
        [str(_binary()), "conform", "--connector", connector, "--manifest", str(manifest), "--jobs", "4"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_boto3_adapter_conforms():
    out = conform(
        f"{sys.executable} adapters/python/connector.py",
        REPO / "adapters" / "python" / "manifest.yaml",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "conformance score: 100.0%" in out.stdout
    assert "not supported: botocore's instance metadata fetcher" in out.stdout


def test_the_aws_cli_adapter_conforms():
    out = conform(
        "bash adapters/aws-cli/connector.sh",
        REPO / "adapters" / "aws-cli" / "manifest.yaml",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "conformance score: 100.0%" in out.stdout


def test_the_javascript_adapter_conforms():
    """The AWS SDK for JavaScript v3's own chain (issue 17): every EC2-delegate scenario
    passes now that instance metadata is at the root of its own port."""
    out = conform(
        "node adapters/javascript/connector.mjs",
        REPO / "adapters" / "javascript" / "manifest.yaml",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "conformance score: 100.0%" in out.stdout
    assert "not supported: the SDK's instance metadata provider" in out.stdout
    for scenario in ["delegate-ec2-instance-role-succeeds", "delegate-ec2-govcloud-succeeds"]:
        line = next(l for l in out.stdout.splitlines() if scenario in l)
        assert "PASS" in line, line
