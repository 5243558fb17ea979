#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages lotline needs to build, run and test, and nothing that is
# already there. Sourced by scripts/run.sh and scripts/test.sh; run it alone to install them.
#
#   scripts/deps.sh            what building and running the app needs
#   scripts/deps.sh --test     plus what the test suite needs
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
    # With --test, the test suite's needs are added here too (none beyond these yet).
    local pkgs=(build-essential fonts-dejavu-core libasound2-dev pkg-config)
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
