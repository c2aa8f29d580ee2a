"""The release `trustbench serve` as a measured process, for ci/memory.py and ci/scale.py."""

import contextlib
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "target" / "release" / "trustbench"


@contextlib.contextmanager
def served(world: Path):
    """Runs `trustbench serve --world WORLD` on a free loopback port; yields the process and
    its HOST:PORT once it prints its endpoint, and stops it afterwards."""
    server = subprocess.Popen(
        [str(BIN), "serve", "--listen", "127.0.0.1:0", "--world", str(world)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = None
        for line in server.stdout:
            if line.startswith("endpoint: "):
                address = line.strip().split("//", 1)[1]
                break
        assert address, "serve printed no endpoint"
        yield server, address
    finally:
        server.terminate()
        server.wait(timeout=30)


def rss_mib(pid: int) -> float:
    """The resident memory of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def bench_rows(address: str, *args: str) -> list:
    """`trustbench bench --target ADDRESS ARGS`: the trustbench rows, as lists of cells."""
    out = subprocess.run(
        [str(BIN), "bench", "--target", address, *args],
        capture_output=True, text=True, check=True,
    ).stdout
    return [
        [c.strip() for c in row.strip("|").split("|")]
        for row in out.splitlines()
        if "| trustbench |" in row
    ]
