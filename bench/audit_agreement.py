#!/usr/bin/env python3
"""Agreement and speed of `custody audit` against pip-audit on the same real environment.

One command (from the project root, with the project's venv):

    .venv/bin/python bench/audit_agreement.py [--dists 300] [--runs 3] [--rebuild]

What it does (stdlib + subprocess only; everything it builds lives under --work,
default ~/.cache/custody-bench/audit-agreement/, and is reused on the next run):

1. A venv (`env/`) with old, known-vulnerable pins (VULNERABLE below, wheels only, with their
   dependencies), filled up to --dists distributions with pure-Python wheels of popular projects
   from --fill-wheels (default ~/.cache/custody-bench/benign-top, see ../shared/README.md),
   installed with --no-deps. No code from them runs: pip only unpacks wheels.
2. pip-audit from PyPI in its own venv (`pip-audit-venv/`).
3. A custody advisory store fed offline from --advisories (PyPA advisory-database snapshot and the
   MAL record) with `custody db update --from`.
4. Timed runs (best and median of --runs, each a new process, same environment):
   pip-audit `--path SITE --format json` (its default service: PyPI's JSON API, live), and
   `custody audit ENV --format json` four ways: the warm store (RECORD hashes, start-up hooks and
   advisories), the same with --no-integrity (advisories and hooks only: the like-for-like figure,
   since pip-audit verifies no files), `--live` only (an empty store), and the store plus `--live`.
5. Both reports normalised to (package, version, advisory ids with aliases); an advisory of one tool
   matches one of the other when package and version agree and their id sets intersect. Printed:
   matched, missed by custody, extra in custody (each with a reason), dependencies pip-audit skipped,
   and the timing. Written as JSON to bench/out/audit_agreement.json (git-ignored).

Results and the reasons for every difference: bench/AUDIT_RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "custody-bench"

# Old releases with published advisories that still install as wheels on CPython 3.11.
VULNERABLE = [
    "requests==2.19.1",
    "urllib3==1.23",  # requests 2.19.1 needs urllib3<1.24
    "jinja2==2.10",
    "django==2.2.0",
    "flask==0.12.2",
    "werkzeug==0.15.3",
    "pillow==9.2.0",  # 8.x has no cp311 wheels
    "cryptography==3.3.2",
    "aiohttp==3.8.3",
    "sqlparse==0.4.1",
]
ADVISORY_KINDS = {"vulnerability", "malware"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def must(command: list[str]) -> str:
    done = run(command)
    if done.returncode != 0:
        shown = " ".join(command[:12]) + (" ..." if len(command) > 12 else "")
        sys.exit(f"failed ({done.returncode}): {shown}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        sys.exit(f"{venv}: no site-packages")
    return found[0]


def installed(site: Path) -> dict[str, str]:
    """canonical name -> version, from the dist-info directory names."""
    found: dict[str, str] = {}
    for entry in site.glob("*.dist-info"):
        name, _, version = entry.name[: -len(".dist-info")].partition("-")
        found[canonical(name)] = version
    return found


def build_env(work: Path, dists: int, fill_dir: Path, rebuild: bool) -> Path:
    venv = work / "env"
    marker = work / "env.json"
    spec = {"vulnerable": VULNERABLE, "dists": dists, "fill": str(fill_dir)}
    if not rebuild and marker.is_file() and json.loads(marker.read_text()) == spec:
        return venv
    must([sys.executable, "-m", "venv", "--clear", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    must([*pip, "--only-binary=:all:", *VULNERABLE])
    site = site_packages(venv)
    have = installed(site)
    wheels = {}
    for wheel in sorted(fill_dir.glob("*-none-any.whl")):
        name = canonical(wheel.name.split("-")[0])
        if name not in have and name not in wheels:
            wheels[name] = wheel
    missing = dists - len(have)
    if missing > 0:
        chosen = [str(w) for w in list(wheels.values())[:missing]]
        if len(chosen) < missing:
            print(f"warning: only {len(have) + len(chosen)} distributions available in {fill_dir}")
        if chosen:
            # Files only (--no-deps, wheels unpack without running code); a few latest releases
            # need Python >= 3.12, which does not matter to an audit that only reads metadata.
            must([*pip, "--no-deps", "--no-index", "--ignore-requires-python", *chosen])
    marker.write_text(json.dumps(spec))
    return venv


def build_pip_audit(work: Path) -> Path:
    venv = work / "pip-audit-venv"
    exe = venv / "bin" / "pip-audit"
    if not exe.is_file():
        must([sys.executable, "-m", "venv", "--clear", str(venv)])
        must([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "pip-audit"])
    return exe


def custody_command() -> list[str]:
    beside = Path(sys.executable).parent / "custody"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "custody.cli.main"]


def timed(command: list[str], runs: int) -> tuple[list[float], subprocess.CompletedProcess[str]]:
    times: list[float] = []
    done: subprocess.CompletedProcess[str] | None = None
    for _ in range(runs):
        start = time.perf_counter()
        done = run(command)
        times.append(time.perf_counter() - start)
    assert done is not None
    return times, done


def stats(times: list[float]) -> dict[str, float]:
    return {"best": round(min(times), 3), "median": round(statistics.median(times), 3)}


Key = tuple[str, str, frozenset[str]]


def pip_audit_findings(doc: dict[str, Any]) -> tuple[list[Key], dict[str, str], int]:
    findings: list[Key] = []
    skipped: dict[str, str] = {}
    audited = 0
    for dep in doc.get("dependencies", []):
        name = canonical(dep["name"])
        if "skip_reason" in dep:
            skipped[name] = dep["skip_reason"]
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            ids = frozenset([vuln["id"], *vuln.get("aliases", [])])
            findings.append((name, dep["version"], ids))
    return findings, skipped, audited


def custody_findings(doc: dict[str, Any]) -> list[Key]:
    return [
        (canonical(f["package"]), f["version"], frozenset([f["id"], *f.get("aliases", [])]))
        for f in doc.get("findings", [])
        if f.get("kind") in ADVISORY_KINDS
    ]


def matches(key: Key, others: list[Key]) -> bool:
    return any(key[0] == o[0] and key[1] == o[1] and key[2] & o[2] for o in others)


def show(key: Key) -> dict[str, Any]:
    return {"package": key[0], "version": key[1], "ids": sorted(key[2])}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=CACHE / "audit-agreement")
    parser.add_argument("--dists", type=int, default=300, help="distributions in the environment")
    parser.add_argument("--fill-wheels", type=Path, default=CACHE / "benign-top")
    parser.add_argument(
        "--advisories",
        type=Path,
        action="append",
        default=None,
        help="offline advisory sources for the store (default: ../shared/advisories/{pypa-osv,mal-osv})",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the environment")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "audit_agreement.json")
    args = parser.parse_args()
    sources = args.advisories or [ROOT.parent / "shared" / "advisories" / n for n in ("pypa-osv", "mal-osv")]
    args.work.mkdir(parents=True, exist_ok=True)

    venv = build_env(args.work, args.dists, args.fill_wheels, args.rebuild)
    site = site_packages(venv)
    dists = installed(site)
    pip_audit = build_pip_audit(args.work)
    pip_audit_version = must([str(pip_audit), "--version"]).strip()
    print(f"environment: {venv} ({len(dists)} distributions); {pip_audit_version}")

    custody = custody_command()
    store = args.work / "advisories.sqlite"
    start = time.perf_counter()
    update = [*custody, "db", "update", "--db", str(store)]
    for source in sources:
        update += ["--from", str(source)]
    must(update)
    load_seconds = time.perf_counter() - start

    pa_command = [str(pip_audit), "--path", str(site), "--format", "json", "--progress-spinner", "off"]
    pa_command += ["--cache-dir", str(args.work / "pip-audit-cache")]
    pa_times, pa_done = timed(pa_command, args.runs)
    if pa_done.returncode not in (0, 1):
        sys.exit(f"pip-audit failed ({pa_done.returncode}): {pa_done.stderr}")
    pa_found, pa_skipped, pa_audited = pip_audit_findings(json.loads(pa_done.stdout))

    results: dict[str, Any] = {}
    reports: dict[str, list[Key]] = {}
    with tempfile.TemporaryDirectory() as empty_dir:
        variants = {
            "store": ["--db", str(store)],
            # Like for like with pip-audit, which checks advisories only: no RECORD hashing.
            "store --no-integrity": ["--db", str(store), "--no-integrity"],
            "live": ["--live", "--db", str(Path(empty_dir) / "none.sqlite")],
            "store+live": ["--live", "--db", str(store)],
        }
        for label, options in variants.items():
            command = [*custody, "audit", str(venv), "--format", "json", "--fail-on", "critical", *options]
            times, done = timed(command, args.runs)
            if done.returncode not in (0, 1, 3):
                sys.exit(f"custody audit failed ({done.returncode}): {done.stderr}")
            doc = json.loads(done.stdout)
            reports[label] = custody_findings(doc)
            results[label] = {
                "command": " ".join(command),
                "seconds": stats(times),
                "advisories": len(reports[label]),
                "errors": doc.get("errors", []),
                "notes": doc.get("notes", []),
            }

    custody_all = reports["store+live"]
    missed = [k for k in pa_found if not matches(k, custody_all)]
    extra: list[dict[str, Any]] = []
    for key in custody_all:
        if matches(key, pa_found):
            continue
        source = [label for label in ("store", "live") if matches(key, reports[label])]
        if key[0] in pa_skipped:
            reason = f"pip-audit skipped {key[0]}: {pa_skipped[key[0]]}"
        else:
            reason = "pip-audit audited the package and did not report this advisory"
        extra.append({**show(key), "custody_source": source, "reason": reason})
    matched = [k for k in pa_found if matches(k, custody_all)]

    pa_best = min(pa_times)
    summary: dict[str, Any] = {
        "environment": str(venv),
        "distributions": len(dists),
        "vulnerable_pins": VULNERABLE,
        "pip_audit": {
            "version": pip_audit_version,
            "command": " ".join(pa_command),
            "seconds": stats(pa_times),
            "advisories": len(pa_found),
            "audited": pa_audited,
            "skipped": len(pa_skipped),
            "skip_reasons": sorted(set(re.sub(r": \S+ \(.*\)$", "", r) for r in pa_skipped.values())),
        },
        "custody": results,
        "store_load_seconds": round(load_seconds, 3),
        "agreement": {
            "matched": len(matched),
            "missed_by_custody": [show(k) for k in missed],
            "extra_in_custody": extra,
        },
        "ratios": {label: round(results[label]["seconds"]["best"] / pa_best, 4) for label in results},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")

    print(f"store loaded from {', '.join(map(str, sources))} in {load_seconds:.2f} s")
    print(
        f"pip-audit: {len(pa_found)} advisories; audited {pa_audited}, skipped {len(pa_skipped)} "
        f"of {pa_audited + len(pa_skipped)} dependencies; best {pa_best:.2f} s"
    )
    for reason in summary["pip_audit"]["skip_reasons"]:
        print(f"  skip reason: {reason}")
    for label, result in results.items():
        print(
            f"custody audit ({label}): {result['advisories']} advisories; "
            f"best {result['seconds']['best']:.2f} s, "
            f"{100 * summary['ratios'][label]:.1f} % of pip-audit"
            + (f"; errors: {result['errors']}" if result["errors"] else "")
        )
    like = results["store --no-integrity"]["seconds"]["best"]
    ratio = summary["ratios"]["store --no-integrity"]
    print(
        f"targets (store --no-integrity, {len(dists)} distributions): {like:.2f} s <= 1 s: "
        f"{'yes' if like <= 1 else 'NO'}; {100 * ratio:.1f} % of pip-audit <= 5 %: "
        f"{'yes' if ratio <= 0.05 else 'NO'}"
    )
    for note in results["store+live"]["notes"]:
        print(f"  custody note (store+live): {note}")
    print(f"matched {len(matched)}, missed by custody {len(missed)}, extra in custody {len(extra)}")
    for key in missed:
        print(f"  missed: {key[0]} {key[1]} {sorted(key[2])}")
    by_reason: dict[str, int] = {}
    for item in extra:
        label = f"{item['reason'].split(':')[0]} (custody source: {'+'.join(item['custody_source'])})"
        by_reason[label] = by_reason.get(label, 0) + 1
    for label, count in sorted(by_reason.items()):
        print(f"  extra: {count} x {label}")
    print(f"written: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
