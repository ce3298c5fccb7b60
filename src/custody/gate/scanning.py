"""The scan engine off the event loop: one long-lived pool, one `Scanner` per worker.

Scanning is CPU-bound, so by default the pool is processes (started with `spawn`: the server
has threads, and forking a threaded process can deadlock the child). `workers=0` scans in one
thread of the server process instead (tests, tiny installs). Any failure of the pool itself (a
worker killed, a pickling error) comes back as an `error` verdict, never as clean; a broken
worker is replaced for the next file.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import multiprocessing
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection

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
        # No per-module memo: the gate scans each artifact once and keeps its decision by hash,
        # and a worker holding up to the memo's budget of sources would break the gate's memory
        # bound on the largest wheels.
        scanner = scanners[(timeout, rule_dirs)] = Scanner(rule_dirs, timeout=timeout, reuse=False)
    return scanner


def _warm(timeout: float | None, rule_dirs: tuple[str, ...]) -> None:
    """A new worker's start: the scan engine imported and its scanner made before any file waits
    on it. A failure here is left for the first scan to report (as an `error` verdict)."""
    with contextlib.suppress(Exception):  # the scan that follows fails the same way, and says so
        _scanner(timeout, rule_dirs)


def _scan_file(path: str, timeout: float | None, rule_dirs: tuple[str, ...]) -> ScanOutcome:
    results = _scanner(timeout, rule_dirs).scan_task(ScanTask(path))
    if not results:
        return ScanOutcome(verdict="error", rule=None, location=None, summary="error: nothing could be read")
    worst = max(results, key=lambda r: (r.verdict is Verdict.ERROR, r.verdict.rank))
    if any(r.verdict is Verdict.MALICIOUS for r in results):
        worst = next(r for r in results if r.verdict is Verdict.MALICIOUS)
    return outcome_of(worst)


def _error(summary: str) -> ScanOutcome:
    return ScanOutcome(verdict="error", rule=None, location=None, summary=f"error: {summary}")


def _serve(conn: Connection, timeout: float | None, rule_dirs: tuple[str, ...]) -> None:
    """A scan worker's life: make the scanner, then scan each path the gate sends and send the
    outcome back, until the gate closes its end of the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the gate's to handle; it ends us
    _warm(timeout, rule_dirs)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        try:
            outcome = scan_file(path, timeout, rule_dirs)
        except Exception as exc:  # fail closed: whatever went wrong, the file is not cleared
            outcome = _error(f"{type(exc).__name__}: {exc}")
        conn.send(outcome)


class _Worker:
    """One scan process and the gate's end of its pipe."""

    def __init__(self, timeout: float | None, rule_dirs: tuple[str, ...]) -> None:
        # spawn, not fork: the server has threads, and forking a threaded process can deadlock
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, timeout, rule_dirs), name="custody-gate-scan"
        )
        self.process.start()
        child.close()

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=1)


class ScanPool:
    """Scan workers for `scan_file`, started with the pool; each makes its scanner at start (a
    spawned worker imports the scan engine and compiles its rules: about 1.5 s that the first
    file scanned used to wait for).

    The event loop talks to each worker over its own pipe (the path out, the outcome back, the
    pipe watched by the loop): no thread in between. `concurrent.futures`' process pool passed
    each file through its management and feeder threads both ways, 1-25 ms of hand-off per file
    on a busy machine. A worker that dies, or whose answer is given up on, is replaced."""

    def __init__(
        self, workers: int = 1, timeout: float | None = 60.0, rule_dirs: tuple[str, ...] = ()
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.rule_dirs = rule_dirs
        self.id = scanner_id(timeout, rule_dirs)
        self._closed = False
        self._thread: ThreadPoolExecutor | None = None
        self._idle: list[_Worker] = []
        self._waiting: collections.deque[asyncio.Future[_Worker]] = collections.deque()
        self._all: set[_Worker] = set()
        if workers <= 0:
            warm = (timeout, rule_dirs)
            self._thread = ThreadPoolExecutor(1, "custody-scan", initializer=_warm, initargs=warm)
            self._thread.submit(lambda: None)  # start the thread (and make its scanner) now
        else:
            self._idle = [self._start() for _ in range(workers)]

    def _start(self) -> _Worker:
        worker = _Worker(self.timeout, self.rule_dirs)
        self._all.add(worker)
        return worker

    async def scan(self, path: str) -> ScanOutcome:
        """Scan the file at `path` in a worker; any failure (a dead worker included) is an `error`
        outcome, never a cleared file."""
        loop = asyncio.get_running_loop()
        if self._thread is not None:
            try:
                return await loop.run_in_executor(self._thread, scan_file, path, self.timeout, self.rule_dirs)
            except Exception as exc:  # fail closed: whatever went wrong, the file is not cleared
                return _error(f"{type(exc).__name__}: {exc}")
        worker = await self._take()
        answered = False
        try:
            outcome = await _ask(loop, worker, path)
            answered = True
        except (EOFError, OSError):
            return _error("scan worker died")
        except Exception as exc:
            return _error(f"{type(exc).__name__}: {exc}")
        finally:  # cancelled or failed: the worker may still send a stale answer, so replace it
            self._give_back(worker, healthy=answered)
        if not isinstance(outcome, ScanOutcome):
            return _error(f"unexpected answer from a scan worker: {type(outcome).__name__}")
        return outcome

    async def _take(self) -> _Worker:
        if self._closed:
            raise RuntimeError("the scan pool is closed")
        if self._idle:
            return self._idle.pop()
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        return await waiter

    def _give_back(self, worker: _Worker, *, healthy: bool) -> None:
        if not healthy or self._closed:
            worker.stop()
            self._all.discard(worker)
            if self._closed:
                return
            worker = self._start()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def close(self) -> None:
        """Stop the workers without waiting for scans in progress."""
        self._closed = True
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
        for worker in self._all:  # busy ones too: their answers would go nowhere
            worker.stop()
        self._all.clear()
        self._idle = []
        for waiter in self._waiting:
            waiter.cancel()


async def _ask(loop: asyncio.AbstractEventLoop, worker: _Worker, path: str) -> object:
    """Send `path` to `worker` and wait, on the loop, for its answer."""
    answer: asyncio.Future[object] = loop.create_future()
    fd = worker.conn.fileno()

    def readable() -> None:
        loop.remove_reader(fd)
        if answer.done():
            return
        try:
            answer.set_result(worker.conn.recv())
        except Exception as exc:
            answer.set_exception(exc)

    loop.add_reader(fd, readable)
    try:
        worker.conn.send(path)
        return await answer
    finally:
        loop.remove_reader(fd)
