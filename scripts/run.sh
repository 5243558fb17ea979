#!/usr/bin/env bash
# Runs the app on its embedded default (demo data, simulated devices when none is attached),
# installing what a fresh Debian/Ubuntu machine lacks first. Arguments go to `lotline`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_lotline_deps
require_cargo
exec cargo run --release --locked -- "$@"
