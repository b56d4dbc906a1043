#!/usr/bin/env bash
# What `make bench` needs beyond `make bootstrap`: wrk (API load), Node.js with Carbone 3.8.2
# (the side-by-side run, pinned in bench/carbone/package-lock.json), matplotlib (the chart) and
# py-spy (the worker's sampling profile).
# Idempotent, like deploy/bootstrap.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench bootstrap: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

lock_stamp=$(sha256sum bench/carbone/package-lock.json | cut -d' ' -f1)
if [ "$(cat bench/carbone/node_modules/.stamp 2>/dev/null)" != "$lock_stamp" ]; then
  echo "bench bootstrap: npm ci (Carbone)"
  npm ci --prefix bench/carbone --no-audit --no-fund --silent
  echo "$lock_stamp" > bench/carbone/node_modules/.stamp
fi

{ .venv/bin/python -c 'import matplotlib' 2>/dev/null && [ -x .venv/bin/py-spy ]; } \
  || .venv/bin/pip install -q -c requirements.lock -e '.[bench]'
