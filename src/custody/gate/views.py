"""Judged project pages: each file of an upstream page with its listing decision, and the page
clients see, rendered once per content type.

A `View` is judged from one upstream page (kept and refreshed by `custody.gate.pages`), the
policy with the store's allow/deny entries, and the project's advisories. It holds while

- the upstream page is the same object (a refresh makes a new one, judged and rendered in the
  background before requests see it),
- nothing it was judged from changed: every request reads a **change token** of the stores
  (`custody.gate.changes`: the allow/deny entries' count and newest id, the advisory store's
  SQLite `data_version`); only when the token moved are the project's entries and advisories
  read again and, if those differ, the page judged again,
- and no cooldown end or entry expiry has passed since it was judged.

So a page request from cache costs one change-token read and a dictionary lookup; judging and
rendering (linear in the page's files: thousands on big PyPI projects) run in a worker thread,
never as one long step on the event loop. A deny entry added with `custody gate deny`, or a MAL-
advisory loaded by `custody db update`, applies to the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from custody.advisories import affects
from custody.advisories.model import Advisory
from custody.gate.decide import Decision, Listing, Outcome, judge_listing
from custody.gate.pages import PageCache
from custody.gate.simple import QUARANTINED, FileEntry, ProjectPage, project_of, render_page, with_urls
from custody.inventory import Ecosystem
from custody.policy import Entry, Policy, same_version

T = TypeVar("T")
INLINE_FILES = 32
"""Pages with at most this many files are judged on the event loop; larger ones in a thread."""
FileUrl = Callable[[FileEntry], str]


@dataclass(frozen=True, slots=True)
class Judged:
    """One file of an upstream page and what the page-level rules decide for it."""

    entry: FileEntry
    listing: Listing
    decision: Decision


@dataclass(slots=True, kw_only=True)
class View:
    """One upstream page judged, and (once asked for) the page clients see, rendered.

    An accumulator: the judgement is fixed when the view is made, but the shown page and its
    renderings are added on first request per media type, and `token` moves forward each time
    `depends` is found still current (a cache entry, rebuilt only when the judgement changes)."""

    upstream: ProjectPage
    """The upstream page object this view was judged from (identity: a refresh is a new object)."""
    judged: tuple[Judged, ...]
    policy: Policy
    depends: tuple[object, ...]
    """What the judgement read besides the page: the entries, the advisories' ids and times."""
    token: object
    """The stores' change token when `depends` was last found current."""
    valid_until: datetime
    """The next cooldown end or entry expiry: the judgement stops holding then."""
    file_url: FileUrl | None = None
    shown: ProjectPage | None = None
    rendered: dict[str, bytes] = field(default_factory=dict)


def own_entries(project: str, policy: Policy) -> tuple[Entry, ...]:
    """The entries naming `project`: an entry for another project changes nothing on its page."""
    name = str(canonicalize_name(project))
    return tuple(e for e in policy.entries if e.name == name)


def dependencies(project: str, policy: Policy, advisories: Iterable[Advisory]) -> tuple[object, ...]:
    """What a judgement of `project`'s page read besides the page: its entries and advisories."""
    return (own_entries(project, policy), tuple((a.id, a.modified) for a in advisories))


def judge(page: ProjectPage, policy: Policy, advisories: list[Advisory], token: object) -> View:
    """Every file of `page` with its listing decision, now (pure; linear in the page's files)."""
    now = datetime.now(timezone.utc)
    # PEP 792: an index must offer no file of a quarantined project. No allow entry lifts it:
    # upstream has withdrawn every file (usually for malware), nothing is left to vouch for.
    quarantine = (
        Decision(
            outcome=Outcome.HIDE,
            rule="quarantined",
            reason="project quarantined upstream" + (f": {page.status_reason}" if page.status_reason else ""),
        )
        if page.status == QUARANTINED
        else None
    )
    cooldown = policy.cooldown_for(page.name)
    changes = [e.until for e in own_entries(page.name, policy) if e.until is not None and e.until > now]
    judged = []
    for entry in page.files:
        parsed = project_of(entry.filename)
        listing = _listing(page.name, parsed[1] if parsed else None, entry, advisories)
        judged.append(Judged(entry, listing, quarantine or judge_listing(policy, listing, now)))
        if entry.upload_time is not None and entry.upload_time + cooldown > now:
            changes.append(entry.upload_time + cooldown)
    return View(
        upstream=page,
        judged=tuple(judged),
        policy=policy,
        depends=dependencies(page.name, policy, advisories),
        token=token,
        valid_until=min(changes, default=now + timedelta(days=365)),
    )


def shown_page(view: View, file_url: FileUrl) -> ProjectPage:
    """The page clients see: hidden files left out, every URL pointing through the gate."""
    upstream, judged = view.upstream, view.judged
    visible = [j.entry for j in judged if j.decision.outcome is not Outcome.HIDE]
    shown_versions = {j.listing.version for j in judged if j.decision.outcome is not Outcome.HIDE}
    all_versions = {j.listing.version for j in judged}
    # PEP 700 versions: keep versions that still have a file, and those upstream lists without
    # files; an upstream that gave none (HTML, a directory) gets the versions of what is shown.
    if upstream.status == QUARANTINED:
        versions: tuple[str, ...] = ()
    elif upstream.versions:
        versions = tuple(v for v in upstream.versions if v in shown_versions or v not in all_versions)
    else:
        versions = tuple(sorted((v for v in shown_versions if v is not None), key=_sort_key))
    return with_urls(
        replace(upstream, versions=versions), visible, {f.filename: file_url(f) for f in visible}
    )


def render(view: View, media: str, file_url: FileUrl) -> bytes:
    """`view`'s page for clients as `media`, rendered once and kept on the view."""
    if view.shown is None:
        view.shown, view.file_url = shown_page(view, file_url), file_url
    body = view.rendered.get(media)
    if body is None:
        body = view.rendered[media] = render_page(view.shown, media)
    return body


class Coalesced(Generic[T]):
    """An async read whose callers share runs: each caller gets the result of a run that
    started after it called (so it sees every change made before its request), and callers that
    arrive while a run is under way share the single next run."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._running: asyncio.Future[T] | None = None
        self._next: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if self._running is None:
            return await asyncio.shield(self._start())
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._next)

    def _start(self) -> asyncio.Future[T]:
        run = self._running = asyncio.ensure_future(self._read())
        run.add_done_callback(self._finished)
        return run

    def _finished(self, run: asyncio.Future[T]) -> None:
        self._running = None
        waiter, self._next = self._next, None
        if waiter is None:
            return
        if waiter.done():  # its callers were cancelled with it
            return
        self._start().add_done_callback(lambda done: _copy(done, waiter))


def _consume(future: asyncio.Future[Any]) -> None:
    """Mark the outcome of a read nobody may await as seen (no "never retrieved" warning)."""
    if not future.cancelled():
        future.exception()


def _copy(source: asyncio.Future[T], target: asyncio.Future[T]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


class Views:
    """The judged pages of a gate: what requests for index pages, files and metadata decide by.

    `fetch(name)` gets an upstream page; `token()` reads the stores' change token
    (`custody.gate.changes`) and `dependencies(name)` the policy with the store's entries and the
    project's advisories (on the gate's read thread)."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[ProjectPage | None]],
        *,
        token: Callable[[], Awaitable[object]],
        dependencies: Callable[[str], Awaitable[tuple[Policy, list[Advisory]]]],
        ttl: float,
        stale_limit: float,
        keep: int,
    ) -> None:
        self.pages = PageCache(fetch, ttl=ttl, stale_limit=stale_limit, keep=keep, refreshed=self._refreshed)
        self._token = token
        self._dependencies = dependencies
        self._views: dict[str, View] = {}
        self._keep = keep
        self.judgements = 0
        """Pages judged (tests read it: a page from cache is not judged again)."""

    async def view(self, name: str) -> View | None:
        """The current view of project `name`; None when upstream does not know it. Raises the
        upstream's error (no usable page) or the stores' (they cannot be read)."""
        ahead = None
        if name not in self._views:  # a first request: the stores are read while the page comes
            token = await self._token()  # before the read, as below: the read is at least as new
            ahead = asyncio.ensure_future(self._dependencies(name))
            ahead.add_done_callback(_consume)
        try:
            page = await self.pages.get(name)
        except BaseException:
            if ahead is not None:
                ahead.cancel()
            raise
        if page is None:
            return None
        if ahead is not None and page.name == name and name not in self._views:
            policy, advisories = await ahead
            return self._judged(name, page, await self._judge(page, policy, advisories, token))
        if ahead is not None:
            ahead.cancel()
        token = await self._token()
        cached = self._views.get(name)
        if cached is not None and cached.upstream is page and datetime.now(timezone.utc) < cached.valid_until:
            if cached.token == token:
                return cached
            policy, advisories = await self._dependencies(page.name)
            if dependencies(page.name, policy, advisories) == cached.depends:  # a change elsewhere
                cached.token = token
                return cached
        else:
            policy, advisories = await self._dependencies(page.name)
        return self._judged(name, page, await self._judge(page, policy, advisories, token))

    def _judged(self, name: str, page: ProjectPage, view: View) -> View:
        if self.pages.current(name) is page:  # not a view of a page a refresh replaced meanwhile
            self._remember(name, view)
        return view

    async def rendered(self, name: str, media: str, file_url: FileUrl) -> bytes | None:
        """The page clients see as `media`: pre-rendered bytes unless the view is new."""
        view = await self.view(name)
        if view is None:
            return None
        body = view.rendered.get(media)
        if body is None:  # linear in the files: off the event loop
            body = await asyncio.to_thread(render, view, media, file_url)
        return body

    async def _judge(
        self, page: ProjectPage, policy: Policy, advisories: list[Advisory], token: object
    ) -> View:
        self.judgements += 1
        if len(page.files) <= INLINE_FILES:  # microseconds: cheaper than the thread hop
            return judge(page, policy, advisories, token)
        return await asyncio.to_thread(judge, page, policy, advisories, token)

    async def _refreshed(self, name: str, page: ProjectPage | None) -> None:
        """A refreshed upstream page: judge it, and render what the old view had rendered,
        before the page cache hands it out (so no request judges or renders)."""
        old = self._views.get(name)
        if page is None or old is None:
            return
        token = await self._token()
        policy, advisories = await self._dependencies(page.name)
        view = await self._judge(page, policy, advisories, token)
        if old.file_url is not None:
            for media in list(old.rendered):
                await asyncio.to_thread(render, view, media, old.file_url)
        # no await from here until the page cache switches to `page`
        self._remember(name, view)

    def _remember(self, name: str, view: View) -> None:
        self._views[name] = view
        if len(self._views) > self._keep:
            self._views.pop(next(iter(self._views)))

    async def aclose(self) -> None:
        """Cancel the page cache's refreshes under way."""
        await self.pages.aclose()


def _sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def _listing(project: str, version: str | None, entry: FileEntry, advisories: list[Advisory]) -> Listing:
    malware: list[str] = []
    fixes = False
    if version is not None:
        for advisory in advisories:
            if advisory.malware and affects(advisory, Ecosystem.PYPI, project, version):
                malware.append(advisory.id)
            elif not advisory.malware and not advisory.withdrawn:
                fixes = fixes or any(
                    e.kind == "fixed" and same_version(e.version, version)
                    for a in advisory.affected
                    for r in a.ranges
                    for e in r.events
                )
    return Listing(
        project=project,
        version=version,
        upload_time=entry.upload_time,
        malware=tuple(malware),
        fixes_vulnerability=fixes,
    )
