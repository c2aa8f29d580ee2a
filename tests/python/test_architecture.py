"""mock-server's modules depend on each other one way (issue 19): no loop runs through two
concepts, as `ci/modgraph.py` finds them."""

import subprocess
import sys

from conftest import REPO


def test_no_loop_between_the_modules_of_different_concepts():
    out = subprocess.run(
        [sys.executable, str(REPO / "ci" / "modgraph.py")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout
    assert out.stdout.rstrip().endswith("no loop between modules")
    edges = dict(line.split(" -> ", 1) for line in out.stdout.splitlines() if " -> " in line)
    # The layers the README names: nothing below the server reaches up to it.
    for module, used in edges.items():
        if module != "server":
            assert "server" not in used.split(", "), module
    assert "state" not in edges["policy::eval"]
