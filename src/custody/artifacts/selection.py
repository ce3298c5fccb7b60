"""Which members a reader loads into memory, and how much of each.

Readers never decide this alone: a caller passes a `Selector`. The default one loads text a
scanner can read (source, scripts, metadata, start-up files) in full and the first bytes of
everything else, which is enough to recognise executables and nested archives by magic number.
"""

from __future__ import annotations

from typing import Protocol

MAGIC_PREFIX = 64
"""Bytes loaded from members we do not read in full: enough for PE/ELF/Mach-O/archive magic."""

TEXT_SUFFIXES = frozenset(
    {
        ".py",
        ".pyw",
        ".pyi",
        ".pth",
        ".toml",
        ".cfg",
        ".txt",
        ".json",
        ".js",
        ".cjs",
        ".mjs",
        ".ts",
        ".sh",
        ".bash",
        ".zsh",
        ".bat",
        ".cmd",
        ".ps1",
        ".vbs",
        ".in",
        ".ini",
        ".yml",
        ".yaml",
        ".service",
        ".desktop",
        ".plist",
        ".pyx",
        ".pxd",
        ".start",
    }
)
"""Suffixes loaded in full for rule evaluation."""

TEXT_BASENAMES = frozenset(
    {
        "PKG-INFO",
        "METADATA",
        "RECORD",
        "WHEEL",
        "entry_points.txt",
        "top_level.txt",
        "Makefile",
        "requires.txt",
        "setup.cfg",
        "package.json",
        "binding.gyp",
    }
)

NESTED_ARCHIVE_SUFFIXES = (".whl", ".egg", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


class Selector(Protocol):
    """Decides how many bytes of each archive member to load."""

    def __call__(self, path: str, size: int) -> int:
        """Return how many bytes of the member at `path` (of `size` bytes) to load; 0 loads nothing."""
        ...


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def is_text_candidate(path: str) -> bool:
    """True for members whose name says text worth scanning (source, scripts, metadata)."""
    base = _basename(path)
    if base in TEXT_BASENAMES:
        return True
    dot = base.rfind(".")
    return dot > 0 and base[dot:].lower() in TEXT_SUFFIXES


def is_nested_archive(path: str) -> bool:
    """True for members whose name says archive (wheel, egg, zip, tarball)."""
    return path.lower().endswith(NESTED_ARCHIVE_SUFFIXES)


def default_selector(path: str, size: int) -> int:
    """Load scannable text fully and a magic-number prefix of everything else."""
    if is_text_candidate(path) or is_nested_archive(path):
        return size
    return min(size, MAGIC_PREFIX)


def wants_whole(selector: Selector, path: str, size: int) -> bool:
    """Whether `selector` reads this member in full (code, metadata, nested archives), as opposed
    to a magic-number prefix. Tiny members are probed at a larger size: a 10-byte data file is
    "whole" at 64 bytes, but it is still data."""
    return selector(path, max(size, MAGIC_PREFIX + 1)) >= max(size, MAGIC_PREFIX + 1)
