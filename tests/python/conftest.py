"""pytest fixtures: a `trustbench serve` process and a clean AWS environment for clients.

The server binary is `target/debug/trustbench` (built by `cargo test`) unless
TRUSTBENCH_BIN names another one.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The default world's identities (AWS documentation example keys).
STD = {
    "account": "111111111111",
    "key": "AKIAIOSFODNN7EXAMPLE",
    "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "arn": "arn:aws:iam::111111111111:user/admin",
}
GOV = {
    "account": "333333333333",
    "key": "AKIAGOVCLOUDEXAMPLE1",
    "secret": "govEXAMPLEsecretKEYgovEXAMPLEsecretKEY01",
    "arn": "arn:aws-us-gov:iam::333333333333:user/admin",
}


def _binary() -> Path:
    path = Path(os.environ.get("TRUSTBENCH_BIN", REPO / "target" / "debug" / "trustbench"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it with `cargo test` (ci/test.sh does)")
    return path


def serve(*args: str):
    """Starts `trustbench serve ARGS` on a free loopback port; yields its endpoint URL and
    stops it afterwards."""
    # The log goes to a file: a pipe nobody reads would fill up and stall the server.
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [str(_binary()), "serve", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    url = None
    for line in proc.stdout:
        if line.startswith("endpoint: "):
            url = line.split(" ", 1)[1].strip()
            break
    if url is None:
        proc.kill()
        log.seek(0)
        pytest.fail(f"trustbench serve printed no endpoint: {log.read()}")
    yield url
    proc.terminate()
    assert proc.wait(timeout=10) == 0, "serve did not stop cleanly"
    log.close()


@pytest.fixture(scope="session")
def endpoint():
    """`trustbench serve` with the default world."""
    yield from serve()


def clean_env(**extra: str) -> dict:
    """The process environment without any AWS configuration, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch):
    """No test may pick up the developer's real AWS configuration."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in clean_env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)


def aws_cli() -> str:
    """The `aws` command of the interpreter running the tests (the venv's)."""
    candidate = Path(sys.executable).parent / "aws"
    return str(candidate) if candidate.exists() else "aws"
