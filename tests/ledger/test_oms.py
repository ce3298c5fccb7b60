"""OMS v1.0 export: resources sorted by name, subject digest = SHA-256 over the raw digests."""

from __future__ import annotations

import hashlib

from custody.ledger.dataset import build_manifest
from custody.ledger.oms import OMS_PREDICATE_TYPE, oms_statement


def test_oms_statement(tmp_path) -> None:
    root = tmp_path / "model"
    (root / "d0").mkdir(parents=True)
    (root / "d0" / "f00").write_bytes(b"a")
    (root / "f3").write_bytes(b"b")
    (root / "B").write_bytes(b"c")
    m = build_manifest(str(root))
    stmt = oms_statement(m, "model")
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == OMS_PREDICATE_TYPE
    names = [r["name"] for r in stmt["predicate"]["resources"]]
    assert names == ["B", "d0/f00", "f3"]
    digests = [hashlib.sha256(x).digest() for x in (b"c", b"a", b"b")]
    assert stmt["subject"][0]["digest"]["sha256"] == hashlib.sha256(b"".join(digests)).hexdigest()
    assert stmt["subject"][0]["digest"]["custodyMerkleSha256"] == m.root
    assert stmt["predicate"]["serialization"]["method"] == "files"
