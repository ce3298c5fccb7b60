"""open_verified: only files a signed, uncompromised manifest vouches for; every read logged."""

from __future__ import annotations

import json
import os

import pytest

from custody.ledger.access import AccessRefused, open_verified
from custody.ledger.api import Record, mark_compromised, record
from custody.ledger.attest import MERKLE_DIGEST
from custody.ledger.dataset import Manifest, build_manifest, default_manifest_path
from custody.ledger.exposure import exposure
from custody.ledger.store import LedgerStore


@pytest.fixture
def dataset(tmp_path, store: LedgerStore, alice):
    root = tmp_path / "ds"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.jsonl").write_bytes(b'{"a": 1}\n')
    (root / "b.csv").write_bytes(b"x,y\n")
    m = build_manifest(str(root), meta={"client": "acme", "project": "p1", "producer": "vendor"})
    m.save(default_manifest_path(str(root)))
    rec = Record("produced", [{"name": "ds", "digest": {MERKLE_DIGEST: m.root}}], {"producer": "vendor"})
    record(store, [rec], [alice])
    return root


def _open(path, store, reader, **kw):
    return open_verified(
        str(path), ledger=store, principal="ann", purpose="training", keys=[reader], host="gpu-1", **kw
    )


def test_vouched_file_opens_and_the_read_is_logged(dataset, store: LedgerStore, bob) -> None:
    with _open(dataset / "sub" / "a.jsonl", store, bob) as handle:
        assert handle.read() == b'{"a": 1}\n'
    assert store.size() == 2
    entry = store.entry(1)
    assert entry.kind == "accessed"
    assert entry.refs["principal"] == ["ann"] and entry.refs["host"] == ["gpu-1"]
    assert entry.refs["key"] == [bob.keyid] and entry.refs["client"] == ["acme"]
    body = json.loads(entry.body or b"")
    assert body["signatures"][0]["keyid"] == bob.keyid
    got = exposure(store, "principal", "ann")
    assert got.touched("dataset") == ["ds"] and got.touched("project") == ["p1"]


def test_changed_file_is_refused_and_not_logged(dataset, store: LedgerStore, bob) -> None:
    (dataset / "b.csv").write_bytes(b"x,y\n1,2\n")
    with pytest.raises(AccessRefused, match="not what the signed manifest lists"):
        _open(dataset / "b.csv", store, bob)
    assert store.size() == 1


def test_unlisted_file_and_unattested_manifest_are_refused(
    dataset, store: LedgerStore, bob, tmp_path
) -> None:
    (dataset / "extra.txt").write_text("new")
    with pytest.raises(AccessRefused, match="no custody manifest lists this file"):
        _open(dataset / "extra.txt", store, bob)
    other = tmp_path / "other"
    other.mkdir()
    (other / "f").write_text("f")
    build_manifest(str(other)).save(default_manifest_path(str(other)))
    with pytest.raises(AccessRefused, match="not vouched for by the ledger: no produced attestation"):
        _open(other / "f", store, bob)


def test_manifest_signed_by_a_compromised_key_is_refused(dataset, store: LedgerStore, alice, bob) -> None:
    mark_compromised(store, alice.keyid, "2000-01-01", "key leaked", [bob])
    with pytest.raises(AccessRefused, match=r"compromised key\(s\) alice\+"):
        _open(dataset / "b.csv", store, bob)
    # the mark is the signed statement in the log: clearing the key table's copy changes nothing
    store.conn.execute("UPDATE signer_key SET compromised_since = NULL")
    with pytest.raises(AccessRefused, match=r"compromised key\(s\) alice\+"):
        _open(dataset / "b.csv", store, bob)


def test_a_mark_from_before_marks_were_logged_still_refuses(dataset, store: LedgerStore, bob) -> None:
    store.conn.execute("UPDATE signer_key SET compromised_since = '2000-01-01T00:00:00.000000Z'")
    with pytest.raises(AccessRefused, match=r"compromised key\(s\) alice\+"):
        _open(dataset / "b.csv", store, bob)


def test_unknown_signer_and_no_reader_key(dataset, store: LedgerStore, bob) -> None:
    store.conn.execute("DELETE FROM signer_key")
    with pytest.raises(AccessRefused, match="unknown key alice"):
        _open(dataset / "b.csv", store, bob)
    with pytest.raises(AccessRefused, match="reader's key"):
        open_verified(str(dataset / "b.csv"), ledger=store, principal="ann", purpose="x", keys=[])


def test_explicit_manifest(dataset, store: LedgerStore, bob) -> None:
    m = Manifest.load(default_manifest_path(str(dataset)))
    os.remove(default_manifest_path(str(dataset)))
    with _open(dataset / "sub" / "a.jsonl", store, bob, manifest=m) as handle:
        assert handle.read(2) == b'{"'


def test_unchanged_file_of_a_records_dataset_opens(tmp_path, store: LedgerStore, alice, bob) -> None:
    # Regression (issue 11): a dataset added with --records lists a records root per shard, and
    # open_verified compared the whole entry, so every unchanged shard was refused.
    root = tmp_path / "recs"
    root.mkdir()
    (root / "a.jsonl").write_bytes(b'{"a": 1}\n{"a": 2}\n')
    m = build_manifest(str(root), records=True)
    assert m.files[0].records_root is not None
    m.save(default_manifest_path(str(root)))
    record(store, [Record("produced", [{"name": "recs", "digest": {MERKLE_DIGEST: m.root}}], {})], [alice])
    with _open(root / "a.jsonl", store, bob) as handle:
        assert handle.read() == b'{"a": 1}\n{"a": 2}\n'
    assert store.size() == 2
