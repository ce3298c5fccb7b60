"""The scan engine off the event loop: one long-lived pool, one `Scanner` per worker.

Scanning is CPU-bound, so by default the pool is processes (started with `spawn`: the server
has threads, and forking a threaded process can deadlock the child). `workers=0` scans in one
thread of the server process instead (tests, tiny installs). Any failure of the pool itself (a
worker killed, a pickling error) comes back as an `error` verdict, never as clean; a broken
process pool is replaced for the next file.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from custody.gate.fingerprint import scanner_fingerprint
from custody.scan import Scanner, ScanResult, ScanTask, Verdict

_LOCAL = threading.local()
"""One Scanner per worker thread: compiled YARA scanners must stay on the thread that made them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOutcome:
    """What the gate keeps of a scan: the verdict and its strongest finding."""

    verdict: str
    """`malicious`, `suspicious`, `clean` or `error`."""
    rule: str | None
    location: str | None
    """`file:line` inside the archive."""
    summary: str
    """One line: the scanner's summary, or the error."""
    seconds: float | None = None
    """How long the scan itself took, timed inside the worker (None for a stored verdict): the
    gate reports it apart from the time the file spent going to and from the pool."""


def scanner_id(timeout: float | None, rule_dirs: tuple[str, ...] = ()) -> str:
    """Identifies the scanner a stored verdict came from: a new custody version, a changed rule or
    scan-engine file, another extra rule directory or timeout scans again (see
    `custody.gate.fingerprint`)."""
    return scanner_fingerprint(rule_dirs, timeout)


def outcome_of(result: ScanResult) -> ScanOutcome:
    """The gate's view of a scan result: the strongest finding names the rule and place."""
    strongest = max(result.findings, key=lambda f: f.severity.rank, default=None)
    location = None
    if strongest is not None and strongest.file:
        location = strongest.file + (f":{strongest.line}" if strongest.line is not None else "")
    summary = result.summary or (result.error or result.verdict.value)
    if result.verdict is Verdict.ERROR and result.error:
        summary = f"error: {result.error}"
    return ScanOutcome(
        verdict=result.verdict.value,
        rule=strongest.rule if strongest is not None and result.verdict is not Verdict.CLEAN else None,
        location=location if result.verdict is not Verdict.CLEAN else None,
        summary=summary.splitlines()[0] if summary else result.verdict.value,
    )


def scan_file(path: str, timeout: float | None, rule_dirs: tuple[str, ...] = ()) -> ScanOutcome:
    """Scan one downloaded artifact (runs in a worker). The verdict of the whole file is the worst
    verdict of what it holds; an empty result is an error (nothing was read, nothing is cleared)."""
    started = time.perf_counter()
    outcome = _scan_file(path, timeout, rule_dirs)
    return replace(outcome, seconds=time.perf_counter() - started)


def _scanner(timeout: float | None, rule_dirs: tuple[str, ...]) -> Scanner:
    """This worker's scanner (made on first use: compiling the rules takes a fraction of a second)."""
    scanners: dict[tuple[float | None, tuple[str, ...]], Scanner] = _LOCAL.__dict__.setdefault("scanners", {})
    scanner = scanners.get((timeout, rule_dirs))
    if scanner is None:
        scanner = scanners[(timeout, rule_dirs)] = Scanner(rule_dirs, timeout=timeout)
    return scanner


def _warm(timeout: float | None, rule_dirs: tuple[str, ...]) -> None:
    """A new worker's start: the scan engine imported and its scanner made before any file waits
    on it. A failure here is left for the first scan to report (as an `error` verdict)."""
    with contextlib.suppress(Exception):  # the scan that follows fails the same way, and says so
        _scanner(timeout, rule_dirs)


def _ready() -> None:
    """Nothing: submitted once per worker at start so that the workers start (and warm) then."""


def _scan_file(path: str, timeout: float | None, rule_dirs: tuple[str, ...]) -> ScanOutcome:
    results = _scanner(timeout, rule_dirs).scan_task(ScanTask(path))
    if not results:
        return ScanOutcome(verdict="error", rule=None, location=None, summary="error: nothing could be read")
    worst = max(results, key=lambda r: (r.verdict is Verdict.ERROR, r.verdict.rank))
    if any(r.verdict is Verdict.MALICIOUS for r in results):
        worst = next(r for r in results if r.verdict is Verdict.MALICIOUS)
    return outcome_of(worst)


class ScanPool:
    """A long-lived executor for `scan_file`. Its workers start with it and make their scanner
    then (a spawned worker imports the scan engine and compiles its rules: about 1.5 s that the
    first file scanned used to wait for)."""

    def __init__(
        self, workers: int = 1, timeout: float | None = 60.0, rule_dirs: tuple[str, ...] = ()
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.rule_dirs = rule_dirs
        self.id = scanner_id(timeout, rule_dirs)
        self._executor: Executor = self._new()

    def _new(self) -> Executor:
        warm = (self.timeout, self.rule_dirs)
        executor: Executor
        if self.workers <= 0:
            executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="custody-scan", initializer=_warm, initargs=warm
            )
        else:
            executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
                initargs=warm,
            )
        for _ in range(max(1, self.workers)):  # workers start on demand: ask for each now
            executor.submit(_ready)
        return executor

    async def scan(self, path: str) -> ScanOutcome:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, scan_file, path, self.timeout, self.rule_dirs)
        except BrokenProcessPool:
            self._executor = self._new()
            return ScanOutcome(verdict="error", rule=None, location=None, summary="error: scan worker died")
        except Exception as exc:  # fail closed: whatever went wrong, the file is not cleared
            return ScanOutcome(
                verdict="error", rule=None, location=None, summary=f"error: {type(exc).__name__}: {exc}"
            )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
