"""Where proofs get their nodes: the top of the tree in memory, the lowest levels hashed from
adjacent leaf rows, the rest read from the store (see `UpperLevels`). Split from `store` so the
store module keeps to the log's tables and transactions."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from custody.ledger import merkle

if TYPE_CHECKING:
    from custody.ledger.store import LedgerStore

_UPPER_NODES = 1 << 16  # upper tree levels kept in memory for proofs: at most ~2 MiB of hashes
BLOCK_LEVELS = 5
"""Nodes below this level are not stored: each is hashed from its block of 32 stored commitments
(the leaves determine them), so an append writes about one node row per 32 entries, not two per
entry. Stores made before hold rows for these levels too; nothing reads them."""
_LEVEL_SHIFT = 48  # node id = level << 48 | index: one integer primary key, 2**48 leaves


def node_key(node: merkle.NodeId) -> int:
    """The `node` table's integer key of a tree node."""
    return (node[0] << _LEVEL_SHIFT) | node[1]


def block_nodes(
    first: int, commitments: Sequence[tuple[int, bytes]], wanted: Iterable[merkle.NodeId]
) -> dict[merkle.NodeId, bytes]:
    """The `wanted` nodes below `BLOCK_LEVELS` (leaf hashes included) of the block starting at
    leaf `first`, hashed from its stored (index, commitment) rows in index order. A missing
    leaf (a damaged store) leaves the nodes over it out, so callers find them missing."""
    sha = hashlib.sha256
    width = 1 << BLOCK_LEVELS
    if len(commitments) == width:  # the common case, a complete block: a list per level
        levels = [[sha(b"\x00" + bytes(c)).digest() for _, c in commitments]]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append(
                [sha(b"\x01" + a + b).digest() for a, b in zip(below[0::2], below[1::2], strict=True)]
            )
        return {(lv, ix): levels[lv][ix - (first >> lv)] for lv, ix in wanted}
    row: dict[int, bytes] = {int(i): merkle.leaf_hash(bytes(c)) for i, c in commitments}
    found: dict[merkle.NodeId, bytes] = {(0, i): h for i, h in row.items()}
    for level in range(1, BLOCK_LEVELS):
        start = first >> level
        row = {
            i: merkle.node_hash(row[2 * i], row[2 * i + 1])
            for i in range(start, start + (1 << (BLOCK_LEVELS - level)))
            if 2 * i in row and 2 * i + 1 in row
        }
        found.update(((level, i), h) for i, h in row.items())
    return {n: found[n] for n in wanted if n in found}


class UpperLevels:
    """Where proofs get their nodes: the `merkle.NodeSource` behind `inclusion_proof` and
    `consistency_proof`, so that one proof touches a handful of pages even with a cold cache.

    - The top of the tree is held in memory: every stored node at the levels that together hold
      at most `_UPPER_NODES` nodes (levels >= 9 at 10M entries, ~1.2 MiB; never below
      `BLOCK_LEVELS`), one bytearray of 32-byte hashes per level, read in one range scan (levels
      are contiguous in `node`'s key). Perfect nodes are written once and never change, so an
      append only extends the levels: a node past a level's end is read (and its level
      extended) when a proof first needs it.
    - Nodes below `BLOCK_LEVELS` are hashed from their block of 32 stored commitments, one range
      read of adjacent rows (`LedgerStore.get`), instead of a point read (a page when cold) per
      level.
    - The levels in between are one batched point read, as before.

    `LedgerStore.root` (what a checkpoint signs) and `LedgerStore.get` (and so `custody log
    verify`) always read the store, so an edited node or commitment is still found; and a proof
    from memory, checked against a root from the store, fails safe: it cannot reach a root
    computed from different nodes.
    """

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._lowest = -1  # lowest level held; -1: nothing loaded yet
        self._bits = 0  # bit length of the tree size the levels were chosen for
        self._lock = threading.Lock()  # a store shared by threads must not extend a level twice
        self._levels: dict[int, bytearray] = {}

    def source(self, size: int) -> merkle.NodeSource:
        """This cache as the node source for proofs in a tree of `size` leaves (widened first when the
        tree has grown past what it covers)."""
        with self._lock:
            self._choose(size)
        return self

    def _choose(self, size: int) -> None:
        if self._lowest < 0 or size.bit_length() > self._bits:  # first use, or the tree grew
            self._bits = max(size, self._store.size()).bit_length()
            # <= 2 * 2**bits >> lowest nodes; the levels below BLOCK_LEVELS are not stored
            lowest = max(BLOCK_LEVELS, self._bits + 2 - _UPPER_NODES.bit_length())
            if lowest != self._lowest:
                self._levels = {}
                self._lowest = lowest
                self._extend(lowest, None)

    def get(self, ids: Sequence[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        """`merkle.NodeSource.get`: upper nodes from memory, the rest from the store."""
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
        if rest:
            out.update(self._store.get(rest))
        return out

    def _extend(self, level: int, upto: int | None) -> None:
        """Append the stored nodes after each held level's end: from `level` to the top when
        `upto` is None, else level `level` up to index `upto`. Stops at a gap or a hash of the
        wrong size (a damaged store), leaving those nodes to `LedgerStore.get`."""
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
