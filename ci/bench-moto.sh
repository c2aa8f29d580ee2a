#!/usr/bin/env bash
# `trustbench bench` with moto's server as a third peer, in the same run: installs
# moto[server] into ./.venv-bench (once), starts it on a free loopback port, runs the
# benchmark against the bare-transport ceilings, trustbench and moto in turn, and stops moto.
# Arguments go to `trustbench bench` (e.g. --seconds 4 --concurrency 1,8,64).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv-bench/bin/moto_server ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/python -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv-bench/bin/moto_server -H 127.0.0.1 -p "$port" > .venv-bench/moto.log 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
cargo build --quiet --release -p harness
./target/release/trustbench bench --moto "127.0.0.1:$port" "$@"
