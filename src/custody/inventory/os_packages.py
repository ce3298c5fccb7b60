"""Files the operating system's package manager installed, for start-up hooks no RECORD lists.

Debian's python3-* packages install files (`distutils-precedence.pth` of python3-setuptools) that
their dist-info RECORD does not name; dpkg's own database does (`/var/lib/dpkg/info/PKG.list`, with
MD5 sums in `PKG.md5sums`). A hook dpkg installed, still with dpkg's content, has an owner; one
whose content differs from dpkg's sum does not. Only read, never run; other package managers keep
binary databases and are not consulted.
"""

from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass

from custody.inventory._files import file_digest

DPKG_INFO = "/var/lib/dpkg/info"


@dataclass(frozen=True, slots=True)
class OsOwner:
    """The OS package that owns a file: the package manager, the package, and whether the file still
    matches the manager's recorded checksum."""

    manager: str
    """`dpkg`."""
    package: str
    intact: bool | None
    """The file's MD5 equals the package's recorded sum; None when the package records none."""


@functools.lru_cache(maxsize=4)
def _dpkg_index(info_dir: str) -> dict[str, tuple[str, ...]]:
    """Installed path -> the packages whose file list names it."""
    index: dict[str, list[str]] = {}
    for listing in sorted(glob.glob(os.path.join(info_dir, "*.list"))):
        package = os.path.basename(listing)[: -len(".list")]
        try:
            with open(listing, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    index.setdefault(line.rstrip("\n"), []).append(package)
        except OSError:
            continue
    return {path: tuple(packages) for path, packages in index.items()}


def _dpkg_sum(info_dir: str, package: str, path: str) -> str | None:
    try:
        with open(os.path.join(info_dir, f"{package}.md5sums"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                digest, _, listed = line.rstrip("\n").partition("  ")
                if "/" + listed.lstrip("/") == path:
                    return digest.lower()
    except OSError:
        return None
    return None


def _md5(path: str) -> str | None:
    """MD5 of a regular file (dpkg's sums are MD5); None for anything else."""
    try:
        raw = file_digest(path, "md5")
    except OSError:
        return None
    return None if raw is None else raw.hex()


def os_owner(path: str, *, info_dir: str | None = None) -> OsOwner | None:
    """Who in the OS package database installed `path` (absolute), and whether it is unchanged."""
    directory = info_dir or DPKG_INFO
    if not os.path.isdir(directory):
        return None
    packages = _dpkg_index(directory).get(os.path.normpath(path), ())
    if not packages:
        return None
    actual = _md5(path)
    verdicts = [(package, _dpkg_sum(directory, package, os.path.normpath(path))) for package in packages]
    for package, recorded in verdicts:
        if recorded is not None and recorded == actual:
            return OsOwner("dpkg", package, True)
    for package, recorded in verdicts:
        if recorded is not None:
            return OsOwner("dpkg", package, False)  # dpkg knows the file and its sum: this is not it
    return OsOwner("dpkg", packages[0], None)
