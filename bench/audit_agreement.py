#!/usr/bin/env python3
"""Agreement and speed of `custody audit` against pip-audit on the same real environment.

One command (from the project root, with the project's venv):

    .venv/bin/python bench/audit_agreement.py [--dists 300] [--runs 3] [--rebuild]

What it does (stdlib + subprocess only; everything it builds lives under --work,
default ~/.cache/custody-bench/audit-agreement/, and is reused on the next run):

1. A venv (`env/`) with old, known-vulnerable pins (VULNERABLE below, wheels only, with their
   dependencies), filled up to --dists distributions with wheels of popular projects
   from --fill-wheels (default ~/.cache/custody-bench/benign-top, see ../shared/README.md),
   installed with --no-deps, those built for this interpreter and platform first (compiled
   extensions, as real environments have), then pure-Python ones. No code from them runs: pip only
   unpacks wheels.
2. pip-audit from PyPI in its own venv (`pip-audit-venv/`).
3. A custody advisory store fed offline from --advisories (PyPA advisory-database snapshot and the
   MAL record) with `custody db update --from`.
4. Timed runs, each a new process on the same environment. The speed comparison is made without
   any network, in --runs alternating rounds (so load from other work falls on every tool alike),
   after one untimed custody run that warms its digest cache: pip-audit `-s osv --osv-url` against
   bench/osv_standin.py (a local OSV query API serving the same offline records as the custody
   store, with its own matcher written from the OSV specification), `custody audit ENV` by default
   (RECORD hashes, start-up hooks and advisories) and with --no-integrity (advisories and hooks: the
   like-for-like figure, since pip-audit verifies no files). Wall time and CPU time (user + system
   of the child, and the stand-in's own CPU beside pip-audit's) are both reported, best and median.
   Then, over the network: pip-audit with its default service (PyPI's JSON API; --pypi-runs) and
   custody `--live` with an empty store and with the store (--live-runs).
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


def tree_size(top: Path) -> tuple[int, int]:
    """(files, bytes) under `top`, links not followed."""
    files = size = 0
    for folder, _, names in os.walk(top):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(folder, name)).st_size
    return files, size


def fill_wheels(fill_dir: Path, have: dict[str, str], native: bool) -> dict[str, Path]:
    """One wheel per project not yet installed, in name order. With `native`, wheels built for this
    interpreter and platform (compiled extensions, as a real environment has: numpy, grpcio,
    lxml...) come first, then pure-Python ones; otherwise pure-Python wheels only."""
    from packaging.tags import sys_tags  # noqa: PLC0415 - the bench venv has it
    from packaging.utils import parse_wheel_filename  # noqa: PLC0415

    supported = set(sys_tags())
    pure: dict[str, Path] = {}
    compiled: dict[str, Path] = {}
    for wheel in sorted(fill_dir.glob("*.whl")):
        try:
            project, _, _, tags = parse_wheel_filename(wheel.name)
        except ValueError:
            continue
        name = canonical(project)
        if name in have or not tags & supported:
            continue
        if all(tag.platform == "any" for tag in tags):
            pure.setdefault(name, wheel)
        elif native:
            compiled.setdefault(name, wheel)
    return {**compiled, **{k: v for k, v in pure.items() if k not in compiled}}


def build_env(work: Path, dists: int, fill_dir: Path, rebuild: bool, native: bool = True) -> Path:
    venv = work / "env"
    marker = work / "env.json"
    spec = {"vulnerable": VULNERABLE, "dists": dists, "fill": str(fill_dir), "native": native}
    if not rebuild and marker.is_file() and json.loads(marker.read_text()) == spec:
        return venv
    must([sys.executable, "-m", "venv", "--clear", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    must([*pip, "--only-binary=:all:", *VULNERABLE])
    site = site_packages(venv)
    have = installed(site)
    wheels = fill_wheels(fill_dir, have, native)
    missing = dists - len(have)
    if missing > 0:
        chosen = [str(w) for w in list(wheels.values())[:missing]]
        if len(chosen) < missing:
            print(f"warning: only {len(have) + len(chosen)} distributions available in {fill_dir}")
        if chosen:
            # Files only (--no-deps, wheels unpack without running code); a few latest releases
            # need Python >= 3.12, which does not matter to an audit that only reads metadata.
            files_only = [*pip, "--no-deps", "--no-index", "--ignore-requires-python"]
            if run([*files_only, *chosen]).returncode != 0:
                # one wheel pip refuses (a local version pip sees as conflicting with its own
                # file name) fails the batch: install one at a time, skip the refused ones
                for wheel in chosen:
                    if run([*files_only, wheel]).returncode != 0:
                        print(f"skipped (pip refused it): {Path(wheel).name}")
                have = installed(site)
                extra = [str(w) for w in list(wheels.values())[len(chosen) :]]
                for wheel in extra[: max(0, dists - len(have))]:
                    run([*files_only, wheel])
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


def compile_custody(custody: list[str]) -> str:
    """Byte-compile custody's own modules, as `pip install custody` leaves them (pip compiles at
    install: pip-audit's venv has its byte code). An editable checkout run with
    PYTHONDONTWRITEBYTECODE=1 (this machine's environment) otherwise compiles ~80 modules from
    source at every run, ~0.1 s of CPU that no installed custody spends. Returns where."""
    python = sys.executable if custody[0] == sys.executable else str(Path(custody[0]).parent / "python")
    where = must([python, "-c", "import custody, os; print(os.path.dirname(custody.__file__))"]).strip()
    must([python, "-m", "compileall", "-q", where])
    return where


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


class Timing:
    """Wall and CPU seconds of one command's runs. CPU is the child's user + system time (from
    wait4), so a busy machine shows as wall above CPU; `server_cpu` is this process's own CPU
    during the runs, which is the OSV stand-in's work when the command is pip-audit against it."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.server_cpu: list[float] = []
        self.done: subprocess.CompletedProcess[str] | None = None

    def run_once(self) -> None:
        before = os.times()
        start = time.perf_counter()
        self.done = run(self.command)
        self.wall.append(time.perf_counter() - start)
        after = os.times()
        self.cpu.append(
            after.children_user + after.children_system - before.children_user - before.children_system
        )
        self.server_cpu.append(after.user + after.system - before.user - before.system)

    def summary(self, server: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"seconds": stats(self.wall), "cpu_seconds": stats(self.cpu)}
        out["runs_wall"] = [round(t, 3) for t in self.wall]
        out["runs_cpu"] = [round(t, 3) for t in self.cpu]
        if server:
            out["server_cpu_seconds"] = stats(self.server_cpu)
        return out


def timed(command: list[str], runs: int) -> tuple[list[float], subprocess.CompletedProcess[str]]:
    timing = Timing(command)
    for _ in range(runs):
        timing.run_once()
    assert timing.done is not None
    return timing.wall, timing.done


def alternate(timings: list[Timing], runs: int) -> None:
    """`runs` rounds, each running every command once in turn: load from other work on the machine
    then falls on every tool alike rather than on whichever ran during a busy minute."""
    for _ in range(runs):
        for timing in timings:
            timing.run_once()


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
    parser.add_argument("--runs", type=int, default=3, help="alternating rounds of the local runs")
    parser.add_argument(
        "--pypi-runs",
        type=int,
        default=1,
        help="runs of pip-audit with its default service (PyPI over the network, ~20 s each; 0 = skip)",
    )
    parser.add_argument("--live-runs", type=int, default=1, help="runs of custody --live (network; 0 = skip)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the environment")
    parser.add_argument(
        "--pure-python-fill",
        action="store_true",
        help="fill with pure-Python wheels only (the environment of the 2026-11-28 run)",
    )
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

    venv = build_env(args.work, args.dists, args.fill_wheels, args.rebuild, native=not args.pure_python_fill)
    site = site_packages(venv)
    dists = installed(site)
    pip_audit = build_pip_audit(args.work)
    pip_audit_version = must([str(pip_audit), "--version"]).strip()
    print(f"environment: {venv} ({len(dists)} distributions); {pip_audit_version}")

    custody = custody_command()
    print(f"custody byte code compiled in {compile_custody(custody)}")
    # the run's own digest cache (and remembered hook verdicts beside it), warmed below: a warm
    # audit is what is timed, and the user's cache is left alone
    os.environ["CUSTODY_DIGEST_CACHE"] = str(args.work / "cache" / "digests.sqlite")
    store = args.work / "advisories.sqlite"
    start = time.perf_counter()
    update = [*custody, "db", "update", "--db", str(store)]
    for source in sources:
        update += ["--from", str(source)]
    must(update)
    load_seconds = time.perf_counter() - start

    pa_command = [str(pip_audit), "--path", str(site), "--format", "json", "--progress-spinner", "off"]
    pa_command += ["--cache-dir", str(args.work / "pip-audit-cache")]
    pa_found: list[Key] = []
    pa_skipped: dict[str, str] = {}
    pa_audited = 0
    pa_timing = Timing(pa_command)
    for _ in range(args.pypi_runs):  # pip-audit's default service: network round trips
        pa_timing.run_once()
    if pa_timing.done is not None:
        if pa_timing.done.returncode not in (0, 1):
            sys.exit(f"pip-audit failed ({pa_timing.done.returncode}): {pa_timing.done.stderr}")
        pa_found, pa_skipped, pa_audited = pip_audit_findings(json.loads(pa_timing.done.stdout))

    # The speed comparison, alternating rounds of: pip-audit against a local OSV API serving the
    # same offline records as custody's store (bench/osv_standin.py; osv.dev and PyPI's
    # per-release JSON do not answer here), custody's default run and custody --no-integrity.
    custody_base = [*custody, "audit", str(venv), "--format", "json", "--fail-on", "critical"]
    local_variants = {
        "store": ["--db", str(store)],
        # Like for like with pip-audit, which checks advisories only: no RECORD hashing.
        "store --no-integrity": ["--db", str(store), "--no-integrity"],
    }
    local = {label: Timing([*custody_base, *options]) for label, options in local_variants.items()}
    must_run = run(local["store"].command)  # warms the digest cache (a first run hashes every file)
    if must_run.returncode not in (0, 1, 3):
        sys.exit(f"custody audit failed ({must_run.returncode}): {must_run.stderr}")
    osv_url, osv_server, osv_records = osv_standin.start(sources)
    try:
        osv_command = [*pa_command, "--vulnerability-service", "osv", "--osv-url", osv_url]
        osv_timing = Timing(osv_command)
        load_before = load_average()
        alternate([osv_timing, *local.values()], args.runs)
        print(f"load average: {load_before} before the timed rounds, {load_average()} after")
    finally:
        osv_server.shutdown()
    osv_done = osv_timing.done
    assert osv_done is not None
    if osv_done.returncode not in (0, 1):
        sys.exit(f"pip-audit (OSV stand-in) failed ({osv_done.returncode}): {osv_done.stderr}")
    osv_found, osv_skipped, osv_audited = pip_audit_findings(json.loads(osv_done.stdout))

    results: dict[str, Any] = {}
    reports: dict[str, list[Key]] = {}
    with tempfile.TemporaryDirectory() as empty_dir:
        timings = dict(local)
        if args.live_runs:
            live_variants = {
                "live": ["--live", "--db", str(Path(empty_dir) / "none.sqlite")],
                "store+live": ["--live", "--db", str(store)],
            }
            for label, options in live_variants.items():
                timings[label] = Timing([*custody_base, *options])
                for _ in range(args.live_runs):
                    timings[label].run_once()
        for label, timing in timings.items():
            done = timing.done
            assert done is not None
            if done.returncode not in (0, 1, 3):
                sys.exit(f"custody audit failed ({done.returncode}): {done.stderr}")
            doc = json.loads(done.stdout)
            reports[label] = custody_findings(doc)
            results[label] = {
                "command": " ".join(timing.command),
                **timing.summary(),
                "advisories": len(reports[label]),
                "errors": doc.get("errors", []),
                "notes": doc.get("notes", []),
            }
    reports.setdefault("store+live", reports["store"])

    custody_all = reports["store+live"]
    missed = [k for k in pa_found if not matches(k, custody_all)]
    extra: list[dict[str, Any]] = []
    for key in custody_all:
        if matches(key, pa_found):
            continue
        # without --live runs (--live-runs 0) only the store's findings are known
        source = [label for label in ("store", "live") if matches(key, reports.get(label, []))]
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

    # the fair comparison: pip-audit with no network either (the local OSV stand-in)
    osv_best = min(osv_timing.wall)
    osv_cpu_best = min(osv_timing.cpu)
    environment_size = tree_size(site)
    summary: dict[str, Any] = {
        "environment": str(venv),
        "distributions": len(dists),
        "files": environment_size[0],
        "bytes": environment_size[1],
        "vulnerable_pins": VULNERABLE,
        "pip_audit": {
            "version": pip_audit_version,
            "command": " ".join(pa_command),
            **(pa_timing.summary() if pa_timing.wall else {"skipped": "--pypi-runs 0"}),
            "advisories": len(pa_found),
            "audited": pa_audited,
            "skipped": len(pa_skipped),
            "skip_reasons": sorted(set(re.sub(r": \S+ \(.*\)$", "", r) for r in pa_skipped.values())),
        },
        "pip_audit_osv_standin": {
            "command": " ".join(osv_command),
            "records_served": osv_records,
            **osv_timing.summary(server=True),
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
        "ratios_to_pip_audit_local_osv": {
            label: {
                "wall": round(results[label]["seconds"]["best"] / osv_best, 4),
                "cpu": round(results[label]["cpu_seconds"]["best"] / osv_cpu_best, 4),
            }
            for label in results
        },
    }
    if args.boundary_pins:
        summary["agreement_boundary_pins"] = wide_agreement(
            pip_audit, custody, store, sources, args.boundary_pins, args.work
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")

    print(f"store loaded from {', '.join(map(str, sources))} in {load_seconds:.2f} s")
    print(
        f"environment: {len(dists)} distributions, {environment_size[0]:,} files, "
        f"{environment_size[1] / 1e9:.2f} GB"
    )
    if pa_timing.wall:
        print(
            f"pip-audit (PyPI, network): {len(pa_found)} advisories; audited {pa_audited}, skipped "
            f"{len(pa_skipped)} of {pa_audited + len(pa_skipped)} dependencies; best "
            f"{min(pa_timing.wall):.2f} s (CPU {min(pa_timing.cpu):.2f} s)"
        )
        for reason in summary["pip_audit"]["skip_reasons"]:
            print(f"  skip reason: {reason}")
    rows = [("pip-audit -s osv --osv-url LOCAL", osv_timing)] + [
        (f"custody audit ({label})", timings[label]) for label in timings
    ]
    print(f"{'command':<40} {'wall best':>9} {'median':>7} {'CPU best':>8} {'median':>7}  (CPU = user+sys)")
    for label, timing in rows:
        wall, cpu = stats(timing.wall), stats(timing.cpu)
        figures = f"{wall['best']:>9.3f} {wall['median']:>7.3f} {cpu['best']:>8.3f} {cpu['median']:>7.3f}"
        print(f"{label:<40} {figures}")
    server = stats(osv_timing.server_cpu)
    print(f"  (the OSV stand-in's own CPU per pip-audit run: best {server['best']:.3f} s, not counted above)")
    for label in ("store", "store --no-integrity"):
        best = results[label]["seconds"]["best"]
        cpu = results[label]["cpu_seconds"]["best"]
        ratio = summary["ratios_to_pip_audit_local_osv"][label]
        print(
            f"custody {label}: {results[label]['advisories']} advisories; best {best:.2f} s "
            f"(<= 1 s: {'yes' if best <= 1 else 'NO'}), CPU {cpu:.2f} s; "
            f"{100 * ratio['wall']:.0f} % of pip-audit's wall, {100 * ratio['cpu']:.0f} % of its CPU"
            + (f"; errors: {results[label]['errors']}" if results[label]["errors"] else "")
        )
    for note in results.get("store+live", {}).get("notes", []):
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
        f"{osv_best:.2f} s; matched {len(osv_matched)}, missed by custody {len(osv_missed)}, "
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
