"""Dataset manifests: hashing, Merkle root, verify (changed/added/removed), file proofs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from custody.ledger.dataset import (
    DatasetError,
    Manifest,
    build_manifest,
    check_file_proof,
    default_manifest_path,
    prove_file,
    prove_record,
    verify_tree,
)
from custody.ledger.merkle import ProofError
from tests.ledger.test_merkle import naive_mth


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "train" / "shard").mkdir(parents=True)
    (root / "train" / "a.jsonl").write_bytes(b'{"x": 1}\n' * 1000)
    (root / "train" / "shard" / "b.csv").write_bytes(b"a,b\n1,2\n")
    (root / "README").write_text("labels v3\n")
    (root / "empty").write_bytes(b"")
    (root / "big.bin").write_bytes(os.urandom(3 << 20))  # several read buffers
    os.symlink("/etc/passwd", root / "link")
    return root


def test_manifest_lists_sorted_files_with_streamed_hashes(tree) -> None:
    m = build_manifest(str(tree), meta={"producer": "vendor"})
    assert [f.path for f in m.files] == ["README", "big.bin", "empty", "train/a.jsonl", "train/shard/b.csv"]
    assert m.skipped == ("link",)
    big = next(f for f in m.files if f.path == "big.bin")
    assert big.sha256 == hashlib.sha256((tree / "big.bin").read_bytes()).hexdigest()
    assert big.size == 3 << 20
    leaves = [f.path.encode() + b"\0" + bytes.fromhex(f.sha256) + f.size.to_bytes(8, "big") for f in m.files]
    assert m.root == naive_mth(leaves).hex()
    assert build_manifest(str(tree), jobs=1).root == m.root


def test_single_file_dataset(tree) -> None:
    m = build_manifest(str(tree / "README"))
    assert [f.path for f in m.files] == ["README"]


def test_verify_names_changed_added_removed(tree) -> None:
    m = build_manifest(str(tree))
    assert verify_tree(str(tree), m).ok
    (tree / "train" / "a.jsonl").write_bytes(b'{"x": 2}\n' * 1000)
    (tree / "empty").unlink()
    (tree / "train" / "new.jsonl").write_bytes(b"{}\n")
    diff = verify_tree(str(tree), m)
    assert (diff.changed, diff.added, diff.removed) == (("train/a.jsonl",), ("train/new.jsonl",), ("empty",))
    assert not diff.ok and diff.root != m.root


def test_manifest_round_trip_and_tamper(tree, tmp_path) -> None:
    m = build_manifest(str(tree), meta={"client": "acme"})
    path = default_manifest_path(str(tree))
    assert path.endswith("data.custody.json") and not path.startswith(str(tree) + os.sep)
    m.save(path)
    loaded = Manifest.load(path)
    assert (loaded.root, loaded.files, loaded.meta) == (m.root, m.files, {"client": "acme"})
    data = json.loads(Path(path).read_text())
    data["files"][0]["sha256"] = "00" * 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="manifest edited"):
        Manifest.load(str(bad))
    bad.write_text("{")
    with pytest.raises(DatasetError, match="not JSON"):
        Manifest.load(str(bad))


def test_file_proof(tree) -> None:
    m = build_manifest(str(tree))
    proof = prove_file(m, "train/shard/b.csv")
    assert proof["index"] == 4 and proof["tree_size"] == 5 and proof["root"] == m.root
    check_file_proof(proof, str(tree / "train" / "shard" / "b.csv"))
    with pytest.raises(DatasetError, match="content differs"):
        check_file_proof(proof, str(tree / "README"))
    forged = dict(proof, sha256="11" * 32)
    with pytest.raises(ProofError):
        check_file_proof(forged)
    with pytest.raises(DatasetError, match="not in the manifest"):
        prove_file(m, "nope")


def test_missing_path(tmp_path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        build_manifest(str(tmp_path / "none"))


def test_record_level_leaves(tree) -> None:
    m = build_manifest(str(tree), records=True)
    shard = next(f for f in m.files if f.path == "train/a.jsonl")
    assert shard.records == 1000 and shard.records_root is not None
    assert next(f for f in m.files if f.path == "big.bin").records_root is None
    assert m.root != build_manifest(str(tree)).root  # the records roots are committed to
    assert naive_mth([b'{"x": 1}'] * 1000).hex() == shard.records_root
    csv = next(f for f in m.files if f.path == "train/shard/b.csv")
    assert csv.records == 2
    proof = prove_record(m, "train/shard/b.csv", str(tree / "train" / "shard" / "b.csv"), 1)
    check_file_proof(proof, record=b"1,2")
    with pytest.raises(DatasetError, match="content differs"):
        check_file_proof(proof, record=b"1,3")
    with pytest.raises(DatasetError, match="no record 2"):
        prove_record(m, "train/shard/b.csv", str(tree / "train" / "shard" / "b.csv"), 2)
    with pytest.raises(DatasetError, match="hashed without records"):
        prove_record(
            build_manifest(str(tree)), "train/shard/b.csv", str(tree / "train" / "shard" / "b.csv"), 0
        )
    assert Manifest.from_json(m.to_json()).files == m.files
    assert verify_tree(str(tree), m).ok
    (tree / "train" / "shard" / "b.csv").write_bytes(b"a,b\n1,9\n")
    assert verify_tree(str(tree), m).changed == ("train/shard/b.csv",)
    with pytest.raises(DatasetError, match="records differ"):
        prove_record(m, "train/shard/b.csv", str(tree / "train" / "shard" / "b.csv"), 1)
