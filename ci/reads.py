#!/usr/bin/env python3
"""IAM reads against where the entity sits in a large world: GetRole and GetUser of the
first and of the last of 10,000 (ci/scale.py's world), boto3 over loopback, one call at a
time, the names taking turns call by call so the machine's noise falls on all alike.

    cargo build --release -p harness && .venv/bin/python ci/reads.py [CALLS]

Prints the median and p90 in ms per call and name.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3

from scale import big_world
from served import served

ADMIN = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "big.yaml"
        world.write_text(big_world(10_000, 10_000, 50_000))
        with served(world) as (_server, address):
            iam = boto3.client(
                "iam",
                endpoint_url=f"http://{address}",
                region_name="us-east-1",
                aws_access_key_id=ADMIN[0],
                aws_secret_access_key=ADMIN[1],
            )
            reads = {
                "GetRole first (bench-role)": lambda: iam.get_role(RoleName="bench-role"),
                "GetRole last (r9999)": lambda: iam.get_role(RoleName="r9999"),
                "GetUser first (admin)": lambda: iam.get_user(UserName="admin"),
                "GetUser last (u9999)": lambda: iam.get_user(UserName="u9999"),
            }
            times = {name: [] for name in reads}
            for _ in range(calls):
                for name, read in reads.items():
                    started = time.perf_counter()
                    read()
                    times[name].append((time.perf_counter() - started) * 1e3)
    print("| read | median ms | p90 ms |")
    print("|---|---|---|")
    for name, ms in times.items():
        ms.sort()
        print(f"| {name} | {statistics.median(ms):.3f} | {ms[int(len(ms) * 0.9)]:.3f} |")


if __name__ == "__main__":
    main()
