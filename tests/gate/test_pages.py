"""Upstream pages kept and refreshed in the background (custody.gate.pages), through the real
app on uvicorn in front of a real upstream server that the test can hold back or stop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from custody.advisories import AdvisoryStore
from custody.gate import GateConfig, GateStore, create_app
from custody.gate.server import GateH11Protocol
from custody.gate.simple import JSON_V1
from custody.policy import Action, Entry, EntryKind, Policy, Rule
from tests.gate.builders import add_wheel, json_upstream, mal_record
from tests.gate.conftest import gate_config
from tests.servers import serve_asgi

GateServer = Callable[[GateConfig], str]
PATIENCE = 30.0
"""Upper bound for a wait on a condition (not a timing assertion: the test fails only past it)."""


class HeldUpstream:
    """A real upstream index whose project pages can be held back: `hold()` makes page requests
    wait until `release()`; `pages` counts the page requests that arrived."""

    def __init__(self, directory: Path) -> None:
        self.inner = json_upstream(directory)
        self.open = threading.Event()
        self.open.set()
        self.pages = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/simple/"):
            self.pages += 1
            await asyncio.to_thread(self.open.wait, PATIENCE)
        await self.inner(scope, receive, send)

    def hold(self) -> None:
        self.open.clear()

    def release(self) -> None:
        self.open.set()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[HeldUpstream, str]]:
    upstream = HeldUpstream(tmp_path / "up")
    add_wheel(tmp_path / "up", "gateok", "1.0.0")
    with serve_asgi(upstream) as url:
        yield upstream, f"{url}/simple/"
        upstream.release()


def filenames(client: httpx.Client, gate: str, project: str = "gateok") -> list[str]:
    response = client.get(f"{gate}/simple/{project}/", headers={"Accept": JSON_V1})
    assert response.status_code == 200, response.text
    return [f["filename"] for f in response.json()["files"]]


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def concurrently(count: int, fn: Callable[[], list[str]]) -> list[list[str]]:
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(fn())) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    return results


def test_an_expired_page_is_served_from_cache_while_one_refresh_runs(
    tmp_path: Path, gate_server: GateServer, held: tuple[HeldUpstream, str]
) -> None:
    upstream, url = held
    gate = gate_server(gate_config(tmp_path, url, page_ttl=0.2))
    with httpx.Client(trust_env=False, timeout=PATIENCE) as client:
        assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]
        assert upstream.pages == 1
        upstream.hold()  # the refresh will hang until released
        add_wheel(tmp_path / "up", "gateok", "1.1.0")
        time.sleep(0.3)  # past page_ttl

        # ten clients at once, upstream held: all answered from the kept page, not waiting on it
        answers = concurrently(10, lambda: filenames(client, gate))
        assert answers == [["gateok-1.0.0-py3-none-any.whl"]] * 10
        until(lambda: upstream.pages == 2)  # one refresh under way for all of them
        time.sleep(0.1)
        assert upstream.pages == 2 and not upstream.open.is_set()

        upstream.release()
        until(lambda: len(filenames(client, gate)) == 2)  # the refreshed page replaces the kept one


def test_a_refreshed_page_is_judged_before_requests_see_it(tmp_path: Path) -> None:
    add_wheel(tmp_path / "up", "gateok", "1.0.0")
    app = create_app(gate_config(tmp_path, str(tmp_path / "up"), page_ttl=1.0))
    with (
        serve_asgi(app, lifespan="on", http=GateH11Protocol) as gate,
        httpx.Client(trust_env=False, timeout=PATIENCE) as client,
    ):
        views = app.state.gate.views
        assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]
        assert (views.pages.fetches, views.judgements) == (1, 1)
        add_wheel(tmp_path / "up", "gateok", "1.1.0")
        time.sleep(1.1)  # past page_ttl: this request is answered from the kept page
        assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]
        until(lambda: views.pages.fetches == 2)
        until(lambda: views.judgements == 2)  # the refresh judged the new page ...
        assert len(filenames(client, gate)) == 2  # ... which requests now get
        assert views.judgements == 2  # without judging it themselves


def test_concurrent_first_requests_fetch_the_page_once(
    tmp_path: Path, gate_server: GateServer, held: tuple[HeldUpstream, str]
) -> None:
    upstream, url = held
    gate = gate_server(gate_config(tmp_path, url))
    upstream.hold()
    with httpx.Client(trust_env=False, timeout=PATIENCE) as client:
        results: list[list[str]] = []
        threads = [threading.Thread(target=lambda: results.append(filenames(client, gate))) for _ in range(8)]
        for thread in threads:
            thread.start()
        until(lambda: upstream.pages >= 1)
        time.sleep(0.3)  # let the other requests reach the gate while the first fetch hangs
        upstream.release()
        for thread in threads:
            thread.join(PATIENCE)
    assert results == [["gateok-1.0.0-py3-none-any.whl"]] * 8
    assert upstream.pages == 1


def test_entries_and_advisories_still_apply_to_a_kept_page(
    tmp_path: Path, gate_server: GateServer, held: tuple[HeldUpstream, str]
) -> None:
    upstream, url = held
    add_wheel(tmp_path / "up", "gatemal", "1.0.0")
    add_wheel(tmp_path / "up", "gatemal", "1.1.0")
    advisories = tmp_path / "advisories.sqlite"
    AdvisoryStore.open(str(advisories), create=True).close()  # empty: the MAL- check is on
    policy = Policy(actions={Rule.DENY: Action.HIDE, Rule.MALWARE_ADVISORY: Action.HIDE})
    config = gate_config(tmp_path, url, policy, page_ttl=0.2, advisory_db=str(advisories))
    gate = gate_server(config)
    with httpx.Client(trust_env=False, timeout=PATIENCE) as client:
        assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]
        assert len(filenames(client, gate, "gatemal")) == 2
        upstream.hold()
        time.sleep(0.3)  # both pages expired; their refreshes will hang: the kept pages answer
        with GateStore.open(config.store) as store:  # another process would do the same
            store.add_entry(Entry(kind=EntryKind.DENY, name="gateok", reason="pulled"))
        with AdvisoryStore.open(str(advisories)) as store:  # `custody db update`
            store.load([mal_record("MAL-2026-0099", "gatemal", ("1.1.0",))], origin="test")

        assert filenames(client, gate) == []
        assert filenames(client, gate, "gatemal") == ["gatemal-1.0.0-py3-none-any.whl"]
        hidden = client.get(f"{gate}/files/gateok/gateok-1.0.0-py3-none-any.whl")
        assert hidden.status_code == 404
        assert not upstream.open.is_set()  # all of it answered from the kept pages


def test_a_failed_refresh_keeps_the_page_only_up_to_the_limit(
    tmp_path: Path, gate_server: GateServer
) -> None:
    add_wheel(tmp_path / "up", "gateok", "1.0.0")
    limit = 3.0
    policy = Policy(stale_page_limit=timedelta(seconds=limit))
    with serve_asgi(json_upstream(tmp_path / "up")) as url:
        gate = gate_server(gate_config(tmp_path, f"{url}/simple/", policy, page_ttl=0.2))
        strict = gate_server(
            gate_config(
                tmp_path / "strict", f"{url}/simple/", Policy(stale_page_limit=timedelta(0)), page_ttl=0.2
            )
        )
        with httpx.Client(trust_env=False, timeout=PATIENCE) as client:
            assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]
            assert filenames(client, strict) == ["gateok-1.0.0-py3-none-any.whl"]
            fetched = time.monotonic()
    # the upstream is stopped now
    with httpx.Client(trust_env=False, timeout=PATIENCE) as client:
        time.sleep(0.3)  # past page_ttl, well inside the limit
        assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]  # refresh fails: kept page
        assert filenames(client, gate) == ["gateok-1.0.0-py3-none-any.whl"]
        refused = client.get(f"{strict}/simple/gateok/", headers={"Accept": JSON_V1})
        assert refused.status_code == 502 and "upstream unreachable" in refused.reason_phrase
        time.sleep(max(0.0, fetched + 0.2 + limit + 0.2 - time.monotonic()))  # past the limit
        late = client.get(f"{gate}/simple/gateok/", headers={"Accept": JSON_V1})
    assert late.status_code == 502 and "upstream unreachable" in late.reason_phrase
