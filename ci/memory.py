#!/usr/bin/env python3
"""Memory of `trustbench serve` under a million and more AssumeRole calls.

Starts the release `trustbench serve --world ci/bench-world.yaml`, drives it with
`trustbench bench --target ADDR --only sts:AssumeRole` in rounds, and prints the server's
resident memory (VmRSS from /proc) after each round with the running count of calls.
Session tokens carry their own state, so memory should stay flat.

    cargo build --release -p harness && python3 ci/memory.py [ROUNDS] [SECONDS]
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "target" / "release" / "trustbench"


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return kib / 1024


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    server = subprocess.Popen(
        [str(BIN), "serve", "--listen", "127.0.0.1:0", "--world", str(REPO / "ci" / "bench-world.yaml")],
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
        print("| round | AssumeRole calls so far | errors | server RSS |")
        print("|---|---|---|---|")
        print(f"| 0 | 0 | 0 | {rss_mib(server.pid):.1f} MiB |")
        calls = 0
        errors = 0
        for n in range(1, rounds + 1):
            out = subprocess.run(
                [str(BIN), "bench", "--target", address, "--only", "sts:AssumeRole",
                 "--concurrency", "8", "--seconds", str(seconds)],
                capture_output=True, text=True, check=True,
            ).stdout
            row = next(l for l in out.splitlines() if "| trustbench |" in l)
            cells = [c.strip() for c in row.strip("|").split("|")]
            calls += int(float(cells[3]) * seconds)
            errors += int(cells[6])
            print(f"| {n} | {calls:,} | {errors} | {rss_mib(server.pid):.1f} MiB |")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
