#!/usr/bin/env bash
# The whole test suite: formatting, lints, every Rust test (unit, property, end-to-end with
# the real AWS SDKs, the server image in a container), then boto3, the aws CLI and the AWS
# SDK for JavaScript v3 against `trustbench serve`. Needs the Rust toolchain, python3 and
# Node.js with npm; Python packages go into ./.venv, npm packages into
# adapters/javascript/node_modules; as root on Debian it installs and starts a Docker engine
# when none answers (ci/container.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Container engine and runtime base image (ci/container.sh up)"
# A Docker engine (Debian's docker.io, started here and stopped at exit when none answers)
# and a runtime base image made from Debian's packages: the container tests run for real.
ci/container.sh up
trap 'ci/container.sh down' EXIT

step "cargo build"
# Everything once, including target/debug/trustbench for the image and the Python tests.
cargo build --workspace --all-targets --locked
ci/container.sh image
export TRUSTBENCH_REQUIRE_CONTAINER=1

step "cargo test"
cargo test --workspace --locked

step "Python clients (boto3, aws CLI) in .venv"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r ci/requirements.txt

step "JavaScript adapter (AWS SDK for JavaScript v3, pinned in adapters/javascript) with npm ci"
if ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20 or newer with npm is needed for the JavaScript adapter's tests" >&2
  exit 1
fi
npm ci --prefix adapters/javascript --no-audit --no-fund --loglevel=error

step "Chromium and its driver for the HTML report's browser test (Debian's packages)"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }
fi

export TRUSTBENCH_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/trustbench"
.venv/bin/python -m pytest -q tests/python

step "The pytest example (examples/pytest), as a user's suite runs it"
# Its own session: its conftest.py is the one users copy.
.venv/bin/python -m pytest -q examples/pytest
