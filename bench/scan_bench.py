#!/usr/bin/env python3
"""Benchmark `custody scan` on the shared malicious and benign corpora, and GuardDog on a sample.

One command:

    python bench/scan_bench.py [--benign-dir DIR] [--guarddog-sample N] [--skip-guarddog] [--out bench/out]

What it does (README.md beside this file explains every figure):

1. custody on the full malicious set (shared/corpus/malicious-dev) and the full benign set
   (shared/corpus/benign-top.tsv, fetched with shared/bench/fetch_benign.py when files are missing):
   wall time, peak memory of the custody process tree, per-file seconds p50/p95.
2. Detection: recall on malicious files, false-positive rate per benign project, errors; FP projects
   with their top findings and missed malicious samples are written to the output dir.
3. GuardDog (latest from PyPI, in its own venv outside the repo) on a deterministic random sample of
   each set, 2 files at a time, with a per-file timeout; custody's figures on the same files beside it.
4. results.json (machine-readable) and summary.md (the Markdown block for bench/RESULTS.md), printed too.

The malicious samples are real malware. This script only passes their paths to the scanners: it never
installs, imports, extracts or executes them. Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import contextlib
import csv
import dataclasses
import datetime
import json
import math
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared"
CACHE = Path.home() / ".cache" / "custody-bench"

DEFAULT_MALICIOUS_DIR = SHARED / "corpus" / "malicious-dev"
DEFAULT_BENIGN_TSV = SHARED / "corpus" / "benign-top.tsv"
DEFAULT_FETCH_SCRIPT = SHARED / "bench" / "fetch_benign.py"
DEFAULT_BENIGN_DIR = CACHE / "benign-top"
DEFAULT_GUARDDOG_VENV = CACHE / "guarddog-venv"
DEFAULT_OUT = HERE / "out"

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".whl", ".egg")
VERDICTS = ("malicious", "suspicious", "clean")
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# GuardDog 3.x prints risk_score.label, one of these four (guarddog/analyzer/risk_engine.py RiskLabel:
# score 0 -> no_risks_detected, < 5 -> low, < 7 -> suspicious, >= 7 -> high_risk).
GUARDDOG_LABELS = {
    "high_risk": "malicious",
    "suspicious": "suspicious",
    "low": "clean",
    "no_risks_detected": "clean",
}
# GuardDog tries to refresh its typosquatting caches from the internet at every start; with no network
# it prints these lines on stderr and goes on. They are not scan errors.
GUARDDOG_NOISE = ("Network error:", "Failed to download new cache data")

MIN_TREE_SAMPLES = 5  # a run shorter than this many /proc samples gets no tree-sum figure
LIVE_GROUPS: set[int] = set()  # process groups started by this script, killed on interrupt


# --------------------------------------------------------------------------------------------- corpora


@dataclasses.dataclass(frozen=True)
class Sample:
    """One distribution file of a benchmark set."""

    path: str  # absolute path, symlinks resolved
    key: str  # malicious: NAME/VERSION/FILE relative to the corpus root; benign: the file name
    project: str | None = None  # benign only: the project name from benign-top.tsv
    rank: int | None = None  # benign only: download rank from benign-top.tsv


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def list_archives(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found += [Path(dirpath, n) for n in sorted(filenames) if is_archive(n)]
    return found


def malicious_samples(root: Path) -> list[Sample]:
    return [Sample(path=os.path.realpath(p), key=p.relative_to(root).as_posix()) for p in list_archives(root)]


def read_benign_tsv(tsv: Path) -> list[dict[str, str]]:
    with tsv.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def ensure_benign(rows: list[dict[str, str]], dest: Path, fetch_script: Path, fetch: bool) -> None:
    missing = [r["filename"] for r in rows if not (dest / r["filename"]).is_file()]
    if not missing:
        return
    if not fetch:
        print(
            f"note: {len(missing)} benign files missing from {dest}; --no-fetch given, going on without them"
        )
        return
    print(f"{len(missing)} benign files missing from {dest}: running {fetch_script}", flush=True)
    subprocess.run([sys.executable, str(fetch_script), str(dest)], check=False)


def benign_samples(rows: list[dict[str, str]], dest: Path) -> tuple[list[Sample], list[str]]:
    samples, unavailable = [], []
    for r in rows:
        p = dest / r["filename"]
        if p.is_file():
            samples.append(
                Sample(path=os.path.realpath(p), key=r["filename"], project=r["name"], rank=int(r["rank"]))
            )
        else:
            unavailable.append(r["filename"])
    return samples, unavailable


def pick(samples: Sequence[Sample], n: int, seed: int, salt: str) -> list[Sample]:
    """Deterministic random subset: the same seed, salt and corpus give the same files."""
    if n <= 0 or n >= len(samples):
        return list(samples)
    ordered = sorted(samples, key=lambda s: s.key)
    chosen = random.Random(f"{seed}:{salt}").sample(ordered, n)
    return sorted(chosen, key=lambda s: s.key)


# ------------------------------------------------------------------------------------ process measuring


@dataclasses.dataclass
class Measured:
    """One child process run to completion (or killed), with what the kernel says it used."""

    argv: list[str]
    returncode: int | None
    wall_s: float
    user_s: float
    sys_s: float
    # ru_maxrss from wait4(): the largest resident set of any single process in the tree that was
    # waited for (the child itself, or a worker it reaped). Not a sum.
    maxrss_mib: float
    # Sampled every --sample-interval s from /proc: the sum over all live processes of the child's
    # session. RSS counts pages shared by forked workers once per process; PSS splits them.
    tree_peak_rss_mib: float | None
    tree_peak_pss_mib: float | None
    tree_peak_procs: int | None
    timed_out: bool


def _session_members(sid: int) -> list[tuple[int, int]]:
    """(pid, rss pages) of every process whose session id is sid."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[3]) == sid:  # fields: state ppid pgrp session ... rss is field 24 of stat
            members.append((int(entry), int(fields[21])))
    return members


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(
    argv: list[str],
    *,
    stdout_path: Path,
    stderr_path: Path,
    timeout_s: float,
    sample_tree: bool,
    sample_interval: float = 0.2,
) -> Measured:
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    peak = {"rss": 0, "pss": 0, "procs": 0, "samples": 0}
    can_sample = sample_tree and Path("/proc/self/stat").exists()
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
    LIVE_GROUPS.add(proc.pid)
    done = threading.Event()
    killed = threading.Event()

    def watch() -> None:
        deadline = start + timeout_s
        interval = sample_interval if can_sample else 1.0
        while True:
            if can_sample:
                members = _session_members(proc.pid)
                peak["rss"] = max(peak["rss"], sum(rss for _, rss in members) * page_kib)
                peak["pss"] = max(peak["pss"], sum(_pss_kib(pid) for pid, _ in members))
                peak["procs"] = max(peak["procs"], len(members))
                peak["samples"] += 1
            if time.perf_counter() > deadline and not done.is_set():
                killed.set()
                _kill_group(proc.pid)
                return
            if done.wait(interval):
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    if killed.is_set():
        _kill_group(proc.pid)  # workers that outlived the killed leader
    LIVE_GROUPS.discard(proc.pid)
    enough = peak["samples"] >= MIN_TREE_SAMPLES
    return Measured(
        argv=argv,
        returncode=proc.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        maxrss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        tree_peak_rss_mib=peak["rss"] / 1024 if enough else None,
        tree_peak_pss_mib=peak["pss"] / 1024 if enough else None,
        tree_peak_procs=peak["procs"] if enough else None,
        timed_out=killed.is_set(),
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------- custody


def display_argv(argv: Sequence[str], targets: Sequence[str]) -> str:
    """The command line, with a long list of file targets shortened to a count."""
    if len(targets) <= 3:
        return shlex.join(argv)
    shown = [a for a in argv if a not in set(targets)]
    i = shown.index("scan") + 1
    return shlex.join(shown[:i]) + f" <{len(targets)} files> " + shlex.join(shown[i:])


def choose_targets(samples: Sequence[Sample], root: Path, whole_set: bool) -> list[str]:
    """The corpus directory when it holds exactly the files to scan, else the files themselves."""
    if whole_set and {os.path.realpath(p) for p in list_archives(root)} == {s.path for s in samples}:
        return [str(root.resolve())]
    return [s.path for s in samples]


def run_custody(args: argparse.Namespace, label: str, targets: list[str], out_dir: Path) -> dict[str, Any]:
    """Run custody over targets (in batches of --batch-size paths), keep its raw output, parse it."""
    batches = [targets[i : i + args.batch_size] for i in range(0, len(targets), args.batch_size)] or [[]]
    entries: list[dict[str, Any]] = []
    runs, problems, versions = [], [], set()
    for i, batch in enumerate(batches):
        stem = label if len(batches) == 1 else f"{label}-{i:03d}"
        argv = [*args.custody_cmd, "scan", *batch, "--format", "json", "--jobs", str(args.jobs)]
        argv += args.custody_extra
        print(f"  custody {label}: {display_argv(argv, batch)}", flush=True)
        try:
            m = run_measured(
                argv,
                stdout_path=out_dir / f"{stem}.json",
                stderr_path=out_dir / f"{stem}.stderr",
                timeout_s=args.custody_timeout,
                sample_tree=True,
                sample_interval=args.sample_interval,
            )
        except OSError as e:
            problems.append(f"{stem}: cannot run {args.custody_cmd[0]}: {e}")
            print(f"    {problems[-1]}", flush=True)
            continue
        run = dataclasses.asdict(m)
        run["argv"] = display_argv(argv, batch)
        runs.append(run)
        if m.timed_out:
            problems.append(f"{stem}: killed after --custody-timeout {args.custody_timeout} s")
        try:
            doc = json.loads((out_dir / f"{stem}.json").read_text())
            entries += doc["targets"]
            versions.add(str(doc.get("custody_version")))
        except (ValueError, KeyError, TypeError) as e:
            tail = (out_dir / f"{stem}.stderr").read_text(errors="replace").strip().splitlines()[-3:]
            problems.append(f"{stem}: exit {m.returncode}, no JSON report on stdout ({e}); stderr: {tail}")
        print(
            f"    exit {m.returncode}, {m.wall_s:.1f} s, max process RSS {m.maxrss_mib:.0f} MiB", flush=True
        )
    return {
        "entries": entries,
        "runs": runs,
        "version": ", ".join(sorted(versions)) or None,
        "problems": problems,
    }


def top_rules(findings: Iterable[dict[str, Any]], k: int = 6) -> list[dict[str, Any]]:
    """The rule ids of a file's findings: most severe first, then most frequent, with one example."""
    by_rule: dict[str, dict[str, Any]] = {}
    for f in findings:
        rule = str(f.get("rule"))
        sev = str(f.get("severity", "")).lower()
        slot = by_rule.setdefault(
            rule,
            {
                "rule": rule,
                "severity": sev,
                "count": 0,
                "example": f"{f.get('file')}:{f.get('line')}" if f.get("line") is not None else f.get("file"),
                "reason": f.get("reason"),
            },
        )
        slot["count"] += 1
        if SEVERITY_RANK.get(sev, -1) > SEVERITY_RANK.get(slot["severity"], -1):
            slot["severity"] = sev
    ranked = sorted(by_rule.values(), key=lambda r: (-SEVERITY_RANK.get(r["severity"], -1), -r["count"]))
    return ranked[:k]


def custody_rows(
    samples: Sequence[Sample], entries: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """One row per expected sample, matched to custody's entries by resolved path (file name as fallback)."""
    by_path: dict[str, dict[str, Any]] = {}
    by_name: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for e in entries:
        target = str(e.get("target", ""))
        by_path[os.path.realpath(target)] = e
        by_name[os.path.basename(target)].append(e)
    rows, matched = [], set()
    for s in samples:
        e = by_path.get(s.path)
        if e is None and len(by_name.get(os.path.basename(s.path), [])) == 1:
            e = by_name[os.path.basename(s.path)][0]
        if e is not None:
            matched.add(id(e))
        rows.append(make_row(s, e))
    return rows, sum(1 for e in entries if id(e) not in matched)


def make_row(s: Sample, e: dict[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {"key": s.key, "path": s.path, "project": s.project}
    if e is None:
        row.update(
            verdict="error", score=None, seconds=None, error="missing from custody output", missing=True
        )
        row["rules"] = []
        return row
    verdict = e.get("verdict")
    row.update(
        verdict=verdict if verdict in VERDICTS else "error",
        score=e.get("score"),
        seconds=e.get("seconds"),
        error=e.get("error") if verdict in VERDICTS else (e.get("error") or f"verdict {verdict!r}"),
        missing=False,
        rules=top_rules(e.get("findings") or []),
    )
    return row


# -------------------------------------------------------------------------------------------- GuardDog


def ensure_guarddog(venv: Path, upgrade: bool) -> tuple[Path, str]:
    exe = venv / "bin" / "guarddog"
    if upgrade or not exe.exists():
        if not (venv / "bin" / "python").exists():
            print(f"creating {venv}", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        print("installing the latest guarddog from PyPI", flush=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "guarddog"],
            check=True,
        )
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    return exe, version.stdout.strip().splitlines()[-1] if version.stdout.strip() else "unknown"


def guarddog_verdict(doc: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(verdict, GuardDog label, error) from GuardDog's JSON report."""
    risk = doc.get("risk_score")
    if isinstance(risk, dict) and "label" in risk:
        label = str(risk["label"])
        if label in GUARDDOG_LABELS:
            return GUARDDOG_LABELS[label], label, None
        return "error", label, f"unknown GuardDog risk label {label!r}"
    # Older GuardDog (< 3) has no risk label: any issue is taken as suspicious, never malicious.
    return ("suspicious" if doc.get("issues") else "clean"), None, None


def guarddog_rules(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Rules behind GuardDog's score (threat rules of its risks) first, then the other rules that matched."""
    threat = collections.Counter(
        str(r.get("threat_rule")) for r in doc.get("risks") or [] if isinstance(r, dict)
    )
    out = [{"rule": rule, "count": n, "severity": "risk"} for rule, n in threat.most_common()]
    for rule, hits in (doc.get("results") or {}).items():
        if hits and rule not in threat:
            out.append({"rule": rule, "count": len(hits), "severity": "match"})
    return out[:8]


def guarddog_one(exe: Path, s: Sample, raw_dir: Path, index: int, args: argparse.Namespace) -> dict[str, Any]:
    argv = [str(exe), "pypi", "scan", s.path, "--output-format", "json"]
    if not args.guarddog_sandbox:
        argv.append("--no-sandbox")
    stem = f"{index:04d}-{os.path.basename(s.path)}"
    m = run_measured(
        argv,
        stdout_path=raw_dir / f"{stem}.json",
        stderr_path=raw_dir / f"{stem}.stderr",
        timeout_s=args.guarddog_timeout,
        sample_tree=False,
    )
    row: dict[str, Any] = {
        "key": s.key,
        "path": s.path,
        "project": s.project,
        "seconds": m.wall_s,
        "maxrss_mib": m.maxrss_mib,
        "returncode": m.returncode,
        "timed_out": m.timed_out,
        "missing": False,
        "label": None,
        "score": None,
        "rule_errors": 0,
        "rules": [],
        "error": None,
    }
    if m.timed_out:
        row.update(verdict="error", error=f"timeout after {args.guarddog_timeout} s")
        return row
    try:
        doc = json.loads((raw_dir / f"{stem}.json").read_text())
    except ValueError:
        lines = (raw_dir / f"{stem}.stderr").read_text(errors="replace").splitlines()
        real = [ln for ln in lines if ln.strip() and not ln.startswith(GUARDDOG_NOISE)]
        row.update(
            verdict="error", error=f"exit {m.returncode}: " + (real[-1] if real else "no JSON on stdout")
        )
        return row
    verdict, label, error = guarddog_verdict(doc)
    row.update(
        verdict=verdict,
        label=label,
        error=error,
        score=(doc.get("risk_score") or {}).get("score"),
        rule_errors=len(doc.get("errors") or {}),
        rules=guarddog_rules(doc),
    )
    return row


def run_guarddog(
    exe: Path, samples: Sequence[Sample], label: str, out_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    raw_dir = out_dir / "raw" / label
    raw_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = [{}] * len(samples)
    start = time.perf_counter()
    with cf.ThreadPoolExecutor(args.guarddog_workers) as pool:
        futures = {pool.submit(guarddog_one, exe, s, raw_dir, i, args): i for i, s in enumerate(samples)}
        for n, fut in enumerate(cf.as_completed(futures), 1):
            rows[futures[fut]] = fut.result()
            if n % 25 == 0 or n == len(samples):
                print(f"    guarddog {label}: {n}/{len(samples)}", flush=True)
    wall = time.perf_counter() - start
    return {"rows": rows, "wall_s": wall}


# --------------------------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def timing(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    secs = [float(r["seconds"]) for r in rows if isinstance(r.get("seconds"), (int, float))]
    return {
        "n": len(secs),
        "p50_s": percentile(secs, 50),
        "p95_s": percentile(secs, 95),
        "mean_s": sum(secs) / len(secs) if secs else None,
        "max_s": max(secs) if secs else None,
        "sum_s": sum(secs),
    }


def malicious_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    c = collections.Counter(r["verdict"] for r in rows)
    return {
        "files": n,
        "verdicts": {v: c[v] for v in (*VERDICTS, "error")},
        "detected_malicious": c["malicious"],
        "detected_mal_or_susp": c["malicious"] + c["suspicious"],
        "recall_malicious": ratio(c["malicious"], n),
        "recall_mal_or_susp": ratio(c["malicious"] + c["suspicious"], n),
        "errors": c["error"],
        "missing_from_output": sum(1 for r in rows if r.get("missing")),
        "timeouts": sum(1 for r in rows if r.get("timed_out")),
    }


def benign_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    projects: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in rows:
        projects[r["project"]].append(r)
    fp_mal = sorted(p for p, rs in projects.items() if any(r["verdict"] == "malicious" for r in rs))
    fp_susp = sorted(
        p for p, rs in projects.items() if any(r["verdict"] in ("malicious", "suspicious") for r in rs)
    )
    c = collections.Counter(r["verdict"] for r in rows)
    n = len(projects)
    return {
        "files": len(rows),
        "projects": n,
        "verdicts": {v: c[v] for v in (*VERDICTS, "error")},
        "fp_malicious": len(fp_mal),
        "fp_malicious_rate": ratio(len(fp_mal), n),
        "fp_susp_or_worse": len(fp_susp),
        "fp_susp_or_worse_rate": ratio(len(fp_susp), n),
        "fp_malicious_projects": fp_mal,
        "fp_susp_or_worse_projects": fp_susp,
        "errors": c["error"],
        "projects_all_files_error": sum(
            1 for rs in projects.values() if all(r["verdict"] == "error" for r in rs)
        ),
        "missing_from_output": sum(1 for r in rows if r.get("missing")),
        "timeouts": sum(1 for r in rows if r.get("timed_out")),
    }


def custody_perf(run: dict[str, Any], files: int) -> dict[str, Any]:
    runs = run["runs"]
    wall = sum(r["wall_s"] for r in runs)
    tree = [r["tree_peak_rss_mib"] for r in runs if r["tree_peak_rss_mib"] is not None]
    pss = [r["tree_peak_pss_mib"] for r in runs if r["tree_peak_pss_mib"] is not None]
    return {
        "files": files,
        "wall_s": wall,
        "files_per_s": ratio(files, wall),
        "cpu_s": sum(r["user_s"] + r["sys_s"] for r in runs),
        "max_process_rss_mib": max((r["maxrss_mib"] for r in runs), default=None),
        "tree_peak_rss_mib": max(tree, default=None),
        "tree_peak_pss_mib": max(pss, default=None),
        "tree_peak_procs": max((r["tree_peak_procs"] or 0 for r in runs), default=None),
        "exit_codes": [r["returncode"] for r in runs],
        "timed_out": any(r["timed_out"] for r in runs),
        "commands": [r["argv"] for r in runs],
        "problems": run["problems"],
    }


def guarddog_perf(run: dict[str, Any]) -> dict[str, Any]:
    rows = run["rows"]
    return {
        "files": len(rows),
        "wall_s": run["wall_s"],
        "files_per_s": ratio(len(rows), run["wall_s"]),
        "max_process_rss_mib": max((r["maxrss_mib"] for r in rows), default=None),
        "tree_peak_rss_mib": None,
        "timeouts": sum(1 for r in rows if r["timed_out"]),
        "files_with_rule_errors": sum(1 for r in rows if r["rule_errors"]),
        "returncodes": dict(collections.Counter(str(r["returncode"]) for r in rows)),
    }


def rule_hits(rows: Sequence[dict[str, Any]], unit: str) -> dict[str, int]:
    """How many files (unit='key') or projects (unit='project') each rule fired in."""
    hits: dict[str, set[str]] = collections.defaultdict(set)
    for r in rows:
        for rule in r.get("rules") or []:
            hits[rule["rule"]].add(r[unit])
    return {k: len(v) for k, v in sorted(hits.items(), key=lambda kv: (-len(kv[1]), kv[0]))}


# --------------------------------------------------------------------------------------------- writing


def rules_text(rules: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{r['rule']}({r['severity']}×{r['count']})" for r in rules)


def write_tsv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])


def write_analysis(
    out: Path, tool: str, mal_rows: list[dict[str, Any]], ben_rows: list[dict[str, Any]]
) -> None:
    """Missed malicious samples, FP projects with their top findings, errors, per-rule hit counts."""
    missed = [r for r in mal_rows if r["verdict"] != "malicious"]
    write_tsv(
        out / f"{tool}-missed-malicious.tsv",
        ["path", "verdict", "tool_label", "score", "error", "top_rules"],
        (
            [r["path"], r["verdict"], r.get("label"), r["score"], r["error"], rules_text(r["rules"])]
            for r in missed
        ),
    )
    projects: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in ben_rows:
        projects[r["project"]].append(r)
    fps = []
    for name, rs in projects.items():
        flagged = [r for r in rs if r["verdict"] in ("malicious", "suspicious")]
        if not flagged:
            continue
        worst = "malicious" if any(r["verdict"] == "malicious" for r in flagged) else "suspicious"
        fps.append(
            {
                "project": name,
                "worst_verdict": worst,
                "files": [
                    {k: r[k] for k in ("key", "verdict", "score", "error", "rules", "seconds")}
                    | {"tool_label": r.get("label")}
                    for r in rs
                ],
            }
        )
    fps.sort(key=lambda p: (p["worst_verdict"] != "malicious", p["project"]))
    (out / f"{tool}-fp-projects.json").write_text(json.dumps(fps, indent=1) + "\n")
    write_tsv(
        out / f"{tool}-fp-projects.tsv",
        ["project", "worst_verdict", "file", "verdict", "tool_label", "score", "top_rules"],
        (
            [
                p["project"],
                p["worst_verdict"],
                f["key"],
                f["verdict"],
                f["tool_label"],
                f["score"],
                rules_text(f["rules"]),
            ]
            for p in fps
            for f in p["files"]
        ),
    )
    errors = [r for r in mal_rows + ben_rows if r["verdict"] == "error"]
    write_tsv(out / f"{tool}-errors.tsv", ["path", "error"], ([r["path"], r["error"]] for r in errors))
    mal_hits, ben_hits = rule_hits(mal_rows, "key"), rule_hits(ben_rows, "project")
    write_tsv(
        out / f"{tool}-rule-hits.tsv",
        ["rule", "malicious_files", "benign_projects"],
        (
            [rule, mal_hits.get(rule, 0), ben_hits.get(rule, 0)]
            for rule in sorted(set(mal_hits) | set(ben_hits))
        ),
    )
    with (out / f"{tool}-files.jsonl").open("w") as f:
        for r in mal_rows + ben_rows:
            f.write(json.dumps(r) + "\n")


def fmt_n(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def fmt_share(n: int | None, total: int | None) -> str:
    if n is None or not total:
        return "–"
    return f"{n}/{total} ({100 * n / total:.1f} %)"


def fmt_pair(a: str, b: str) -> str:
    return f"{a} · {b}"


def render_markdown(res: dict[str, Any]) -> str:
    meta = res["meta"]
    cols: list[tuple[str, dict[str, Any]]] = [("custody, full sets", res["custody"])]
    if res.get("custody_on_sample"):
        cols.append(("custody, GuardDog sample", res["custody_on_sample"]))
    if res.get("guarddog"):
        cols.append((f"GuardDog {meta.get('guarddog_version')}, sample", res["guarddog"]))

    def row(title: str, cell: Any) -> str:
        return f"| {title} | " + " | ".join(cell(c) for _, c in cols) + " |"

    def perf(c: dict[str, Any], key: str, digits: int) -> str:
        return fmt_pair(
            fmt_n(c["malicious"]["perf"].get(key), digits), fmt_n(c["benign"]["perf"].get(key), digits)
        )

    def pct(c: dict[str, Any], digits: int = 3) -> str:
        tm, tb = c["malicious"]["timing"], c["benign"]["timing"]
        return fmt_pair(
            f"{fmt_n(tm['p50_s'], digits)} / {fmt_n(tm['p95_s'], digits)}",
            f"{fmt_n(tb['p50_s'], digits)} / {fmt_n(tb['p95_s'], digits)}",
        )

    def mem(c: dict[str, Any]) -> str:
        parts = []
        for s in ("malicious", "benign"):
            p = c[s]["perf"]
            tree = p.get("tree_peak_rss_mib")
            parts.append(
                fmt_n(p.get("max_process_rss_mib"), 0)
                + ("" if "guarddog" in c["tool"] else f" / {fmt_n(tree, 0)}")
            )
        return fmt_pair(*parts)

    def errors(c: dict[str, Any]) -> str:
        m, b = c["malicious"]["detection"], c["benign"]["detection"]
        text = fmt_pair(str(m["errors"]), str(b["errors"]))
        if m.get("timeouts") or b.get("timeouts") or "guarddog" in str(c.get("tool")):
            text += f" (timeouts {m.get('timeouts', 0)} · {b.get('timeouts', 0)})"
        return text

    def det(c: dict[str, Any], s: str) -> dict[str, Any]:
        d: dict[str, Any] = c[s]["detection"]
        return d

    lines = [
        f"Run {meta['finished']} on {meta['host']}; custody {meta.get('custody_version')}"
        + (f", GuardDog {meta['guarddog_version']}" if meta.get("guarddog_version") else "")
        + f"; repo {meta.get('git')}.",
        "",
        "| | " + " | ".join(name for name, _ in cols) + " |",
        "|---|" + "---|" * len(cols),
        row(
            "files: malicious · benign (projects)",
            lambda c: fmt_pair(
                str(det(c, "malicious")["files"]),
                f"{det(c, 'benign')['files']} ({det(c, 'benign')['projects']})",
            ),
        ),
        row(
            "recall, verdict malicious",
            lambda c: fmt_share(det(c, "malicious")["detected_malicious"], det(c, "malicious")["files"]),
        ),
        row(
            "recall, malicious or suspicious",
            lambda c: fmt_share(det(c, "malicious")["detected_mal_or_susp"], det(c, "malicious")["files"]),
        ),
        row(
            "FP projects, malicious",
            lambda c: fmt_share(det(c, "benign")["fp_malicious"], det(c, "benign")["projects"]),
        ),
        row(
            "FP projects, suspicious or worse",
            lambda c: fmt_share(det(c, "benign")["fp_susp_or_worse"], det(c, "benign")["projects"]),
        ),
        row("per-file s p50 / p95: mal · benign", pct),
        row("total wall s: mal · benign", lambda c: perf(c, "wall_s", 1)),
        row("files/s: mal · benign", lambda c: perf(c, "files_per_s", 1)),
        row("peak memory MiB, max process / tree sum: mal · benign", mem),
        row("errors (files): mal · benign", errors),
    ]
    cmp_ = res.get("comparison")
    if cmp_:
        lines += [
            "",
            f"Throughput custody/GuardDog on the same {cmp_['paired_files']} sample files: "
            f"per-file time p50 {fmt_n(cmp_['per_file_p50_ratio'], 1)}×, "
            f"total per-file time {fmt_n(cmp_['per_file_sum_ratio'], 1)}×; "
            f"wall-clock files/s {fmt_n(cmp_['files_per_s_ratio'], 1)}× "
            f"(custody --jobs {meta['jobs']} vs GuardDog {meta['guarddog_workers']} files at a time; "
            "custody per-file s is its in-process scan time, "
            "GuardDog's is one process per file, start-up included).",
        ]
    problems = [
        f"{name}, {kind}: {problem}"
        for name, c in cols
        for kind in ("malicious", "benign")
        for problem in c[kind]["perf"].get("problems") or []
    ]
    if problems:
        lines += ["", "**Problems** (figures above are incomplete):", *(f"- {p}" for p in problems)]
    lines += ["", f"Command: `{meta['command']}`"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    p.add_argument("--malicious-dir", type=Path, default=DEFAULT_MALICIOUS_DIR, help="default: %(default)s")
    p.add_argument("--benign-tsv", type=Path, default=DEFAULT_BENIGN_TSV, help="default: %(default)s")
    p.add_argument(
        "--benign-dir",
        type=Path,
        default=Path(os.environ.get("CUSTODY_BENCH_BENIGN_DIR", DEFAULT_BENIGN_DIR)),
        help="where the benign files are or get fetched to ($CUSTODY_BENCH_BENIGN_DIR; default: %(default)s)",
    )
    p.add_argument("--fetch-script", type=Path, default=DEFAULT_FETCH_SCRIPT, help="default: %(default)s")
    p.add_argument("--no-fetch", action="store_true", help="do not fetch missing benign files; skip them")
    p.add_argument(
        "--custody",
        default=str(REPO / ".venv" / "bin" / "custody"),
        help="custody command, split like a shell would (default: %(default)s)",
    )
    p.add_argument("--custody-extra", default="", help="extra arguments appended to every `custody scan`")
    p.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="custody --jobs (default: %(default)s)"
    )
    p.add_argument("--batch-size", type=int, default=1000, help="file paths per custody call when not a dir")
    p.add_argument("--custody-timeout", type=float, default=4 * 3600, help="per custody call, s")
    p.add_argument("--sample-interval", type=float, default=0.2, help="s between /proc memory samples")
    p.add_argument(
        "--limit", type=int, default=0, help="smoke run: scan only N random files per set (0 = all)"
    )
    p.add_argument("--skip-guarddog", action="store_true", help="custody only")
    p.add_argument(
        "--guarddog-sample",
        type=int,
        default=150,
        help="files per set for GuardDog (0 = whole set; default 150)",
    )
    p.add_argument("--seed", type=int, default=20261123, help="sampling seed (default: %(default)s)")
    p.add_argument("--guarddog-venv", type=Path, default=DEFAULT_GUARDDOG_VENV, help="default: %(default)s")
    p.add_argument("--guarddog-upgrade", action="store_true", help="pip install --upgrade guarddog first")
    p.add_argument("--guarddog-workers", type=int, default=2, help="GuardDog files at a time (default 2)")
    p.add_argument("--guarddog-timeout", type=float, default=300, help="per GuardDog file, s (default 300)")
    p.add_argument(
        "--no-guarddog-sandbox",
        dest="guarddog_sandbox",
        action="store_false",
        help="pass --no-sandbox to GuardDog (only where its kernel sandbox is unavailable)",
    )
    p.add_argument(
        "--report-only", action="store_true", help="print the Markdown block from OUT/results.json and exit"
    )
    args = p.parse_args(argv)
    args.custody_cmd = shlex.split(args.custody)
    args.custody_extra = shlex.split(args.custody_extra)
    return args


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def set_result(rows: list[dict[str, Any]], kind: str, perf: dict[str, Any]) -> dict[str, Any]:
    det = malicious_figures(rows) if kind == "malicious" else benign_figures(rows)
    return {"detection": det, "timing": timing(rows), "perf": perf}


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    out: Path = args.out
    if args.report_only:
        print(render_markdown(json.loads((out / "results.json").read_text())), end="")
        return 0
    (out / "custody").mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    command = shlex.join(["python", *([sys.argv[0]] if sys.argv else []), *argv])

    # Corpora
    mal_all = malicious_samples(args.malicious_dir)
    tsv_rows = read_benign_tsv(args.benign_tsv)
    ensure_benign(tsv_rows, args.benign_dir, args.fetch_script, fetch=not args.no_fetch)
    ben_all, unavailable = benign_samples(tsv_rows, args.benign_dir)
    if unavailable:
        print(f"warning: {len(unavailable)} benign files unavailable, left out: {unavailable[:5]} ...")
    mal = pick(mal_all, args.limit, args.seed, "limit-malicious")
    ben = pick(ben_all, args.limit, args.seed, "limit-benign")
    print(
        f"malicious files: {len(mal)}; benign files: {len(ben)} of {len({s.project for s in ben})} projects"
    )

    # custody, full sets
    res: dict[str, Any] = {}
    custody: dict[str, Any] = {"tool": "custody"}
    mal_rows: list[dict[str, Any]] = []
    ben_rows: list[dict[str, Any]] = []
    versions = set()
    for kind, samples, root in (("malicious", mal, args.malicious_dir), ("benign", ben, args.benign_dir)):
        run = run_custody(
            args, kind, choose_targets(samples, root, whole_set=not args.limit), out / "custody"
        )
        rows, unlisted = custody_rows(samples, run["entries"])
        perf = custody_perf(run, len(samples)) | {"entries_not_in_set": unlisted}
        custody[kind] = set_result(rows, kind, perf)
        versions.add(run["version"])
        (mal_rows if kind == "malicious" else ben_rows).extend(rows)
        for problem in run["problems"]:
            print(f"  problem: {problem}")
    write_analysis(out, "custody", mal_rows, ben_rows)
    custody["rule_hits"] = {
        "malicious_files": rule_hits(mal_rows, "key"),
        "benign_projects": rule_hits(ben_rows, "project"),
    }
    res["custody"] = custody

    # GuardDog on a sample, and custody on the same files
    gd_version = None
    if not args.skip_guarddog:
        exe, gd_version = ensure_guarddog(args.guarddog_venv, args.guarddog_upgrade)
        print(f"GuardDog {gd_version} at {exe}")
        samples = {
            "malicious": pick(mal, args.guarddog_sample, args.seed, "guarddog-malicious"),
            "benign": pick(ben, args.guarddog_sample, args.seed, "guarddog-benign"),
        }
        (out / "guarddog-sample.json").write_text(
            json.dumps({k: [s.key for s in v] for k, v in samples.items()}, indent=1) + "\n"
        )
        guarddog: dict[str, Any] = {"tool": "guarddog", "label_mapping": GUARDDOG_LABELS}
        on_sample: dict[str, Any] = {"tool": "custody"}
        gd_rows: dict[str, list[dict[str, Any]]] = {}
        full_rows = {r["path"]: r for r in mal_rows + ben_rows}
        for kind, chosen in samples.items():
            print(f"  guarddog {kind}: {len(chosen)} files, {args.guarddog_workers} at a time", flush=True)
            gd_run = run_guarddog(exe, chosen, kind, out / "guarddog", args)
            gd_rows[kind] = gd_run["rows"]
            guarddog[kind] = set_result(gd_run["rows"], kind, guarddog_perf(gd_run))
            # custody's detection and per-file seconds on these files come from the full run; its wall time
            # and files/s come from a run on just these files.
            run = run_custody(args, f"sample-{kind}", [s.path for s in chosen], out / "custody")
            on_sample[kind] = set_result(
                [full_rows[s.path] for s in chosen], kind, custody_perf(run, len(chosen))
            )
        write_analysis(out, "guarddog", gd_rows["malicious"], gd_rows["benign"])
        res["guarddog"] = guarddog
        res["custody_on_sample"] = on_sample
        pairs = [
            (full_rows[g["path"]]["seconds"], g["seconds"])
            for g in gd_rows["malicious"] + gd_rows["benign"]
            if isinstance(full_rows[g["path"]]["seconds"], (int, float)) and not g["timed_out"]
        ]
        c_secs, g_secs = [float(c) for c, _ in pairs], [g for _, g in pairs]
        gd_files = sum(guarddog[k]["perf"]["files"] for k in samples)
        cu_files = sum(on_sample[k]["perf"]["files"] for k in samples)
        gd_wall = sum(guarddog[k]["perf"]["wall_s"] for k in samples)
        cu_wall = sum(on_sample[k]["perf"]["wall_s"] for k in samples)
        res["comparison"] = {
            "paired_files": len(pairs),
            "custody_per_file_p50_s": percentile(c_secs, 50),
            "guarddog_per_file_p50_s": percentile(g_secs, 50),
            "per_file_p50_ratio": ratio(percentile(g_secs, 50) or 0, percentile(c_secs, 50) or 0),
            "per_file_sum_ratio": ratio(sum(g_secs), sum(c_secs)),
            "custody_files_per_s": ratio(cu_files, cu_wall),
            "guarddog_files_per_s": ratio(gd_files, gd_wall),
            "files_per_s_ratio": ratio(ratio(cu_files, cu_wall) or 0, ratio(gd_files, gd_wall) or 0),
        }

    res["meta"] = {
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "git": git_state(),
        "custody_version": ", ".join(sorted(str(v) for v in versions)),
        "custody_cmd": args.custody_cmd,
        "jobs": args.jobs,
        "guarddog_version": gd_version,
        "guarddog_workers": args.guarddog_workers,
        "guarddog_timeout_s": args.guarddog_timeout,
        "guarddog_sandbox": args.guarddog_sandbox,
        "seed": args.seed,
        "limit": args.limit,
        "guarddog_sample": None if args.skip_guarddog else args.guarddog_sample,
        "malicious_dir": str(args.malicious_dir),
        "benign_dir": str(args.benign_dir),
        "benign_unavailable": unavailable,
    }
    (out / "results.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    md = render_markdown(res)
    (out / "summary.md").write_text(md)
    print()
    print(md, end="")
    print(f"\nresults: {out / 'results.json'}; Markdown block: {out / 'summary.md'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        for group in list(LIVE_GROUPS):
            _kill_group(group)
        sys.exit(130)
