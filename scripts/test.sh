#!/usr/bin/env bash
# Runs the test suite, installing what a fresh Debian/Ubuntu machine lacks first.
# Arguments go to `cargo test` (e.g. `scripts/test.sh --test it import`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_lotline_deps --test
start_test_postgres
require_cargo
exec cargo test --locked --workspace "$@"
