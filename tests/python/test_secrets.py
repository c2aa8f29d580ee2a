"""No secret ever leaves in output (issue 20): the whole catalogue, played once as it is and
once with every successful connection test expected to fail (so each prints its mismatch
and its scenario's request log), with `--json`, `--junit` and `--html`, shows no secret access key of
any world, no session token and no JWT in the terminal output, the JSON, the JUnit XML, the HTML report or
the request logs they carry."""

import re
import shutil
import subprocess

import yaml

from conftest import REPO, _binary

SESSION_TOKEN = re.compile(r"IQoJb3JpZ2luX2Vj[A-Za-z0-9+/=._-]{8,}")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def world_secrets(node, found):
    """Every `secret` and `secret_access_key` value in a scenario or world document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("secret", "secret_access_key") and isinstance(value, str):
                found.add(value)
            else:
                world_secrets(value, found)
    elif isinstance(node, list):
        for item in node:
            world_secrets(item, found)
    return found


def test_the_catalogue_prints_no_secret_anywhere(tmp_path):
    played = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios", played)
    flipped = 0
    for path in sorted(played.glob("*.yaml")):
        text = path.read_text()
        if "connection_test: {expect: success" in text:
            twin = text.replace(
                "connection_test: {expect: success",
                "connection_test: {expect: {stage: configuration}",
                1,
            )
            (played / f"{path.stem}-expected-to-fail.yaml").write_text(twin)
            flipped += 1
    assert flipped >= 20
    secrets = set()
    for path in [*played.glob("*.yaml"), *played.glob("worlds/*.yaml")]:
        world_secrets(yaml.safe_load(path.read_text()), secrets)
    secrets = {s for s in secrets if len(s) >= 8}
    assert len(secrets) >= 5, secrets

    json_out, junit_out = tmp_path / "run.json", tmp_path / "run.xml"
    html_out = tmp_path / "run.html"
    done = subprocess.run(
        [str(_binary()), "run", str(played), "--json", str(json_out), "--junit", str(junit_out),
         "--html", str(html_out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    outputs = {
        "stdout": done.stdout,
        "stderr": done.stderr,
        "json": json_out.read_text(),
        "junit": junit_out.read_text(),
        "html": html_out.read_text(),
    }
    # The mismatches really printed their request logs (the part most likely to leak).
    assert outputs["stdout"].count("request log") >= flipped or '"requests"' in outputs["json"]
    assert "assumed-role/" in outputs["json"]
    # Scenario names are not secrets, even where one reads like one (`wrong-secret-key`).
    names = sorted((p.stem for p in played.glob("*.yaml")), key=len, reverse=True)
    for name, text in outputs.items():
        for scenario in names:
            text = text.replace(scenario, "")
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{name} shows world secrets {leaked}"
        assert not SESSION_TOKEN.search(text), f"{name} shows a session token"
        assert not JWT.search(text), f"{name} shows a JWT"
