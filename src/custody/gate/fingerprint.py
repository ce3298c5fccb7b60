"""Which scanner produced a verdict: a sha256 over everything that can change one.

A stored verdict is reused only by the same scanner. Keying it by the custody version alone would
let a rule or engine change made at the same version (a development install, a hot-fixed rule, a
site's own rules in `CUSTODY_RULES`) reuse verdicts the new scanner might not give. The
fingerprint covers:

- the custody version;
- every file of the `custody.scan` package (its source, its YARA rules under `yara/`, its data
  files), read through `importlib.resources` so it works from a wheel, a zip or a checkout;
- every rule file of the extra rule directories the gate scans with;
- the scan timeout (a file that timed out under a short budget may finish under a longer one).

The package part is computed once per process (the installed files do not change under a
running gate; a new install is a new process); rule directories are read each time a scanner is
set up, which is once per scan pool.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # importlib.abc's alias is deprecated from 3.12 on
    from importlib.abc import Traversable

from custody import __version__

SCAN_PACKAGE = "custody.scan"
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_RULE_SUFFIXES = (".yar", ".yara")


def _walk(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name not in _SKIPPED_DIRS:
                yield from _walk(entry, f"{name}/")
        elif entry.is_file() and not entry.name.endswith(_SKIPPED_SUFFIXES):
            yield name, entry


def tree_digest(folder: Traversable) -> str:
    """sha256 over the relative names and contents of every file under `folder` (byte code and
    `__pycache__` left out: they follow from the sources)."""
    digest = hashlib.sha256()
    for name, entry in sorted(_walk(folder), key=lambda item: item[0]):
        data = entry.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def scan_package_digest() -> str:
    """`tree_digest` of the installed `custody.scan` package, once per process."""
    return tree_digest(resources.files(SCAN_PACKAGE))


def rules_digest(rule_dirs: tuple[str, ...]) -> str:
    """sha256 over the rule files (`*.yar`, `*.yara`, as the scanner loads them) of each extra
    rule directory, in the order given; a directory that does not exist counts as empty (the
    scanner refuses it anyway)."""
    digest = hashlib.sha256()
    for index, directory in enumerate(rule_dirs):
        root = Path(directory)
        found = sorted(p for p in root.rglob("*") if p.suffix in _RULE_SUFFIXES and p.is_file())
        digest.update(f"dir {index}\0".encode())
        for path in found:
            data = path.read_bytes()
            digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def scanner_fingerprint(
    rule_dirs: tuple[str, ...] = (),
    timeout: float | None = None,
    *,
    package: Traversable | None = None,
) -> str:
    """The key stored verdicts are filed under: `custody-VERSION/` and a sha256 over the version,
    the scan package (`package`, default the installed `custody.scan`), the extra rule
    directories and the timeout. Any change to one of them means files are scanned again."""
    package_digest = scan_package_digest() if package is None else tree_digest(package)
    digest = hashlib.sha256()
    for part in (__version__, package_digest, rules_digest(rule_dirs), repr(timeout)):
        digest.update(part.encode())
        digest.update(b"\0")
    return f"custody-{__version__}/{digest.hexdigest()}"


__all__ = ["rules_digest", "scan_package_digest", "scanner_fingerprint", "tree_digest"]
