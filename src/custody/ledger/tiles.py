"""The log's read side as C2SP tlog-tiles (c2sp.org/tlog-tiles): static files any client can
fetch and check against a signed checkpoint, with no custody code and no database.

    checkpoint                      the signed checkpoint the tiles were cut for
    tile/<L>/<N>[.p/<W>]            hashes of tree level 8*L, nodes 256*N .. 256*N+W-1, 32 bytes each
    tile/entries/<N>[.p/<W>]        the leaves' data (our 32-byte commitments), each prefixed
                                    with its length as a big-endian uint16

N is written in groups of three digits, all but the last prefixed with "x" (1234067 ->
x001/x234/067). Full tiles never change, so an export only writes what is new; a partial tile
(`.p/W`) is written for the right edge. `TileReader` is the client side: a `merkle.NodeSource`
over such a directory, so the same proof code runs on tiles as on the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from custody.ledger import merkle
from custody.ledger.signing import Checkpoint
from custody.ledger.store import LedgerStore
from custody.ledger.verify import verify_extension

WIDTH = 256
HEIGHT = 8


def index_path(n: int) -> str:
    """A tile index as C2SP tlog-tiles writes it in paths: groups of three digits, all but the last
    prefixed with `x` (1234067 -> `x001/x234/067`)."""
    groups = [n % 1000]
    n //= 1000
    while n:
        groups.insert(0, n % 1000)
        n //= 1000
    return "/".join([f"x{g:03d}" for g in groups[:-1]] + [f"{groups[-1]:03d}"])


def tile_path(level: int | str, n: int, width: int = WIDTH) -> str:
    """The path of hash tile `n` at tile level `level` (`entries` for data tiles), with the `.p/WIDTH`
    suffix of a partial tile."""
    path = f"tile/{level}/{index_path(n)}"
    return path if width == WIDTH else f"{path}.p/{width}"


def _write(root: str, rel: str, data: bytes) -> None:
    full = os.path.join(root, *rel.split("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    tmp = full + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, full)  # readers never see half a tile


def export_tiles(store: LedgerStore, out_dir: str, checkpoint_note: str) -> int:
    """Write the tiles for the checkpoint's tree size, then the checkpoint; returns files written.

    Nothing is written unless the whole tree up to the checkpoint's size recomputes from the
    stored commitments to the checkpoint's root (O(size)): tiles are read by clients that trust
    them as the log, so an edited or missing stored hash must stop the export, not be published.
    """
    cp = Checkpoint.parse(checkpoint_note.split("\n\n", 1)[0] + "\n")
    if cp.size > store.size() or store.root(cp.size) != cp.root:
        raise merkle.ProofError(f"checkpoint of size {cp.size} does not match this log")
    try:
        recomputed = verify_extension(store, 0, merkle.EMPTY_ROOT, cp.size)
    except merkle.ProofError as exc:
        raise merkle.ProofError(f"refusing to publish tiles: the log fails verification: {exc}") from exc
    if recomputed != cp.root:
        raise merkle.ProofError(
            "refusing to publish tiles: the recomputed root differs from the checkpoint's"
        )
    written = 0
    level = 0
    while cp.size >> (HEIGHT * level):
        count = cp.size >> (HEIGHT * level)
        for n in range((count + WIDTH - 1) // WIDTH):
            width = min(WIDTH, count - n * WIDTH)
            rel = tile_path(level, n, width)
            if width == WIDTH and os.path.exists(os.path.join(out_dir, *rel.split("/"))):
                continue
            ids = [(HEIGHT * level, n * WIDTH + i) for i in range(width)]
            found = store.get(ids)
            _write(out_dir, rel, b"".join(found[i] for i in ids))
            written += 1
            if level == 0:
                rows = store.conn.execute(
                    "SELECT commitment FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
                    (n * WIDTH, n * WIDTH + width),
                )
                data = b"".join(len(c).to_bytes(2, "big") + bytes(c) for (c,) in rows)
                _write(out_dir, tile_path("entries", n, width), data)
                written += 1
        level += 1
    _write(out_dir, "checkpoint", checkpoint_note.encode())
    return written + 1


class TileReader:
    """`merkle.NodeSource` over a tiles directory for a tree of `size` leaves."""

    def __init__(self, root: str, size: int) -> None:
        self.root = root
        self.size = size
        self._cache: dict[tuple[int, int], list[bytes]] = {}

    def _tile(self, level: int, n: int) -> list[bytes]:
        key = (level, n)
        if key not in self._cache:
            count = self.size >> (HEIGHT * level)
            width = min(WIDTH, count - n * WIDTH)
            if width <= 0:
                raise merkle.ProofError(f"tile {level}/{n} is beyond a tree of size {self.size}")
            path = os.path.join(self.root, *tile_path(level, n, width).split("/"))
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise merkle.ProofError(f"missing tile {tile_path(level, n, width)}: {exc.strerror}") from exc
            if len(data) != width * 32:
                raise merkle.ProofError(
                    f"tile {tile_path(level, n, width)} has {len(data)} bytes, not {width * 32}"
                )
            self._cache[key] = [data[i : i + 32] for i in range(0, len(data), 32)]
        return self._cache[key]

    def get(self, ids: Sequence[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        """`merkle.NodeSource.get` from the tiles: each node hashed up from its tile's hashes. Raises
        ProofError when a tile is missing or too short."""
        out: dict[merkle.NodeId, bytes] = {}
        for level, index in ids:
            tile_level, k = divmod(level, HEIGHT)
            first = index << k  # first node of tile level covered by this node
            hashes = self._tile(tile_level, first // WIDTH)[first % WIDTH : first % WIDTH + (1 << k)]
            if len(hashes) != 1 << k:
                continue  # not a complete node of this tree
            while len(hashes) > 1:
                hashes = [merkle.node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
            out[(level, index)] = hashes[0]
        return out

    def entry(self, index: int) -> bytes:
        """Leaf data (the commitment) of entry `index`, from the entry bundles."""
        n, offset = divmod(index, WIDTH)
        width = min(WIDTH, self.size - n * WIDTH)
        path = os.path.join(self.root, *tile_path("entries", n, width).split("/"))
        with open(path, "rb") as handle:
            data = handle.read()
        pos = 0
        for _ in range(offset):
            pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos : pos + 2], "big")
        return data[pos + 2 : pos + 2 + length]
