#!/usr/bin/env bash
# Checks .deb packages scripts/package.sh built (it runs this with --check):
#
#   scripts/check-package.sh DEB...
#
# For each package: its control fields; the files it must hold (binary, unit, man page, copyright,
# changelog, configuration as a conffile; for lotline the udev rules and every shipped device
# profile); the maintainer scripts (present, executable, valid shell, data removed on purge
# only); the md5sums against the unpacked files; the packaged binary runs (--version) and takes
# the packaged configuration file (config check) where it is built for this machine; the unit
# (systemd-analyze verify, against the unpacked tree); lintian (errors and warnings fail, the
# package's own overrides apply). Prints one line per check; exit 1 when any fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -gt 0 ] || { echo "usage: scripts/check-package.sh DEB..." >&2; exit 2; }

failed=0
ok() { echo "  ok    $*"; }
bad() { echo "  FAIL  $*"; failed=1; }
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

host_arch=$(dpkg --print-architecture)

for deb in "$@"; do
    [ -f "$deb" ] || { bad "$deb: no such file"; continue; }
    pkg=$(dpkg-deb -f "$deb" Package)
    arch=$(dpkg-deb -f "$deb" Architecture)
    echo "$(basename "$deb"):"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/lotline-check.XXXXXX")
    dpkg-deb -x "$deb" "$tmp/root"
    dpkg-deb -e "$deb" "$tmp/DEBIAN"

    # Control fields.
    for f in Package Version Architecture Maintainer Installed-Size Depends Section Priority Description; do
        [ -n "$(dpkg-deb -f "$deb" "$f")" ] || bad "control field $f is empty"
    done
    ok "control fields ($(dpkg-deb -f "$deb" Version), $arch)"

    # Files.
    want=(
        "usr/bin/$pkg"
        "usr/lib/systemd/system/$pkg.service"
        "usr/share/man/man1/$pkg.1.gz"
        "usr/share/doc/$pkg/copyright"
        "usr/share/doc/$pkg/changelog.Debian.gz"
        "usr/share/doc/$pkg/deploy.md.gz"
        "etc/lotline/$pkg.toml"
    )
    if [ "$pkg" = lotline ]; then
        want+=(usr/lib/udev/rules.d/99-lotline.rules usr/share/lotline/hw-profiles/schema.json)
        for f in "$root"/hw-profiles/*.toml; do
            want+=("usr/share/lotline/hw-profiles/$(basename "$f")")
        done
    fi
    missing=0
    for f in "${want[@]}"; do
        [ -f "$tmp/root/$f" ] || { bad "missing /$f"; missing=1; }
    done
    [ "$missing" = 0 ] && ok "${#want[@]} files in place"
    check "/usr/bin/$pkg is executable" test -x "$tmp/root/usr/bin/$pkg"
    owners=$(dpkg-deb --contents "$deb" | awk '{print $2}' | sort -u)
    [ "$owners" = root/root ] && ok "every file owned by root" || bad "files not owned by root: $owners"

    # Control archive: conffiles, maintainer scripts, md5sums.
    check "conffiles lists /etc/lotline/$pkg.toml" grep -qx "/etc/lotline/$pkg.toml" "$tmp/DEBIAN/conffiles"
    for s in postinst prerm postrm; do
        if [ -x "$tmp/DEBIAN/$s" ] && sh -n "$tmp/DEBIAN/$s"; then
            ok "$s: executable, valid shell"
        else
            bad "$s: missing, not executable or not valid shell"
        fi
    done
    # Data is removed on purge only: the state directory is deleted under `purge)` and nowhere else.
    if awk '/^if \[ "\$1" = "purge" \]; then$/ || /^ *purge\)/ {p=1; next}
            /^fi/ || /;;/ {p=0}
            /rm -r/ && !p {bad=1}
            END {exit bad}' "$tmp/DEBIAN/postrm"; then
        ok "postrm deletes data on purge only"
    else
        bad "postrm deletes something outside purge"
    fi
    if (cd "$tmp/root" && md5sum --quiet -c "$tmp/DEBIAN/md5sums") >/dev/null 2>&1; then
        ok "md5sums match"
    else
        bad "md5sums do not match the files"
    fi

    # The binary runs and takes the packaged configuration (on its own architecture only).
    if [ "$arch" = "$host_arch" ]; then
        check "$pkg --version runs" "$tmp/root/usr/bin/$pkg" --version
        if "$tmp/root/usr/bin/$pkg" config check --help >/dev/null 2>&1; then
            if out=$("$tmp/root/usr/bin/$pkg" config check "$tmp/root/etc/lotline/$pkg.toml" 2>&1); then
                ok "the packaged /etc/lotline/$pkg.toml passes $pkg config check"
            else
                bad "the packaged /etc/lotline/$pkg.toml fails $pkg config check: $out"
            fi
        fi
    fi

    # The unit, as systemd loads it, with ExecStart pointing at the unpacked binary (the package
    # is not installed here) and the man page it names not looked up.
    if command -v systemd-analyze >/dev/null; then
        mkdir -p "$tmp/unit"
        unit=$tmp/unit/$pkg.service
        sed "s|^ExecStart=/usr/bin/|ExecStart=$tmp/root/usr/bin/|" \
            "$tmp/root/usr/lib/systemd/system/$pkg.service" >"$unit"
        if out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ]; then
            ok "systemd-analyze verify $pkg.service"
        else
            bad "systemd-analyze verify $pkg.service: $out"
        fi
    fi

    # lintian: errors and warnings fail; the package's overrides (with their reasons) apply.
    if command -v lintian >/dev/null; then
        if out=$(lintian --fail-on error,warning "$deb" 2>&1); then
            ok "lintian: no errors or warnings"
        else
            bad "lintian:"
            echo "$out" | sed 's/^/        /'
        fi
    else
        bad "lintian is not installed (scripts/deps.sh --package)"
    fi
    rm -rf "$tmp"
done

if [ "$failed" = 0 ]; then
    echo "packages: all checks passed"
else
    echo "packages: some checks failed" >&2
    exit 1
fi
