"""What the scan engine reads of each member: code in full, everything else by its magic number.

Data files (JSON, text, binaries) never run, so only their first bytes are loaded to spot
embedded executables; in a zip they are not even inflated beyond that. Pickles, models, YAML and
`.pyc` files, whose loading can run code, get a bounded prefix (`custody.scan.carriers`).
JavaScript is read only in npm packages, where it is what runs; in a Python package it is browser
or tool data.
"""

from __future__ import annotations

from custody.artifacts.selection import MAGIC_PREFIX, is_nested_archive
from custody.scan.carriers import carrier_bytes

CODE_SUFFIXES = (
    ".py",
    ".pyw",
    ".pth",
    ".start",
    ".site.toml",
    ".sh",
    ".bash",
    ".zsh",
    ".bat",
    ".cmd",
    ".ps1",
    ".vbs",
)
JS_SUFFIXES = (".js", ".cjs", ".mjs")
METADATA_NAMES = frozenset(
    {
        "PKG-INFO",
        "METADATA",
        "package.json",
        "setup.cfg",
        "entry_points.txt",
        "pyproject.toml",
        "requires.txt",
    }
)
MAX_NESTED_ARCHIVE = 64 * 1024 * 1024
"""Nested archives larger than this are not opened (vendored data sets, test corpora)."""


def scan_selector(path: str, size: int) -> int:
    """How many bytes of member `path` (of `size` bytes) the scan reads (the artifact reader's
    selector): all of code, metadata and nested archives up to a bound, what payload carriers
    (pickles, models, YAML, bytecode) need, and only the leading bytes of anything else."""
    base = path.rsplit("/", 1)[-1]
    lower = base.lower()
    if lower.endswith(CODE_SUFFIXES) or base in METADATA_NAMES:
        return size
    if lower.endswith(JS_SUFFIXES) and (path.startswith("package/") or "!/package/" in path):
        return size
    if is_nested_archive(lower):
        return size if size <= MAX_NESTED_ARCHIVE else MAGIC_PREFIX
    carrier = carrier_bytes(path, size)
    if carrier is not None:
        return carrier  # pickles, models, YAML and bytecode: read as payload carriers
    return min(size, MAGIC_PREFIX)
