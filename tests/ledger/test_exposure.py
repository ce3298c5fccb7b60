"""Exposure queries: from a principal, host or key to datasets, clients and projects, with proofs."""

from __future__ import annotations

import pytest

from custody.ledger import merkle
from custody.ledger.api import Record, record
from custody.ledger.exposure import exposure
from custody.ledger.store import LedgerStore


def _rec(dataset: str, client: str, project: str, principal: str, host: str = "build-1") -> Record:
    return Record(
        "accessed",
        [{"name": dataset, "digest": {"sha256": "ab" * 32}}],
        {"principal": principal, "host": host, "client": client, "project": project, "purpose": "training"},
    )


def test_exposure_by_principal_host_and_key_with_time_window(store: LedgerStore, alice, bob) -> None:
    first = record(store, [_rec("ds-a", "acme", "p1", "ann"), _rec("ds-b", "globex", "p2", "bob")], [alice])
    second = record(store, [_rec("ds-c", "acme", "p3", "ann", host="laptop-7")], [bob])
    got = exposure(store, "principal", "ann")
    assert [h.index for h in got.hits] == [first[0], second[0]]
    assert got.touched("dataset") == ["ds-a", "ds-c"]
    assert got.touched("client") == ["acme"]
    assert got.touched("project") == ["p1", "p3"]
    root = bytes.fromhex(got.root)
    for hit in got.hits:
        leaf = merkle.leaf_hash(store.entry(hit.index).commitment)
        merkle.verify_inclusion(hit.index, got.tree_size, leaf, [bytes.fromhex(p) for p in hit.proof], root)
    assert exposure(store, "host", "laptop-7").touched("dataset") == ["ds-c"]
    assert exposure(store, "key", alice.keyid).touched("dataset") == ["ds-a", "ds-b"]
    since = store.entry(second[0]).integrated_at
    assert exposure(store, "key", alice.keyid, since=since).hits == ()
    assert [h.index for h in exposure(store, "principal", "ann", since=since).hits] == [second[0]]
    assert [h.index for h in exposure(store, "principal", "ann", until=since).hits] == [first[0]]
    json_out = got.to_json()
    assert json_out["query"] == {"principal": "ann"} and json_out["clients"] == ["acme"]


def test_bad_field_and_time(store: LedgerStore) -> None:
    with pytest.raises(ValueError, match="exposure starts from"):
        exposure(store, "dataset", "x")
    with pytest.raises(ValueError, match="bad time"):
        exposure(store, "principal", "x", since="yesterday")
