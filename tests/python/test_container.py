"""The shared team server recipe of docs/container.md, as written there: one container, a
world mounted read-only, a control token from a file, and two test processes (boto3) using
it at once, each with its own account.

Needs a Docker engine and the image trustbench:latest (`ci/container.sh up` and
`ci/container.sh image`, which ci/test.sh runs); skipped with the reason otherwise, unless
TRUSTBENCH_REQUIRE_CONTAINER=1 makes that a failure.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

IMAGE = "trustbench:latest"

WORLD = """\
accounts:
  - id: "444444444444"
    users:
      - name: ci-team-a
        managed_policies: [IAMFullAccess]
        access_keys: [{id: AKIATEAMA44444444444, secret: team-a-secret}]
  - id: "555555555555"
    users:
      - name: ci-team-b
        managed_policies: [IAMFullAccess]
        access_keys: [{id: AKIATEAMB55555555555, secret: team-b-secret}]
"""

# One test process of a team: who am I, a user of my own, and what I see.
TEAM_SUITE = """
import json, sys, boto3
endpoint, key, secret, user = sys.argv[1:]
session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                region_name="us-east-1")
sts = session.client("sts", endpoint_url=endpoint)
iam = session.client("iam", endpoint_url=endpoint)
me = sts.get_caller_identity()
iam.create_user(UserName=user)
names = sorted(u["UserName"] for u in iam.list_users()["Users"])
print(json.dumps({"account": me["Account"], "users": names}))
"""


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def _unavailable() -> str | None:
    try:
        if _docker("info", "--format", "{{.ServerVersion}}").returncode != 0:
            return "no Docker engine answers"
    except FileNotFoundError:
        return "no docker command"
    if _docker("image", "inspect", IMAGE).returncode != 0:
        return f"no image {IMAGE} (ci/container.sh image)"
    return None


@pytest.fixture
def team_server(tmp_path):
    why = _unavailable()
    if why:
        if os.environ.get("TRUSTBENCH_REQUIRE_CONTAINER") == "1":
            pytest.fail(f"the container recipe cannot run: {why}")
        pytest.skip(why)
    world = tmp_path / "team.yaml"
    world.write_text(WORLD)
    token = tmp_path / "token"
    token.write_text("team-control-token\n")
    for f in (world, token):
        f.chmod(0o644)  # read by the container's unprivileged user
    run = _docker(
        "run", "--detach", "--publish", "127.0.0.1::4566",
        "--volume", f"{world}:/worlds/team.yaml:ro",
        "--volume", f"{token}:/run/secrets/trustbench-token:ro",
        IMAGE,
        "--world", "/worlds/team.yaml", "--control-token-file", "/run/secrets/trustbench-token",
    )
    assert run.returncode == 0, run.stderr
    container = run.stdout.strip()
    try:
        port = _docker("port", container, "4566/tcp").stdout.strip().rsplit(":", 1)[-1]
        endpoint = f"http://127.0.0.1:{port}"
        # `trustbench health --wait` is the recipe's way to wait for it.
        wait = subprocess.run(
            [str(_trustbench()), "health", "--address", f"127.0.0.1:{port}", "--wait", "20"],
            capture_output=True, text=True, timeout=30,
        )
        assert wait.returncode == 0, wait.stdout + wait.stderr + _docker("logs", container).stderr
        yield endpoint
    finally:
        _docker("rm", "--force", container)


def _trustbench():
    from conftest import _binary

    return _binary()


def test_two_teams_share_one_container_with_separate_accounts(team_server):
    teams = [
        ("AKIATEAMA44444444444", "team-a-secret", "deployer-a", "444444444444"),
        ("AKIATEAMB55555555555", "team-b-secret", "deployer-b", "555555555555"),
    ]
    # Both suites at once, as two CI jobs would.
    running = [
        subprocess.Popen(
            [sys.executable, "-c", TEAM_SUITE, team_server, key, secret, user],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for key, secret, user, _ in teams
    ]
    for (_, _, user, account), process in zip(teams, running):
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        seen = json.loads(out)
        # Each sees its own account only: the other team's user is not in it.
        assert seen["account"] == account
        assert user in seen["users"]
        assert not any(u.startswith("deployer-") and u != user for u in seen["users"]), seen


def test_the_control_api_needs_the_token_from_the_file(team_server):
    def reset(token):
        request = urllib.request.Request(f"{team_server}/_mock/reset", data=b"{}", method="POST")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            return urllib.request.urlopen(request, timeout=10).status
        except urllib.error.HTTPError as e:
            return e.code

    assert reset(None) == 401
    assert reset("guess") == 401
    assert reset("team-control-token") == 200
