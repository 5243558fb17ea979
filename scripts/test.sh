#!/usr/bin/env bash
# Runs the test suite, installing what a fresh Debian/Ubuntu machine lacks first.
# Arguments go to `cargo test` (e.g. `scripts/test.sh --test it import`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_lotline_deps --test
start_test_postgres
require_cargo
cargo test --locked --workspace "$@"
# Then the packages, from a dev build (a run given arguments is a partial one and skips this):
# their files, maintainer scripts, unit and lintian (scripts/check-package.sh).
[ $# -gt 0 ] || scripts/package.sh --profile dev --check
