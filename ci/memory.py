#!/usr/bin/env python3
"""Memory of `trustbench serve` under a million and more AssumeRole calls.

Starts the release `trustbench serve --world ci/bench-world.yaml`, drives it with
`trustbench bench --target ADDR --only sts:AssumeRole` in rounds, and prints the server's
resident memory (VmRSS from /proc) after each round with the running count of calls.
Session tokens carry their own state, so memory should stay flat.

    cargo build --release -p harness && python3 ci/memory.py [ROUNDS] [SECONDS]
"""

import sys

from served import REPO, bench_rows, rss_mib, served


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with served(REPO / "ci" / "bench-world.yaml") as (server, address):
        print("| round | AssumeRole calls so far | errors | server RSS |")
        print("|---|---|---|---|")
        print(f"| 0 | 0 | 0 | {rss_mib(server.pid):.1f} MiB |")
        calls = 0
        errors = 0
        for n in range(1, rounds + 1):
            (cells,) = bench_rows(
                address, "--only", "sts:AssumeRole", "--concurrency", "8", "--seconds", str(seconds)
            )
            calls += int(float(cells[3]) * seconds)
            errors += int(cells[6])
            print(f"| {n} | {calls:,} | {errors} | {rss_mib(server.pid):.1f} MiB |")


if __name__ == "__main__":
    main()
