#!/usr/bin/env python3
"""IAM write latency against world size: `trustbench serve` with ci/bench-world.yaml and with
ci/scale.py's world at each size (N users, N roles, 5N customer managed policies), all
serving at once, driven by boto3 over loopback. The calls go round the worlds in turn
(small, then each larger one, again and again), so a noisy machine slows them alike.

    cargo build --release -p harness && .venv/bin/python ci/writes.py [--sizes 1000,10000] [--calls 40]

Prints, per world, the time to ready and the idle RSS, then the median and p90 latency of
CreateUser, AttachUserPolicy and PutRolePolicy (each call a new user or policy), with
GetUser as the read for comparison; and the same for an AssumeRole with a session policy
followed by calls with its credentials (what parsing session policies per request costs).
"""

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

import served
from scale import SMALL, big_world

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]})
SESSION_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "iam:Get*"], "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]})


def client(service: str, address: str, key=KEY, token=None):
    return boto3.client(
        service, endpoint_url=f"http://{address}", region_name="us-east-1",
        aws_access_key_id=key[0], aws_secret_access_key=key[1], aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def operations(address: str):
    """Each operation as a function of the call's index."""
    iam, sts = client("iam", address), client("sts", address)
    role = "arn:aws:iam::111111111111:role/bench-role"
    session = {}

    def with_session(i):
        if i not in session:
            creds = sts.assume_role(RoleArn=role, RoleSessionName=f"w{i}", Policy=SESSION_POLICY)["Credentials"]
            session[i] = client("sts", address, (creds["AccessKeyId"], creds["SecretAccessKey"]),
                                creds["SessionToken"])
        return session[i]

    return {
        "CreateUser": lambda i: iam.create_user(UserName=f"w{i}"),
        "AttachUserPolicy": lambda i: iam.attach_user_policy(
            UserName=f"w{i}", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"),
        "PutRolePolicy": lambda i: iam.put_role_policy(
            RoleName="bench-role", PolicyName=f"i{i}", PolicyDocument=POLICY),
        "GetUser": lambda i: iam.get_user(UserName="admin"),
        "AssumeRole (session policy)": lambda i: with_session(i),
        "GetCallerIdentity, session": lambda i: with_session(i).get_caller_identity(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--bin", help="the trustbench binary (default: the release build)")
    args = parser.parse_args()
    if args.bin:
        served.BIN = Path(args.bin)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        worlds = [("small (ci/bench-world.yaml)", SMALL)]
        for n in sizes:
            path = Path(tmp) / f"world-{n}.yaml"
            path.write_text(big_world(n, n, 5 * n))
            worlds.append((f"{n:,} users, {n:,} roles, {5 * n:,} policies", path))
        ops, times = {}, {}
        for label, path in worlds:
            started = time.monotonic()
            server, address = stack.enter_context(served.served(path))
            ready = time.monotonic() - started
            print(f"{label}: ready in {ready:.2f} s, idle RSS {served.rss_mib(server.pid):.1f} MiB")
            ops[label] = operations(address)
            times[label] = {name: [] for name in ops[label]}
        names = list(next(iter(ops.values())))
        for name in names:
            for i in range(args.calls):
                for label, _ in worlds:
                    times[label][name].append(timed(lambda: ops[label][name](i)))
        print(f"\nmedian (p90) ms over {args.calls} calls each, worlds taking turns:")
        print(f"| {'call':<28} | " + " | ".join(label for label, _ in worlds) + " |")
        print("|" + "---|" * (len(worlds) + 1))
        for name in names:
            cells = []
            for label, _ in worlds:
                t = sorted(times[label][name])
                cells.append(f"{statistics.median(t):.2f} ({t[int(0.9 * (len(t) - 1))]:.2f})")
            print(f"| {name:<28} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
