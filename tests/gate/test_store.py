"""The gate store on both backends (SQLite file, PostgreSQL schema): verdicts, decisions, entries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from custody.gate.store import DecisionRow, GateStore, StoredVerdict
from custody.policy import Entry, EntryKind
from tests.postgres import BACKENDS, store_target

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _row(filename: str, decision: str, at: datetime) -> DecisionRow:
    return DecisionRow(
        at=at, client="10.0.0.7", user_agent="pip/26", project="pkg", version="1.0", filename=filename,
        sha256="ab" * 32, verdict="clean", rule=None, decision=decision, reason="",
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_gate_store_contract(backend: str, tmp_path: Path) -> None:
    with store_target(backend, tmp_path, "gate.sqlite") as target, GateStore.open(target) as store:
        verdict = StoredVerdict(
            sha256="cd" * 32, scanner="s1", verdict="malicious", rule="r", location="x.pth:1", summary="bad"
        )
        store.save_verdict(verdict)
        store.save_verdict(verdict)  # idempotent upsert
        assert store.verdict("cd" * 32, "s1") == verdict
        assert store.verdict("cd" * 32, "s2") is None  # another scanner scans again

        store.add_decisions([_row("a.whl", "served", NOW - timedelta(days=2)), _row("b.whl", "refused", NOW)])
        assert [d.filename for d in store.decisions()] == ["a.whl", "b.whl"]
        assert [d.filename for d in store.decisions(since=NOW - timedelta(hours=1))] == ["b.whl"]
        assert [d.filename for d in store.decisions(decision="refused")] == ["b.whl"]

        until = NOW + timedelta(days=1)
        store.add_entry(
            Entry(kind=EntryKind.ALLOW, name="pkg", version="1.0", reason="ok", author="ann", until=until)
        )
        store.add_entry(Entry(kind=EntryKind.DENY, name="pkg", reason="no"))
        entries = store.entries()
        assert [(e.kind, e.spec, e.until) for e in entries] == [
            (EntryKind.ALLOW, "pkg==1.0", until),
            (EntryKind.DENY, "pkg", None),
        ]
        assert store.remove_entries(EntryKind.DENY, "pkg", None) == 1
        assert [e.spec for e in store.entries()] == ["pkg==1.0"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_scan_leases_let_one_replica_scan_and_survive_a_dead_one(backend: str, tmp_path: Path) -> None:
    sha = "ef" * 32
    with (
        store_target(backend, tmp_path, "gate.sqlite") as target,
        GateStore.open(target) as first,
        GateStore.open(target) as second,
    ):
        assert first.claim_scan(sha, "s1", "replica-a", 30).leased
        assert first.claim_scan(sha, "s1", "replica-a", 30).leased  # its own lease, again
        busy = second.claim_scan(sha, "s1", "replica-b", 30)
        assert not busy.leased and busy.verdict is None  # replica-a is scanning: wait
        assert first.renew_lease(sha, "replica-a", 30)
        assert not second.renew_lease(sha, "replica-b", 30)
        verdict = StoredVerdict(
            sha256=sha, scanner="s1", verdict="clean", rule=None, location=None, summary="clean"
        )
        first.save_verdict(verdict, by="replica-a")
        assert second.claim_scan(sha, "s1", "replica-b", 30).verdict == verdict
        record = second.scan_record(sha)
        assert record is not None and (record.scans, record.scanned_by) == (1, "replica-a")

        # replica-a takes a lease and dies: an expired lease is taken over
        other = "01" * 32
        assert first.claim_scan(other, "s1", "replica-a", -1).leased
        assert second.claim_scan(other, "s1", "replica-b", 30).leased
        assert not first.renew_lease(other, "replica-a", 30)
        # a scan that erred gives the lease up: another replica may try at once
        second.release_lease(other, "replica-b")
        assert first.claim_scan(other, "s1", "replica-a", 30).leased


@pytest.mark.parametrize("backend", BACKENDS)
def test_entries_version_moves_with_every_change(backend: str, tmp_path: Path) -> None:
    with (
        store_target(backend, tmp_path, "gate.sqlite") as target,
        GateStore.open(target) as store,
        GateStore.open(target) as other,  # another replica, or `custody gate deny`
    ):
        seen = [store.entries_version()]
        other.add_entry(Entry(kind=EntryKind.DENY, name="pkg", reason="pulled"))
        seen.append(store.entries_version())
        other.add_entry(Entry(kind=EntryKind.ALLOW, name="lib", reason="ok"))
        seen.append(store.entries_version())
        other.remove_entries(EntryKind.DENY, "pkg", None)
        seen.append(store.entries_version())
        other.add_entry(Entry(kind=EntryKind.DENY, name="pkg", reason="again"))  # same count as before
        seen.append(store.entries_version())
        assert store.entries_version() == seen[-1]  # stable while nothing changes
    assert len(set(seen)) == len(seen)
