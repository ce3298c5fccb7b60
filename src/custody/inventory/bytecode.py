"""Byte code that `import` would run without comparing it to any source RECORD can vouch for.

RECORD lists `.pyc` files without a hash (they are written after install), so their content is
never verified. Two kinds run whatever they hold (PEP 552, `importlib._bootstrap_external`):
- an *unchecked-hash* `.pyc` in `__pycache__`: its flags tell `import` to skip comparing it with
  the `.py` beside it, so the `.py` can stay intact while the byte code is swapped;
- a *sourceless* `.pyc` in the legacy location (`pkg/mod.pyc` with no `pkg/mod.py`), which
  `import pkg.mod` loads directly.
Timestamp and checked-hash `.pyc` files are compared with their source by `import` itself (a
mismatch is recompiled); a swapped one that copies a matching header is not detected here.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_UNCHECKED_HASH = 0b01
"""PEP 552 flags: bit 0 hash-based, bit 1 check_source. Hash-based without check_source."""


def bytecode_problem(
    path: str,
    exists: Callable[[str], bool] = os.path.lexists,
    flags: Callable[[str], int | None] | None = None,
) -> str | None:
    """Why the `.pyc` at `path` would run unverified, or None when `import` checks it (or never
    loads it: a `__pycache__` file without its source is ignored). `exists` tells whether a path
    is there (a caller that has just listed the directory passes membership in that listing);
    `flags` reads a `.pyc`'s flags word (default `pyc_flags`; a caller may answer from a cache)."""
    parent, _, name = path.rpartition(os.sep)
    grandparent, _, folder = parent.rpartition(os.sep)
    if folder != "__pycache__":
        if exists(path[:-1]):  # mod.py beside mod.pyc: the source is found first
            return None
        return "sourceless byte code: `import` runs it, and there is no source to compare it with"
    source = f"{grandparent}{os.sep}{name.split('.', 1)[0]}.py"
    if not exists(source):
        return None
    word = (flags or pyc_flags)(path)
    if word is not None and word & 0b11 == _UNCHECKED_HASH:
        return (
            f"unchecked-hash byte code: `import` runs it without comparing it with {os.path.basename(source)}"
        )
    return None


def pyc_flags(path: str) -> int | None:
    """The PEP 552 flags word of a `.pyc` header (bytes 4-8); None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        header = os.read(fd, 8)
    except OSError:
        return None
    finally:
        os.close(fd)
    return int.from_bytes(header[4:8], "little") if len(header) == 8 else None
