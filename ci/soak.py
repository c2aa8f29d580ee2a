#!/usr/bin/env python3
"""A bounded soak: 64 keep-alive connections for 60 s against a separate `trustbench serve`,
each operation in turn (15 s each), with the server's memory before and after.
Passes (exit 0) when no request failed and resident memory grew by less than 16 MiB.

    cargo build --release -p harness && python3 ci/soak.py [SECONDS_PER_OPERATION]
"""

import sys

from served import REPO, bench_rows, rss_mib, served


def main() -> int:
    seconds = sys.argv[1] if len(sys.argv) > 1 else "15"
    with served(REPO / "ci" / "bench-world.yaml") as (server, address):
        before = rss_mib(server.pid)
        rows = bench_rows(address, "--concurrency", "64", "--seconds", seconds)
        after = rss_mib(server.pid)
    errors = sum(int(cells[6]) for cells in rows)
    calls = sum(int(float(cells[3]) * int(seconds)) for cells in rows)
    for cells in rows:
        print(f"{cells[0]:<24} {float(cells[3]):>9,.0f} req/s  p99 {cells[5]:>10}  errors {cells[6]}")
    print(f"{calls:,} requests on 64 connections, {errors} errors; RSS {before:.1f} -> {after:.1f} MiB")
    return 0 if errors == 0 and after - before < 16 else 1


if __name__ == "__main__":
    sys.exit(main())
