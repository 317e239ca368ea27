#!/usr/bin/env bash
# Runs the load and query benchmark (bench/run.py) with a release build of Strata.
# First run: creates a venv with pyarrow, numpy, duckdb, chdb, pymysql, moto and builds Strata
# and the local S3 server (strata-s3-server) with --release (slow the first time: DataFusion).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${STRATA_RELEASE_TARGET_DIR:-$HOME/.cache/strata-target-release}"
VENV="${STRATA_BENCH_VENV:-$HOME/.cache/strata-bench-venv}"
if ! "$VENV/bin/python" -c "import pyarrow, numpy, duckdb, chdb, pymysql, moto" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pyarrow numpy duckdb chdb pymysql "moto[server]"
fi
cargo build --release -p strata -p strata-s3-server
exec "$VENV/bin/python" bench/run.py --binary "$CARGO_TARGET_DIR/release/strata" \
  --s3-server "$CARGO_TARGET_DIR/release/strata-s3-server" "$@"
