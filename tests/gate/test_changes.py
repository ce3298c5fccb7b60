"""The change token read on the event loop (custody.gate.changes): it moves with every change
another process makes; PostgreSQL stores are left to the read thread."""

from __future__ import annotations

from pathlib import Path

from custody.advisories import AdvisoryStore
from custody.gate import GateStore
from custody.gate.changes import LoopTokens
from custody.policy import Entry, EntryKind
from tests.gate.builders import mal_record


def test_the_token_moves_with_entries_and_advisories_written_elsewhere(tmp_path: Path) -> None:
    store_path, advisory_path = str(tmp_path / "gate.sqlite"), str(tmp_path / "advisories.sqlite")
    GateStore.open(store_path).close()
    AdvisoryStore.open(advisory_path, create=True).close()
    tokens = LoopTokens.open(store_path, advisory_path)
    assert tokens is not None
    try:
        seen = [tokens.read()]
        assert tokens.read() == seen[0]
        with GateStore.open(store_path) as store:  # `custody gate deny` in another process
            store.add_entry(Entry(kind=EntryKind.DENY, name="pkg", reason="pulled"))
        seen.append(tokens.read())
        with AdvisoryStore.open(advisory_path) as advisories:  # `custody db update`
            advisories.load([mal_record("MAL-2026-0007", "pkg", ("1.0",))], origin="test")
        seen.append(tokens.read())
        assert len(set(seen)) == 3
    finally:
        tokens.close()


def test_a_postgresql_store_is_never_read_on_the_loop() -> None:
    assert LoopTokens.open("postgresql://gate@db.invalid/custody", None) is None


def test_without_an_advisory_store_only_the_entries_count(tmp_path: Path) -> None:
    path = str(tmp_path / "gate.sqlite")
    GateStore.open(path).close()
    tokens = LoopTokens.open(path, None)
    assert tokens is not None
    try:
        before = tokens.read()
        with GateStore.open(path) as store:
            store.add_entry(Entry(kind=EntryKind.ALLOW, name="pkg", reason="ok"))
        assert tokens.read() != before
    finally:
        tokens.close()
