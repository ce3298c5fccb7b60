"""Version ordering per ecosystem: PEP 440 for PyPI, SemVer 2.0 for npm."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Protocol

from packaging.version import InvalidVersion, Version


class Comparable(Protocol):
    """A version value that orders (`<`, `<=`): what the range matcher compares."""

    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...


_SEMVER = re.compile(
    r"^[v=\s]*(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?\s*$",
    re.ASCII,  # SemVer digits are 0-9: `\d` would also take other scripts' digits ("١.٢.٣")
)

PreKey = tuple[int, tuple[tuple[int, int | str], ...]]


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class SemVer:
    """SemVer 2.0 precedence: a pre-release sorts before its release; build metadata is ignored."""

    major: int
    minor: int
    patch: int
    pre: PreKey


def parse_semver(text: str) -> SemVer | None:
    """A SemVer 2.0 version (a leading `v` or `=` allowed), or None when `text` is not one."""
    match = _SEMVER.match(text)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    try:  # int() refuses more than sys.get_int_max_str_digits() digits: not a usable version
        if pre is None:
            key: PreKey = (1, ())
        else:
            key = (0, tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")))
        return SemVer(major=int(major), minor=int(minor), patch=int(patch), pre=key)
    except ValueError:
        return None


def parse_pep440(text: str) -> Version | None:
    """A PEP 440 version, or None when `text` is not one."""
    try:
        return Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a number with too many digits for int()
        return None


@functools.lru_cache(maxsize=65536)
def parse_version(ecosystem: str, text: str, *, range_type: str = "ECOSYSTEM") -> Comparable | None:
    """An orderable key for `text`, or None when it is not a valid version of that scheme."""
    if range_type == "SEMVER" or ecosystem.lower() == "npm":
        return parse_semver(text)
    if ecosystem.lower() == "pypi":
        return parse_pep440(text)
    return None
