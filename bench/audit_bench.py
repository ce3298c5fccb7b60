#!/usr/bin/env python3
"""Benchmark `custody audit`: advisory store loading and audit time on a synthetic environment.

One command:

    python bench/audit_bench.py [--advisories ../shared/advisories/pypa-osv] [--dists 300] [--runs 5]

What it measures (wall time, best and median of --runs, in this process):

1. Loading the shared PyPA advisory database (2,661 OSV YAML records) into a fresh store, offline,
   the way `custody db update --from DIR` does (parse + index + commit). Target: <= 5 s.
2. Auditing a synthetic site-packages of --dists distributions (dist-info with METADATA and a RECORD
   with sha256 rows, 6 small files each, one owned `.pth` hook; a few pinned to versions the database
   names) against the warm store: RECORD verification, start-up hooks and advisory lookups. Target:
   <= 1 s for 300 distributions. Also with --no-integrity, and the advisory step alone.
3. For reference, auditing the interpreter running this script (its real site-packages).

Nothing is installed or executed: the synthetic environment is files written to a temp directory.
The pip-audit comparison on a real environment is bench/audit_agreement.py (bench/AUDIT_RESULTS.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from custody.advisories import AdvisoryStore, update_store  # noqa: E402
from custody.artifacts import running_site_dirs  # noqa: E402
from custody.audit import AuditRequest, audit  # noqa: E402
from custody.audit.scanning import hook_scanner  # noqa: E402

VULNERABLE = [
    ("jinja2", "2.10"),
    ("aiohttp", "3.8.0"),
    ("django", "3.2.0"),
    ("pillow", "8.0.0"),
    ("urllib3", "1.26.4"),
]


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_env(site: Path, count: int) -> None:
    site.mkdir(parents=True)
    for index in range(count):
        name, version = VULNERABLE[index] if index < len(VULNERABLE) else (f"benchpkg{index:03d}", "1.0.0")
        module = name.replace("-", "_")
        files = {f"{module}/__init__.py": b"VALUE = 1\n" * 40}
        for i in range(5):
            files[f"{module}/mod{i}.py"] = (f"def f{i}():\n    return {i}\n" * 60).encode()
        if index == 0:
            files[f"{module}-hook.pth"] = f"import {module}\n".encode()
        dist_info = f"{module}-{version}.dist-info"
        files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        rows = []
        for rel, data in files.items():
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            rows.append(f"{rel},{_hash(data)},{len(data)}")
        rows.append(f"{dist_info}/RECORD,,")
        (site / dist_info / "RECORD").write_text("\n".join(rows) + "\n", encoding="utf-8")


def timed(label: str, runs: int, action: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    print(f"  {label}: best {min(samples):.3f} s, median {statistics.median(samples):.3f} s ({runs} runs)")
    return min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", default=str(ROOT.parent / "shared" / "advisories" / "pypa-osv"))
    parser.add_argument("--dists", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="custody-audit-bench-") as tmp:
        work = Path(tmp)
        print(f"store load: {args.advisories}")
        counter = iter(range(10**6))

        def load() -> None:
            path = work / f"store-{next(counter)}.sqlite"
            result = update_store(path=str(path), sources=[args.advisories])
            assert result.total > 0, "no advisories loaded"

        timed("fresh store, offline", args.runs, load)
        store = work / "store-0.sqlite"
        with AdvisoryStore.open(str(store)) as opened:
            print(f"  {opened.count()} advisories, {os.path.getsize(store) / 1e6:.1f} MB")

        site = work / "venv" / "lib" / "python3.11" / "site-packages"
        write_env(site, args.dists)
        print(f"audit: synthetic site-packages with {args.dists} distributions, warm store")
        base = AuditRequest(site_dirs=[str(site)], store_path=str(store), scan_hook=hook_scanner())
        report = audit(base)  # warm the page cache, compile the hook scanner's rules once
        kinds: dict[str, int] = {}
        for finding in report.findings:
            kinds[finding.kind.value] = kinds.get(finding.kind.value, 0) + 1
        print(f"  {report.packages} packages, findings {dict(sorted(kinds.items()))}, errors {report.errors}")
        timed("full audit (RECORD + hooks + advisories)", args.runs, lambda: audit(base))
        no_integrity = AuditRequest(site_dirs=[str(site)], store_path=str(store), integrity=False)
        timed("--no-integrity", args.runs, lambda: audit(no_integrity))
        command = [sys.executable, "-m", "custody.cli.main", "audit", str(site), "--db", str(store)]
        timed(
            "`custody audit SITE` end to end (new process: imports, rules, output)",
            args.runs,
            lambda: subprocess.run(
                command, capture_output=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
            ),
        )

        real = running_site_dirs()
        print(f"audit: this interpreter's environment {real}")
        own = AuditRequest(site_dirs=real, store_path=str(store), scan_hook=hook_scanner())
        first = audit(own)
        print(f"  {first.packages} packages, {len(first.findings)} findings")
        timed("full audit", args.runs, lambda: audit(own))


if __name__ == "__main__":
    main()
