#!/usr/bin/env python3
"""Generate crates/lotline-domain/src/gs1/ai_table.rs from the GS1 Barcode Syntax Dictionary.

The dictionary itself is not part of this repository (see ../shared/standards/README.md);
this script and its committed output are. Re-run it when the dictionary is updated:

    python3 scripts/gen_ai_table.py [DICTIONARY] [-o OUTPUT] [--commit SHA]

DICTIONARY defaults to ../shared/standards/gs1-syntax-dictionary.txt and OUTPUT to
crates/lotline-domain/src/gs1/ai_table.rs, both relative to the repository root (the parent of this
script's folder). Python 3.11, standard library only. The output is deterministic.

Dictionary line syntax (from the file's own header):

    AIs  [Flags]  Specification  [Attributes...]  [# Title]

AIs is one AI or a range such as 3100-3105; Flags are characters such as '*' (predefined
length) and '?' (Digital Link data attribute); each Specification component is
Type[,linter...] with Type N/X/Y/Z plus a length ("N6", "X..20"), optionally written in
brackets ("[N3],iso3166") when it may be left out; Attributes are key=value or bare keys.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DICT = REPO_ROOT / ".." / "shared" / "standards" / "gs1-syntax-dictionary.txt"
DEFAULT_OUT = REPO_ROOT / "crates" / "lotline-domain" / "src" / "gs1" / "ai_table.rs"

# The dictionary file does not carry its own commit; this is the gs1/gs1-syntax-dictionary
# commit named in ../shared/standards/README.md. Pass --commit when regenerating from another.
DICT_COMMIT = "ff2eb4bf"

# Linters implemented in crates/lotline-domain/src/gs1/linters.rs (its LINTER_NAMES). A dictionary naming any
# other linter is refused, so a new linter cannot slip into the table unimplemented.
KNOWN_LINTERS = frozenset(
    """couponcode couponposoffer cset39 cset64 cset82 csetnumeric csum csumalpha gcppos1 gcppos2
    hasnondigit hh hhmi hhmm hyphen iban importeridx iso3166 iso3166999 iso3166alpha2 iso3166list
    iso4217 iso5218 key keyoff1 latitude latlong longitude mediatype mi mm mmoptss nonzero
    nozeroprefix packagetype pcenc pieceoftotal posinseqslash ss winding yesno yymmd0 yymmdd
    yymmddhh yyyymmd0 yyyymmdd zero""".split()
)

FLAG_CHARS = set("*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~")
COMPONENT_RE = re.compile(r"^(\[)?([NXYZ])(\.\.)?(\d+)(\])?((?:,[A-Za-z0-9]+)*)$")
AI_RANGE_RE = re.compile(r"^(\d{2,4})(?:-(\d{2,4}))?$")


@dataclass
class Component:
    cset: str
    min_len: int
    max_len: int
    optional: bool
    linters: list[str]


@dataclass
class Entry:
    ai: str
    flags: str
    components: list[Component]
    req: list[str] = field(default_factory=list)
    ex: list[str] = field(default_factory=list)
    dlpkey: str | None = None
    title: str = ""


class DictError(Exception):
    pass


def parse_component(tok: str, lineno: int) -> Component:
    m = COMPONENT_RE.match(tok)
    if not m:
        raise DictError(f"line {lineno}: bad component {tok!r}")
    open_b, cset, dots, length, close_b, linters = m.groups()
    if bool(open_b) != bool(close_b):
        raise DictError(f"line {lineno}: unbalanced brackets in {tok!r}")
    unknown = [l for l in linters.split(",") if l and l not in KNOWN_LINTERS]
    if unknown:
        raise DictError(f"line {lineno}: linter(s) not implemented in linters.rs: {', '.join(unknown)}")
    n = int(length)
    if not 1 <= n <= 255:
        raise DictError(f"line {lineno}: length out of range in {tok!r}")
    return Component(
        cset=cset,
        min_len=1 if dots else n,
        max_len=n,
        optional=bool(open_b),
        linters=[l for l in linters.split(",") if l],
    )


def expand_ais(spec: str, lineno: int) -> list[str]:
    m = AI_RANGE_RE.match(spec)
    if not m:
        raise DictError(f"line {lineno}: bad AI or AI range {spec!r}")
    first, last = m.group(1), m.group(2)
    if last is None:
        return [first]
    if len(first) != len(last) or int(last) < int(first):
        raise DictError(f"line {lineno}: bad AI range {spec!r}")
    width = len(first)
    return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]


def parse_line(line: str, lineno: int) -> list[Entry]:
    body, hash_, title = line.partition("#")
    title = title.strip() if hash_ else ""
    toks = body.split()
    if not toks:
        raise DictError(f"line {lineno}: no AI")
    ais = expand_ais(toks[0], lineno)
    i = 1
    flags = ""
    if i < len(toks) and all(c in FLAG_CHARS for c in toks[i]):
        flags = toks[i]
        i += 1
    components: list[Component] = []
    while i < len(toks) and COMPONENT_RE.match(toks[i]):
        components.append(parse_component(toks[i], lineno))
        i += 1
    if not components:
        raise DictError(f"line {lineno}: no specification components")
    for c in components[:-1]:
        if c.min_len != c.max_len:
            raise DictError(f"line {lineno}: only the final component may have variable length")
    seen_optional = False
    for c in components:
        if seen_optional and not c.optional:
            raise DictError(f"line {lineno}: mandatory component after an optional one")
        seen_optional |= c.optional
    req: list[str] = []
    ex: list[str] = []
    dlpkey: str | None = None
    for tok in toks[i:]:
        key, eq, value = tok.partition("=")
        if key == "req" and eq:
            req.append(value)
        elif key == "ex" and eq:
            ex.append(value)
        elif key == "dlpkey":
            if dlpkey is not None:
                raise DictError(f"line {lineno}: dlpkey given twice")
            dlpkey = value if eq else ""
        else:
            raise DictError(f"line {lineno}: unknown attribute {tok!r}")
    if "*" in flags and any(c.min_len != c.max_len or c.optional for c in components):
        raise DictError(f"line {lineno}: predefined-length AI with a variable-length component")
    return [Entry(ai, flags, components, list(req), list(ex), dlpkey, title) for ai in ais]


def parse_dictionary(text: str) -> tuple[str, list[Entry]]:
    release = "UNKNOWN"
    entries: list[Entry] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = re.match(r"#\s*Release:\s*(.*)$", line)
            if m and release == "UNKNOWN":
                release = m.group(1).strip()
            continue
        entries.extend(parse_line(line, lineno))
    entries.sort(key=lambda e: e.ai)
    codes = [e.ai for e in entries]
    if len(set(codes)) != len(codes):
        raise DictError("duplicate AI in dictionary")
    for a, b in zip(codes, codes[1:]):
        if b.startswith(a):
            raise DictError(f"AI {a} is a prefix of AI {b}")
    return release, entries


def rs_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return '"' + "".join(out) + '"'


def rs_str_slice(items: list[str]) -> str:
    return "&[" + ", ".join(rs_str(s) for s in items) + "]"


def render(release: str, entries: list[Entry], source_name: str, commit: str) -> str:
    lines = [
        "//! GS1 Application Identifier table, generated from the GS1 Barcode Syntax Dictionary.",
        "//!",
        "//! @generated — do not edit. Regenerate with `python3 scripts/gen_ai_table.py`.",
        f"//! Source: {source_name} (gs1/gs1-syntax-dictionary, commit {commit})",
        f"//! Release: {release}",
        "//! The dictionary is Apache-2.0, (c) BWIPP project, Zint project and GS1 AISBL.",
        f"//! {len(entries)} AIs after range expansion, sorted by AI for binary search.",
        "",
        "use super::{AiDef, CharSet, Component};",
        "",
        "/// Number of AIs in [`AI_TABLE`].",
        f"pub const AI_COUNT: usize = {len(entries)};",
        "",
        "/// Every AI of the dictionary, sorted by AI code.",
        "#[rustfmt::skip]",
        "pub static AI_TABLE: [AiDef; AI_COUNT] = [",
    ]
    for e in entries:
        comps = ", ".join(
            "Component { cset: CharSet::%s, min: %d, max: %d, optional: %s, linters: %s }"
            % (c.cset, c.min_len, c.max_len, "true" if c.optional else "false", rs_str_slice(c.linters))
            for c in e.components
        )
        dlpkey = "None" if e.dlpkey is None else f"Some({rs_str(e.dlpkey)})"
        lines.append(
            "    AiDef { ai: %s, fixed_length: %s, dl_attribute: %s, components: &[%s], req: %s, ex: %s, dlpkey: %s, title: %s },"
            % (
                rs_str(e.ai),
                "true" if "*" in e.flags else "false",
                "true" if "?" in e.flags else "false",
                comps,
                rs_str_slice(e.req),
                rs_str_slice(e.ex),
                dlpkey,
                rs_str(e.title),
            )
        )
    lines.append("];")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dictionary", nargs="?", default=str(DEFAULT_DICT))
    ap.add_argument("-o", "--output", default=str(DEFAULT_OUT))
    ap.add_argument("--commit", default=DICT_COMMIT, help="dictionary git commit to record in the header")
    args = ap.parse_args(argv)
    src = Path(args.dictionary)
    try:
        text = src.read_text(encoding="utf-8")
        release, entries = parse_dictionary(text)
    except (OSError, DictError) as e:
        print(f"gen_ai_table: {e}", file=sys.stderr)
        return 1
    out = render(release, entries, src.name, args.commit)
    Path(args.output).write_text(out, encoding="utf-8")
    print(f"gen_ai_table: wrote {len(entries)} AIs to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
