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

import importlib.util
import marshal
import os
import re
import sys
from collections.abc import Callable

MAX_PYC_BYTES = 16 * 1024 * 1024
"""Larger `.pyc` or source files are not compared (import would still load them)."""
UNCHECKED_HASH = 0b01
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
    parent = path.rpartition(os.sep)[0]
    if parent.rpartition(os.sep)[2] != "__pycache__":
        if exists(path[:-1]):  # mod.py beside mod.pyc: the source is found first
            return None
        return "sourceless byte code: `import` runs it, and there is no source to compare it with"
    source = pyc_source(path)
    if not exists(source):
        return None
    word = (flags or pyc_flags)(path)
    if word is not None and word & 0b11 == UNCHECKED_HASH:
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


def pyc_source(path: str) -> str:
    """The `.py` a `__pycache__/NAME.TAG[.opt-N].pyc` is compiled from."""
    parent, _, name = path.rpartition(os.sep)
    grandparent = parent.rpartition(os.sep)[0]
    return f"{grandparent}{os.sep}{name.split('.', 1)[0]}.py"


_OPT_LEVEL = re.compile(r"\.opt-([12])\.pyc$")


def compiled_differs(path: str, source: str) -> str | None:
    """Why the `__pycache__` `.pyc` at `path` runs other code than `source`, or None.

    Only a `.pyc` that `import` would load is compared: one written for this interpreter (its
    cache tag), whose header matches the source (mtime and size, or the source hash), so `import`
    takes its code as the source's. Its code object is then compared with a compile of the source
    (code objects compare by byte code, constants and names, not by file name). The `.pyc` is
    unmarshalled, never executed; a `.pyc` that cannot be unmarshalled is reported."""
    name = path.rpartition(os.sep)[2]
    if f".{sys.implementation.cache_tag}." not in name:
        return None  # another interpreter's byte code: not comparable here, not loaded by this one
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PYC_BYTES + 1)
        with open(source, "rb") as handle:
            text = handle.read(MAX_PYC_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_PYC_BYTES or len(text) > MAX_PYC_BYTES or len(data) < 16:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if data[:4] != importlib.util.MAGIC_NUMBER:
        return None  # `import` rejects it and recompiles
    if flags & 0b1:
        if data[8:16] != importlib.util.source_hash(text):
            return None  # checked-hash: `import` recompiles; unchecked: reported by bytecode_problem
    else:
        try:
            info = os.stat(source)
        except OSError:
            return None
        header = (int(info.st_mtime) & 0xFFFFFFFF, info.st_size & 0xFFFFFFFF)
        if (int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")) != header:
            return None  # `import` sees a stale header and recompiles
    level = _OPT_LEVEL.search(name)
    try:
        expected = compile(
            text, source, "exec", dont_inherit=True, optimize=int(level.group(1)) if level else 0
        )
    except (SyntaxError, ValueError):
        return None  # `import` would fail on the source too
    try:
        found = marshal.loads(data[16:])  # noqa: S302 - data only: compared, never run
    except (ValueError, EOFError, TypeError):
        return (
            "byte code that cannot be read, with a header that makes `import` load it instead of the source"
        )
    if found != expected:
        return (
            f"swapped byte code: `import` loads it (its header matches {os.path.basename(source)}), "
            "but its code is not that source's"
        )
    return None
