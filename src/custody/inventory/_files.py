"""Reading files an audit meets without hanging or being led elsewhere.

`read_declared`: a lock, requirements or project file, bounded and non-blocking (a requirements
include such as `-r /dev/zero` or `-r /dev/stdin`, or a FIFO planted where a lock file is
expected, must not hang an audit or fill memory). `file_digest`: the hash of an installed file,
never through a final symbolic link and never from anything but a regular file.
"""

from __future__ import annotations

import errno
import hashlib
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


_CHUNK = 1 << 20


def file_digest(path: str, algorithm: str) -> bytes | None:
    """The raw `algorithm` digest of the regular file at `path`; None when hashlib has no such
    algorithm. Raises OSError when the file cannot be read or is not a regular file (a link is not
    followed, a FIFO is not waited on)."""
    try:
        # MD5 only ever checks an OS package database's sums here, never a security decision alone
        hasher = hashlib.new(algorithm, usedforsecurity=algorithm.lower() != "md5")
    except (ValueError, TypeError):
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # checked on the descriptor: no race with a swap
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.digest()
