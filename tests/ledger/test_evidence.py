"""Evidence packs: one bundle per entry about a dataset, each verifiable with the log key alone."""

from __future__ import annotations

import json
import os

import pytest

from custody.ledger.api import Record, checkpoint, record
from custody.ledger.bundle import verify_bundle
from custody.ledger.evidence import EvidenceError, write_evidence
from custody.ledger.store import LedgerStore


def _rec(kind: str, dataset: str) -> Record:
    return Record(kind, [{"name": dataset, "digest": {"sha256": "cd" * 32}}], {"client": "acme"})


def test_pack_holds_a_verifiable_bundle_per_entry(store: LedgerStore, alice, log_key, tmp_path) -> None:
    record(store, [_rec("produced", "ds"), _rec("produced", "other"), _rec("exported", "ds")], [alice])
    checkpoint(store, "o", [log_key])
    record(store, [_rec("accessed", "ds")], [alice])
    store.redact(2, "erasure")
    out = tmp_path / "pack"
    summary = write_evidence(store, "ds", str(out))
    index = json.loads((out / "index.json").read_text())
    assert index == summary
    assert [e["index"] for e in index["entries"]] == [0, 3]  # entry 2 lost its refs when redacted
    assert index["entries"][0]["bundle"] == "entries/0.proof"
    assert "no checkpoint covers entry 3" in index["entries"][1]["why_no_bundle"]
    got = verify_bundle((out / "entries" / "0.proof").read_text(), [log_key.verifier], "o")
    assert got.index == 0 and got.kind == "produced"
    assert (out / "checkpoint.txt").read_text().startswith("o\n3\n")
    assert os.listdir(out / "entries") == ["0.proof"]


def test_no_entries_or_used_directory(store: LedgerStore, alice, tmp_path) -> None:
    with pytest.raises(EvidenceError, match="no entry about dataset 'ds'"):
        write_evidence(store, "ds", str(tmp_path / "p"))
    record(store, [_rec("produced", "ds")], [alice])
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(EvidenceError, match="not empty"):
        write_evidence(store, "ds", str(tmp_path / "used"))
