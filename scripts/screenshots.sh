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
# The receive gate: each picture runs its ops (as `run-script` takes them) on a fresh copy.
ops="$tmp/ops.jsonl"
shot() { # name lang size screen ops...
  local name="$1" lang="$2" size="$3" screen="$4"; shift 4
  printf '%s\n' "$@" > "$ops"
  cp "$db" "$tmp/shot.db"
  "$bin" screenshot --db "$tmp/shot.db" --today "$today" --screen "$screen" --lang "$lang" --size "$size" --script "$ops" --out "$out/$name.png"
  rm -f "$tmp/shot.db" "$tmp/shot.db-wal" "$tmp/shot.db-shm" "$tmp/shot.labels.zpl"
}
login='{"op":"login","operator":"recv1","pin":"1111"}'
asn='{"op":"start","gate":"receive","task":"ASN-0001"}'
gloves=06901234500219
"$bin" screenshot --db "$db" --today "$today" --screen login --lang zh --size 480x800 --out "$out/login-zh-480x800.png"
shot receive-tasks-en en 720x1280 receive "$login"
shot receive-sscc-en en 720x1280 receive "$login" "$asn" '{"op":"scan","data":"(00)069012345000000011"}'
shot receive-qty-zh zh 720x1280 receive "$login" "$asn" "{\"op\":\"scan\",\"data\":\"(01)$gloves(17)281130\"}" '{"op":"scan","data":"G-7"}'
shot receive-label-zh zh 720x1280 receive "$login" "$asn" "{\"op\":\"scan\",\"data\":\"(01)$gloves(17)281130\"}" '{"op":"scan","data":"G-7"}' '{"op":"qty","n":40}' '{"op":"confirm"}' '{"op":"label"}'
shot receive-over-en en 720x1280 receive "$login" "$asn" "{\"op\":\"scan\",\"data\":\"(01)$gloves(17)281130(10)G-8(30)60\"}"
shot receive-putaway-refused-en en 720x1280 receive "$login" '{"op":"start","gate":"receive","task":"ASN-0002"}' '{"op":"scan","data":"(00)069012345000000042"}' '{"op":"confirm"}' '{"op":"location","code":"WH1-A-01-01"}'
# The pick gate: the task list (FEFO lots, near-expiry marks), a lot the customer cannot take, the
# GSP second check; the count gate: a finding while counting, a finished count.
picker='{"op":"login","operator":"pick1","pin":"2222"}'
amox=06901234500110
milkpowder=06901234500011
thermo=06901234500257
gauze=06901234500240
shot pick-tasks-en en 720x1280 pick "$picker"
shot pick-tasks-zh-480x800 zh 480x800 pick "$picker"
shot pick-below-min-en en 720x1280 pick "$picker" '{"op":"start","gate":"pick","task":"PK-0002"}' \
  '{"op":"scan","data":"WH1-A-01-02"}' "{\"op\":\"scan\",\"data\":\"(01)$milkpowder(10)L2402\"}"
shot pick-check-zh zh 720x1280 pick "$picker" '{"op":"start","gate":"pick","task":"PK-0001"}' \
  '{"op":"scan","data":"WH1-A-02-01"}' "{\"op\":\"scan\",\"data\":\"(01)$amox(10)A2503\"}" '{"op":"qty","n":24}' \
  '{"op":"confirm"}' "{\"op\":\"scan\",\"data\":\"(01)$amox(10)A2503\"}"
counter='{"op":"login","operator":"count1","pin":"4444"}'
shot count-finding-en en 720x1280 count "$counter" '{"op":"start","gate":"count","task":"CC-0001"}' \
  '{"op":"scan","data":"WH1-A-05-02"}' "{\"op\":\"scan\",\"data\":\"(01)$gauze(10)G2309(30)12\"}"
shot count-result-zh zh 720x1280 count "$counter" '{"op":"start","gate":"count","task":"CC-0002"}' \
  '{"op":"scan","data":"WH1-A-06-01"}' "{\"op\":\"scan\",\"data\":\"(01)$thermo(21)7001\"}" \
  "{\"op\":\"scan\",\"data\":\"(01)$thermo(21)7002\"}" "{\"op\":\"scan\",\"data\":\"(01)$thermo(21)7002\"}" \
  "{\"op\":\"scan\",\"data\":\"(01)$thermo(21)7003\"}" '{"op":"confirm"}' '{"op":"finish"}'
