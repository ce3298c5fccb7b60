"""Merkle hashing and proofs against the RFC 6962 reference vectors and a naive implementation.

The vectors are the well-known ones used by certificate-transparency-go and transparency-dev/merkle
(the 8 RFC test inputs, their roots, and published inclusion/consistency proofs). The naive
implementation below is the RFC 6962 section 2.1 recursion written out directly, independent of
the node-based code under test.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    ProofError,
    leaf_hash,
    node_hash,
    range_nodes,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
# (leaf index, tree size, proof): published with 1-based leaf numbers, converted to 0-based here.
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [naive_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    return MemoryTree(leaf_hash(x) for x in LEAVES)


def test_roots_match_reference_vectors(tree: MemoryTree) -> None:
    assert tree.root(0) == EMPTY_ROOT
    for size in range(1, 9):
        assert tree.root(size) == ROOTS[size - 1], size
        assert naive_mth(LEAVES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_vectors(tree: MemoryTree, index: int, size: int, proof: list[str]) -> None:
    want = [bytes.fromhex(p) for p in proof]
    assert tree.inclusion_proof(index, size) == want
    verify_inclusion(index, size, leaf_hash(LEAVES[index]), want, ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_vectors(tree: MemoryTree, size1: int, size2: int, proof: list[str]) -> None:
    want = [bytes.fromhex(p) for p in proof]
    assert tree.consistency_proof(size1, size2) == want
    verify_consistency(size1, size2, want, ROOTS[size1 - 1], ROOTS[size2 - 1])


def _mutations(proof: list[bytes], root: bytes) -> list[tuple[str, list[bytes]]]:
    out: list[tuple[str, list[bytes]]] = [
        ("trailing garbage", [*proof, b""]),
        ("trailing root", [*proof, root]),
        ("preceding root", [root, *proof]),
    ]
    if proof:
        out.append(("removed component", proof[:-1]))
        out.append(("preceding proof[0]", [proof[0], *proof]))
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        out.append((f"bit flip in proof[{i}]", flipped))
    return out


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    good = [bytes.fromhex(p) for p in proof]
    leaf, root = leaf_hash(LEAVES[index]), ROOTS[size - 1]
    for desc, bad in _mutations(good, root):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, bad, root)
            pytest.fail(desc)
    for idx, sz in [(index + 1, size), (index ^ 2, size), (index, size * 2), (index, size // 2)]:
        with pytest.raises(ProofError):
            verify_inclusion(idx, sz, leaf, good, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"wrong"), good, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, good, EMPTY_ROOT)


@pytest.mark.parametrize(("size1", "size2", "proof"), [c for c in CONSISTENCY if c[2]])
def test_corrupted_consistency_proofs_fail(size1: int, size2: int, proof: list[str]) -> None:
    good = [bytes.fromhex(p) for p in proof]
    root1, root2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    for desc, bad in [*_mutations(good, root1), ("empty", [])]:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, bad, root1, root2)
            pytest.fail(desc)
    for s1, s2 in [
        (size1 - 1, size2),
        (size1 + 1, size2),
        (size1 ^ 2, size2),
        (size1, size2 * 2),
        (size1, size2 // 2),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(s1, s2, good, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, good, root2, root1)


def test_trivial_consistency_cases() -> None:
    verify_consistency(0, 5, [], EMPTY_ROOT, ROOTS[4])
    verify_consistency(3, 3, [], ROOTS[2], ROOTS[2])
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(3, 3, [], ROOTS[2], ROOTS[3])
    with pytest.raises(ProofError, match="back in time"):
        verify_consistency(4, 3, [], ROOTS[3], ROOTS[2])
    with pytest.raises(ProofError, match="outside"):
        MemoryTree([leaf_hash(b"a")]).inclusion_proof(1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=1, max_size=70), st.data())
def test_matches_naive_rfc_recursion(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MemoryTree(leaf_hash(x) for x in leaves)
    n = len(leaves)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    size1 = data.draw(st.integers(1, size))
    assert tree.root(size) == naive_mth(leaves[:size])
    proof = tree.inclusion_proof(index, size)
    assert proof == naive_path(index, leaves[:size])
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, tree.root(size))
    cproof = tree.consistency_proof(size1, size)
    assert cproof == ([] if size1 == size else naive_subproof(size1, leaves[:size], True))
    verify_consistency(size1, size, cproof, tree.root(size1), tree.root(size))


def test_compact_range_resumes_from_border() -> None:
    full = MemoryTree(leaf_hash(bytes([i])) for i in range(13))
    border = [h for _, h in sorted(full.get(range_nodes(0, 9)).items(), key=lambda kv: -kv[0][0])]
    resumed = CompactRange(9, border)
    for i in range(9, 13):
        resumed.append(leaf_hash(bytes([i])))
    assert resumed.root() == full.root()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.lists(st.integers(0, 70), min_size=1, max_size=6))
def test_extend_completes_the_same_nodes_as_append(start: int, batches: list[int]) -> None:
    """`CompactRange.extend` (a batch hashed a level at a time) against `append` leaf by leaf,
    from any size: the same nodes, the same border and the same root after every batch."""
    one, bulk = CompactRange(), CompactRange()
    counter = 0
    for n in [start, *batches]:
        leaves = [leaf_hash(b"%d" % (counter + i)) for i in range(n)]
        counter += n
        expected = [node for h in leaves for node in one.append(h)]
        got = [
            ((lv, first + i), h) for lv, first, hashes in bulk.extend(leaves) for i, h in enumerate(hashes)
        ]
        assert sorted(got) == sorted(expected)
        assert bulk.size == one.size and bulk.root() == one.root()
