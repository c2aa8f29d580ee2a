#!/usr/bin/env python3
"""Per-request cost and memory of `trustbench serve` with a large world against the small
bench world: 10,000 users (one key and one attached policy each), 10,000 roles and 50,000
customer managed policies in one account, plus the bench identities.

    cargo build --release -p harness && python3 ci/scale.py [USERS] [ROLES] [POLICIES]

Prints, for each world, the time from process start to the endpoint line (the world is
loaded and checked by then), the idle RSS, and `trustbench bench --target` at
concurrency 8 for each operation.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from served import REPO, bench_rows, rss_mib, served

SMALL = REPO / "ci" / "bench-world.yaml"


def big_world(users: int, roles: int, policies: int) -> str:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
    account = {
        "id": "111111111111",
        "policies": [
            {"name": f"p{i}", "document": {"Version": "2012-10-17", "Statement": [statement]}}
            for i in range(policies)
        ],
        "users": [
            {"name": "admin", "managed_policies": ["AdministratorAccess"],
             "access_keys": [{"id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}]}
        ] + [
            {"name": f"u{i}", "managed_policies": [f"p{i % policies}"],
             "access_keys": [{"id": f"AKIASCALE{i:011d}", "secret": f"secret-{i}"}]}
            for i in range(users)
        ],
        "roles": [
            {"name": "bench-role", "trust_policy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]}}
        ] + [
            {"name": f"r{i}", "managed_policies": [f"p{(i * 7) % policies}"], "trust_policy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]}}
            for i in range(roles)
        ],
    }
    # JSON is YAML.
    return json.dumps({"accounts": [account]})


def measure(label: str, world: Path) -> None:
    started = time.monotonic()
    with served(world) as (server, address):
        ready = time.monotonic() - started
        print(f"\n{label}: ready in {ready:.2f} s, idle RSS {rss_mib(server.pid):.1f} MiB")
        for cells in bench_rows(address, "--concurrency", "8", "--seconds", "2"):
            print(f"  {cells[0]:<24} {float(cells[3]):>9,.0f} req/s  p99 {cells[5]:>10}  errors {cells[6]}")
        print(f"  RSS after: {rss_mib(server.pid):.1f} MiB")


def main() -> None:
    users, roles, policies = (int(a) for a in (sys.argv[1:4] if len(sys.argv) > 3 else (10_000, 10_000, 50_000)))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.yaml"
        big.write_text(big_world(users, roles, policies))
        measure("small world (ci/bench-world.yaml)", SMALL)
        measure(f"large world ({users:,} users, {roles:,} roles, {policies:,} policies)", big)


if __name__ == "__main__":
    main()
