"""The README works as written (issue 18): its main command, its Quick start blocks run
verbatim (the server's port aside), its customer case reproduces, its links lead somewhere,
and it stays a front page."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from conftest import REPO

README = (REPO / "README.md").read_text()


def section(heading: str) -> str:
    start = README.index(heading)
    level = heading.split(" ")[0]
    rest = README[start + len(heading):]
    end = re.search(rf"\n{level} ", rest)
    return rest[: end.start()] if end else rest


def blocks(text: str, language: str) -> list:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_env() -> dict:
    """A user's shell: the machine's PATH with the aws CLI the suite installs, no AWS
    configuration of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def run_bash(script: str, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_quick_start_runs_as_written(tmp_path):
    quick = section("## Quick start")
    path_block, server_block = blocks(quick, "sh")[:2]
    assert "target/debug" in path_block
    # The documented port, moved to a free one so the test cannot meet another server.
    script = f"cd {REPO}\n{path_block}\ncd {tmp_path}\n" + server_block.replace(
        "4566", str(free_port())
    )
    done = run_bash(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '{"status":"ok"}' in done.stdout, done.stdout
    assert "arn:aws:iam::111111111111:user/admin" in done.stdout, done.stdout
    regions = done.stdout.split("user/admin", 1)[1].split()
    assert "us-east-1" in regions and "us-gov-west-1" not in regions, done.stdout


def test_the_customer_case_reproduces_as_written(tmp_path):
    quick = section("## Quick start")
    case = next(b for b in blocks(quick, "yaml") if b.startswith("# case-1234.yaml"))
    (tmp_path / "case-1234.yaml").write_text(case)
    command = next(b for b in blocks(quick, "sh") if "case-1234.yaml" in b)
    path_block = blocks(quick, "sh")[0]
    done = run_bash(f"cd {REPO}\n{path_block}\ncd {tmp_path}\n{command}", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 scenarios behaved as expected" in done.stdout, done.stdout


def test_the_organizations_example_reproduces_as_written(tmp_path):
    example = section("### Organizations and service control policies")
    case = next(b for b in blocks(example, "yaml") if b.startswith("# case-scp.yaml"))
    (tmp_path / "case-scp.yaml").write_text(case)
    path_block = blocks(section("## Quick start"), "sh")[0]
    done = run_bash(
        f"cd {REPO}\n{path_block}\ncd {tmp_path}\ntrustbench run case-scp.yaml", tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 scenarios behaved as expected" in done.stdout, done.stdout


def test_the_main_command_plays_the_catalogue():
    main = blocks(section("## The two commands"), "sh")[0]
    command = next(l for l in main.splitlines() if l and not l.startswith("#"))
    assert command == "ci/catalogue.sh"
    done = run_bash(f"{command} --filter irsa", REPO, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"(\d+) of \1 scenarios behaved as expected", done.stdout), done.stdout


def test_every_link_leads_to_a_file():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (REPO / target).exists(), target
    for page in [*(REPO / "docs").glob("*.md"), REPO / "scenarios" / "README.md"]:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) < 300
    for heading in [
        "## Why not moto or LocalStack",
        "## Prerequisites",
        "## The two commands",
        "## Quick start",
        "## Documentation",
    ]:
        assert heading in README, heading
