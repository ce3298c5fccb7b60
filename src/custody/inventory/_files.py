"""One way to read a declared file (lock, requirements, project file): bounded and non-blocking.

A requirements include such as `-r /dev/zero` or `-r /dev/stdin`, or a FIFO planted where a lock
file is expected, must not hang an audit or fill memory: only regular files of sane size are read.
"""

from __future__ import annotations

import os
import stat

from custody.inventory.model import InventoryError

MAX_DECLARED_BYTES = 64 * 1024 * 1024
"""The largest lock or requirements file read (real package-lock.json files stay under ~20 MB)."""


def read_declared(path: str, shown: str) -> bytes:
    """The bytes of `path`; InventoryError when it is missing, not a regular file or too large."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InventoryError(f"{shown}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL byte in the name (from an include line)
        raise InventoryError(f"{shown}: not a usable file name: {exc}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked on the descriptor: Python refuses to wrap a directory
        os.close(fd)
        raise InventoryError(f"{shown}: not a regular file (a device, FIFO or directory is not read)")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > MAX_DECLARED_BYTES:
            raise InventoryError(f"{shown}: {info.st_size} bytes, larger than {MAX_DECLARED_BYTES}: not read")
        try:
            data = handle.read(MAX_DECLARED_BYTES + 1)
        except OSError as exc:
            raise InventoryError(f"{shown}: {exc.strerror or exc}") from exc
    if len(data) > MAX_DECLARED_BYTES:
        raise InventoryError(f"{shown}: grew past {MAX_DECLARED_BYTES} bytes while read: not read")
    return data
