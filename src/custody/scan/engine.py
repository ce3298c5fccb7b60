"""Scan orchestration: targets in, `ScanResult`s out. No package code is ever executed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from custody import artifacts
from custody.artifacts import NO_DEADLINE, Artifact, ArtifactError, ArtifactKind, Deadline, LimitKind, Unread
from custody.scan.collect import collect
from custody.scan.coverage import assess
from custody.scan.metadata import metadata_findings
from custody.scan.model import ScanResult, Verdict
from custody.scan.reuse import ModuleMemo
from custody.scan.selection import scan_selector
from custody.scan.verdict import judge, settle
from custody.scan.yara_rules import YaraRules

DEFAULT_TIMEOUT = 60.0
"""Seconds one target may take (reading and analysis) before it is reported as `error`."""
LOOSE_SUFFIXES = (".py", ".pth", ".site.toml", ".start", ".js", ".sh", ".ps1", ".bat")


@dataclass(frozen=True, slots=True)
class ScanTask:
    """One unit of work: an archive/loose file, a source tree, or one distribution of an
    installed environment."""

    path: str
    site_entry: str | None = None
    """For installed environments: the dist-info name, or UNOWNED_STARTUP."""
    tree: bool = False
    """`path` is a source directory (checkout, unpacked sdist) read as one package."""


class Scanner:
    """Holds compiled rules; create one per process and reuse it.

    `timeout` bounds each target (reading and analysis, in seconds; None: unbounded). A target
    that runs out of it is `error` (or `malicious` if that was already certain), never `clean`.
    `reuse`: keep per-module results by content for the targets scanned after (`custody.scan.reuse`:
    the artifacts of one release share their modules); the verdicts are the same either way."""

    def __init__(
        self, rule_dirs: tuple[str, ...] = (), timeout: float | None = DEFAULT_TIMEOUT, *, reuse: bool = True
    ) -> None:
        self.rule_dirs = rule_dirs
        self.timeout = timeout
        self.yara = YaraRules(rule_dirs)
        self.memo = ModuleMemo() if reuse else None

    def scan_artifact(
        self, artifact: Artifact, started: float | None = None, deadline: Deadline | None = None
    ) -> ScanResult:
        """Judge one artifact already read: collect its facts, assess what could not be read, apply the
        rules and decide the verdict. What could not be read or analysed makes the verdict `error`
        unless the target is already malicious (fail closed). Never raises for bad content."""
        started = time.perf_counter() if started is None else started
        deadline = Deadline(self.timeout) if deadline is None else deadline
        collected = collect(artifact, self.yara, deadline, self.memo)
        # `remaining`, not `expired`: it reads the clock now (`expired` reads it every few ms)
        if deadline.remaining() == 0 and not any(g.limit is LimitKind.SCAN_TIME for g in collected.unread):
            # Finished, but late (one step outlasted the budget): the bound is the contract.
            collected.unread.append(Unread(path="", limit=LimitKind.SCAN_TIME, rest=True))
        coverage = assess(artifact, collected, self.timeout)
        declared = metadata_findings(artifact, memo=self.memo, trees=collected.trees, marks=collected.marks)
        findings = judge(artifact, collected, [*declared, *coverage.findings])
        error = artifact.error or coverage.error
        verdict, score, summary = settle(findings, error)
        return ScanResult(
            target=artifact.source,
            name=artifact.name,
            version=artifact.version,
            verdict=verdict,
            score=round(score, 2),
            findings=tuple(findings),
            error=error,
            seconds=round(time.perf_counter() - started, 4),
            kind=artifact.kind.value,
            summary=summary,
        )

    def scan_task(self, task: ScanTask) -> list[ScanResult]:
        """Read and judge one task (archive, loose file, source tree or installed distribution); one
        result per artifact it covers. An unreadable target, or an internal error, is an `error`
        result, never an exception."""
        started = time.perf_counter()
        deadline = Deadline(self.timeout)
        try:
            return [self.scan_artifact(a, started, deadline) for a in read_task(task, deadline)]
        except ArtifactError as exc:
            return [error_result(task.path, str(exc), time.perf_counter() - started)]
        except Exception as exc:  # last line of defence: one bad target never ends the scan
            return [
                error_result(
                    task.path, f"internal error: {type(exc).__name__}: {exc}", time.perf_counter() - started
                )
            ]

    def scan_site_dir(self, site_dir: str) -> list[ScanResult]:
        """Judge every distribution installed in `site_dir` (one result each); an unreadable directory
        is one `error` result."""
        started = time.perf_counter()
        try:
            found = artifacts.read_installed(site_dir, selector=scan_selector)
        except ArtifactError as exc:
            return [error_result(site_dir, str(exc), time.perf_counter() - started)]
        return [self.scan_artifact(a) for a in found]


def read_task(task: ScanTask, deadline: Deadline = NO_DEADLINE) -> list[Artifact]:
    """The artifacts one task covers, read with the scan's selector (none: no unowned start-up file)."""
    if task.site_entry == artifacts.UNOWNED_STARTUP:
        unowned = artifacts.read_unowned_startup(task.path, selector=scan_selector)
        return [unowned] if unowned is not None else []
    if task.site_entry is not None:
        return [artifacts.read_distribution(task.path, task.site_entry, selector=scan_selector)]
    if task.tree:
        return [artifacts.read_tree(task.path, selector=scan_selector)]
    if artifacts.is_archive_name(task.path) or _sniff(task.path):
        return [artifacts.read_artifact(task.path, selector=scan_selector, deadline=deadline)]
    return [artifacts.read_loose_file(task.path)]


def _sniff(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return artifacts.sniff_format(handle.read(512)) is not None
    except OSError:
        return False


def error_result(target: str, message: str, seconds: float = 0.0) -> ScanResult:
    """An `error` result for `target`, which could not be scanned, with `message` as its error."""
    return ScanResult(
        target=target,
        name=None,
        version=None,
        verdict=Verdict.ERROR,
        score=0.0,
        findings=(),
        error=message,
        seconds=round(seconds, 4),
        kind=None,
        summary=message,
    )


def expand_target(path: str) -> list[ScanTask]:
    """Scan tasks for one command-line target.

    - a file: itself (archive by magic number, else a loose file);
    - a venv, a Python prefix or a site-packages directory: one task per distribution, plus one
      for the start-up files no distribution owns;
    - a project (pyproject.toml, setup.py or setup.cfg at the top) or a folder of Python code (a
      package or loose `.py` files at the top): the tree as ONE package, judged like an sdist,
      plus every archive inside it as a target of its own;
    - any other directory (downloads, a corpus laid out NAME/VERSION/FILE): every archive under
      it, every project folder under it as a package, and loose `setup.py`, `.pth`, `.site.toml`,
      `sitecustomize.py` and `usercustomize.py` files.
    """
    if os.path.isfile(path):
        return [ScanTask(path)]
    if not os.path.isdir(path):
        raise ArtifactError(f"{path}: no such file or directory")
    environment = os.path.basename(os.path.normpath(path)) in ("site-packages", "dist-packages")
    environment = environment or os.path.isfile(os.path.join(path, "pyvenv.cfg"))  # `python -m venv .`
    if not environment and artifacts.is_project_root(path):
        return _tree_tasks(path)  # a checkout with an egg-info or a .pth is still a project
    site_dirs = artifacts.find_site_dirs(path)
    if site_dirs:
        tasks: list[ScanTask] = []
        for site_dir in site_dirs:
            tasks.extend(_site_tasks(site_dir))
        return tasks
    if artifacts.looks_like_source_tree(path):
        return _tree_tasks(path)
    return _folder_tasks(path)


def _tree_tasks(path: str) -> list[ScanTask]:
    """The tree as one package, then the archives inside it (outside VCS data, caches and venvs)."""
    tasks = [ScanTask(path, tree=True)]
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not artifacts.is_skipped_dir(os.path.join(root, d), d))
        tasks.extend(ScanTask(os.path.join(root, n)) for n in sorted(files) if artifacts.is_archive_name(n))
    return tasks


def _folder_tasks(path: str) -> list[ScanTask]:
    tasks: list[ScanTask] = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        if root != path and artifacts.is_project_root(root):
            tasks.extend(_tree_tasks(root))  # an unpacked sdist among downloads is one package
            dirs.clear()
            continue
        for name in sorted(files):
            full = os.path.join(root, name)
            lower = name.lower()
            if (
                artifacts.is_archive_name(lower)
                or name in ("setup.py", "sitecustomize.py", "usercustomize.py")
                or lower.endswith((".pth", ".site.toml"))
            ):
                tasks.append(ScanTask(full))
    return tasks


def _site_tasks(site_dir: str) -> list[ScanTask]:
    # One task per distribution, each reading only the files its RECORD lists: the processes
    # share the work without any of them reading the whole environment.
    tasks = [ScanTask(site_dir, e) for e in artifacts.distribution_entries(site_dir)]
    tasks.append(ScanTask(site_dir, artifacts.UNOWNED_STARTUP))
    return tasks


# ---- parallel execution ------------------------------------------------------------------------
_WORKER: Scanner | None = None


def _init_worker(rule_dirs: tuple[str, ...], timeout: float | None) -> None:
    global _WORKER  # noqa: PLW0603 - one compiled rule set per worker process
    _WORKER = Scanner(rule_dirs, timeout)


def _run_tasks(tasks: list[ScanTask]) -> list[list[ScanResult]]:
    assert _WORKER is not None
    return [_WORKER.scan_task(task) for task in tasks]


def release_of(path: str) -> tuple[str, str] | None:
    """(normalised name, version) of a wheel or sdist file name; None for anything else."""
    base = os.path.basename(path)
    try:
        if base.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(base)
        elif base.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(base)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return str(name), str(version)


def release_groups(tasks: list[ScanTask]) -> list[list[int]]:
    """Indexes of `tasks` grouped by release (the sdist and wheels of one name and version, which
    share their modules: one worker scans them in turn and reuses its per-module results), the
    largest group first so that both cores stay busy to the end instead of one finishing a giant
    alone; every other task is a group of its own."""
    groups: dict[object, list[int]] = {}
    for i, task in enumerate(tasks):
        release = release_of(task.path) if task.site_entry is None and not task.tree else None
        groups.setdefault(release if release is not None else i, []).append(i)
    return sorted(groups.values(), key=lambda group: -sum(_size(tasks[i].path) for i in group))


def scan_tasks(
    tasks: list[ScanTask],
    *,
    jobs: int | None = None,
    rule_dirs: tuple[str, ...] = (),
    on_result: Callable[[ScanResult], None] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Iterator[ScanResult]:
    """Scan tasks in `jobs` processes (default: all cores), yielding results in task order.

    `timeout`: seconds per target (see `Scanner`)."""
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(tasks) <= 1:
        scanner = Scanner(rule_dirs, timeout)
        for task in tasks:
            for result in scanner.scan_task(task):
                if on_result:
                    on_result(result)
                yield result
        return
    groups = release_groups(tasks)
    results: dict[int, list[ScanResult]] = {}
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(rule_dirs, timeout)
    ) as pool:
        futures = [pool.submit(_run_tasks, [tasks[i] for i in group]) for group in groups]
        next_index = 0
        for group, future in zip(groups, futures, strict=True):
            for i, found in zip(group, future.result(), strict=True):
                results[i] = found
                for result in found:
                    if on_result:
                        on_result(result)
            while next_index in results:
                yield from results.pop(next_index)
                next_index += 1
        while next_index in results:
            yield from results.pop(next_index)
            next_index += 1


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if os.path.isfile(path) else 0
    except OSError:
        return 0


__all__ = [
    "DEFAULT_TIMEOUT",
    "ArtifactKind",
    "ScanTask",
    "Scanner",
    "error_result",
    "expand_target",
    "read_task",
    "release_groups",
    "release_of",
    "scan_tasks",
]
