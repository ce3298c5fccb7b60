#!/usr/bin/env python3
"""Benchmark `custody scan` on the shared malicious and benign corpora, and GuardDog on a sample.

One command:

    python bench/scan_bench.py [--benign-dir DIR] [--guarddog-sample N] [--skip-guarddog] [--out bench/out]

What it does (README.md beside this file explains every figure):

1. custody on five sets: the two malicious sets (shared/corpus/malicious-dev and malicious-recent), each
   split into a fixed dev slice and a fixed validation slice by a hash of the project name; the benign
   set (shared/corpus/benign-top.tsv, fetched with shared/bench/fetch_benign.py when files are missing);
   and two extra benign sets pinned here (bench/ai_stack.tsv: the largest AI/ML distributions;
   bench/benign_risky.tsv: real projects that behave like malware on purpose), fetched with
   bench/fetch_extra.py. Wall time, peak memory of the custody process tree, per-file seconds.
2. Detection: recall per malicious set and slice, false positives per benign project, errors. Flagged
   benign projects and missed malicious samples of the dev slices are written to the output dir;
   validation-slice samples are only ever counted, never listed.
3. GuardDog (latest from PyPI, in its own venv outside the repo) on a deterministic random sample of
   malicious-dev and benign-top and on the whole malicious-recent set, 2 files at a time, with a per-file
   timeout; custody's figures on the same files beside it.
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
import hashlib
import json
import math
import os
import platform
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
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
DEFAULT_RECENT_DIR = SHARED / "corpus" / "malicious-recent"
DEFAULT_BENIGN_TSV = SHARED / "corpus" / "benign-top.tsv"
DEFAULT_FETCH_SCRIPT = SHARED / "bench" / "fetch_benign.py"
DEFAULT_BENIGN_DIR = CACHE / "benign-top"
DEFAULT_AI_STACK_TSV = HERE / "ai_stack.tsv"
DEFAULT_AI_STACK_DIR = CACHE / "ai-stack"
DEFAULT_RISKY_TSV = HERE / "benign_risky.tsv"
DEFAULT_RISKY_DIR = CACHE / "benign-risky"
EXTRA_FETCH_SCRIPT = HERE / "fetch_extra.py"
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


MALICIOUS_SETS = ("malicious-dev", "malicious-recent")
BENIGN_SETS = ("benign-top", "ai-stack", "benign-risky")
ALL_SETS = MALICIOUS_SETS + BENIGN_SETS
SLICES = ("dev", "validation", "all")
VALIDATION_PERCENT = 30  # share of malicious projects held out for validation
PER_FILE_BOUND_S = 60.0  # every file must scan within this many seconds


def normalise(name: str) -> str:
    """PEP 503 name normalisation: lowercase, runs of '-', '_' and '.' become one '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def slice_of(project: str) -> str:
    """The fixed slice of a malicious project: 'validation' for about 30 % of names, else 'dev'."""
    n = normalise(project)
    return (
        "validation"
        if int(hashlib.sha256(n.encode()).hexdigest()[:8], 16) % 100 < VALIDATION_PERCENT
        else "dev"
    )


@dataclasses.dataclass(frozen=True)
class Sample:
    """One distribution file of a benchmark set."""

    path: str  # absolute path, symlinks resolved
    key: str  # malicious: NAME/VERSION/FILE relative to the corpus root; benign: the file name
    project: str | None = None  # malicious: NAME; benign: the project name from the set's TSV
    rank: int | None = None  # benign-top only: download rank from benign-top.tsv
    set: str = ""  # one of ALL_SETS
    slice: str | None = None  # malicious only: 'dev' or 'validation' (see slice_of)


@dataclasses.dataclass
class BenchSet:
    """A set of files scanned as one: a malicious corpus or a benign list."""

    name: str
    kind: str  # 'malicious' or 'benign'
    root: Path
    samples: list[Sample]
    unavailable: list[str]


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def list_archives(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found += [Path(dirpath, n) for n in sorted(filenames) if is_archive(n)]
    return found


def malicious_samples(root: Path, set_name: str) -> list[Sample]:
    out = []
    for p in list_archives(root):
        key = p.relative_to(root).as_posix()
        project = key.split("/", 1)[0]
        out.append(
            Sample(path=os.path.realpath(p), key=key, project=project, set=set_name, slice=slice_of(project))
        )
    return out


def read_tsv(tsv: Path) -> list[dict[str, str]]:
    with tsv.open(newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r.get("filename")]


def ensure_files(
    set_name: str, rows: list[dict[str, str]], dest: Path, fetch_argv: list[str], fetch: bool
) -> None:
    missing = [r["filename"] for r in rows if not (dest / r["filename"]).is_file()]
    if not missing:
        return
    if not fetch:
        print(
            f"note: {len(missing)} {set_name} files missing from {dest}; "
            "--no-fetch given, going on without them"
        )
        return
    print(
        f"{len(missing)} {set_name} files missing from {dest}: running {shlex.join(fetch_argv)}", flush=True
    )
    subprocess.run(fetch_argv, check=False)


def listed_samples(rows: list[dict[str, str]], dest: Path, set_name: str) -> tuple[list[Sample], list[str]]:
    """The files of a TSV-listed benign set that are present in dest, and those that are not."""
    samples, unavailable = [], []
    for r in rows:
        p = dest / r["filename"]
        if p.is_file():
            rank = r.get("rank")
            samples.append(
                Sample(
                    path=os.path.realpath(p),
                    key=r["filename"],
                    project=r["name"],
                    rank=int(rank) if rank else None,
                    set=set_name,
                )
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


def display_argv(argv: Sequence[str], targets: Sequence[str], always_count: bool = False) -> str:
    """The command line, with a long list of file targets (or any, with always_count) shortened to a count."""
    if len(targets) <= 3 and not always_count:
        return shlex.join(argv)
    shown = [a for a in argv if a not in set(targets)]
    i = shown.index("scan") + 1
    return shlex.join(shown[:i]) + f" <{len(targets)} files> " + shlex.join(shown[i:])


def choose_targets(samples: Sequence[Sample], root: Path, whole_set: bool) -> list[str]:
    """The corpus directory when it holds exactly the files to scan, else the files themselves."""
    if whole_set and {os.path.realpath(p) for p in list_archives(root)} == {s.path for s in samples}:
        return [str(root.resolve())]
    return [s.path for s in samples]


def run_custody(
    args: argparse.Namespace, label: str, targets: list[str], out_dir: Path, private: bool = False
) -> dict[str, Any]:
    """Run custody over targets (in batches of --batch-size paths), keep its raw output, parse it.

    private: the targets include validation samples; out_dir is then a temporary directory and no
    problem message quotes custody's stderr (which could name a file).
    """
    batches = [targets[i : i + args.batch_size] for i in range(0, len(targets), args.batch_size)] or [[]]
    entries: list[dict[str, Any]] = []
    runs, problems, versions = [], [], set()
    for i, batch in enumerate(batches):
        stem = label if len(batches) == 1 else f"{label}-{i:03d}"
        argv = [*args.custody_cmd, "scan", *batch, "--format", "json", "--jobs", str(args.jobs)]
        argv += args.custody_extra
        shown = display_argv(argv, batch, always_count=private)
        print(f"  custody {label}: {shown}", flush=True)
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
        run["argv"] = shown
        runs.append(run)
        if m.timed_out:
            problems.append(f"{stem}: killed after --custody-timeout {args.custody_timeout} s")
        try:
            doc = json.loads((out_dir / f"{stem}.json").read_text())
            entries += doc["targets"]
            versions.add(str(doc.get("custody_version")))
        except (ValueError, KeyError, TypeError) as e:
            tail = (out_dir / f"{stem}.stderr").read_text(errors="replace").strip().splitlines()[-3:]
            why = f"exit {m.returncode}, no JSON report on stdout ({type(e).__name__})"
            problems.append(f"{stem}: {why}" + ("" if private else f" ({e}); stderr: {tail}"))
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
    row: dict[str, Any] = {
        "key": s.key,
        "path": s.path,
        "project": s.project,
        "set": s.set,
        "slice": s.slice,
    }
    if e is None:
        row.update(
            verdict="error",
            score=None,
            seconds=None,
            error="missing from custody output",
            missing=True,
            summary=None,
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
        summary=e.get("summary"),
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
        "set": s.set,
        "slice": s.slice,
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
    """GuardDog on each sample. Raw output of validation-slice samples goes to a temporary directory."""
    raw_dir = out_dir / "raw" / label
    raw_dir.mkdir(parents=True, exist_ok=True)
    hidden = tempfile.TemporaryDirectory(prefix="custody-bench-gd-")
    rows: list[dict[str, Any]] = [{}] * len(samples)
    start = time.perf_counter()
    with hidden, cf.ThreadPoolExecutor(args.guarddog_workers) as pool:
        futures = {
            pool.submit(
                guarddog_one, exe, s, Path(hidden.name) if s.slice == "validation" else raw_dir, i, args
            ): i
            for i, s in enumerate(samples)
        }
        try:
            for n, fut in enumerate(cf.as_completed(futures), 1):
                rows[futures[fut]] = fut.result()
                if n % 25 == 0 or n == len(samples):
                    print(f"    guarddog {label}: {n}/{len(samples)}", flush=True)
        except BaseException:  # interrupted: start no more scans (the running ones are killed by main)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
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
        "over_bound": sum(1 for x in secs if x > PER_FILE_BOUND_S),
        "bound_s": PER_FILE_BOUND_S,
    }


def malicious_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    c = collections.Counter(r["verdict"] for r in rows)
    return {
        "files": n,
        "projects": len({r["project"] for r in rows}),
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
        "fp_suspicious_only": len(fp_susp) - len(fp_mal),
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
    hits: dict[str, set[tuple[str, str]]] = collections.defaultdict(set)
    for r in rows:
        for rule in r.get("rules") or []:
            hits[rule["rule"]].add((r.get("set") or "", r[unit]))
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


def listable(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that may be written out one by one: never a validation-slice sample."""
    return [r for r in rows if r.get("slice") != "validation"]


def write_analysis(
    out: Path, tool: str, mal_rows: list[dict[str, Any]], ben_rows: list[dict[str, Any]]
) -> None:
    """Missed dev-slice malicious samples, flagged benign projects with their top findings, errors,
    per-rule hit counts. Validation-slice samples are left out of every file."""
    mal_rows = listable(mal_rows)
    missed = [r for r in mal_rows if r["verdict"] != "malicious"]
    write_tsv(
        out / f"{tool}-missed-malicious.tsv",
        ["set", "path", "verdict", "tool_label", "score", "error", "top_rules"],
        (
            [
                r["set"],
                r["path"],
                r["verdict"],
                r.get("label"),
                r["score"],
                r["error"],
                rules_text(r["rules"]),
            ]
            for r in missed
        ),
    )
    projects: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for r in ben_rows:
        projects[r["set"], r["project"]].append(r)
    fps = []
    for (set_name, name), rs in projects.items():
        flagged = [r for r in rs if r["verdict"] in ("malicious", "suspicious")]
        if not flagged:
            continue
        worst = "malicious" if any(r["verdict"] == "malicious" for r in flagged) else "suspicious"
        fps.append(
            {
                "set": set_name,
                "project": name,
                "worst_verdict": worst,
                "files": [
                    {k: r.get(k) for k in ("key", "verdict", "score", "error", "summary", "rules", "seconds")}
                    | {"tool_label": r.get("label")}
                    for r in rs
                ],
            }
        )
    fps.sort(key=lambda p: (p["worst_verdict"] != "malicious", p["set"], p["project"]))
    (out / f"{tool}-fp-projects.json").write_text(json.dumps(fps, indent=1) + "\n")
    write_tsv(
        out / f"{tool}-fp-projects.tsv",
        ["set", "project", "worst_verdict", "file", "verdict", "tool_label", "score", "top_rules"],
        (
            [
                p["set"],
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
    write_tsv(
        out / f"{tool}-errors.tsv",
        ["set", "path", "error"],
        ([r["set"], r["path"], r["error"]] for r in errors),
    )
    mal_hits, ben_hits = rule_hits(mal_rows, "key"), rule_hits(ben_rows, "project")
    write_tsv(
        out / f"{tool}-rule-hits.tsv",
        ["rule", "malicious_dev_slice_files", "benign_projects"],
        (
            [rule, mal_hits.get(rule, 0), ben_hits.get(rule, 0)]
            for rule in sorted(set(mal_hits) | set(ben_hits))
        ),
    )
    with (out / f"{tool}-files.jsonl").open("w") as f:
        for r in mal_rows + ben_rows:
            f.write(json.dumps(r) + "\n")


def flagged_benign(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every benign file custody flags, with its summary and where its top findings are."""
    out = []
    for r in rows:
        if r["verdict"] in ("malicious", "suspicious"):
            out.append(
                {k: r.get(k) for k in ("set", "project", "key", "verdict", "score", "summary", "seconds")}
                | {"top": [f"{x['rule']} ({x['severity']}) at {x['example']}" for x in r["rules"][:3]]}
            )
    out.sort(key=lambda f: (ALL_SETS.index(f["set"]), f["verdict"] != "malicious", f["project"], f["key"]))
    return out


def fmt_n(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def fmt_share(n: int | None, total: int | None) -> str:
    if n is None or not total:
        return "–"
    return f"{n}/{total} ({100 * n / total:.1f} %)"


def fmt_join(parts: Iterable[str]) -> str:
    return " · ".join(parts)


def detection_all(c: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A set's detection figures over the whole set (malicious sets keep them per slice)."""
    entry = c.get("sets", {}).get(name)
    if entry is None:
        return None
    det: dict[str, Any] = entry["detection"]
    return det.get("all", det)


def render_markdown(res: dict[str, Any]) -> str:
    meta = res["meta"]
    sets: dict[str, Any] = res["custody"]["sets"]
    lines = [
        f"Run {meta['finished']} on {meta['host']}; custody {meta.get('custody_version')}"
        + (f", GuardDog {meta['guarddog_version']}" if meta.get("guarddog_version") else "")
        + f"; repo {meta.get('git')}.",
    ]

    # Recall per malicious set and slice
    mal = [n for n in MALICIOUS_SETS if n in sets]
    if mal:
        cols = [(n, sl) for n in mal for sl in SLICES]

        def mrow(title: str, cell: Any) -> str:
            return f"| {title} | " + " | ".join(cell(sets[n]["detection"][sl]) for n, sl in cols) + " |"

        lines += [
            "",
            "custody recall on the malicious sets (slices: `bench/README.md`; "
            "validation misses are counted, never listed):",
            "",
            "| | " + " | ".join(f"{n}: {sl}" for n, sl in cols) + " |",
            "|---|" + "---|" * len(cols),
            mrow("files (projects)", lambda d: f"{d['files']} ({d.get('projects', '–')})"),
            mrow("recall, verdict malicious", lambda d: fmt_share(d["detected_malicious"], d["files"])),
            mrow(
                "recall, malicious or suspicious", lambda d: fmt_share(d["detected_mal_or_susp"], d["files"])
            ),
            mrow("errors (files)", lambda d: str(d["errors"])),
        ]

    # Benign sets
    ben = [n for n in BENIGN_SETS if n in sets]
    if ben:
        lines += [
            "",
            "custody on the benign sets (a project counts once, by its worst file):",
            "",
            "| set | files | projects | projects malicious | projects suspicious | errors (files) |",
            "|---|---|---|---|---|---|",
        ]
        for n in ben:
            d = sets[n]["detection"]
            lines.append(
                f"| {n} | {d['files']} | {d['projects']} | {fmt_share(d['fp_malicious'], d['projects'])} | "
                f"{fmt_share(d.get('fp_suspicious_only'), d['projects'])} | {d['errors']} |"
            )

    # Speed and memory per set
    lines += [
        "",
        f"custody speed and memory per set (--jobs {meta['jobs']}; per-file bound "
        f"{fmt_n(PER_FILE_BOUND_S, 0)} s):",
        "",
        "| set | files | total wall s | files/s | per-file s p50 / p95 / max | files over the bound "
        "| peak memory MiB, max process / tree sum |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in [n for n in ALL_SETS if n in sets]:
        t, pf = sets[n]["timing"], sets[n]["perf"]
        over = t.get("over_bound", 0)
        lines.append(
            f"| {n} | {pf['files']} | {fmt_n(pf['wall_s'], 1)} | {fmt_n(pf['files_per_s'], 1)} | "
            f"{fmt_n(t['p50_s'])} / {fmt_n(t['p95_s'])} / {fmt_n(t['max_s'], 2)} | "
            f"{over}{' (all within)' if not over and t['n'] else ''} | "
            f"{fmt_n(pf.get('max_process_rss_mib'), 0)} / {fmt_n(pf.get('tree_peak_rss_mib'), 0)} |"
        )

    slow = res["custody"].get("over_bound") or []
    if slow:
        lines += [
            "",
            f"Files over the {fmt_n(PER_FILE_BOUND_S, 0)} s bound (validation files are only counted): "
            + "; ".join(f"{f['set']} `{f['key']}` {fmt_n(f['seconds'], 1)} s ({f['verdict']})" for f in slow)
            + ".",
        ]

    # custody beside GuardDog
    if res.get("guarddog"):
        lines += comparison_markdown(res)

    # Flagged benign files
    flagged = res["custody"].get("flagged_benign") or []
    lines += [
        "",
        f"Benign files custody flags ({len(flagged)}):" if flagged else "No benign file is flagged.",
    ]
    if flagged:
        lines.append("")
    for f in flagged:
        lines.append(
            f"- {f['set']}: **{f['project']}** `{f['key']}`: {f['verdict']} (score {fmt_n(f['score'], 1)}), "
            f"{f['summary']}; " + "; ".join(f["top"])
        )

    problems = [
        f"{tool}, {n}: {problem}"
        for tool in ("custody", "custody_on_sample", "guarddog")
        for n, c in (res.get(tool) or {}).get("sets", {}).items()
        for problem in c["perf"].get("problems") or []
    ]
    if problems:
        lines += ["", "**Problems** (figures above are incomplete):", *(f"- {p}" for p in problems)]
    missing = {n: len(v) for n, v in (meta.get("unavailable") or {}).items() if v}
    if missing:
        lines += [
            "",
            "Files not available (not downloaded yet, or gone from PyPI), left out of the figures: "
            + ", ".join(f"{n} {k}" for n, k in missing.items())
            + ".",
        ]
    lines += ["", f"Command: `{meta['command']}`"]
    return "\n".join(lines) + "\n"


def comparison_markdown(res: dict[str, Any]) -> list[str]:
    """The table of custody (full sets and GuardDog's sample) beside GuardDog, and the throughput line."""
    meta = res["meta"]
    gd_sets = [n for n in (*MALICIOUS_SETS, "benign-top") if n in res["guarddog"]["sets"]]
    mal = [n for n in gd_sets if n in MALICIOUS_SETS]
    cols: list[tuple[str, dict[str, Any]]] = [("custody, full sets", res["custody"])]
    if res.get("custody_on_sample"):
        cols.append(("custody, GuardDog sample", res["custody_on_sample"]))
    cols.append((f"GuardDog {meta.get('guarddog_version')}, sample", res["guarddog"]))

    def row(title: str, cell: Any) -> str:
        return f"| {title} | " + " | ".join(cell(c) for _, c in cols) + " |"

    def each(names: Sequence[str], cell: Any) -> Any:
        return lambda c: fmt_join(cell(c, n) if n in c["sets"] else "–" for n in names)

    def files(c: dict[str, Any], n: str) -> str:
        d = detection_all(c, n) or {}
        return f"{d['files']} ({d['projects']})" if n == "benign-top" else str(d["files"])

    def share(num: str, den: str) -> Any:
        return lambda c, n: fmt_share((detection_all(c, n) or {})[num], (detection_all(c, n) or {})[den])

    def perf(key: str, digits: int) -> Any:
        return lambda c, n: fmt_n(c["sets"][n]["perf"].get(key), digits)

    def pct(c: dict[str, Any], n: str) -> str:
        t = c["sets"][n]["timing"]
        return f"{fmt_n(t['p50_s'])} / {fmt_n(t['p95_s'])}"

    def mem(c: dict[str, Any], n: str) -> str:
        p = c["sets"][n]["perf"]
        text = fmt_n(p.get("max_process_rss_mib"), 0)
        return text if c.get("tool") == "guarddog" else f"{text} / {fmt_n(p.get('tree_peak_rss_mib'), 0)}"

    def errors(c: dict[str, Any], n: str) -> str:
        d = detection_all(c, n) or {}
        timeouts = d.get("timeouts") or 0
        return f"{d['errors']}" + (f" ({timeouts} timeouts)" if timeouts else "")

    short = {"malicious-dev": "mal-dev", "malicious-recent": "mal-recent", "benign-top": "benign"}
    names = fmt_join(short[n] for n in gd_sets)
    mnames = fmt_join(short[n] for n in mal)
    lines = [
        "",
        "custody beside GuardDog (GuardDog sample: `--guarddog-sample` files of malicious-dev and of "
        "benign-top, `--guarddog-recent-sample` of malicious-recent; malicious figures over both slices):",
        "",
        "| | " + " | ".join(name for name, _ in cols) + " |",
        "|---|" + "---|" * len(cols),
        row(f"files: {names} (projects)", each(gd_sets, files)),
        row(f"recall, verdict malicious: {mnames}", each(mal, share("detected_malicious", "files"))),
        row(f"recall, malicious or suspicious: {mnames}", each(mal, share("detected_mal_or_susp", "files"))),
    ]
    if "benign-top" in gd_sets:
        lines += [
            row("FP projects, malicious", each(["benign-top"], share("fp_malicious", "projects"))),
            row(
                "FP projects, suspicious or worse",
                each(["benign-top"], share("fp_susp_or_worse", "projects")),
            ),
        ]
    lines += [
        row(f"per-file s p50 / p95: {names}", each(gd_sets, pct)),
        row(f"total wall s: {names}", each(gd_sets, perf("wall_s", 1))),
        row(f"files/s: {names}", each(gd_sets, perf("files_per_s", 1))),
        row(f"peak memory MiB, max process (/ tree sum): {names}", each(gd_sets, mem)),
        row(f"errors (files): {names}", each(gd_sets, errors)),
    ]
    for key, what in (
        ("comparison", "malicious-dev and benign-top"),
        ("comparison_recent", "malicious-recent"),
    ):
        cmp_ = res.get(key)
        if cmp_ and cmp_.get("paired_files"):
            lines += [
                "",
                f"Throughput custody/GuardDog on the same {cmp_['paired_files']} sample files of {what}: "
                f"per-file time p50 {fmt_n(cmp_['per_file_p50_ratio'], 1)}×, "
                f"total per-file time {fmt_n(cmp_['per_file_sum_ratio'], 1)}×; "
                f"wall-clock files/s {fmt_n(cmp_['files_per_s_ratio'], 1)}× "
                f"(custody --jobs {meta['jobs']} vs GuardDog {meta['guarddog_workers']} files at a time; "
                "custody per-file s is its in-process scan time, "
                "GuardDog's is one process per file, start-up included).",
            ]
    return lines


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
    p.add_argument(
        "--recent-dir",
        type=Path,
        default=DEFAULT_RECENT_DIR,
        help="malicious-recent corpus (default: %(default)s)",
    )
    p.add_argument("--ai-stack-tsv", type=Path, default=DEFAULT_AI_STACK_TSV, help="default: %(default)s")
    p.add_argument(
        "--ai-stack-dir",
        type=Path,
        default=DEFAULT_AI_STACK_DIR,
        help="AI-stack files (default: %(default)s)",
    )
    p.add_argument("--risky-tsv", type=Path, default=DEFAULT_RISKY_TSV, help="default: %(default)s")
    p.add_argument(
        "--risky-dir", type=Path, default=DEFAULT_RISKY_DIR, help="benign-risky files (default: %(default)s)"
    )
    p.add_argument(
        "--sets",
        default=",".join(ALL_SETS),
        help="comma-separated sets to scan (default: all of %(default)s)",
    )
    p.add_argument(
        "--no-fetch", action="store_true", help="do not fetch missing files of the benign sets; skip them"
    )
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
        help="files of malicious-dev and of benign-top for GuardDog (0 = whole set; default 150)",
    )
    p.add_argument(
        "--guarddog-recent-sample",
        type=int,
        default=0,
        help="files of malicious-recent for GuardDog (0 = whole set, the default)",
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
    p.add_argument(
        "--guarddog-only",
        action="store_true",
        help="run only the GuardDog phase and add it to the custody figures in OUT/results.json",
    )
    args = p.parse_args(argv)
    args.custody_cmd = shlex.split(args.custody)
    args.custody_extra = shlex.split(args.custody_extra)
    args.sets = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = sorted(set(args.sets) - set(ALL_SETS))
    if unknown:
        p.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(ALL_SETS)}")
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
    det: dict[str, Any]
    if kind == "malicious":
        det = {
            sl: malicious_figures([r for r in rows if sl == "all" or r.get("slice") == sl]) for sl in SLICES
        }
    else:
        det = benign_figures(rows)
    return {"kind": kind, "detection": det, "timing": timing(rows), "perf": perf}


def load_sets(args: argparse.Namespace) -> tuple[list[BenchSet], dict[str, str]]:
    """The sets named by --sets, fetching missing benign files unless --no-fetch; and their dirs."""
    out, dirs = [], {}
    for name in args.sets:
        if name in MALICIOUS_SETS:
            root = args.malicious_dir if name == "malicious-dev" else args.recent_dir
            samples, unavailable = malicious_samples(root, name), []
        else:
            tsv, root, fetch_argv = {
                "benign-top": (args.benign_tsv, args.benign_dir, [str(args.fetch_script)]),
                "ai-stack": (
                    args.ai_stack_tsv,
                    args.ai_stack_dir,
                    [str(EXTRA_FETCH_SCRIPT), str(args.ai_stack_tsv)],
                ),
                "benign-risky": (
                    args.risky_tsv,
                    args.risky_dir,
                    [str(EXTRA_FETCH_SCRIPT), str(args.risky_tsv)],
                ),
            }[name]
            listed = read_tsv(tsv)
            ensure_files(
                name, listed, root, [sys.executable, *fetch_argv, str(root)], fetch=not args.no_fetch
            )
            samples, unavailable = listed_samples(listed, root, name)
            if unavailable:
                print(
                    f"warning: {len(unavailable)} {name} files unavailable, left out: {unavailable[:5]} ..."
                )
        chosen = pick(samples, args.limit, args.seed, f"limit-{name}")
        out.append(
            BenchSet(name, "malicious" if name in MALICIOUS_SETS else "benign", root, chosen, unavailable)
        )
        dirs[name] = str(root)
        projects = len({s.project for s in chosen})
        extra = ""
        if name in MALICIOUS_SETS:
            extra = f" ({sum(1 for s in chosen if s.slice == 'dev')} dev, "
            extra += f"{sum(1 for s in chosen if s.slice == 'validation')} validation)"
        print(f"{name}: {len(chosen)} files{extra}, {projects} projects")
    return out, dirs


def merge_runs(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "entries": [e for r in runs for e in r["entries"]],
        "runs": [x for r in runs for x in r["runs"]],
        "version": ", ".join(sorted({str(r["version"]) for r in runs if r["version"]})) or None,
        "problems": [p for r in runs for p in r["problems"]],
    }


def custody_on(
    args: argparse.Namespace, bs: BenchSet, samples: Sequence[Sample], label: str
) -> dict[str, Any]:
    """custody on some files of a set. Malicious files go by slice, one call (or batch series) each; the
    raw output of validation files is parsed in a temporary directory and never kept."""
    if bs.kind == "benign":
        targets = choose_targets(
            samples, bs.root, whole_set=len(samples) == len(bs.samples) and not args.limit
        )
        return run_custody(args, label, targets, args.out / "custody")
    runs = []
    for sl in ("dev", "validation"):
        chosen = [s.path for s in samples if s.slice == sl]
        if not chosen:
            continue
        if sl == "dev":
            runs.append(run_custody(args, f"{label}-dev", chosen, args.out / "custody"))
            continue
        with tempfile.TemporaryDirectory(prefix="custody-bench-") as tmp:
            runs.append(run_custody(args, f"{label}-validation", chosen, Path(tmp), private=True))
    return merge_runs(runs)


def compare(
    res: dict[str, Any],
    names: Sequence[str],
    full_rows: dict[str, dict[str, Any]],
    gd_rows: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """custody/GuardDog throughput on the same sample files of the named sets."""
    names = [n for n in names if n in gd_rows]
    pairs = [
        (full_rows[g["path"]]["seconds"], g["seconds"])
        for n in names
        for g in gd_rows[n]
        if isinstance(full_rows[g["path"]]["seconds"], (int, float)) and not g["timed_out"]
    ]
    c_secs, g_secs = [float(c) for c, _ in pairs], [g for _, g in pairs]
    gd, cu = res["guarddog"]["sets"], res["custody_on_sample"]["sets"]
    gd_files = sum(gd[n]["perf"]["files"] for n in names)
    cu_files = sum(cu[n]["perf"]["files"] for n in names)
    gd_wall = sum(gd[n]["perf"]["wall_s"] for n in names)
    cu_wall = sum(cu[n]["perf"]["wall_s"] for n in names)
    return {
        "sets": names,
        "paired_files": len(pairs),
        "custody_per_file_p50_s": percentile(c_secs, 50),
        "guarddog_per_file_p50_s": percentile(g_secs, 50),
        "per_file_p50_ratio": ratio(percentile(g_secs, 50) or 0, percentile(c_secs, 50) or 0),
        "per_file_sum_ratio": ratio(sum(g_secs), sum(c_secs)),
        "custody_files_per_s": ratio(cu_files, cu_wall),
        "guarddog_files_per_s": ratio(gd_files, gd_wall),
        "files_per_s_ratio": ratio(ratio(cu_files, cu_wall) or 0, ratio(gd_files, gd_wall) or 0),
    }


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    out: Path = args.out
    if args.report_only:
        print(render_markdown(json.loads((out / "results.json").read_text())), end="")
        return 0
    (out / "custody").mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    command = shlex.join(["python", *([sys.argv[0]] if sys.argv else []), *argv])
    if args.guarddog_only:
        return guarddog_only(args, command)

    bench_sets, dirs = load_sets(args)
    by_name = {bs.name: bs for bs in bench_sets}

    # custody, full sets
    res: dict[str, Any] = {}
    custody: dict[str, Any] = {"tool": "custody", "sets": {}}
    rows_by_set: dict[str, list[dict[str, Any]]] = {}
    versions = set()
    for bs in bench_sets:
        run = custody_on(args, bs, bs.samples, bs.name)
        rows, unlisted = custody_rows(bs.samples, run["entries"])
        perf = custody_perf(run, len(bs.samples)) | {"entries_not_in_set": unlisted}
        custody["sets"][bs.name] = set_result(rows, bs.kind, perf)
        versions.add(run["version"])
        rows_by_set[bs.name] = rows
        for problem in run["problems"]:
            print(f"  problem: {problem}")
    mal_rows = [r for n in MALICIOUS_SETS for r in rows_by_set.get(n, [])]
    ben_rows = [r for n in BENIGN_SETS for r in rows_by_set.get(n, [])]
    write_analysis(out, "custody", mal_rows, ben_rows)
    custody["rule_hits"] = {
        "malicious_dev_slice_files": rule_hits(listable(mal_rows), "key"),
        "benign_projects": rule_hits(ben_rows, "project"),
    }
    custody["flagged_benign"] = flagged_benign(ben_rows)
    custody["over_bound"] = [
        {k: r[k] for k in ("set", "key", "verdict", "seconds")}
        for r in listable(mal_rows + ben_rows)
        if isinstance(r.get("seconds"), (int, float)) and r["seconds"] > PER_FILE_BOUND_S
    ]
    res["custody"] = custody

    # GuardDog on a sample, and custody on the same files
    gd_version = None
    if not args.skip_guarddog:
        # custody's figures first, so that they survive a GuardDog phase that is stopped
        save(res, meta(args, command, started, versions, gd_version, dirs, bench_sets), final=False)
        full_rows = {r["path"]: r for rows in rows_by_set.values() for r in rows}
        gd_version = guarddog_phase(args, res, by_name, full_rows)

    save(res, meta(args, command, started, versions, gd_version, dirs, bench_sets), final=True)
    return 0


def guarddog_phase(
    args: argparse.Namespace,
    res: dict[str, Any],
    by_name: dict[str, BenchSet],
    full_rows: dict[str, dict[str, Any]] | None,
) -> str:
    """GuardDog on a sample of malicious-dev, malicious-recent and benign-top, custody on the same files.

    custody's verdicts and per-file seconds on the sample come from full_rows (the full run) when given,
    else (--guarddog-only) from its run on just the sample files; its wall time always comes from that run.
    """
    out: Path = args.out
    exe, gd_version = ensure_guarddog(args.guarddog_venv, args.guarddog_upgrade)
    print(f"GuardDog {gd_version} at {exe}")
    sizes = {
        "malicious-dev": (args.guarddog_sample, "guarddog-malicious"),
        "malicious-recent": (args.guarddog_recent_sample, "guarddog-recent"),
        "benign-top": (args.guarddog_sample, "guarddog-benign"),
    }
    samples = {
        n: pick(by_name[n].samples, k, args.seed, salt) for n, (k, salt) in sizes.items() if n in by_name
    }
    (out / "guarddog-sample.json").write_text(
        json.dumps({k: [s.key for s in v] for k, v in samples.items()}, indent=1) + "\n"
    )
    guarddog: dict[str, Any] = {"tool": "guarddog", "label_mapping": GUARDDOG_LABELS, "sets": {}}
    on_sample: dict[str, Any] = {"tool": "custody", "sets": {}}
    gd_rows: dict[str, list[dict[str, Any]]] = {}
    rows_of = dict(full_rows or {})
    for name, chosen in samples.items():
        print(f"  guarddog {name}: {len(chosen)} files, {args.guarddog_workers} at a time", flush=True)
        gd_run = run_guarddog(exe, chosen, name, out / "guarddog", args)
        gd_rows[name] = gd_run["rows"]
        kind = by_name[name].kind
        guarddog["sets"][name] = set_result(gd_run["rows"], kind, guarddog_perf(gd_run))
        # custody's wall time and files/s on these files come from a run on just these files (raw output
        # kept only for dev-slice files).
        run = custody_on(args, by_name[name], chosen, f"sample-{name}")
        if full_rows is None:
            rows_of.update((r["path"], r) for r in custody_rows(chosen, run["entries"])[0])
        on_sample["sets"][name] = set_result(
            [rows_of[s.path] for s in chosen], kind, custody_perf(run, len(chosen))
        )
    write_analysis(
        out,
        "guarddog",
        [r for n in MALICIOUS_SETS for r in gd_rows.get(n, [])],
        gd_rows.get("benign-top", []),
    )
    res["guarddog"] = guarddog
    res["custody_on_sample"] = on_sample
    res["comparison"] = compare(res, ["malicious-dev", "benign-top"], rows_of, gd_rows)
    res["comparison_recent"] = compare(res, ["malicious-recent"], rows_of, gd_rows)
    return gd_version


def guarddog_only(args: argparse.Namespace, command: str) -> int:
    """--guarddog-only: add the GuardDog phase to the custody figures already in OUT/results.json."""
    res = json.loads((args.out / "results.json").read_text())
    args.sets = [
        n for n in ("malicious-dev", "malicious-recent", "benign-top") if n in res["custody"]["sets"]
    ]
    args.no_fetch = True
    bench_sets, _ = load_sets(args)
    gd_version = guarddog_phase(args, res, {bs.name: bs for bs in bench_sets}, None)
    run_meta = res["meta"]
    run_meta.update(
        command=f"{run_meta['command']}` then `{command}",
        finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        guarddog_version=gd_version,
        guarddog_workers=args.guarddog_workers,
        guarddog_timeout_s=args.guarddog_timeout,
        guarddog_sandbox=args.guarddog_sandbox,
        guarddog_sample=args.guarddog_sample,
        guarddog_recent_sample=args.guarddog_recent_sample,
        guarddog_only=True,
    )
    save(res, run_meta, final=True)
    return 0


def meta(
    args: argparse.Namespace,
    command: str,
    started: datetime.datetime,
    versions: set[str | None],
    gd_version: str | None,
    dirs: dict[str, str],
    bench_sets: Sequence[BenchSet],
) -> dict[str, Any]:
    return {
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
        "guarddog_recent_sample": None if args.skip_guarddog else args.guarddog_recent_sample,
        "sets": args.sets,
        "dirs": dirs,
        "validation_percent": VALIDATION_PERCENT,
        "per_file_bound_s": PER_FILE_BOUND_S,
        "no_fetch": args.no_fetch,
        "unavailable": {bs.name: bs.unavailable for bs in bench_sets},
        "out": str(args.out),
    }


def save(res: dict[str, Any], run_meta: dict[str, Any], final: bool) -> None:
    """Write results.json and summary.md; print the Markdown block at the end of the run."""
    out = Path(run_meta["out"])
    res["meta"] = run_meta
    (out / "results.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    md = render_markdown(res)
    (out / "summary.md").write_text(md)
    if final:
        print()
        print(md, end="")
        print(f"\nresults: {out / 'results.json'}; Markdown block: {out / 'summary.md'}")
    else:
        print(f"custody figures saved to {out / 'summary.md'} (GuardDog next)", flush=True)


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_term)  # background jobs ignore SIGINT: stop on SIGTERM as well
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        for group in list(LIVE_GROUPS):
            _kill_group(group)
        sys.exit(130)
