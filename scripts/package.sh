#!/usr/bin/env bash
# Builds the Debian packages: `lotline` (the handheld app on the KMS backend, its kiosk unit,
# udev rules and device profiles) and `lotline-hub` (the sync server and its unit).
#
#   scripts/package.sh [--arch amd64|arm64] [--out DIR] [--only lotline|lotline-hub] [--no-build]
#                      [--profile release|dev] [--check]
#
#   --arch    the Debian architecture to build for (default: this machine's). arm64 on another
#             machine is a cross build: run scripts/cross-arm64.sh, which sets the toolchain up.
#   --out     where the .debs go (default: target/debian)
#   --only    build one of the two packages
#   --no-build  package the release binaries cargo built already (no cargo run)
#   --profile the cargo profile to build with (default release). The test run (scripts/test.sh)
#             packages a dev build: the same files and scripts, built in a fraction of the time.
#   --check   then check each package: its files and control data (dpkg-deb), lintian, and the
#             unit (systemd-analyze verify); exit 1 on a problem
#
# Installs the Debian packages it needs when they are missing (scripts/deps.sh --package), then
# runs cargo build --release, assembles each package in a temporary directory and builds it
# with dpkg-deb --root-owner-group. Depends comes from dpkg-shlibdeps (a throwaway debian/
# directory), plus what the app loads at run time. The version is Cargo's, then the commit:
# 0.1.0+git<commits>.<hash>-1, so a later commit makes a newer package;
# LOTLINE_DEB_VERSION overrides it. Maintainer: $DEBFULLNAME <$DEBEMAIL> if set.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=deps.sh
. scripts/deps.sh

die() {
    echo "package.sh: $*" >&2
    exit 1
}

host_arch=$(dpkg --print-architecture 2>/dev/null || echo unknown)
arch=$host_arch
out=$root/target/debian
only=
build=1
profile=release
check=0
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
        --arch=*) arch=${1#*=}; shift ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --out=*) out=${1#*=}; shift ;;
        --only) only=${2:?--only needs lotline or lotline-hub}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        --profile) profile=${2:?--profile needs release or dev}; shift 2 ;;
        --profile=*) profile=${1#*=}; shift ;;
        --check) check=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
case "$arch" in
    amd64) triple=x86_64-unknown-linux-gnu; gnu=x86_64-linux-gnu ;;
    arm64) triple=aarch64-unknown-linux-gnu; gnu=aarch64-linux-gnu ;;
    *) die "--arch must be amd64 or arm64, not $arch" ;;
esac
case "$only" in
    ''|lotline|lotline-hub) ;;
    *) die "--only must be lotline or lotline-hub, not $only" ;;
esac
packages=(lotline lotline-hub)
[ -n "$only" ] && packages=("$only")
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- Tools and build -----------------------------------------------------------------------------

cross=0
if [ "$arch" != "$host_arch" ]; then
    cross=1
    if [ -z "${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-}" ]; then
        die "building for $arch on $host_arch is a cross build: run scripts/cross-arm64.sh (it installs the cross toolchain and sets the linker and pkg-config)"
    fi
    install_lotline_deps --cross-arm64
else
    install_lotline_deps --package
fi
require_cargo

target_dir=${CARGO_TARGET_DIR:-$root/target}
target_args=()
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug
bindir=$target_dir/$profile_dir
if [ "$cross" = 1 ]; then
    target_args=(--target "$triple")
    bindir=$target_dir/$triple/$profile_dir
fi
strip=strip
if [ "$cross" = 1 ]; then
    strip=$gnu-strip
fi

if [ "$build" = 1 ]; then
    for pkg in "${packages[@]}"; do
        case "$pkg" in
            # The handheld: DRM/KMS, no X11/Wayland, no embedded hub.
            lotline) cargo build --profile "$profile" --locked "${target_args[@]}" -p lotline --no-default-features --features kms ;;
            lotline-hub) cargo build --profile "$profile" --locked "${target_args[@]}" -p lotline-hub ;;
        esac
    done
fi
for pkg in "${packages[@]}"; do
    [ -x "$bindir/$pkg" ] || die "$bindir/$pkg is missing: build it (without --no-build)"
done

# --- Version, maintainer, dates ------------------------------------------------------------------

cargo_version() { # the version of the package whose manifest is $1
    sed -n '/^\[package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' "$1" | head -n 1
}
commit_epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$commit_epoch}
if [ -n "${LOTLINE_DEB_VERSION:-}" ]; then
    version_suffix=
else
    count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
    hash=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
    version_suffix="+git$count.$hash-1"
    if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        echo "package.sh: warning: the work tree has uncommitted changes; the package's version names commit $hash" >&2
    fi
fi
maintainer="${DEBFULLNAME:-lotline developers} <${DEBEMAIL:-lotline@example.invalid}>"
changelog_date=$(LC_ALL=C TZ=UTC date -R -d "@$SOURCE_DATE_EPOCH")
commit_subject=$(git log -1 --format=%s 2>/dev/null || echo "local build")

# --- Assembly ------------------------------------------------------------------------------------

umask 022
stage_root=$(mktemp -d "${TMPDIR:-/tmp}/lotline-deb.XXXXXX")
trap 'rm -rf "$stage_root"' EXIT

# install MODE SRC DEST: a file with its mode, directories made 0755.
put() {
    install -D -m "$1" "$2" "$3"
}

gz() { # gz SRC DEST: gzip -9n, the way dh_compress does
    mkdir -p "$(dirname "$2")"
    gzip -9nc "$1" >"$2"
    chmod 0644 "$2"
}

# The Rust crates a binary is built from and their licenses (for the copyright file's note).
crate_list() { # crate_list OUT PKG CARGO-ARGS...
    local file=$1 pkg=$2
    shift 2
    {
        echo "Rust crates linked into /usr/bin/$pkg, with the licenses their manifests declare"
        echo "(cargo tree, $arch build). The crates' own license texts are in their sources on crates.io."
        echo
        cargo tree --locked --offline -e normal --prefix none --target "$triple" -p "$pkg" "$@" \
            --format '{p}  {l}' 2>/dev/null | sed 's/ (\/[^)]*)//; s/ (\*)$//' | LC_ALL=C sort -u
    } >"$file" 2>/dev/null || true
}

shlib_depends() { # shlib_depends PKG BINARY: the Depends dpkg-shlibdeps finds
    local pkg=$1 bin=$2 tmp line
    tmp=$(mktemp -d)
    mkdir -p "$tmp/debian"
    printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$tmp/debian/control"
    line=$(cd "$tmp" && DEB_HOST_ARCH=$arch dpkg-shlibdeps -O -e"$bin" 2>"$tmp/err") || {
        cat "$tmp/err" >&2
        rm -rf "$tmp"
        die "dpkg-shlibdeps failed on $bin"
    }
    grep -v '^$' "$tmp/err" >&2 || true
    rm -rf "$tmp"
    line=${line#shlibs:Depends=}
    echo "$line"
}

assemble() { # assemble PKG
    local pkg=$1
    local stage=$stage_root/${pkg}_$arch
    local doc=$stage/usr/share/doc/$pkg
    local version
    version=${LOTLINE_DEB_VERSION:-$(cargo_version "$( [ "$pkg" = lotline ] && echo Cargo.toml || echo crates/$pkg/Cargo.toml)")$version_suffix}
    mkdir -p "$stage/DEBIAN"

    # The binary, stripped as dh_strip does.
    put 0755 "$bindir/$pkg" "$stage/usr/bin/$pkg"
    "$strip" --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/$pkg"

    # Unit, maintainer scripts, man page, documentation.
    put 0644 "packaging/$pkg/$pkg.service" "$stage/usr/lib/systemd/system/$pkg.service"
    for s in postinst prerm postrm; do
        put 0755 "packaging/$pkg/$s" "$stage/DEBIAN/$s"
    done
    gz "packaging/$pkg/$pkg.1" "$stage/usr/share/man/man1/$pkg.1.gz"
    put 0644 "packaging/$pkg/copyright" "$doc/copyright"
    gz docs/deploy.md "$doc/deploy.md.gz"
    # The README is what the configuration file and the man page point to.
    gz README.md "$doc/README.md.gz"
    if [ -f "packaging/$pkg.lintian-overrides" ]; then
        put 0644 "packaging/$pkg.lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"
    fi
    local crates=$stage_root/$pkg.crates.txt
    case "$pkg" in
        lotline) crate_list "$crates" "$pkg" --no-default-features --features kms ;;
        lotline-hub) crate_list "$crates" "$pkg" ;;
    esac
    if [ -s "$crates" ]; then
        gz "$crates" "$doc/rust-crates.txt.gz"
    fi
    {
        printf '%s (%s) unstable; urgency=medium\n\n' "$pkg" "$version"
        printf 'Built from commit %s: %s\n' "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" "$commit_subject" \
            | fold -s -w 74 | sed '1s/^/  * /; 2,$s/^/    /; s/ *$//'
        echo
        printf ' -- %s  %s\n' "$maintainer" "$changelog_date"
    } >"$stage_root/$pkg.changelog"
    gz "$stage_root/$pkg.changelog" "$doc/changelog.Debian.gz"

    # The configuration file: the tree's own when it has one, else a pointer to the docs.
    local conf=$stage/etc/lotline/$pkg.toml
    if [ -f "assets/config/$pkg.toml" ]; then
        put 0644 "assets/config/$pkg.toml" "$conf"
    else
        mkdir -p "$(dirname "$conf")"
        printf '# see /usr/share/doc/%s/\n' "$pkg" >"$conf"
        chmod 0644 "$conf"
    fi
    echo "/etc/lotline/$pkg.toml" >"$stage/DEBIAN/conffiles"

    local depends recommends section description
    depends=$(shlib_depends "$pkg" "$stage/usr/bin/$pkg")
    case "$pkg" in
        lotline)
            put 0644 assets/udev/99-lotline.rules "$stage/usr/lib/udev/rules.d/99-lotline.rules"
            for f in hw-profiles/*.toml hw-profiles/schema.json hw-profiles/README.md; do
                put 0644 "$f" "$stage/usr/share/lotline/$f"
            done
            # fontconfig is opened at run time (dlopen), so dpkg-shlibdeps does not see it;
            # Latin text needs a system font (Chinese comes from the font in the binary).
            depends="$depends, libfontconfig1, fonts-dejavu-core, adduser"
            recommends=udev
            section=misc
            description="lot verification at warehouse gates, on a handheld
 lotline is the app on a warehouse worker's handheld at receiving, picking and
 cycle counting: each scanned lot is decided against an offline SQLite cache
 (expired, quarantined, on-hold, recalled lots are stopped; near-expiry lots
 and FEFO breaches flagged), audited, and queued for the site's lotline-hub.
 .
 This build draws straight to the screen through DRM/KMS (no desktop) and
 starts at boot as a kiosk (lotline.service) once the device is enrolled. It
 ships udev rules for scanners, RFID readers and label printers, and the
 device profiles (hw-profiles)."
            ;;
        lotline-hub)
            depends="$depends, adduser"
            recommends=
            section=net
            description="sync server for lotline handhelds
 lotline-hub is the central server of the lotline handheld app: it enrols
 devices, applies the commands they upload exactly once, and serves master
 data, lot statuses and tasks to them as change logs. It stores its data in
 SQLite or PostgreSQL.
 .
 The package runs it as a service (lotline-hub.service) on a SQLite database
 in /var/lib/lotline-hub."
            ;;
    esac

    # Every date in the package is the commit's; modes as policy wants them.
    find "$stage" -type d -exec chmod 0755 {} +
    find "$stage" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +
    (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
        | xargs -0 md5sum >DEBIAN/md5sums)
    chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/conffiles"

    local size
    size=$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)
    {
        echo "Package: $pkg"
        echo "Version: $version"
        echo "Architecture: $arch"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $size"
        echo "Depends: $depends"
        [ -n "$recommends" ] && echo "Recommends: $recommends"
        echo "Section: $section"
        echo "Priority: optional"
        echo "Homepage: https://example.invalid/lotline"
        echo "Description: $description"
    } >"$stage/DEBIAN/control"
    chmod 0644 "$stage/DEBIAN/control"

    local deb=$out/${pkg}_${version}_$arch.deb
    dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
    echo "$deb"
}

debs=()
for pkg in "${packages[@]}"; do
    deb=$(assemble "$pkg" | tail -n 1)
    echo "$deb"
    debs+=("$deb")
done
if [ "$check" = 1 ]; then
    exec "$root/scripts/check-package.sh" "${debs[@]}"
fi
