"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

Proofs are computed from *perfect subtree* hashes, never from the full leaf list: node
`(level, index)` is the hash of leaves `[index * 2**level, (index + 1) * 2**level)`, stored once
when it becomes complete. Any RFC 6962 subtree the proofs need is either one such node or, on the
right border of the tree, a right fold of O(log n) of them. So a proof costs one batched read of
O(log n) nodes from whatever `NodeSource` holds them (memory, SQLite, tiles).

Verification follows the RFC 9162 section 2.1.3.2 / 2.1.4.2 algorithms literally, because they
are the ones other implementations (and the published test vectors) are checked against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar, Protocol

from custody.errors import EXIT_FOUND, CustodyError

NodeId = tuple[int, int]
"""(level, index): level 0 holds leaf hashes."""

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(CustodyError, ValueError):
    """A proof does not verify, or was asked for with impossible sizes."""

    exit_code: ClassVar[int] = EXIT_FOUND


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256 of 0x00 and the leaf data."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256 of 0x01, the left and the right child hashes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeSource(Protocol):
    """Where perfect subtree hashes live; `get` is batched so a store answers in one query."""

    def get(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """The hashes of the perfect subtrees `ids` (level, index) that the source holds; missing
        ones are left out of the mapping."""
        ...


def _split_point(size: int) -> int:
    """Largest power of two strictly smaller than `size` (size >= 2), RFC 6962's k."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """Perfect nodes covering leaves [begin, end), largest first (begin is aligned in our uses)."""
    out: list[NodeId] = []
    while begin < end:
        level = (begin & -begin).bit_length() - 1 if begin else (end - begin).bit_length() - 1
        while begin + (1 << level) > end:
            level -= 1
        out.append((level, begin >> level))
        begin += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 hash of a right-border subtree from its perfect parts, largest first."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_plan(size: int) -> list[NodeId]:
    """The perfect subtrees whose hashes fold into the root of a tree of `size` leaves."""
    return range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> list[list[NodeId]]:
    """RFC 6962 PATH(index, D[0:size]) as node groups, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    out: list[list[NodeId]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split_point(hi - lo)
        if index < lo + k:
            out.append(range_nodes(lo + k, hi))
            hi = lo + k
        else:
            out.append(range_nodes(lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_plan(size1: int, size2: int) -> list[list[NodeId]]:
    """RFC 6962 PROOF(size1, D[0:size2]) (SUBPROOF with b = true) as node groups."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    out: list[list[NodeId]] = []
    if size1 in (0, size2):
        return out
    lo, hi, whole = 0, size2, True
    while True:
        if size1 - lo == hi - lo:
            if not whole:
                out.append(range_nodes(lo, hi))
            break
        k = _split_point(hi - lo)
        if size1 - lo <= k:
            out.append(range_nodes(lo + k, hi))
            hi = lo + k
        else:
            out.append(range_nodes(lo, lo + k))
            lo += k
            whole = False
    out.reverse()
    return out


def materialize(plan: Sequence[Sequence[NodeId]], source: NodeSource) -> list[bytes]:
    """Fetch every node of a plan in one batch and fold each group into one proof hash."""
    wanted = sorted({n for group in plan for n in group})
    found = source.get(wanted) if wanted else {}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ProofError(f"tree is missing node(s) {missing[:4]} (truncated or damaged store)")
    return [fold([found[n] for n in group]) for group in plan]


def root(size: int, source: NodeSource) -> bytes:
    """RFC 6962 root hash of the first `size` leaves, from the nodes `source` holds. Raises ProofError
    when a node it needs is missing."""
    if size == 0:
        return EMPTY_ROOT
    return materialize([root_plan(size)], source)[0]


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """RFC 6962 inclusion proof (audit path) of leaf `index` in the tree of `size` leaves. Raises
    ProofError for an index outside the tree or a missing node."""
    return materialize(inclusion_plan(index, size), source)


def consistency_proof(size1: int, size2: int, source: NodeSource) -> list[bytes]:
    """RFC 6962 consistency proof that the tree of `size1` leaves is a prefix of the one of `size2`.
    Raises ProofError for sizes out of order or a missing node."""
    return materialize(consistency_plan(size1, size2), source)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2 steps 1-4: the root implied by an inclusion proof."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_sizes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is high")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> None:
    """Raise ProofError unless `leaf` (a leaf *hash*) is entry `index` of the tree with `root_hash`."""
    if len(leaf) != HASH_SIZE:
        raise ProofError("leaf hash has the wrong length")
    if root_from_inclusion(index, size, leaf, proof) != root_hash:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of size {size}")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 2.1.4.2: raise ProofError unless tree size1/root1 is a prefix of size2/root2."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"size {size2} is smaller than size {size1}: the log went back in time")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}: the log forked")
        return
    if size1 == 0:
        if proof:
            raise ProofError("consistency from the empty tree needs an empty proof")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_sizes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != root1:
        raise ProofError(f"consistency proof does not reproduce the root of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not reproduce the root of size {size2}")


def _check_sizes(proof: Sequence[bytes]) -> None:
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("proof holds a hash of the wrong length")


class CompactRange:
    """The right border of a growing tree: appending a leaf yields the perfect nodes it completes.

    Why: appends then cost O(1) amortised hashing and need only the O(log n) border nodes of the
    tree as it was, which is what lets a store append a batch inside one short transaction.
    """

    def __init__(self, size: int = 0, border: Sequence[bytes] = ()) -> None:
        plan = range_nodes(0, size)
        if len(plan) != len(border):
            raise ProofError(f"border of size {size} needs {len(plan)} hashes, got {len(border)}")
        self.size = size
        self._stack: list[tuple[int, int, bytes]] = [
            (lv, ix, h) for (lv, ix), h in zip(plan, border, strict=True)
        ]

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf hash; returns every node it completes, the leaf itself first."""
        level, index, h = 0, self.size, leaf
        made: list[tuple[NodeId, bytes]] = [((0, index), h)]
        while self._stack and self._stack[-1][0] == level:
            _, _, left = self._stack.pop()
            level, index, h = level + 1, index >> 1, node_hash(left, h)
            made.append(((level, index), h))
        self._stack.append((level, index, h))
        self.size += 1
        return made

    def extend(self, leaves: Sequence[bytes]) -> list[tuple[int, int, list[bytes]]]:
        """Add many leaf hashes at once; returns the perfect nodes they complete, level by level
        from the leaves up, as (level, index of the first, hashes). The same nodes as `append`
        leaf by leaf (property-tested), hashed a level at a time: a batch pays one list
        comprehension per level instead of Python bookkeeping per node.

        At each level the new nodes are consecutive from index `start >> level`; when that index
        is odd its left sibling is the old border node of that level (bit `level` of `start` is
        set exactly then), so the pairs of each level are (border?, new...) taken two by two.
        """
        start = self.size
        if not leaves:
            return []
        old = {lv: (ix, h) for lv, ix, h in self._stack}
        made: list[tuple[int, int, list[bytes]]] = []
        level, first, row = 0, start, list(leaves)
        sha = hashlib.sha256
        while row:
            made.append((level, first, row))
            if first & 1:
                full = [old[level][1], *row]
                first -= 1
            else:
                full = row
            row = [
                sha(b"\x01" + a + b).digest() for a, b in zip(full[0::2], full[1::2], strict=False)
            ]  # odd tail: no parent yet
            level, first = level + 1, first >> 1
        self.size = start + len(leaves)
        by_level = {lv: (f, hashes) for lv, f, hashes in made}
        stack: list[tuple[int, int, bytes]] = []
        for lv, ix in range_nodes(0, self.size):
            new = by_level.get(lv)
            if new is not None and new[0] <= ix < new[0] + len(new[1]):
                stack.append((lv, ix, new[1][ix - new[0]]))
            else:
                stack.append((lv, ix, old[lv][1]))  # a border node the batch did not replace
        self._stack = stack
        return made

    def root(self) -> bytes:
        """The root hash of the leaves appended so far (the empty tree's root before any)."""
        return fold([h for _, _, h in self._stack]) if self._stack else EMPTY_ROOT


class MemoryTree:
    """A whole tree in memory (dataset manifests, tests): every perfect node, per level."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        self._range = CompactRange()
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Append a leaf hash (already `leaf_hash`ed), keeping every perfect node it completes."""
        for (level, _index), h in self._range.append(leaf):
            if level == len(self.levels):
                self.levels.append([])
            self.levels[level].append(h)

    def get(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """`NodeSource.get` over the nodes kept in memory."""
        out: dict[NodeId, bytes] = {}
        for level, index in ids:
            if level < len(self.levels) and index < len(self.levels[level]):
                out[(level, index)] = self.levels[level][index]
        return out

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (default: all)."""
        return root(self.size if size is None else size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """`inclusion_proof` of leaf `index` in the first `size` leaves (default: all)."""
        return inclusion_proof(index, self.size if size is None else size, self)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """`consistency_proof` from `size1` leaves to `size2` (default: all)."""
        return consistency_proof(size1, self.size if size2 is None else size2, self)
