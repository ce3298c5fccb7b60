"""Judged pages (custody.gate.views): shared change-token reads, and a page judged once per change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from custody.gate import GateStore, create_app
from custody.gate.server import GateH11Protocol
from custody.gate.simple import JSON_V1
from custody.gate.views import Coalesced
from custody.policy import Action, Entry, EntryKind, Policy, Rule
from tests.gate.builders import add_wheel
from tests.gate.conftest import gate_config
from tests.servers import serve_asgi


class Reads:
    """A read that takes as long as the test says: each run waits for `go`, then returns its number."""

    def __init__(self) -> None:
        self.runs = 0
        self.go = asyncio.Event()
        self.fail: Callable[[int], Exception | None] = lambda _n: None

    async def __call__(self) -> int:
        self.runs += 1
        number = self.runs
        await self.go.wait()
        error = self.fail(number)
        if error is not None:
            raise error
        return number


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_callers_share_the_next_run_and_never_an_older_one() -> None:
    async def scenario() -> None:
        reads = Reads()
        read = Coalesced(reads)
        first = asyncio.ensure_future(read())
        await _settle()
        later = [asyncio.ensure_future(read()) for _ in range(5)]  # arrive while run 1 is under way
        await _settle()
        assert reads.runs == 1
        reads.go.set()
        assert await first == 1
        assert await asyncio.gather(*later) == [2] * 5  # a run that started after they asked
        assert reads.runs == 2
        assert await read() == 3  # nothing running: a run of its own

    asyncio.run(scenario())


def test_errors_reach_every_caller_of_that_run_and_the_next_run_tries_again() -> None:
    async def scenario() -> None:
        reads = Reads()
        reads.fail = lambda n: RuntimeError("store unreadable") if n <= 2 else None
        read = Coalesced(reads)
        first = asyncio.ensure_future(read())
        await _settle()
        later = [asyncio.ensure_future(read()) for _ in range(3)]
        await _settle()
        reads.go.set()
        with pytest.raises(RuntimeError):
            await first
        for waiter in later:
            with pytest.raises(RuntimeError, match="store unreadable"):
                await waiter
        assert await read() == 3

    asyncio.run(scenario())


def test_a_page_from_cache_is_judged_once_until_something_it_depends_on_changes(tmp_path: Path) -> None:
    upstream = tmp_path / "up"
    add_wheel(upstream, "gateok", "1.0.0")
    add_wheel(upstream, "gateother", "1.0.0")
    config = gate_config(tmp_path, str(upstream), Policy(actions={Rule.DENY: Action.HIDE}))
    app = create_app(config)
    gate = app.state.gate
    with (
        serve_asgi(app, lifespan="on", http=GateH11Protocol) as url,
        httpx.Client(trust_env=False, timeout=60) as client,
        GateStore.open(config.store) as store,
    ):

        def page() -> bytes:
            response = client.get(f"{url}/simple/gateok/", headers={"Accept": JSON_V1})
            assert response.status_code == 200
            return response.content

        first = page()
        judged = gate.views.judgements
        assert all(page() == first for _ in range(20))
        assert gate.views.judgements == judged  # served as pre-rendered bytes
        store.add_entry(Entry(kind=EntryKind.DENY, name="gateother", reason="another project"))
        assert page() == first
        assert gate.views.judgements == judged  # the change token moved, this page's inputs did not
        store.add_entry(Entry(kind=EntryKind.DENY, name="gateok", reason="this one"))
        assert b"gateok-1.0.0" in first and b"gateok-1.0.0" not in page()  # hidden at once
        assert gate.views.judgements == judged + 1
