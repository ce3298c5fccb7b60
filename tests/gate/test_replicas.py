"""Two gate replicas sharing one PostgreSQL store: each its own Gate, scan pool, file cache and
uvicorn server; verdicts, allow/deny entries and the decision log are shared, and a file is
scanned once across both. Skipped when CUSTODY_TEST_POSTGRES is unset (see tests/postgres.py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import replace
from pathlib import Path

import httpx

from custody.gate import GateConfig, GateStore
from custody.gate.scanning import scanner_id
from custody.policy import Entry, EntryKind
from tests.gate.builders import add_wheel, json_upstream
from tests.gate.conftest import gate_config, running_gate
from tests.postgres import fresh_schema
from tests.servers import serve_asgi


def _replica(tmp_path: Path, name: str, upstream: str, store: str) -> GateConfig:
    return gate_config(tmp_path / name, upstream, store=store, replica=name, ledger="")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_replicas_share_the_store_and_scan_each_file_once(tmp_path: Path) -> None:
    upstream = tmp_path / "up"
    first_file = add_wheel(upstream, "gateok", "1.0.0")
    second_file = add_wheel(upstream, "gateok", "2.0.0")
    add_wheel(upstream, "gatedeny", "1.0.0")
    downloads: dict[str, int] = {}
    with fresh_schema() as store, serve_asgi(json_upstream(upstream, downloads=downloads)) as index:
        with contextlib.ExitStack() as replicas:
            a = replicas.enter_context(
                running_gate(_replica(tmp_path, "replica-a", f"{index}/simple/", store))
            )
            b = replicas.enter_context(
                running_gate(_replica(tmp_path, "replica-b", f"{index}/simple/", store))
            )

            # A scans; B (its own cache: it downloads the file itself) reuses A's verdict
            with httpx.Client(trust_env=False, timeout=60) as client:
                from_a = client.get(f"{a}/files/gateok/{first_file.name}")
                with GateStore.open(store) as shared:
                    after_a = shared.scan_record(_sha(first_file))
                from_b = client.get(f"{b}/files/gateok/{first_file.name}")
            assert from_a.status_code == from_b.status_code == 200
            assert from_a.content == from_b.content == first_file.read_bytes()
            assert after_a is not None and after_a.scans == 1

            # concurrent first requests to both replicas: one scan between them
            async def both() -> list[httpx.Response]:
                async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
                    url = f"/files/gateok/{second_file.name}"
                    return await asyncio.gather(*(client.get(f"{base}{url}") for base in (a, b) * 3))

            assert [r.status_code for r in asyncio.run(both())] == [200] * 6

            # an entry added once applies on every replica
            with GateStore.open(store) as shared:
                shared.add_entry(Entry(kind=EntryKind.DENY, name="gatedeny", reason="team decision"))
            with httpx.Client(trust_env=False, timeout=60, follow_redirects=True) as client:
                denied = [
                    client.get(f"{base}/files/gatedeny/gatedeny-1.0.0-py3-none-any.whl") for base in (a, b)
                ]
            assert [r.status_code for r in denied] == [403, 403]

        # both servers stopped (their recorders flushed): one shared verdict cache and decision log
        with GateStore.open(store) as shared:
            first = shared.scan_record(_sha(first_file))
            second = shared.scan_record(_sha(second_file))
            decisions = shared.decisions()
        assert first is not None and (first.scans, first.scanned_by) == (1, "replica-a")
        assert second is not None and second.scans == 1
        assert second.scanned_by in ("replica-a", "replica-b")
        served = [d for d in decisions if d.decision == "served"]
        assert len(served) == 8 and {d.sha256 for d in served} == {_sha(first_file), _sha(second_file)}
        assert [d.decision for d in decisions if d.project == "gatedeny"] == ["refused", "refused"]
    assert downloads[first_file.name] == 2  # once per replica cache, scanned once in all


def test_a_replica_that_died_mid_scan_does_not_block_the_others(tmp_path: Path) -> None:
    """A lease left by a replica that died while scanning (it never renews it) is taken over once
    it expires: the live replica scans and serves the file."""
    upstream = tmp_path / "up"
    wheel = add_wheel(upstream, "gateok", "1.0.0")
    with fresh_schema() as store, serve_asgi(json_upstream(upstream)) as index:
        with GateStore.open(store) as shared:  # "replica-dead" took the lease, then died
            config = _replica(tmp_path, "replica-live", f"{index}/simple/", store)
            scanner = scanner_id(config.scan_timeout, config.rule_dirs)
            assert shared.claim_scan(_sha(wheel), scanner, "replica-dead", 1.0).leased
        live = replace(config, scan_lease=1.0)
        with running_gate(live) as gate, httpx.Client(trust_env=False, timeout=60) as client:
            response = client.get(f"{gate}/files/gateok/{wheel.name}")
        assert response.status_code == 200 and response.content == wheel.read_bytes()
        with GateStore.open(store) as shared:
            record = shared.scan_record(_sha(wheel))
        assert record is not None and (record.scans, record.scanned_by) == (1, "replica-live")
