"""The one inventory type: a package someone installed or pinned, and where that was said."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from custody.errors import CustodyError


class Ecosystem(str, enum.Enum):
    """Package ecosystems, spelled as OSV spells them."""

    PYPI = "PyPI"
    NPM = "npm"


class InventoryError(CustodyError):
    """A lockfile or environment could not be read at all (the message says which and why)."""


class PartialInventory(InventoryError):
    """A file was read, but not all of it could be: `packages` holds every package that could be
    read, `problems` one message for each part that could not (a bad include, a malformed entry,
    a cap reached). A caller audits the packages and reports every problem: never a silent drop."""

    def __init__(self, packages: list[Package], problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.packages = packages
        self.problems = problems


_NPM_SPACE = re.compile(r"\s+")


def canonical_name(name: str, ecosystem: Ecosystem) -> str:
    """The one spelling used to compare names: PEP 503 for PyPI, lower-case for npm."""
    if ecosystem is Ecosystem.PYPI:
        return str(canonicalize_name(name))
    return _NPM_SPACE.sub("", name).lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    """One installed distribution or one pinned (or unpinnable) requirement."""

    name: str
    """As declared; compare with `key`."""
    version: str | None
    """Exact version, or None when the declaration does not pin one (see `unpinned`)."""
    ecosystem: Ecosystem
    source: str
    """Where it was declared: `requirements.txt:12`, `uv.lock`, `SITE_DIR::name-1.0.dist-info`."""
    hashes: tuple[str, ...] = ()
    """Expected hashes as `algorithm:hexdigest` (or `sha512-base64` for npm integrity)."""
    unpinned: str | None = None
    """Why no exact version is known (URL, VCS ref, range, editable), else None."""
    marker: str | None = None
    """Environment marker of the declaration, when any (not evaluated: every declaration is audited)."""
    installed: bool = False
    """True for distributions found in an environment, False for lockfile/requirements pins."""

    @property
    def key(self) -> str:
        """The canonical name (PEP 503 for PyPI, lower case for npm): what advisories are matched by."""
        return canonical_name(self.name, self.ecosystem)
