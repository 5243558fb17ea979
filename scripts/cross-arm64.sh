#!/usr/bin/env bash
# Cross-builds the arm64 handheld package (lotline on the KMS backend) on an amd64 Debian 12
# machine, and with --test builds the domain's tests and the headless UI test for aarch64 and
# runs them under qemu-user.
#
#   scripts/cross-arm64.sh [--test] [--out DIR] [--with-hub]
#
#   --test      also cargo test --target aarch64-unknown-linux-gnu: lotline-domain, and the root
#               package's `ui` test (--no-default-features), run through qemu-aarch64
#   --out       where the .deb goes (default: target/debian)
#   --with-hub  the lotline-hub package for arm64 as well
#
# Steps: scripts/deps.sh --cross-arm64 (adds the arm64 dpkg architecture, installs
# gcc-aarch64-linux-gnu, the arm64 -dev libraries the kms feature links, qemu-user), rustup
# target add, then scripts/package.sh --arch arm64 with the cross linker and pkg-config set.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=deps.sh
. scripts/deps.sh

test=0
hub=0
out_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --test) test=1; shift ;;
        --out) out_args=(--out "${2:?--out needs a directory}"); shift 2 ;;
        --out=*) out_args=(--out "${1#*=}"); shift ;;
        --with-hub) hub=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "cross-arm64.sh: unknown argument: $1 (see --help)" >&2; exit 1 ;;
    esac
done
args=("${out_args[@]}")
if [ "$hub" = 0 ]; then
    args+=(--only lotline)
fi

if [ "$(dpkg --print-architecture)" != amd64 ]; then
    echo "cross-arm64.sh: this script cross-builds from amd64; on an arm64 machine run scripts/package.sh" >&2
    exit 1
fi

install_lotline_deps --cross-arm64
require_cargo
if command -v rustup >/dev/null 2>&1; then
    rustup target add aarch64-unknown-linux-gnu
else
    echo "cross-arm64.sh: rustup not found: make sure the Rust standard library for aarch64-unknown-linux-gnu is installed" >&2
fi

# The cross toolchain: the linker and C compiler (the bundled SQLite, ring), and pkg-config
# looking only at the arm64 libraries (multiarch) and the architecture-independent ones.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
# Tests run through qemu-user; -L / finds the arm64 loader and libraries of the multiarch
# packages (libc6:arm64, libasound2:arm64, ... came with the -dev packages).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /"

scripts/package.sh --arch arm64 "${args[@]}"

if [ "$test" = 1 ]; then
    target=(--target aarch64-unknown-linux-gnu)
    # Build first, then run (the runner above puts qemu-aarch64 before each test binary).
    cargo test --locked --no-run "${target[@]}" -p lotline-domain
    cargo test --locked --no-run "${target[@]}" -p lotline --no-default-features --test ui
    cargo test --locked "${target[@]}" -p lotline-domain
    # qemu-user does not pass serial ioctls on, so the UI test's flows over the simulated
    # (pseudo-terminal) scanner and reader are left out there; every other flow runs.
    LOTLINE_TEST_NO_SERIAL=1 cargo test --locked "${target[@]}" -p lotline --no-default-features --test ui
fi
