#!/usr/bin/env bash
# Regenerates the README screenshots headless, on pinned demo data.
# Usage: scripts/screenshots.sh [path/to/lotline]   (default: target/release/lotline)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/lotline}"
today=2026-11-21
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
db="$tmp/demo.db"
"$bin" demo-data --db "$db" --lots 2000 --seed 1 --today "$today"
milk=06901234500011
syringe=06901234500196
out=docs/screenshots
"$bin" screenshot --db "$db" --today "$today" --screen home --lang zh --out "$out/home-zh.png"
"$bin" screenshot --db "$db" --today "$today" --screen home --lang en --out "$out/home-en.png"
"$bin" screenshot --db "$db" --today "$today" --screen scan --lang zh --scan "(01)$milk(17)261118(10)L2311" --out "$out/scan-reject-zh.png"
"$bin" screenshot --db "$db" --today "$today" --screen scan --lang en --scan "(01)$milk(10)L2405" --out "$out/scan-warn-en.png"
"$bin" screenshot --db "$db" --today "$today" --screen scan --lang en --scan "]d201${syringe}10S240601" --out "$out/scan-accept-en.png"
"$bin" screenshot --db "$db" --today "$today" --screen lookup --lang zh --scan "(01)$milk(10)L2402" --out "$out/lookup-zh.png"
"$bin" screenshot --db "$db" --today "$today" --screen scan --lang zh --size 480x800 --scan "(01)$milk(10)L2405" --out "$out/scan-warn-zh-480x800.png"
"$bin" screenshot --db "$db" --today "$today" --screen rfid --lang en --out "$out/rfid-en.png"
"$bin" screenshot --db "$db" --today "$today" --screen rfid --lang zh --size 480x800 --out "$out/rfid-zh-480x800.png"
