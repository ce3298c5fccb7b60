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
   pip-audit `--path SITE --format json` (its default service: PyPI's JSON API, live), pip-audit
   `-s osv --osv-url` against bench/osv_standin.py (a local OSV query API serving the same offline
   records as the custody store, with its own matcher written from the OSV specification), and
   `custody audit ENV --format json` four ways: the warm store (RECORD hashes, start-up hooks and
   advisories), the same with --no-integrity (advisories and hooks only: the like-for-like figure,
   since pip-audit verifies no files), `--live` only (an empty store), and the store plus `--live`.
5. Both reports normalised to (package, version, advisory ids with aliases); an advisory of one tool
   matches one of the other when package and version agree and their id sets intersect. Printed:
   matched, missed by custody, extra in custody (each with a reason), dependencies pip-audit skipped,
   and the timing; then the same comparison on the same data: pip-audit via the stand-in against
   custody's store. Written as JSON to bench/out/audit_agreement.json (git-ignored).

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
sys.path.insert(0, str(Path(__file__).resolve().parent))
import osv_standin  # noqa: E402 - beside this script

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


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality: pip-audit reports a pin normalised (`0.6.3-2` as `0.6.3.post2`), custody
    as written."""
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415 - the bench venv has it

    if a == b:
        return True
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def matches(key: Key, others: list[Key]) -> bool:
    return any(key[0] == o[0] and key[2] & o[2] and same_version(key[1], o[1]) for o in others)


def show(key: Key) -> dict[str, Any]:
    return {"package": key[0], "version": key[1], "ids": sorted(key[2])}


def boundary_pins(sources: list[Path], per_package: int) -> list[list[tuple[str, str]]]:
    """Rounds of (name, version) pins where range semantics are easy to get wrong: versions an OSV
    record names (listed versions, introduced, fixed, last_affected events), up to `per_package`
    per project spread over its sorted versions. A round names each project once (pip-audit
    refuses a requirements file that pins one project twice)."""
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415 - the bench venv has it

    named: dict[str, set[str]] = {}
    for record in osv_standin.read_records(sources):
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") != "PyPI" or not package.get("name"):
                continue
            versions = set(affected.get("versions") or [])
            for spans in affected.get("ranges") or []:
                for event in spans.get("events") or []:
                    versions.update(
                        v for k, v in event.items() if k in ("introduced", "fixed", "last_affected")
                    )
            named.setdefault(canonical(package["name"]), set()).update(versions - {"0"})
    rounds: list[list[tuple[str, str]]] = []
    for name in sorted(named):
        valid = []
        for version in named[name]:
            try:
                valid.append((Version(version), version))
            except InvalidVersion:
                continue
        ordered = [text for _, text in sorted(valid)]
        if len(ordered) > per_package:
            step = (len(ordered) - 1) / (per_package - 1)
            ordered = [ordered[round(i * step)] for i in range(per_package)]
        for index, version in enumerate(ordered):
            while len(rounds) <= index:
                rounds.append([])
            rounds[index].append((name, version))
    return rounds


def wide_agreement(
    pip_audit: Path, custody: list[str], store: Path, sources: list[Path], per_package: int, work: Path
) -> dict[str, Any]:
    """pip-audit (OSV stand-in) and custody (store) on the same requirements files of boundary pins."""
    rounds = boundary_pins(sources, per_package)
    files: list[Path] = []
    for index, pins in enumerate(rounds):
        files.append(work / f"boundary-pins-{index:02d}.txt")
        files[-1].write_text("".join(f"{name}=={version}\n" for name, version in pins))
    url, server, _ = osv_standin.start(sources)
    pa_found: list[Key] = []
    pa_skipped: dict[str, str] = {}
    pa_audited = 0
    start = time.perf_counter()
    try:
        for path in files:
            command = [str(pip_audit), "-r", str(path), "--disable-pip", "--no-deps", "--format", "json"]
            command += ["--progress-spinner", "off", "--vulnerability-service", "osv", "--osv-url", url]
            done = run(command)
            if done.returncode not in (0, 1) or not done.stdout.strip():
                sys.exit(f"pip-audit ({path.name}) failed ({done.returncode}): {done.stderr[-2000:]}")
            found, skipped, audited = pip_audit_findings(json.loads(done.stdout))
            pa_found += found
            pa_skipped.update(skipped)
            pa_audited += audited
    finally:
        server.shutdown()
    pa_seconds = time.perf_counter() - start
    ours_command = [*custody, "audit", *map(str, files), "--db", str(store), "--format", "json"]
    start = time.perf_counter()
    ours_done = run([*ours_command, "--fail-on", "critical"])
    custody_seconds = time.perf_counter() - start
    ours = custody_findings(json.loads(ours_done.stdout))
    return {
        "pins": sum(len(pins) for pins in rounds),
        "projects": len(rounds[0]) if rounds else 0,
        "requirements_files": len(files),
        "pip_audit": {
            "command": f"{pip_audit} -r FILE --disable-pip --no-deps -s osv --osv-url STANDIN (per file)",
            "advisories": len(pa_found),
            "audited": pa_audited,
            "skipped": len(pa_skipped),
            "seconds": round(pa_seconds, 2),
        },
        "custody": {
            "command": " ".join(ours_command[:4]) + " ... --db STORE --format json",
            "advisories": len(ours),
            "seconds": round(custody_seconds, 2),
        },
        "matched": sum(1 for k in pa_found if matches(k, ours)),
        "missed_by_custody": [show(k) for k in pa_found if not matches(k, ours)],
        "extra_in_custody": [show(k) for k in ours if not matches(k, pa_found)],
        "skipped_by_pip_audit": sorted(pa_skipped.items())[:50],
        # one custody finding standing for several pip-audit ones: records that alias each other,
        # which custody merges ("one problem is reported once") and pip-audit lists separately
        "merged_by_custody": [
            {**show(k), "pip_audit": [sorted(o[2]) for o in pa_found if matches(o, [k])]}
            for k in ours
            if sum(1 for o in pa_found if matches(o, [k])) > 1
        ],
    }


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
    parser.add_argument(
        "--boundary-pins",
        type=int,
        default=10,
        help="also compare both tools on up to this many name==version pins per project, drawn "
        "from the versions the records name (OSV stand-in vs store; 0 = skip)",
    )
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

    # pip-audit against a local OSV API serving the same offline records as custody's store
    # (osv.dev and PyPI's per-release JSON do not answer here): bench/osv_standin.py.
    osv_url, osv_server, osv_records = osv_standin.start(sources)
    try:
        osv_command = [*pa_command, "--vulnerability-service", "osv", "--osv-url", osv_url]
        osv_times, osv_done = timed(osv_command, args.runs)
    finally:
        osv_server.shutdown()
    if osv_done.returncode not in (0, 1):
        sys.exit(f"pip-audit (OSV stand-in) failed ({osv_done.returncode}): {osv_done.stderr}")
    osv_found, osv_skipped, osv_audited = pip_audit_findings(json.loads(osv_done.stdout))

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

    # Same data on both sides: pip-audit via the OSV stand-in against custody's offline store.
    custody_store = reports["store"]
    osv_missed = [k for k in osv_found if not matches(k, custody_store)]
    osv_extra = [k for k in custody_store if not matches(k, osv_found)]
    osv_matched = [k for k in osv_found if matches(k, custody_store)]

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
        "pip_audit_osv_standin": {
            "command": " ".join(osv_command),
            "records_served": osv_records,
            "seconds": stats(osv_times),
            "advisories": len(osv_found),
            "audited": osv_audited,
            "skipped": len(osv_skipped),
        },
        "custody": results,
        "store_load_seconds": round(load_seconds, 3),
        "agreement": {
            "matched": len(matched),
            "missed_by_custody": [show(k) for k in missed],
            "extra_in_custody": extra,
        },
        "agreement_same_data": {
            "pip_audit": "OSV stand-in over the store's sources",
            "custody": "store",
            "matched": len(osv_matched),
            "missed_by_custody": [show(k) for k in osv_missed],
            "extra_in_custody": [show(k) for k in osv_extra],
        },
        "ratios": {label: round(results[label]["seconds"]["best"] / pa_best, 4) for label in results},
    }
    if args.boundary_pins:
        summary["agreement_boundary_pins"] = wide_agreement(
            pip_audit, custody, store, sources, args.boundary_pins, args.work
        )
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
    for label in ("store", "store --no-integrity"):
        best = results[label]["seconds"]["best"]
        ratio = summary["ratios"][label]
        print(
            f"targets ({label}, {len(dists)} distributions): {best:.2f} s <= 1 s: "
            f"{'yes' if best <= 1 else 'NO'}; {100 * ratio:.1f} % of pip-audit <= 5 %: "
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
    print(
        f"same data (pip-audit -s osv via the stand-in, {osv_records} records; custody store): "
        f"pip-audit {len(osv_found)} advisories (audited {osv_audited}, skipped {len(osv_skipped)}) in "
        f"{min(osv_times):.2f} s; matched {len(osv_matched)}, missed by custody {len(osv_missed)}, "
        f"extra in custody {len(osv_extra)}"
    )
    for key in osv_missed:
        print(f"  missed (same data): {key[0]} {key[1]} {sorted(key[2])}")
    for key in osv_extra:
        print(f"  extra (same data): {key[0]} {key[1]} {sorted(key[2])}")
    wide = summary.get("agreement_boundary_pins")
    if wide:
        print(
            f"boundary pins ({wide['pins']} name==version of {wide['projects']} projects, same data): "
            "pip-audit "
            f"{wide['pip_audit']['advisories']} advisories (audited {wide['pip_audit']['audited']}, "
            f"skipped {wide['pip_audit']['skipped']}), custody {wide['custody']['advisories']}; matched "
            f"{wide['matched']}, missed by custody {len(wide['missed_by_custody'])}, extra in custody "
            f"{len(wide['extra_in_custody'])}"
        )
        for item in wide["missed_by_custody"][:20]:
            print(f"  missed (boundary): {item['package']} {item['version']} {item['ids']}")
        for item in wide["extra_in_custody"][:20]:
            print(f"  extra (boundary): {item['package']} {item['version']} {item['ids']}")
        print(f"  one custody finding for several pip-audit ones: {len(wide['merged_by_custody'])}")
    print(f"written: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
