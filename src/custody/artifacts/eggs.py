"""Old install layouts `importlib.metadata` still finds: where their metadata lives.

Besides `*.dist-info` and `*.egg-info` directories, `importlib.metadata` (hence `pip list` and
pip-audit) reports an `*.egg-info` that is a single file (distutils' `install_egg_info`: the file is
the PKG-INFO), and the `EGG-INFO` of every `*.egg` on `sys.path`, a directory or a zip file,
which `easy_install` put there through a `.pth` path line (`easy-install.pth`).
"""

from __future__ import annotations

import os
import stat
import zipfile

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


def _eggs_on_path(site_dir: str, names: list[str]) -> set[str]:
    """Absolute paths ending in `.egg` that the `.pth` files among `names` put on `sys.path`, as
    `site.addpackage` resolves them (relative to `site_dir`)."""
    found: set[str] = set()
    for name in names:
        if not name.endswith(".pth"):
            continue
        for line in pth_lines(_read_pth(os.path.join(site_dir, name))):
            if line.kind != "path":
                continue
            entry = os.path.abspath(os.path.join(site_dir, line.text))
            if entry.lower().endswith(".egg"):
                found.add(entry)
    return found


def egg_info_dirs(site_dir: str, names: list[str]) -> list[str]:
    """`EGG-INFO` directories (absolute, sorted) of the `*.egg` directories that the `.pth` files
    among `names` put on `sys.path`."""
    found = {info for egg in _eggs_on_path(site_dir, names) if (info := _egg_info_child(egg)) is not None}
    return sorted(found)


MAX_PKG_INFO_BYTES = 65536
"""Read of a zipped egg's PKG-INFO (the headers are at its start; the archive may be hostile)."""


def zipped_egg_infos(site_dir: str, names: list[str]) -> list[tuple[str, str]]:
    """(absolute path of the egg, text of its `EGG-INFO/PKG-INFO`) for every zipped egg the `.pth`
    files among `names` put on `sys.path`, sorted: `importlib.metadata` reads a zip on `sys.path`
    as a directory, so `easy_install`'s default zipped eggs are listed (by pip and pip-audit too).
    An egg whose PKG-INFO cannot be read is given with empty text (listed, name unknown)."""
    found: list[tuple[str, str]] = []
    for egg in sorted(_eggs_on_path(site_dir, names)):
        try:
            if not stat.S_ISREG(os.stat(egg).st_mode) or not zipfile.is_zipfile(egg):
                continue
        except (OSError, ValueError):
            continue
        found.append((egg, _zip_pkg_info(egg)))
    return found


def _zip_pkg_info(egg: str) -> str:
    try:
        with zipfile.ZipFile(egg) as archive:
            # importlib.metadata matches the EGG-INFO folder without regard to case
            member = next(
                (n for n in archive.namelist() if n.count("/") == 1 and n.lower() == "egg-info/pkg-info"),
                None,
            )
            if member is None:
                return ""
            with archive.open(member) as handle:
                return handle.read(MAX_PKG_INFO_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError, zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError):
        return ""


def _egg_info_child(egg_dir: str) -> str | None:
    """The `EGG-INFO` directory of an egg (matched without regard to case, as importlib.metadata does)."""
    try:
        children = os.listdir(egg_dir)
    except (OSError, ValueError):
        return None  # a zipped egg (see zipped_egg_infos) or a missing path
    for child in children:
        full = os.path.join(egg_dir, child)
        if child.lower() == "egg-info" and os.path.isdir(full):
            return full
    return None
