"""OSV records as typed, frozen data (only the fields custody acts on)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from custody.errors import EXIT_ERROR, CustodyError


class AdvisoryError(CustodyError):
    """An advisory source or the advisory store could not be used; the message says what to do."""

    exit_code: ClassVar[int] = EXIT_ERROR


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One OSV range event: a version where the range is introduced, fixed, last affected or limited."""

    kind: str
    """`introduced`, `fixed`, `last_affected` or `limit`."""
    version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Range:
    """One OSV affected range: its type and events, in the record's order."""

    type: str
    """`ECOSYSTEM`, `SEMVER` or `GIT` (GIT ranges are kept but never match a version)."""
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Affected:
    """The versions of one package an advisory affects: explicit versions and/or ranges."""

    ecosystem: str
    name: str
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Advisory:
    """One advisory (an OSV record as the store keeps it): id, aliases, texts, severity, the affected
    packages and the most useful reference URL; a withdrawn advisory never matches."""

    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    modified: str = ""
    withdrawn: str | None = None
    severity: str | None = None
    """`critical`, `high`, `medium`, `low`, or None when the record says nothing usable."""
    affected: tuple[Affected, ...] = ()
    url: str | None = None
    """Most useful reference (ADVISORY, else the first)."""

    @property
    def malware(self) -> bool:
        """MAL- records (OpenSSF malicious-packages) describe malware, not vulnerabilities."""
        return self.id.startswith("MAL-") or any(a.startswith("MAL-") for a in self.aliases)
