"""Which reader handles which file, and the lockfiles of a project directory."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable

from custody.inventory.json_locks import read_package_lock, read_pipfile_lock
from custody.inventory.model import InventoryError, Package
from custody.inventory.project_files import read_pyproject, read_setup_cfg
from custody.inventory.requirements import read_requirements
from custody.inventory.toml_locks import read_poetry_lock, read_pylock, read_uv_lock

Reader = Callable[[str, str], list[Package]]

LOCKFILE_NAMES: tuple[tuple[str, Reader], ...] = (
    ("pylock.toml", read_pylock),
    ("pylock.*.toml", read_pylock),
    ("uv.lock", read_uv_lock),
    ("poetry.lock", read_poetry_lock),
    ("Pipfile.lock", read_pipfile_lock),
    ("package-lock.json", read_package_lock),
    ("npm-shrinkwrap.json", read_package_lock),
    ("requirements*.txt", lambda path, _shown: read_requirements(path)),
    ("constraints*.txt", lambda path, _shown: read_requirements(path)),
)
"""File-name patterns, in lookup order, and their readers."""

DECLARATION_NAMES: tuple[tuple[str, Reader], ...] = (
    ("pyproject.toml", read_pyproject),
    ("setup.cfg", read_setup_cfg),
)
"""Project declarations (mostly ranges): read when named, and found in a directory without lock files."""


def reader_for(path: str) -> Reader | None:
    """The reader for a lock, requirements or project file by its name, or None for a name it does
    not know."""
    base = os.path.basename(path)
    for pattern, reader in LOCKFILE_NAMES + DECLARATION_NAMES:
        if fnmatch.fnmatchcase(base, pattern):
            return reader
    if base.endswith((".txt", ".in")):
        return lambda p, _shown: read_requirements(p)
    return None


def read_lockfile(path: str) -> list[Package]:
    """Packages pinned by one requirements or lock file (format chosen by file name)."""
    reader = reader_for(path)
    if reader is None:
        raise InventoryError(f"{path}: not a known requirements or lock file name")
    if not os.path.exists(path):
        raise InventoryError(f"{path}: no such file")
    return reader(path, path)  # a directory, device or FIFO is refused by the reader, unread


def find_lockfiles(directory: str) -> list[str]:
    """Lock and requirements files directly in `directory` (not recursive), sorted by name; without
    any, its pyproject.toml and setup.cfg (with a lock beside them, their ranges are what it resolved)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        full = os.path.join(directory, name)
        if os.path.isfile(full) and any(fnmatch.fnmatchcase(name, p) for p, _ in LOCKFILE_NAMES):
            found.append(full)
    if not found:
        for name, _reader in DECLARATION_NAMES:
            if os.path.isfile(os.path.join(directory, name)):
                found.append(os.path.join(directory, name))
    return found
