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
# The full third-party data set sits beside the repository (in CI and on developer machines),
# not in a fresh clone: its test is ignored by default and run here when the data is there.
if [ -d ../shared/data/stix ]; then
    LIAISON_STIX_DATA="$PWD/../shared/data" cargo test -p liaison-stix --test real_bundles --quiet -- --ignored 2>&1 | tee -a target/test-output.txt
fi
# One closing line for the whole run.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "total: %d passed, %d failed\n", p, f; exit (f > 0) }' target/test-output.txt
