"""C2SP tlog-tiles export and a tile-only client computing the same proofs as the database."""

from __future__ import annotations

import os

import pytest

from custody.ledger import merkle
from custody.ledger.api import checkpoint
from custody.ledger.signing import open_checkpoint
from custody.ledger.store import LedgerStore, NewEntry, node_key
from custody.ledger.tiles import TileReader, export_tiles, index_path, tile_path


def test_index_path_encoding_follows_the_spec() -> None:
    assert index_path(1234067) == "x001/x234/067"
    assert index_path(5) == "005"
    assert index_path(1000) == "x001/000"
    assert tile_path(0, 1234067, 10) == "tile/0/x001/x234/067.p/10"
    assert tile_path("entries", 3) == "tile/entries/003"


def _fill(store: LedgerStore, n: int) -> None:
    store.append(NewEntry("accessed", i.to_bytes(4, "big")) for i in range(n))


def _files(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}


def test_tiles_serve_the_same_proofs(store: LedgerStore, log_key, tmp_path) -> None:
    out = str(tmp_path / "tiles")
    _fill(store, 600)
    note = checkpoint(store, "o", [log_key])
    export_tiles(store, out, note)
    assert _files(out) >= {
        "checkpoint",
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/002.p/88",
    }
    cp = open_checkpoint((tmp_path / "tiles" / "checkpoint").read_text(), [log_key.verifier])
    reader = TileReader(out, cp.size)
    assert merkle.root(cp.size, reader) == cp.root
    for index in (0, 255, 256, 599):
        proof = merkle.inclusion_proof(index, cp.size, reader)
        assert proof == store.inclusion_proof(index, cp.size)
        merkle.verify_inclusion(index, cp.size, merkle.leaf_hash(reader.entry(index)), proof, cp.root)
    full = os.path.join(out, "tile", "0", "000")
    before = os.stat(full).st_mtime_ns
    _fill(store, 400)
    note2 = checkpoint(store, "o", [log_key])
    export_tiles(store, out, note2)
    assert os.stat(full).st_mtime_ns == before  # full tiles are immutable: not rewritten
    reader2 = TileReader(out, 1000)
    assert merkle.consistency_proof(600, 1000, reader2) == store.consistency_proof(600, 1000)
    merkle.verify_consistency(600, 1000, merkle.consistency_proof(600, 1000, reader2), cp.root, store.root())


def test_checkpoint_of_another_log_and_damaged_tile(store: LedgerStore, log_key, tmp_path) -> None:
    _fill(store, 300)
    note = checkpoint(store, "o", [log_key])
    with LedgerStore.open(str(tmp_path / "other.db")) as other:
        _fill(other, 301)
        with pytest.raises(merkle.ProofError, match="does not match this log"):
            export_tiles(other, str(tmp_path / "x"), note)
    out = tmp_path / "t"
    export_tiles(store, str(out), note)
    (out / "tile" / "0" / "001.p" / "44").write_bytes(b"short")
    with pytest.raises(merkle.ProofError, match="has 5 bytes"):
        merkle.inclusion_proof(0, 300, TileReader(str(out), 300))


def test_tiles_of_a_log_that_fails_verification_are_not_published(
    store: LedgerStore, log_key, tmp_path
) -> None:
    # Design gap (issue 11): `log tiles` exported the stored hashes as they were, so an edited
    # node hash off the right border (the root still matched) went out as a corrupt tile.
    store.append(NewEntry("accessed", b"e%d" % i) for i in range(300))
    note = checkpoint(store, "log.example/tiles", [log_key])
    with store.conn.transaction():
        store.conn.execute("UPDATE node SET hash = ? WHERE id = ?", (bytes(32), node_key((5, 2))))
    assert store.root(300) == open_checkpoint(note, [log_key.verifier]).root  # the border is intact
    out = tmp_path / "public"
    with pytest.raises(merkle.ProofError, match="refusing to publish tiles"):
        export_tiles(store, str(out), note)
    assert not out.exists() or not any(out.iterdir())
