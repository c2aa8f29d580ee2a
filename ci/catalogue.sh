#!/usr/bin/env bash
# The main job: build the workspace once (the same debug build `ci/test.sh` uses, so neither
# command compiles what the other did), then play the scenario catalogue with
# `trustbench run`. Arguments go to `trustbench run` (e.g. --filter irsa, --junit FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
# All targets: test targets pull in the dev-dependencies, whose features then unify with
# the tests' build; building the binary alone would resolve other features and make the
# test command compile the AWS SDK crates a second time.
cargo build --workspace --all-targets --locked
exec "${CARGO_TARGET_DIR:-target}/debug/trustbench" run "$@"
