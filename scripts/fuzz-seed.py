#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/<target>/) from the shared standards vectors.

Usage: scripts/fuzz-seed.py [path/to/shared/standards]   (default: ../shared/standards)
Then:  cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run parse_scan -- -max_total_time=600
"""
import hashlib
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
std = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "standards"
vec = std / "vectors"


def strings(node):
    """Every string anywhere in a JSON document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for x in node:
            yield from strings(x)
    elif isinstance(node, dict):
        for x in node.values():
            yield from strings(x)


def write(target, items, limit=512):
    out = root / "fuzz" / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in items:
        data = s.encode() if isinstance(s, str) else s
        if not data or len(data) > limit:
            continue
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
        n += 1
    print(f"{target}: {n} seeds in {out}")


scan_files = [
    "gs1_element_string_vectors.json", "digital_link_vectors.json", "hibc_vectors.json",
    "extracted/gs1-syntax-engine-ai-tests.json", "extracted/gs1-syntax-engine-scandata-tests.json",
    "extracted/gs1-syntax-engine-dl-tests.json", "extracted/digital-link-js-validity.json",
]
scan_seeds = set()
for f in scan_files:
    p = vec / f
    if p.exists():
        scan_seeds.update(strings(json.loads(p.read_text())))
write("parse_scan", sorted(scan_seeds))

epc_seeds = set()
for f in ["epc_vectors.json", "extracted/retail-epcpy-hex-vectors.json"]:
    p = vec / f
    if p.exists():
        for s in strings(json.loads(p.read_text())):
            h = s.replace(" ", "")
            if h and all(c in "0123456789abcdefABCDEF" for c in h) and len(h) % 2 == 0:
                epc_seeds.add(bytes.fromhex(h))
write("epc", sorted(epc_seeds))

# The hw-profile parser: the shipped profiles.
write("profile", sorted(p.read_bytes() for p in (root / "hw-profiles").glob("*.toml")), limit=1 << 20)

# The import reader: README's example file, and each of its sections alone.
readme = (root / "README.md").read_text()
section = readme[readme.index("## Import format"):]
example = section[section.index("```json") + len("```json"):]
example = example[: example.index("```")]
doc = json.loads(example)
import_seeds = {example.encode()}
for k, v in doc.items():
    import_seeds.add(json.dumps({k: v}, ensure_ascii=False).encode())
# Operators and a receipt task (ASN) with pallets, good and with a problem in every field the
# reader checks for them (PIN, roles, SSCC, expiry, tolerance, fields only a receipt takes).
receipt = {
    "operators": [
        {"id": "recv1", "name": "Receiver 1", "pin": "1111", "roles": ["receiver"]},
        {"id": "super1", "name": "Supervisor 1", "pin": "000099", "roles": ["supervisor", "picker"]},
    ],
    "locations": [{"code": "WH1-C-01-01", "warehouse": "WH1", "zone": "C", "storage": "chilled"}],
    "tasks": [{"id": "ASN-0001", "kind": "receipt", "tolerance_pct": 5, "lines": [
        {"item": "F005", "qty": 200, "lot": "N2611", "expiry": "2027-04-20", "sscc": "069012345000000011"},
        {"item": "F005", "qty": 100, "lot": "N2612", "expiry": "2027-05-05", "sscc": "069012345000000011"},
        {"item": "M003", "qty": 40}]}],
}
broken = {
    "operators": [
        {"id": "w1", "name": "W", "pin": "123", "roles": []},
        {"id": "w2", "name": "W", "pin": 12345, "roles": ["boss"]},
        {"id": "w3", "name": "", "pin": "12a45678", "roles": "picker"},
        {"id": "w1", "name": "W", "pin": "1234567890123", "roles": ["picker"]},
    ],
    "locations": [{"code": "X-1", "warehouse": "W", "zone": "X", "storage": "warm"}],
    "tasks": [
        {"id": "ASN-1", "kind": "receipt", "tolerance_pct": 101, "lines": [
            {"item": "A", "qty": 0, "lot": "L 1", "expiry": "2027-2-30", "sscc": "069012345000000012"},
            {"item": "A", "sscc": "0690123450"}]},
        {"id": "ASN-2", "kind": "receipt", "lines": [{"item": "A", "qty": 1, "sscc": "069012345000000011"}]},
        {"id": "PK-1", "kind": "pick", "tolerance_pct": 1, "lines": [
            {"item": "A", "expiry": "2027-01-01", "sscc": "069012345000000011"}]},
    ],
}
# Count and pick tasks and items' count tolerances, good and with a problem in every field the
# reader checks for them (locations, zone, blind, a count with nothing to count, a pick line's
# quantity, tolerances that are neither units nor a percentage).
item = {"name_en": "x", "name_zh": "x", "category": "food"}
counts = {
    "items": [
        dict(item, id="F001", count_tolerance=2),
        dict(item, id="F002", count_tolerance="3"),
        dict(item, id="P001", count_tolerance="5%"),
    ],
    "locations": [
        {"code": "WH1-A-01-01", "warehouse": "WH1", "zone": "WH1-A"},
        {"code": "WH1-A-01-02", "warehouse": "WH1", "zone": "WH1-A"},
    ],
    "tasks": [
        {"id": "CC-0001", "kind": "count", "locations": ["WH1-A-01-01", "wh1-a-01-02"], "blind": True},
        {"id": "CC-0002", "kind": "count", "zone": "WH1-A", "blind": False,
         "lines": [{"item": "F001", "lot": "L1", "location": "WH1-A-01-01"}, {"item": "P001", "qty": 3}]},
        {"id": "PK-0001", "kind": "pick", "customer": "C001", "lines": [
            {"item": "F001", "qty": 12, "location": "WH1-A-01-01"}, {"item": "P001", "lot": "A2503", "qty": 1}]},
    ],
}
broken_counts = {
    "items": [dict(item, id=f"X{i}", count_tolerance=t)
              for i, t in enumerate(["5 %", "101%", 2.5, -1, True, "", "%", "2.5%", ["2"]])],
    "tasks": [
        {"id": "CC-1", "kind": "count"},
        {"id": "CC-2", "kind": "count", "locations": [], "lines": [{"item": "A"}]},
        {"id": "CC-3", "kind": "count", "locations": ["not a code", 7], "zone": " ", "blind": "no"},
        {"id": "CC-4", "kind": "count", "locations": "WH1-A-01-01", "zone": 3},
        {"id": "PK-1", "kind": "pick", "locations": ["A-1"], "zone": "A", "blind": True,
         "lines": [{"item": "A"}, {"item": "A", "qty": 0}]},
        {"id": "ASN-1", "kind": "receipt", "blind": False, "lines": [{"item": "A", "qty": 1}]},
    ],
}
for d in (receipt, broken, counts, broken_counts):
    import_seeds.add(json.dumps(d, ensure_ascii=False).encode())
write("import", sorted(import_seeds), limit=1 << 20)
