"""Upstream project pages, kept and refreshed off the request path (stale-while-revalidate).

A page fetched from upstream is reused for `ttl` seconds. After that the first request starts
**one** refresh in the background and is answered from the kept page, as are the requests that
come while the refresh runs: no request waits on upstream for a page the gate already has, and
fifty clients asking at the moment a page expires cause one upstream fetch, not fifty.

A refresh that fails leaves the kept page in use, but only until `stale_limit` seconds after
the page's reuse ran out (the policy's `stale_page_limit`); from then on requests wait for a
fetch of their own and, if upstream still cannot be reached, get its error (fail closed). While
the kept page is used, every decision the gate takes from its own data still applies to each
request (allow/deny entries, MAL- advisories, the cooldown, scan verdicts): only the file list
can be older than upstream's. A failed refresh is retried at most once per `retry` seconds, so
an upstream outage is not hammered at the request rate.

A project the gate has no page for (or one past the limit) is fetched on the request path, once
for all the requests that want it at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from custody.gate.simple import ProjectPage

LOG = logging.getLogger("custody.gate")
RETRY_SECONDS = 1.0
"""A failed background refresh is not tried again sooner than this."""


@dataclass(slots=True)
class _Slot:
    """One project's cached upstream page and the state of its refresh.

    An accumulator of that state: the cache replaces the page, starts and clears the background
    refresh and records failures in place, because the refresh task and readers share the slot."""

    page: ProjectPage | None
    fetched: float
    """`time.monotonic()` when upstream gave this page."""
    refresh: asyncio.Task[ProjectPage | None] | None = None
    failed: float | None = None
    """When the last refresh failed (monotonic), for the retry pacing."""


class PageCache:
    """Upstream pages by canonical project name, refreshed in the background once they expire.

    `fetch(name)` gets a page from upstream (None: upstream does not know the project) and raises
    on failure. `refreshed(name, page)`, when given, runs after each successful fetch, before the
    new page is handed out, so that the gate can judge and render it off the request path.
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[ProjectPage | None]],
        *,
        ttl: float,
        stale_limit: float,
        keep: int,
        refreshed: Callable[[str, ProjectPage | None], Awaitable[None]] | None = None,
        retry: float = RETRY_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._refreshed = refreshed
        self.ttl = ttl
        self.stale_limit = stale_limit
        self.keep = keep
        self.retry = retry
        self._slots: dict[str, _Slot] = {}
        self._first: dict[str, asyncio.Future[ProjectPage | None]] = {}
        self.fetches = 0
        """Upstream fetches started (tests and the bench read it)."""

    async def get(self, name: str) -> ProjectPage | None:
        """The page to answer from now. Raises what `fetch` raises when there is no usable page."""
        slot = self._slots.get(name)
        now = time.monotonic()
        if slot is not None:
            age = now - slot.fetched
            if age < self.ttl:
                return slot.page
            if age < self.ttl + self.stale_limit:
                self._start_refresh(name, slot, now)
                return slot.page
        return await self._wait_for_fetch(name)

    def current(self, name: str) -> ProjectPage | None:
        """The page kept for `name` now, fresh or not (None: none kept, or upstream has none)."""
        slot = self._slots.get(name)
        return None if slot is None else slot.page

    def _start_refresh(self, name: str, slot: _Slot, now: float) -> None:
        if slot.refresh is not None or (slot.failed is not None and now - slot.failed < self.retry):
            return
        slot.refresh = asyncio.get_running_loop().create_task(
            self._fetch_and_keep(name), name=f"custody-gate-refresh:{name}"
        )
        slot.refresh.add_done_callback(lambda task: self._refresh_done(name, slot, task))

    def _refresh_done(self, name: str, slot: _Slot, task: asyncio.Task[ProjectPage | None]) -> None:
        slot.refresh = None
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            slot.failed = time.monotonic()
            LOG.warning(
                "refreshing the page of %s failed, serving the one fetched %.0f s ago: %s",
                name,
                time.monotonic() - slot.fetched,
                error,
            )

    async def _wait_for_fetch(self, name: str) -> ProjectPage | None:
        # One fetch for everyone who needs the page now; a refresh already under way counts.
        slot = self._slots.get(name)
        if slot is not None and slot.refresh is not None:
            return await asyncio.shield(slot.refresh)
        flight = self._first.get(name)
        if flight is None:
            flight = asyncio.ensure_future(self._fetch_and_keep(name))
            self._first[name] = flight
            flight.add_done_callback(lambda _f: self._first.pop(name, None))
        return await asyncio.shield(flight)

    async def _fetch_and_keep(self, name: str) -> ProjectPage | None:
        self.fetches += 1
        asked = time.monotonic()  # the page is as old as the question, not the answer
        page = await self._fetch(name)
        if self._refreshed is not None:
            try:
                await self._refreshed(name, page)
            except Exception as exc:  # the request path judges again, and fails closed there
                LOG.warning("could not prepare the new page of %s ahead of requests: %s", name, exc)
        slot = self._slots.get(name)
        if slot is None:
            self._slots[name] = _Slot(page, asked)
            if len(self._slots) > self.keep:  # bounded: drop the entries fetched longest ago
                for stale in sorted(self._slots, key=lambda k: self._slots[k].fetched)[
                    : len(self._slots) - self.keep
                ]:
                    del self._slots[stale]
        else:  # in place: the running refresh's done callback holds this slot
            slot.page, slot.fetched, slot.failed = page, asked, None
        return page

    async def aclose(self) -> None:
        """Cancel the refreshes under way."""
        tasks: list[asyncio.Future[ProjectPage | None]] = [
            s.refresh for s in self._slots.values() if s.refresh is not None
        ]
        tasks += self._first.values()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
