"""Old install layouts `importlib.metadata` still finds: where their metadata lives.

Besides `*.dist-info` and `*.egg-info` directories, `importlib.metadata` (hence `pip list` and
pip-audit) reports an `*.egg-info` that is a single file (distutils' `install_egg_info`: the file is
the PKG-INFO), and the `EGG-INFO` directory of every `*.egg` directory on `sys.path`, which
`easy_install` put there through a `.pth` path line (`easy-install.pth`).
"""

from __future__ import annotations

import os
import stat

from custody.startup_files import pth_lines

MAX_PTH_BYTES = 16 * 1024 * 1024
"""Largest `.pth` whose path lines are followed here (an easy-install.pth is a few KiB)."""


def _read_pth(path: str) -> str:
    """A `.pth` as text ("" when it is not a readable regular file: never waits on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return ""
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        try:
            return handle.read(MAX_PTH_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return ""


def egg_info_dirs(site_dir: str, names: list[str]) -> list[str]:
    """`EGG-INFO` directories (absolute, sorted) of the `*.egg` directories that the `.pth` files
    among `names` put on `sys.path`, as `site.addpackage` resolves them (relative to `site_dir`)."""
    found: set[str] = set()
    for name in names:
        if not name.endswith(".pth"):
            continue
        for line in pth_lines(_read_pth(os.path.join(site_dir, name))):
            if line.kind != "path":
                continue
            entry = os.path.abspath(os.path.join(site_dir, line.text))
            if not entry.lower().endswith(".egg"):
                continue
            info = _egg_info_child(entry)
            if info is not None:
                found.add(info)
    return sorted(found)


def _egg_info_child(egg_dir: str) -> str | None:
    """The `EGG-INFO` directory of an egg (matched without regard to case, as importlib.metadata does)."""
    try:
        children = os.listdir(egg_dir)
    except (OSError, ValueError):
        return None  # a zipped egg or a missing path: nothing importlib.metadata lists from a directory
    for child in children:
        full = os.path.join(egg_dir, child)
        if child.lower() == "egg-info" and os.path.isdir(full):
            return full
    return None
