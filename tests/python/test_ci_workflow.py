"""The GitHub Actions workflow users copy (ci/github-actions.yml) stays valid: well-formed,
every trustbench command in it exists with the flags it uses, and its start step really
starts a server that its health check sees."""

import os
import re
import signal
import shlex
import socket
import subprocess

import yaml

from conftest import REPO, _binary, aws_cli, clean_env, serve

WORKFLOW = REPO / "ci" / "github-actions.yml"


def steps():
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["name"] and doc["jobs"]
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def trustbench_commands():
    for step in steps():
        for line in step.get("run", "").splitlines():
            line = line.split("#", 1)[0].strip()
            for match in re.finditer(r"(?:^|[|&;]\s*|\|\|\s*)trustbench\s+([^&|;>]*)", line):
                yield shlex.split(match.group(1))


def test_every_trustbench_command_and_flag_exists():
    commands = list(trustbench_commands())
    assert {c[0] for c in commands} >= {"serve", "health", "report"}
    for args in commands:
        help_text = subprocess.run(
            [str(_binary()), args[0], "--help"], capture_output=True, text=True, check=True
        ).stdout
        for flag in (a for a in args[1:] if a.startswith("--")):
            assert flag in help_text, f"trustbench {args[0]} has no {flag}"


def test_the_start_step_starts_a_server_its_health_check_sees(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = next(s["run"] for s in steps() if s.get("name") == "Start trustbench")
    # `$!` is still the server started in the background.
    script = script.replace("4566", str(port)) + '\necho "server-pid=$!"\n'
    bin_dir = _binary().parent
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    pid = re.search(r"server-pid=(\d+)", result.stdout)
    try:
        assert result.returncode == 0, result.stderr
        assert "healthy" in result.stdout
    finally:
        if pid:
            os.kill(int(pid.group(1)), signal.SIGTERM)


def test_the_test_steps_environment_works_for_the_aws_cli_the_suite_pins():
    """Issue 18: the workflow's environment sets what both aws CLI v1 (AWS_DEFAULT_REGION)
    and v2 and the SDKs (AWS_REGION) read, and the CLI succeeds with it as it is."""
    env = next(s["env"] for s in steps() if s.get("name") == "Test")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]
    for url in serve():
        port = url.rsplit(":", 1)[1]
        full = clean_env(**{k: str(v).replace("4566", port) for k, v in env.items()})
        done = subprocess.run(
            [aws_cli(), "sts", "get-caller-identity", "--output", "json"],
            env=full,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert '"Arn": "arn:aws:iam::111111111111:user/admin"' in done.stdout
