#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages lotline needs to build, run and test, and nothing that is
# already there. Sourced by scripts/run.sh and scripts/test.sh; run it alone to install them.
#
#   scripts/deps.sh            what building and running the app needs
#   scripts/deps.sh --test     plus what the test suite needs
#   scripts/deps.sh --package  plus what scripts/package.sh needs: the handheld's KMS build
#                              (libinput, libgbm, libxkbcommon, libudev) and the .deb tools
#   scripts/deps.sh --cross-arm64
#                              plus the arm64 cross toolchain and arm64 -dev libraries for the
#                              KMS build, and qemu-user to run arm64 tests (adds the arm64 dpkg
#                              architecture first; used by scripts/cross-arm64.sh)
#
# Works as root (no sudo needed) and as a user with sudo, on a machine whose apt lists are empty
# (a fresh image): `apt-get update` runs only when something is missing.
set -euo pipefail

lotline_packages() {
    # build-essential: the C compiler for the bundled SQLite.
    # fonts-dejavu-core: Slint's text needs at least one system font for Latin (Chinese comes
    # from the font embedded in the binary); the screenshot tests hide every font but DejaVu.
    # libasound2-dev, pkg-config: the verdict sounds play through ALSA (cpal's alsa-sys finds
    # the library with pkg-config); the app runs silent where no sound card is.
    # With --test, the test suite's needs: postgresql (lotline-hub is tested on a real
    # PostgreSQL as well as on SQLite; start_test_postgres below starts it).
    local pkgs=(build-essential fonts-dejavu-core libasound2-dev pkg-config)
    # With --package: the KMS backend's libraries (libinput-dev, libgbm-dev, libxkbcommon-dev;
    # libinput's Rust binding links libudev too), and the tools scripts/package.sh uses to
    # assemble and check the .debs (dpkg-dev for dpkg-shlibdeps, lintian, systemd for
    # systemd-analyze verify, man-db for lexgrog in lintian's man page checks).
    # With --cross-arm64: the same -dev libraries for arm64 (multiarch), the cross linker, and
    # qemu-user to run the arm64 test binaries.
    case "${1:-}" in
        --test)
            pkgs+=(postgresql)
            ;;
        --package)
            pkgs+=(libinput-dev libgbm-dev libxkbcommon-dev libudev-dev dpkg-dev lintian systemd man-db)
            ;;
        --cross-arm64)
            pkgs+=(libinput-dev libgbm-dev libxkbcommon-dev libudev-dev dpkg-dev lintian systemd man-db
                gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
                libinput-dev:arm64 libgbm-dev:arm64 libxkbcommon-dev:arm64 libudev-dev:arm64
                libasound2-dev:arm64)
            ;;
    esac
    printf '%s\n' "${pkgs[@]}"
}

# Prints the packages of "$@" that dpkg does not report as installed.
missing_packages() {
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            echo "$p"
        fi
    done
}

install_lotline_deps() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        echo "lotline: this is not a Debian or Ubuntu system (no dpkg/apt-get); install the equivalents of: $(lotline_packages "$@" | tr '\n' ' ')" >&2
        echo "lotline: 这不是 Debian 或 Ubuntu 系统(没有 dpkg/apt-get);请安装相应的软件包:$(lotline_packages "$@" | tr '\n' ' ')" >&2
        return 0
    fi
    if [ "${1:-}" = "--cross-arm64" ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "lotline: adding the arm64 dpkg architecture" >&2
        if [ "$(id -u)" -eq 0 ]; then
            dpkg --add-architecture arm64
        else
            sudo dpkg --add-architecture arm64
        fi
    fi
    local missing
    mapfile -t missing < <(missing_packages $(lotline_packages "$@"))
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "lotline: these packages are missing and you are not root, and sudo is not installed: ${missing[*]}" >&2
            echo "lotline: 缺少以下软件包,而当前用户不是 root 且未安装 sudo:${missing[*]}" >&2
            echo "lotline: as root, run: apt-get update && apt-get install -y ${missing[*]}" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    echo "lotline: installing ${missing[*]}" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Starts Debian's PostgreSQL cluster (installed by --test) and makes a role and database for the
# tests, then exports LOTLINE_TEST_PG (a URL; the tests make their own databases with it). Does
# nothing when LOTLINE_TEST_PG is already set (a server of your own); where no PostgreSQL is
# installed, says so and the PostgreSQL tests report that they were skipped.
start_test_postgres() {
    if [ -n "${LOTLINE_TEST_PG:-}" ]; then
        return 0
    fi
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        echo "lotline: PostgreSQL is not installed: the hub's PostgreSQL tests will be skipped" >&2
        echo "lotline: 未安装 PostgreSQL:将跳过 hub 的 PostgreSQL 测试" >&2
        return 0
    fi
    local as_pg=()
    if [ "$(id -u)" -eq 0 ]; then
        as_pg=(runuser -u postgres --)
    else
        as_pg=(sudo -u postgres)
    fi
    local line ver name port
    line=$(pg_lsclusters -h | head -n 1)
    if [ -z "$line" ]; then
        ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
        "${as_pg[@]}" pg_createcluster "$ver" main >/dev/null
        line=$(pg_lsclusters -h | head -n 1)
    fi
    read -r ver name port _ <<<"$line"
    if ! pg_lsclusters -h | head -n 1 | grep -q online; then
        if [ "$(id -u)" -eq 0 ]; then
            pg_ctlcluster "$ver" "$name" start
        else
            sudo pg_ctlcluster "$ver" "$name" start
        fi
    fi
    "${as_pg[@]}" psql -p "$port" -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'lotline'" | grep -q 1 \
        || "${as_pg[@]}" psql -p "$port" -qc "CREATE ROLE lotline LOGIN SUPERUSER PASSWORD 'lotline'"
    "${as_pg[@]}" psql -p "$port" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'lotline_test'" | grep -q 1 \
        || "${as_pg[@]}" createdb -p "$port" -O lotline lotline_test
    export LOTLINE_TEST_PG="postgres://lotline:lotline@127.0.0.1:$port/lotline_test"
}

require_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "lotline: cargo is not on PATH: install Rust with rustup (https://rustup.rs), then open a new shell" >&2
        echo "lotline: 找不到 cargo:请用 rustup(https://rustup.rs)安装 Rust,然后打开新的终端" >&2
        return 1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    install_lotline_deps "$@"
fi
