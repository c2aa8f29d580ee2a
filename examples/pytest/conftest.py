"""A pytest fixture that starts `trustbench serve` for boto3 tests: copy this file into your
test suite. It needs the `trustbench` binary (`cargo install --path harness` in a checkout
of trustbench, or set TRUSTBENCH_BIN to its path).
"""

import os
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

WORLD = Path(__file__).with_name("world.yaml")


@pytest.fixture(scope="session")
def trustbench():
    """A `trustbench serve` on a free loopback port with this directory's world.yaml; yields
    its endpoint URL (`http://127.0.0.1:PORT`) and stops the server after the session."""
    binary = os.environ.get("TRUSTBENCH_BIN") or shutil.which("trustbench")
    if not binary:
        pytest.fail("trustbench is not installed: cargo install --path harness")
    log = tempfile.TemporaryFile(mode="w+")  # a pipe nobody reads would stall the server
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--world", str(WORLD)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    endpoint = None
    for line in proc.stdout:
        if line.startswith("endpoint: "):
            endpoint = line.split(" ", 1)[1].strip()
            break
    if endpoint is None:
        proc.kill()
        log.seek(0)
        pytest.fail(f"trustbench serve did not start: {log.read()}")
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)


def reset(endpoint):
    """Gives the server back as it started: the loaded world, an empty request log, the
    clock without offset (POST /_mock/reset)."""
    request = urllib.request.Request(f"{endpoint}/_mock/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


@pytest.fixture
def aws(trustbench, monkeypatch):
    """boto3 sessions of the world's identities, pointed at the server and isolated from
    the machine's own AWS configuration. The server is reset first, so every test starts
    from world.yaml whatever the tests before it changed."""
    import boto3

    reset(trustbench)

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def client(service, key, secret, region="us-east-1", token=None):
        return boto3.session.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=region,
        ).client(service, endpoint_url=trustbench)

    return client
