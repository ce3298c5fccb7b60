#!/usr/bin/env python3
"""Fetch (or pin) the extra benign sets of the scan bench: bench/ai_stack.tsv and bench/benign_risky.tsv.

Two modes, standard library only:

    python bench/fetch_extra.py LIST [DEST]         # download every file LIST pins into DEST
    python bench/fetch_extra.py --pin SPEC LIST     # write LIST from SPEC (resolve names to files)

LIST is a tab-separated file with the columns name, version, kind, filename, size, sha256, why. Each
file is found through PyPI's JSON API (https://pypi.org/pypi/NAME/json, the release of the pinned
version), streamed to DEST/FILENAME.part while hashing, and kept only when its sha256 matches the pin.
Files already present with the right size and hash are skipped, so re-running is cheap. DEST defaults
to ~/.cache/custody-bench/<LIST's stem with '_' as '-'> (ai-stack, benign-risky).

SPEC has one project a line: `NAME [wheel|sdist] [# why it is in the set]`. --pin picks, for each
project, the newest release (PyPI's latest version first, then older ones by upload time) that has a
file of that kind for Linux x86_64 CPython 3.11, and the largest such file in it: a wheel whose tags
install there (cp311 or an abi3 / py3 tag; a manylinux/linux x86_64 or `any` platform), or the sdist.
Without a kind, the largest wheel is taken, else the sdist.

Nothing fetched is ever installed, imported or unpacked: the bench passes the paths to `custody scan`.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import csv
import hashlib
import json
import os
import re
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

CACHE = Path.home() / ".cache" / "custody-bench"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
COLUMNS = ("name", "version", "kind", "filename", "size", "sha256", "why")
CHUNK = 1 << 20


def default_dest(listing: Path) -> Path:
    return CACHE / listing.stem.replace("_", "-")


def read_list(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r.get("name")]


def project_json(name: str) -> tuple[str, dict[str, Any]]:
    url = PYPI_JSON.format(name=name)
    with urllib.request.urlopen(url, timeout=60) as r:
        return url, json.load(r)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------ fetch


def fetch_one(dest: Path, row: dict[str, str]) -> str:
    path = dest / row["filename"]
    if path.is_file() and path.stat().st_size == int(row["size"]) and sha256_file(path) == row["sha256"]:
        return "kept"
    api, doc = project_json(row["name"])
    files = doc.get("releases", {}).get(row["version"], [])
    match = next((u for u in files if u["filename"] == row["filename"]), None)
    if match is None:
        return "gone"
    part = path.with_name(path.name + ".part")
    h = hashlib.sha256()
    with urllib.request.urlopen(urljoin(api, match["url"]), timeout=600) as r, part.open("wb") as f:
        for chunk in iter(lambda: r.read(CHUNK), b""):
            h.update(chunk)
            f.write(chunk)
    if h.hexdigest() != row["sha256"]:
        part.unlink()
        return "hash-mismatch"
    os.replace(part, path)
    return "fetched"


def fetch(listing: Path, dest: Path, workers: int) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    rows = read_list(listing)
    counts: dict[str, int] = {}
    with cf.ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(fetch_one, dest, r): r for r in rows}
        for fut in cf.as_completed(futures):
            row = futures[fut]
            try:
                outcome = fut.result()
            except Exception as e:  # network trouble: report and carry on with the others
                outcome = "error"
                print(f"error {row['filename']}: {e}", file=sys.stderr)
            if outcome not in ("kept", "fetched"):
                print(f"{outcome}: {row['name']} {row['version']} {row['filename']}", file=sys.stderr)
            counts[outcome] = counts.get(outcome, 0) + 1
    print(f"{dest}: {dict(sorted(counts.items()))}")
    return 0 if set(counts) <= {"kept", "fetched"} else 1


# -------------------------------------------------------------------------------------------------- pin

WHEEL = re.compile(r"^(?P<stem>.+?)-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def wheel_fits(filename: str) -> bool:
    """Would pip install this wheel on Linux x86_64 (glibc) under CPython 3.11?"""
    m = WHEEL.match(filename)
    if not m:
        return False
    pys, abis, plats = (set(m[k].split(".")) for k in ("py", "abi", "plat"))
    abi_ok = bool(abis & {"cp311", "abi3", "none"})
    py_ok = bool(pys & {"cp311", "py3", "py311", "py2.py3"}) or any(
        t.startswith("cp3") and t[3:].isdigit() and int(t[3:]) <= 11 and "abi3" in abis for t in pys
    )
    if "cp311" in abis and "cp311" not in pys:
        py_ok = False
    plat_ok = any(p == "any" or (p.endswith("_x86_64") and "linux" in p and "musl" not in p) for p in plats)
    return abi_ok and py_ok and plat_ok


def pick_file(files: Sequence[dict[str, Any]], kind: str | None) -> dict[str, Any] | None:
    live = [u for u in files if not u.get("yanked")]
    wheels = [u for u in live if u["packagetype"] == "bdist_wheel" and wheel_fits(u["filename"])]
    sdists = [u for u in live if u["packagetype"] == "sdist"]
    pool = {"wheel": wheels, "sdist": sdists}.get(kind or "", wheels or sdists)
    return max(pool, key=lambda u: u["size"], default=None)


def is_prerelease(version: str) -> bool:
    return bool(re.search(r"(a|b|rc|dev|alpha|beta|pre)\d*", version.lower()))


def pin_one(name: str, kind: str | None, why: str) -> dict[str, str]:
    _, doc = project_json(name)
    latest = doc["info"]["version"]
    releases: dict[str, list[dict[str, Any]]] = doc.get("releases", {})
    older = sorted(
        (v for v in releases if v != latest and releases[v] and not is_prerelease(v)),
        key=lambda v: max(u.get("upload_time_iso_8601") or "" for u in releases[v]),
        reverse=True,
    )
    order = [latest, *older]
    for version in order:
        chosen = pick_file(releases.get(version) or doc.get("urls", []), kind)
        if chosen:
            return {
                "name": doc["info"]["name"],
                "version": version,
                "kind": "sdist" if chosen["packagetype"] == "sdist" else "wheel",
                "filename": chosen["filename"],
                "size": str(chosen["size"]),
                "sha256": chosen["digests"]["sha256"],
                "why": why,
            }
    raise LookupError(f"{name}: no {kind or 'wheel or sdist'} for Linux x86_64 CPython 3.11")


def pin(spec: Path, listing: Path) -> int:
    wanted = []
    for line in spec.read_text().splitlines():
        body, _, why = line.partition("#")
        parts = body.split()
        if parts:
            wanted.append((parts[0], parts[1] if len(parts) > 1 else None, why.strip()))
    rows, failed = [], 0
    with cf.ThreadPoolExecutor(4) as pool:
        for (name, _, _), fut in zip(wanted, [pool.submit(pin_one, *w) for w in wanted], strict=True):
            try:
                rows.append(fut.result())
            except Exception as e:  # report and go on: the list is written without it
                failed += 1
                print(f"cannot pin {name}: {e}", file=sys.stderr)
    with listing.open("w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    total = sum(int(r["size"]) for r in rows)
    print(f"{listing}: {len(rows)} files, {total / 2**20:.0f} MiB")
    return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("list", type=Path, help="the pinned list (TSV)")
    p.add_argument("dest", type=Path, nargs="?", help="download directory (default: by the list's name)")
    p.add_argument("--pin", type=Path, metavar="SPEC", help="write LIST from SPEC instead of downloading")
    p.add_argument("--workers", type=int, default=3, help="downloads at a time (default: %(default)s)")
    args = p.parse_args(argv)
    if args.pin:
        return pin(args.pin, args.list)
    return fetch(args.list, args.dest or default_dest(args.list), args.workers)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
