"""The gate as a library: pages in, filtered pages out; file requests in, checked files or refusals out.

`Gate` owns the upstream client, the content-addressed file cache, the scan pool, the stores and
the decision recorder. The HTTP app (`custody.gate.app`) and `custody gate check` are thin users.

Fail closed throughout: an upstream that cannot be reached or answers garbage, a file whose
sha256 differs from what upstream published, a scan that errs or times out, a store that cannot
be read: each refuses the file (with the reason), none lets it through unchecked.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from stat import S_ISREG
from typing import Any, ClassVar, TypeVar

from custody.advisories import AdvisoryError, AdvisoryStore, default_store_path
from custody.advisories.model import Advisory
from custody.artifacts.index import MAX_DOWNLOAD, IndexFile, cache_dir, choose_files
from custody.errors import EXIT_FOUND, CustodyError
from custody.gate.changes import LoopTokens
from custody.gate.decide import (
    Decision,
    Listing,
    Outcome,
    judge_scan,
    refusal_text,
    short_reason,
)
from custody.gate.recorder import LedgerWriter, Recorder
from custody.gate.scanning import ScanOutcome, ScanPool
from custody.gate.simple import FileEntry, ProjectPage, project_of
from custody.gate.store import Claim, DecisionRow, GateStore, StoredVerdict, data_dir
from custody.gate.upstream import DEFAULT_UPSTREAM, MAX_PAGE_BYTES, Upstream, UpstreamError, open_upstream
from custody.gate.views import Coalesced, Judged, Views, shown_page
from custody.inventory import Ecosystem
from custody.policy import Policy, same_version

LOG = logging.getLogger("custody.gate")
T = TypeVar("T")
MAX_METADATA = 16 * 1024 * 1024
REFUSALS_KEPT = 10_000
PAGES_KEPT = 2_000
DOWNLOADS = 16
"""Upstream downloads at once (more wait for a thread)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GateConfig:
    """How a gate runs; every field has a working default."""

    upstream: str = DEFAULT_UPSTREAM
    policy: Policy = field(default_factory=Policy)
    store: str | None = None
    """Gate store: a path, `sqlite:///PATH` or `postgresql://...` (default: `gate.sqlite` in the data dir)."""
    data_dir: str | None = None
    """Signing key and ledger live here (default: `CUSTODY_GATE_DIR` or the user data dir)."""
    cache_dir: str | None = None
    """Downloaded files, by sha256 (default: `gate-files` in the custody cache dir)."""
    key: str | None = None
    """Signing key file for the ledger records (default: generated on first start in the data dir)."""
    ledger: str | None = None
    """Where decisions are appended as signed records (default: `gate-ledger.db` in the data dir);
    empty string: no ledger."""
    advisory_db: str | None = None
    """The advisory store (default: the one `custody db update` fills); missing means no MAL- checks."""
    scan_workers: int = 1
    """Scan processes; 0 scans in a thread of the server process."""
    scan_timeout: float | None = 60.0
    rule_dirs: tuple[str, ...] = ()
    """Extra YARA rule directories for the scan (part of the scanner fingerprint verdicts are kept under)."""
    replica: str | None = None
    """This gate's name among replicas sharing one store (default: host name, process id and a
    random suffix); kept with each verdict it scans."""
    scan_lease: float = 30.0
    """Seconds a scan lease lasts without renewal (renewed every third of it while the scan
    runs): how long a replica that died mid-scan can hold others back."""
    page_ttl: float = 30.0
    """Seconds an upstream page is reused (a page fetch and the downloads that follow it)."""
    max_page_bytes: int = MAX_PAGE_BYTES
    max_file_bytes: int = MAX_DOWNLOAD
    pypi_json_url: str | None = None
    """A PyPI JSON API (`/pypi/NAME/json`) for upload times a page lacks. None: https://pypi.org
    (or `CUSTODY_PYPI_URL`), asked only when the upstream is PyPI; set it for a PyPI mirror
    whose pages carry no PEP 700 times."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """What a refused request answers: status, one-line reason, full text."""

    status: int
    short: str
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileAnswer:
    """The outcome of a file request: a checked file to serve, a refusal, or not found (None both)."""

    path: str | None = None
    decision: Decision | None = None
    refusal: Refusal | None = None
    token: str | None = None
    """Key of the refusal, for the explanation URL."""
    sha256: str | None = None
    stat: os.stat_result | None = None
    """The served file's stat, taken when the gate last checked it was there (the response needs
    no second look)."""
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds spent, in order (the app sends them as a Server-Timing header): `page` (getting
    the upstream page, from the page cache when fresh), `judge` (the page's listing decisions),
    then, when this request waited on them, `fetch` (upstream download: request to the last byte
    written and hashed), `claim` (the store's verdict lookup or scan lease), `scan` (the scan
    itself, timed in the scan worker) and `pool` (the file's way to and from the scan worker),
    and `gate`: everything from the request reaching the gate to its decision."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """`custody gate check`: one file and what the gate decided."""

    filename: str
    decision: Decision
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    path: str | None
    sha256: str | None
    outcome: ScanOutcome | None
    failure: Decision | None
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds this flight spent on `fetch`, `claim`, `scan` and `pool` (see `FileAnswer`)."""
    stat: os.stat_result | None = None


class Gate:
    """One gate instance. `await gate.start()` before use, `await gate.aclose()` after."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self.data_dir = self.config.data_dir or data_dir()
        self.files_dir = self.config.cache_dir or os.path.join(cache_dir(), "gate-files")
        self.upstream: Upstream | None = None
        self.store: GateStore | None = None
        self.advisories: AdvisoryStore | None = None
        self.scans: ScanPool | None = None
        self.recorder: Recorder | None = None
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custody-gate-db")
        # Reads for page requests get their own thread and connections: they never queue behind
        # the recorder's batch writes and signing, or a scan lease, on the db thread.
        self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custody-gate-read")
        self._read_store: GateStore | None = None
        # Upstream downloads: blocking transfers, one thread each (a slow upstream holds one).
        self._downloads = ThreadPoolExecutor(DOWNLOADS, thread_name_prefix="custody-gate-download")
        self._loop_tokens: LoopTokens | None = None
        self._thread_token = Coalesced(lambda: self._read(self._change_token))
        self.views: Views | None = None
        self._flights: dict[str, asyncio.Future[_Prepared]] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        """Work a request started and does not wait for (keeping a verdict)."""
        self._refusals: collections.OrderedDict[str, Refusal] = collections.OrderedDict()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._closed = False
        self._ledger: LedgerWriter | None = None
        self.replica = self.config.replica or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the stores, the upstream and the scan pool once (concurrent callers wait for the first);
        raises what opening them raises (StoreError, UpstreamError, BadKey, ...)."""
        async with self._start_lock:
            if not self._started:
                await self._start()

    async def _start(self) -> None:
        self.upstream = open_upstream(self.config.upstream, max_page_bytes=self.config.max_page_bytes)
        os.makedirs(os.path.join(self.files_dir, "tmp"), exist_ok=True)
        await self._db(self._open_stores)
        await self._read(self._open_read_stores)
        self.views = Views(
            self._fetch_page,
            token=self._token,
            dependencies=lambda name: self._read(self._policy_and_advisories, name),
            ttl=self.config.page_ttl,
            stale_limit=self.config.policy.stale_page_limit.total_seconds(),
            keep=PAGES_KEPT,
        )
        self.scans = ScanPool(self.config.scan_workers, self.config.scan_timeout, self.config.rule_dirs)
        self.recorder = Recorder(self._db, self._record_rows)
        self.recorder.start()
        self._started = True

    def _open_stores(self) -> None:
        # Opened on the db thread: SQLite connections stay on the thread that made them.
        self.store = GateStore.open(self.config.store or os.path.join(self.data_dir, "gate.sqlite"))
        if self.config.ledger != "":  # the signing key is made here, on first start
            self._ledger = LedgerWriter(
                self.config.ledger or os.path.join(self.data_dir, "gate-ledger.db"),
                self.config.key,
                self.data_dir,
            )

    def _open_read_stores(self) -> None:
        # On the read thread: a second connection to the gate store, and the advisory store
        # (read only by page judging).
        target = self.config.store or os.path.join(self.data_dir, "gate.sqlite")
        self._read_store = GateStore.open(target)
        path = self.config.advisory_db or default_store_path()
        exists = os.path.exists(path)
        if exists:
            self.advisories = AdvisoryStore.open(path)
        self._loop_tokens = LoopTokens.open(target, path if exists else None)
        if not exists:
            LOG.warning(
                "no advisory store at %s: MAL- advisories are not checked (run `custody db update`)", path
            )

    def _record_rows(self, rows: list[DecisionRow]) -> None:
        # On the db thread: the store first (the gate's own log), then the signed ledger records.
        assert self.store is not None
        self.store.add_decisions(rows)
        if self._ledger is not None:
            self._ledger.append(rows)

    async def aclose(self) -> None:
        """Flush the recorder and release everything `start` made (also after a failed start)."""
        if self._closed:
            return
        self._closed = True
        self._started = False
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.views is not None:
            await self.views.aclose()
        if self.recorder is not None:
            await self.recorder.stop()
        if self.scans is not None:
            self.scans.close()
        if self.upstream is not None:
            await self.upstream.aclose()
        await self._db(self._close_stores)
        await self._read(self._close_read_stores)
        self._db_executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)
        self._downloads.shutdown(wait=False, cancel_futures=True)  # running ones stop at their next chunk

    def _close_stores(self) -> None:
        for resource in (self.store, self._ledger):
            if resource is not None:
                resource.close()
        self.store = self._ledger = None

    def _close_read_stores(self) -> None:
        for resource in (self._read_store, self.advisories, self._loop_tokens):
            if resource is not None:
                resource.close()
        self._read_store = self.advisories = self._loop_tokens = None

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db_executor, fn, *args)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._read_executor, fn, *args)

    # -- pages -----------------------------------------------------------------------------------

    async def upstream_page(self, name: str) -> ProjectPage | None:
        """The upstream page to answer from: reused for `page_ttl` seconds, then refreshed in the
        background while the kept one is served (`custody.gate.pages`). Raises UpstreamError."""
        assert self.views is not None
        return await self.views.pages.get(name)

    async def _fetch_page(self, name: str) -> ProjectPage | None:
        assert self.upstream is not None
        page = await self.upstream.project_page(name)
        ask_pypi = self.upstream.is_pypi or self.config.pypi_json_url is not None
        if page is not None and ask_pypi and any(f.upload_time is None for f in page.files):
            page = await self._fill_upload_times(page)
        return page

    async def _fill_upload_times(self, page: ProjectPage) -> ProjectPage:
        from custody.advisories.pypi import upload_times  # noqa: PLC0415
        from custody.artifacts.index import new_client  # noqa: PLC0415

        def fetch() -> dict[str, datetime]:
            with new_client() as client:
                return upload_times(client, page.name, self.config.pypi_json_url)

        try:
            times = await asyncio.to_thread(fetch)
        except AdvisoryError as exc:
            LOG.warning("upload times for %s unknown: %s", page.name, exc)
            return page  # unknown stays unknown: the cooldown treats it as the policy says
        return replace(
            page,
            files=tuple(replace(f, upload_time=f.upload_time or times.get(f.filename)) for f in page.files),
        )

    async def _token(self) -> object:
        """The stores' change token: on the event loop when it can be read there at once
        (`custody.gate.changes`), else on the read thread (shared by concurrent requests)."""
        if self._loop_tokens is not None:
            try:
                return ("loop", self._loop_tokens.read())
            except Exception as exc:  # a lock or an error: the read thread waits, or fails closed
                LOG.debug("change token on the read thread: %s", exc)
        return ("thread", await self._thread_token())

    def _change_token(self) -> object:
        # On the read thread: two one-row reads, whatever the number of entries or advisories.
        assert self._read_store is not None
        advisories = self.advisories.data_version() if self.advisories is not None else None
        return (self._read_store.entries_version(), advisories)

    def _policy_and_advisories(self, name: str) -> tuple[Policy, list[Advisory]]:
        assert self._read_store is not None
        policy = self.config.policy.with_entries(self._read_store.entries())
        advisories = self.advisories.lookup(Ecosystem.PYPI, name) if self.advisories is not None else []
        return policy, advisories

    async def judge_page(self, name: str) -> tuple[ProjectPage, list[Judged], Policy] | None:
        """Every file of the page with its listing decision; None when upstream does not know `name`.
        Raises UpstreamError (upstream) or AdvisoryError/StoreError (a store that cannot be read)."""
        assert self.views is not None
        view = await self.views.view(name)
        return None if view is None else (view.upstream, list(view.judged), view.policy)

    async def index_page(self, name: str, file_url: Callable[[FileEntry], str]) -> ProjectPage | None:
        """The page clients see: hidden files left out, every URL pointing through the gate."""
        assert self.views is not None
        view = await self.views.view(name)
        return None if view is None else shown_page(view, file_url)

    async def rendered_index(
        self, name: str, media: str, file_url: Callable[[FileEntry], str]
    ) -> bytes | None:
        """`index_page` rendered as `media`: bytes rendered once per upstream page and kept while
        nothing it was judged from changes (`custody.gate.views`)."""
        assert self.views is not None
        return await self.views.rendered(name, media, file_url)

    async def project_names(self) -> list[str]:
        """Every project name the upstream lists (its root page). Raises UpstreamError."""
        assert self.upstream is not None
        return await self.upstream.project_names()

    # -- files -----------------------------------------------------------------------------------

    async def get_file(
        self, name: str, filename: str, *, client: str | None = None, user_agent: str | None = None
    ) -> FileAnswer:
        """Decide on one file; download, verify and scan it when the page allows; record it."""
        started = time.perf_counter()
        # Judging starts at once (on a first request its store reads overlap the page fetch);
        # the upstream page is timed on its own (upstream transfer, not gate work): both wait on
        # the same page fetch.
        judging = asyncio.ensure_future(self.judge_page(name))
        judging.add_done_callback(lambda done: done.cancelled() or done.exception())  # seen if unused
        try:
            await self.upstream_page(name)
            page_seconds = time.perf_counter() - started
            result = await judging
            judge_seconds = time.perf_counter() - started - page_seconds
        except (UpstreamError, AdvisoryError, Exception) as exc:
            judging.cancel()
            listing = Listing(project=name, version=_version(filename), upload_time=None)
            status = 502 if isinstance(exc, UpstreamError) else 503
            decision = Decision(
                outcome=Outcome.REFUSE,
                rule="upstream" if status == 502 else "store",
                reason=_one_line(str(exc) or type(exc).__name__),
                status=status,
            )
            return self._refuse(listing, filename, decision, None, client, user_agent)
        if result is None:
            return FileAnswer()
        _, judged, policy = result
        item = next((j for j in judged if j.entry.filename == filename), None)
        if item is None or item.decision.outcome is Outcome.HIDE:
            return FileAnswer()  # not on the page the client may see: as if it did not exist
        if item.decision.outcome is Outcome.REFUSE:
            return self._refuse(item.listing, filename, item.decision, item.entry.sha256, client, user_agent)
        prepared = await self._prepare(item.entry)
        if prepared.failure is not None:
            return self._refuse(item.listing, filename, prepared.failure, prepared.sha256, client, user_agent)
        assert prepared.outcome is not None and prepared.path is not None
        allowed = item.decision if item.decision.rule == "allow" else None
        decision = judge_scan(
            policy,
            item.listing,
            verdict=prepared.outcome.verdict,
            rule=prepared.outcome.rule,
            location=prepared.outcome.location,
            summary=prepared.outcome.summary,
            allowed=allowed,
        )
        if decision.outcome is not Outcome.SERVE:
            return self._refuse(item.listing, filename, decision, prepared.sha256, client, user_agent)
        if decision.warning:
            LOG.warning("serving %s with a warning: %s", filename, decision.reason)
        self._record(item.listing, filename, decision, prepared.sha256, client, user_agent)
        timings = {
            "page": page_seconds,
            "judge": judge_seconds,
            **prepared.timings,
            "gate": time.perf_counter() - started,
        }
        return FileAnswer(
            path=prepared.path,
            decision=decision,
            sha256=prepared.sha256,
            stat=prepared.stat,
            timings=timings,
        )

    async def get_metadata(self, name: str, filename: str) -> bytes | Refusal | None:
        """The PEP 658 metadata of a listed file (sha256-verified); None when not listed or none."""
        assert self.upstream is not None
        try:
            result = await self.judge_page(name)
        except Exception as exc:
            return Refusal(status=502, short=_one_line(str(exc)), body=f"{exc}\n")
        if result is None:
            return None
        item = next((j for j in result[1] if j.entry.filename == filename), None)
        if item is None or item.decision.outcome is Outcome.HIDE or not item.entry.core_metadata:
            return None
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in self.upstream.open_file(item.entry, metadata=True):
                size += len(chunk)
                if size > MAX_METADATA:
                    return Refusal(status=502, short="metadata too large", body="metadata file too large\n")
                chunks.append(chunk)
        except UpstreamError as exc:
            return Refusal(status=502, short=_one_line(str(exc)), body=f"{exc}\n")
        body = b"".join(chunks)
        expected = item.entry.core_metadata
        if (
            isinstance(expected, Mapping)
            and "sha256" in expected
            and hashlib.sha256(body).hexdigest() != expected["sha256"]
        ):
            return Refusal(status=502, short="metadata sha256 mismatch", body="metadata sha256 mismatch\n")
        return body

    async def check(self, name: str, version: str, *, all_files: bool = False) -> list[CheckResult]:
        """What the gate decides for the files of `name==version` a client would install (the sdist
        and the wheel for this interpreter; every file with `all_files`). Downloads and scans what
        the page lets through; an empty list: the version is not on the upstream page."""
        result = await self.judge_page(name)
        if result is None:
            return []
        page, judged, _ = result
        wanted = [
            j for j in judged if j.listing.version is not None and same_version(j.listing.version, version)
        ]
        if not all_files and wanted:
            chosen = {
                f.filename
                for f in choose_files([IndexFile(j.entry.filename, j.entry.url, None) for j in wanted])
            }
            wanted = [j for j in wanted if j.entry.filename in chosen]
        checked: list[CheckResult] = []
        for item in wanted:
            if item.decision.outcome is Outcome.HIDE:
                checked.append(CheckResult(filename=item.entry.filename, decision=item.decision))
                continue
            answer = await self.get_file(
                page.name, item.entry.filename, client="local", user_agent="custody gate check"
            )
            decision = answer.decision or Decision(outcome=Outcome.HIDE, reason="not on the page")
            checked.append(CheckResult(filename=item.entry.filename, decision=decision, sha256=answer.sha256))
        return checked

    def refusal(self, token: str) -> Refusal | None:
        """The refusal issued under `token` (what `/refused/TOKEN/...` explains), or None when unknown."""
        return self._refusals.get(token)

    def _refuse(
        self,
        listing: Listing,
        filename: str,
        decision: Decision,
        sha256: str | None,
        client: str | None,
        user_agent: str | None,
    ) -> FileAnswer:
        self._record(listing, filename, decision, sha256, client, user_agent)
        refusal = Refusal(
            status=decision.status if decision.status >= 400 else 403,
            short=short_reason(listing, decision),
            body=refusal_text(listing, filename, decision, sha256=sha256),
        )
        token = secrets.token_urlsafe(9)
        self._refusals[token] = refusal
        while len(self._refusals) > REFUSALS_KEPT:
            self._refusals.popitem(last=False)
        LOG.info("refused %s: %s", filename, decision.reason)
        return FileAnswer(decision=decision, refusal=refusal, token=token, sha256=sha256)

    def _record(
        self,
        listing: Listing,
        filename: str,
        decision: Decision,
        sha256: str | None,
        client: str | None,
        user_agent: str | None,
    ) -> None:
        if self.recorder is None:
            return
        self.recorder.add(
            DecisionRow(
                at=datetime.now(timezone.utc),
                client=client,
                user_agent=user_agent,
                project=listing.project,
                version=listing.version,
                filename=filename,
                sha256=sha256,
                verdict=decision.verdict,
                rule=decision.rule,
                decision=decision.outcome.value,
                reason=decision.reason,
            )
        )

    async def _prepare(self, entry: FileEntry) -> _Prepared:
        """Download (once), verify and scan (once) a file: concurrent requests share one flight."""
        key = entry.sha256 or entry.url
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._download_and_scan(entry))
            self._flights[key] = flight
            flight.add_done_callback(lambda _f: self._flights.pop(key, None))
        return await asyncio.shield(flight)

    def _cached_path(self, sha256: str, filename: str) -> str:
        return os.path.join(self.files_dir, sha256[:2], sha256, filename)

    async def _download_and_scan(self, entry: FileEntry) -> _Prepared:
        assert self.upstream is not None and self.scans is not None
        sha256 = entry.sha256
        timings: dict[str, float] = {}
        stat = _regular_file(self._cached_path(sha256, entry.filename)) if sha256 else None
        ahead: asyncio.Future[_Held] | None = None
        if sha256 and stat is not None:
            path = self._cached_path(sha256, entry.filename)
        else:
            # The published sha256 is claimed while the file downloads (its stored verdict, or the
            # scan lease, held and renewed from then on): no store round trip after the transfer.
            ahead = asyncio.ensure_future(self._claim_ahead(sha256)) if sha256 else None
            try:
                fetch_started = time.perf_counter()
                path, sha256, stat = await self._download(entry)
                timings["fetch"] = time.perf_counter() - fetch_started
            except BaseException as exc:
                if ahead is not None:
                    self._background(self._let_go(ahead, entry.sha256 or ""))
                failure = _download_failure(exc)
                if failure is None:
                    raise
                return _Prepared(None, entry.sha256, None, failure)
        try:
            outcome = await self._verdict_once(path, sha256, timings, ahead)
        except Exception as exc:
            return _Prepared(
                path,
                sha256,
                None,
                Decision(
                    outcome=Outcome.REFUSE,
                    rule="store",
                    reason=_one_line(f"gate store unusable: {exc}"),
                    status=503,
                ),
            )
        return _Prepared(path, sha256, outcome, None, timings, stat)

    async def _claim_ahead(self, sha256: str) -> _Held:
        lease = self.config.scan_lease
        claim = await self._db(self._claim, sha256, lease)
        renewing = asyncio.ensure_future(self._renew(sha256, lease)) if claim.leased else None
        return _Held(claim, renewing)

    async def _let_go(self, ahead: asyncio.Future[_Held], sha256: str) -> None:
        """The download failed: give back a lease claimed ahead of it (others may scan)."""
        try:
            held = await ahead
        except Exception:  # the claim itself failed: nothing is held
            return
        if held.renewing is not None:
            held.renewing.cancel()
        if held.claim.leased:
            try:
                await self._db(self._release, sha256)
            except Exception as exc:
                LOG.warning("could not release the scan lease of %s: %s", sha256, exc)

    async def _verdict_once(
        self,
        path: str,
        sha256: str,
        timings: dict[str, float],
        ahead: asyncio.Future[_Held] | None = None,
    ) -> ScanOutcome:
        """The file's verdict, scanned at most once across every gate sharing the store: the stored
        verdict if any, else scan under a lease, else wait for the replica that holds the lease.
        `ahead` is a claim made while the file downloaded. Raises when the store cannot be used
        (the caller refuses the file)."""
        assert self.scans is not None
        lease = self.config.scan_lease
        # the longest a live lease can be renewed for one scan, then a margin: past it, fail closed
        patience = (self.config.scan_timeout or 3600.0) * 2 + lease * 2
        waited = 0.0
        poll = 0.05
        claim_started = time.perf_counter()
        renewing: asyncio.Future[None] | None = None
        while True:
            if ahead is not None:
                held, ahead = await ahead, None
                claim, renewing = held.claim, held.renewing
            else:
                claim = await self._db(self._claim, sha256, lease)
            timings["claim"] = time.perf_counter() - claim_started - waited
            if claim.verdict is not None:
                stored = claim.verdict
                return ScanOutcome(
                    verdict=stored.verdict, rule=stored.rule, location=stored.location, summary=stored.summary
                )
            if claim.leased:
                break
            if waited >= patience:
                return ScanOutcome(
                    verdict="error",
                    rule=None,
                    location=None,
                    summary="error: another gate replica's scan of this file did not finish",
                )
            await asyncio.sleep(poll)
            waited += poll
            poll = min(poll * 2, 1.0)
        renewing = renewing or asyncio.ensure_future(self._renew(sha256, lease))
        scan_started = time.perf_counter()
        try:
            outcome = await self.scans.scan(path)
        finally:
            renewing.cancel()
            on_loop = time.perf_counter() - scan_started
        worker = outcome.seconds if outcome.seconds is not None else on_loop
        timings.update(scan=worker, pool=max(0.0, on_loop - worker))
        # Keeping the verdict (or releasing the lease after an error) does not hold up the answer:
        # it is queued on the db thread, ahead of any later request's claim on this gate, and
        # other replicas wait on the lease until it lands. `aclose` waits for it.
        self._background(self._keep_verdict(sha256, outcome))
        return outcome

    async def _keep_verdict(self, sha256: str, outcome: ScanOutcome) -> None:
        try:
            if outcome.verdict != "error":  # errors (timeouts, a busy machine) are tried again next time
                await self._db(self._save_verdict, sha256, outcome)
            else:
                await self._db(self._release, sha256)
        except Exception as exc:
            LOG.warning("could not keep the verdict of %s: %s", sha256, exc)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _renew(self, sha256: str, lease: float) -> None:
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await self._db(self._renew_lease, sha256, lease)
            except Exception as exc:  # the scan goes on; at worst another replica scans too
                LOG.warning("could not renew the scan lease of %s: %s", sha256, exc)

    def _claim(self, sha256: str, lease: float) -> Claim:
        assert self.store is not None and self.scans is not None
        return self.store.claim_scan(sha256, self.scans.id, self.replica, lease)

    def _renew_lease(self, sha256: str, lease: float) -> None:
        assert self.store is not None
        self.store.renew_lease(sha256, self.replica, lease)

    def _release(self, sha256: str) -> None:
        assert self.store is not None
        self.store.release_lease(sha256, self.replica)

    def _save_verdict(self, sha256: str, outcome: ScanOutcome) -> None:
        assert self.store is not None and self.scans is not None
        self.store.save_verdict(
            StoredVerdict(
                sha256=sha256,
                scanner=self.scans.id,
                verdict=outcome.verdict,
                rule=outcome.rule,
                location=outcome.location,
                summary=outcome.summary,
            ),
            by=self.replica,
        )

    async def _download(self, entry: FileEntry) -> tuple[str, str, os.stat_result]:
        """Stream the file to a temporary file, hashing as it comes, then move it into the cache
        under its sha256 (returned with the file's stat). Never held whole in memory; a mismatch
        leaves nothing behind. The transfer runs in a download thread (`Upstream.fetch`)."""
        assert self.upstream is not None
        tmp_dir = os.path.join(self.files_dir, "tmp")
        fd, partial = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
        os.close(fd)
        try:
            loop = asyncio.get_running_loop()
            actual, stat = await loop.run_in_executor(self._downloads, self._fetch_to, entry, partial)
            if entry.sha256 and actual != entry.sha256:
                raise _IntegrityError(
                    f"sha256 mismatch: upstream lists {entry.sha256[:16]}..., the file is {actual[:16]}..."
                )
            target = self._cached_path(actual, entry.filename)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(partial, target)
            return target, actual, stat
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def _fetch_to(self, entry: FileEntry, partial: str) -> tuple[str, os.stat_result]:
        """In a download thread: the file into `partial`, its sha256 and stat."""
        assert self.upstream is not None
        digest = hashlib.sha256()
        size = 0
        limit = self.config.max_file_bytes
        with open(partial, "wb") as out:

            def sink(chunk: bytes) -> None:
                nonlocal size
                if self._closed:
                    raise UpstreamError(f"{entry.filename}: the gate is shutting down")
                size += len(chunk)
                if size > limit:
                    raise UpstreamError(f"{entry.filename}: larger than {limit} bytes")
                digest.update(chunk)
                out.write(chunk)

            self.upstream.fetch(entry, sink)
            out.flush()
            return digest.hexdigest(), os.fstat(out.fileno())


class _IntegrityError(CustodyError):
    """A downloaded file whose sha256 is not the one upstream listed: `_download_failure` turns it
    into a hash-mismatch refusal; a CustodyError so that, should it ever escape, it is one line."""

    exit_code: ClassVar[int] = EXIT_FOUND


@dataclass(frozen=True, slots=True)
class _Held:
    """A claim made ahead of a download, with the renewal of its lease when it got one."""

    claim: Claim
    renewing: asyncio.Future[None] | None


def _download_failure(exc: BaseException) -> Decision | None:
    """The refusal for a failed download; None for anything else (it propagates)."""
    if isinstance(exc, UpstreamError):
        return Decision(outcome=Outcome.REFUSE, rule="upstream", reason=_one_line(str(exc)), status=502)
    if isinstance(exc, _IntegrityError):
        return Decision(outcome=Outcome.REFUSE, rule="hash-mismatch", reason=str(exc), status=502)
    return None


def _regular_file(path: str) -> os.stat_result | None:
    """`path`'s stat if it is a regular file (what `os.path.isfile` checks), else None."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat if S_ISREG(stat.st_mode) else None


def _version(filename: str) -> str | None:
    parsed = project_of(filename)
    return parsed[1] if parsed else None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
