#!/usr/bin/env bash
# Run every test: formatting, lints, the Rust test suites (unit, property, conformance,
# CLI end to end) and the interoperability tests against the OASIS reference tools.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export LIAISON_VENV="$PWD/.venv"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --quiet 2>&1 | tee target/test-output.txt
# One closing line for the whole run.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "total: %d passed, %d failed\n", p, f; exit (f > 0) }' target/test-output.txt
