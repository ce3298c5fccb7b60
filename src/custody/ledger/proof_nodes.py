"""Where proofs get their nodes: the top of the tree in memory, the lowest levels hashed from
adjacent leaf rows, the rest read from the store (see `UpperLevels`). Split from `store` so the
store module keeps to the log's tables and transactions."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from custody.ledger import merkle

if TYPE_CHECKING:
    from custody.ledger.store import LedgerStore

_UPPER_NODES = 1 << 16  # upper tree levels kept in memory for proofs: at most ~2 MiB of hashes
_BLOCK_LEVELS = 5  # proof nodes below this level are hashed from their block of 32 stored leaves
_LEVEL_SHIFT = 48  # node id = level << 48 | index: one integer primary key, 2**48 leaves


def node_key(node: merkle.NodeId) -> int:
    """The `node` table's integer key of a tree node."""
    return (node[0] << _LEVEL_SHIFT) | node[1]


class UpperLevels:
    """Where proofs get their nodes: the `merkle.NodeSource` behind `inclusion_proof` and
    `consistency_proof`, so that one proof touches a handful of pages even with a cold cache.

    - The top of the tree is held in memory: every stored node at the levels that together hold
      at most `_UPPER_NODES` nodes (levels >= 9 at 10M entries, ~1.2 MiB), one bytearray of
      32-byte hashes per level, read in one range scan (levels are contiguous in `node`'s key).
      Perfect nodes are written once and never change, so an append only extends the levels: a
      node past a level's end is read (and its level extended) when a proof first needs it.
    - Nodes below `_BLOCK_LEVELS` are hashed from their complete block of 32 stored commitments,
      one range read of adjacent rows, instead of a point read (a page when cold) per level; on
      the right border, or if a leaf row is missing, they are read as stored.
    - The levels in between are one batched point read, as before.

    `LedgerStore.root` (what a checkpoint signs) and `LedgerStore.get` (and so `custody log
    verify`) always read the stored nodes, so an edited node is still found; and a proof from
    memory or from the leaves, checked against a root from the store, fails safe: it cannot
    reach a root computed from different nodes.
    """

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._lowest = -1  # lowest level held; -1: nothing loaded yet
        self._bits = 0  # bit length of the tree size the levels were chosen for
        self._lock = threading.Lock()  # a store shared by threads must not extend a level twice
        self._levels: dict[int, bytearray] = {}

    def source(self, size: int) -> merkle.NodeSource:
        with self._lock:
            self._choose(size)
        return self

    def _choose(self, size: int) -> None:
        if self._lowest < 0 or size.bit_length() > self._bits:  # first use, or the tree grew
            self._bits = max(size, self._store.size()).bit_length()
            lowest = max(0, self._bits + 2 - _UPPER_NODES.bit_length())  # <= 2 * 2**bits >> lowest
            if lowest != self._lowest:
                self._levels = {}
                self._lowest = lowest
                self._extend(lowest, None)

    def get(self, ids: Sequence[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        with self._lock:
            return self._get(ids)

    def _get(self, ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        out: dict[merkle.NodeId, bytes] = {}
        rest: list[merkle.NodeId] = []
        for node in ids:
            level, index = node
            if level >= self._lowest:
                held = self._levels.get(level)
                if held is None or len(held) < (index + 1) * merkle.HASH_SIZE:
                    self._extend(level, index)
                    held = self._levels.get(level)
                if held is not None and len(held) >= (index + 1) * merkle.HASH_SIZE:
                    out[node] = bytes(held[index * merkle.HASH_SIZE : (index + 1) * merkle.HASH_SIZE])
                    continue
            rest.append(node)
        blocks = {index >> (_BLOCK_LEVELS - level) for level, index in rest if level < _BLOCK_LEVELS}
        for block in blocks:
            self._from_leaves(block, rest, out)
        rest = [n for n in rest if n not in out]
        if rest:
            out.update(self._store.get(rest))
        return out

    def _from_leaves(
        self, block: int, wanted: Sequence[merkle.NodeId], out: dict[merkle.NodeId, bytes]
    ) -> None:
        """The nodes below `_BLOCK_LEVELS` in one complete block of stored leaf hashes: one range
        read of adjacent rows instead of a point read (a page, when cold) per level."""
        width = 1 << _BLOCK_LEVELS
        rows = self._store.conn.execute(
            "SELECT idx, commitment FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
            (block * width, (block + 1) * width),
        ).fetchall()
        if len(rows) != width:
            return  # the right border (or a damaged store): point reads
        levels = [[merkle.leaf_hash(bytes(c)) for _, c in rows]]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([merkle.node_hash(below[j], below[j + 1]) for j in range(0, len(below), 2)])
        for level, index in wanted:
            if level < _BLOCK_LEVELS and index >> (_BLOCK_LEVELS - level) == block:
                out[(level, index)] = levels[level][index - (block << (_BLOCK_LEVELS - level))]

    def _extend(self, level: int, upto: int | None) -> None:
        """Append the stored nodes after each held level's end: from `level` to the top when
        `upto` is None, else level `level` up to index `upto`. Stops at a gap or a hash of the
        wrong size (a damaged store), leaving those nodes to `LedgerStore.get`. Level 0 (small
        trees only) is hashed from the stored commitments, as `LedgerStore.get` does."""
        if level == 0:
            self._extend_leaves(upto)
            if upto is not None:
                return
            level = 1
        held = self._levels.get(level)
        first = node_key((level, 0 if held is None else len(held) // merkle.HASH_SIZE))
        last = (1 << 62) if upto is None else node_key((level, upto))
        mask = (1 << _LEVEL_SHIFT) - 1
        broken: set[int] = set()
        rows = self._store.conn.execute(
            "SELECT id, hash FROM node WHERE id >= ? AND id <= ? ORDER BY id", (first, last)
        )
        for key, value in rows:
            lv, ix = int(key) >> _LEVEL_SHIFT, int(key) & mask
            if lv in broken:
                continue
            arr = self._levels.setdefault(lv, bytearray())
            if ix != len(arr) // merkle.HASH_SIZE or len(value) != merkle.HASH_SIZE:
                broken.add(lv)
                continue
            arr += value

    def _extend_leaves(self, upto: int | None) -> None:
        held = self._levels.setdefault(0, bytearray())
        first = len(held) // merkle.HASH_SIZE
        last = (1 << 62) if upto is None else upto
        rows = self._store.conn.execute(
            "SELECT idx, commitment FROM leaf WHERE idx >= ? AND idx <= ? ORDER BY idx", (first, last)
        )
        for index, commitment in rows:
            if int(index) != len(held) // merkle.HASH_SIZE:
                break  # a missing leaf: the rest is left to `LedgerStore.get`
            held += merkle.leaf_hash(bytes(commitment))
