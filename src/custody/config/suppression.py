"""Suppressions: why a finding does not count, as typed data carried on the finding itself.

Kept free of scan and audit imports: `custody.scan.model` and `custody.audit.model` import
`Suppression` from here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from fnmatch import fnmatchcase

from packaging.utils import canonicalize_name

from custody.errors import ConfigError


class SuppressionKind(str, enum.Enum):
    """How a finding came to be suppressed."""

    IGNORED = "ignored"
    """An `ignore` entry of the config or `--ignore`: a decision with a reason."""
    EXCLUDED = "excluded-rule"
    """`--exclude-rule` / `exclude-rules`: the whole rule is switched off."""
    BASELINE = "baseline"
    """The finding was already in the `--baseline` report: not new."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """Why one finding is shown but not counted (verdict, `--fail-on`, text report)."""

    kind: SuppressionKind
    reason: str
    until: datetime | None
    """When the suppression stops applying (UTC); None: no expiry."""
    source: str
    """Where it was declared: a config file, `--ignore`, `--exclude-rule` or the baseline path."""

    def as_dict(self) -> dict[str, str | None]:
        """The JSON form (`suppression` of a finding in scan and audit reports)."""
        return {
            "kind": self.kind.value,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanIgnore:
    """Suppress scan findings of `rule` (in `package`, in `file`: both optional)."""

    rule: str
    package: str | None
    """Canonical project name (packaging.utils.canonicalize_name), or None for any package."""
    file: str | None
    """Member path inside the package; shell-style wildcards (`tests/*`) allowed."""
    reason: str
    until: datetime | None
    source: str

    def matches(self, rule: str, package: str | None, file: str) -> bool:
        """True when this entry covers a finding of `rule` at `file` in `package`."""
        if rule != self.rule:
            return False
        if self.package is not None and (package is None or canonicalize_name(package) != self.package):
            return False
        return self.file is None or fnmatchcase(file, self.file)

    def suppression(self) -> Suppression:
        """The mark this entry puts on a finding it covers."""
        return Suppression(
            kind=SuppressionKind.IGNORED, reason=self.reason, until=self.until, source=self.source
        )

    def describe(self) -> str:
        """What the entry covers, for messages about it (an expired entry)."""
        where = f" in {self.package}" if self.package else ""
        return f"rule {self.rule}{where}" + (f" at {self.file}" if self.file else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditIgnore:
    """Suppress audit findings whose advisory id or one of its aliases is `id` (in `package`)."""

    id: str
    package: str | None
    reason: str
    until: datetime | None
    source: str

    def matches(self, ident: str | None, aliases: tuple[str, ...], package: str | None) -> bool:
        """True when this entry covers a finding with advisory `ident`, `aliases`, in `package`."""
        wanted = self.id.casefold()  # OSV ids are unique ignoring case; users type them both ways
        if not any(i is not None and i.casefold() == wanted for i in (ident, *aliases)):
            return False
        return self.package is None or (package is not None and canonicalize_name(package) == self.package)

    def suppression(self) -> Suppression:
        """The mark this entry puts on a finding it covers."""
        return Suppression(
            kind=SuppressionKind.IGNORED, reason=self.reason, until=self.until, source=self.source
        )

    def describe(self) -> str:
        """What the entry covers, for messages about it (an expired entry)."""
        return f"advisory {self.id}" + (f" in {self.package}" if self.package else "")


def excluded(source: str) -> Suppression:
    """The mark of a finding whose rule is excluded."""
    return Suppression(kind=SuppressionKind.EXCLUDED, reason="rule excluded", until=None, source=source)


def in_baseline(source: str) -> Suppression:
    """The mark of a finding already in the baseline report `source`."""
    return Suppression(
        kind=SuppressionKind.BASELINE,
        reason="already in the baseline report",
        until=None,
        source=source,
    )


Ignore = ScanIgnore | AuditIgnore


def expired(entry: Ignore, now: datetime) -> bool:
    """True once `now` has reached the entry's `until`."""
    return entry.until is not None and now >= entry.until


def parse_until(value: object, where: str) -> datetime | None:
    """A TOML date/date-time or an ISO 8601 string; a date means its start in UTC (as gate entries)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{where}: until {value!r}: give a date (2026-12-31) or an ISO 8601 time"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    raise ConfigError(f"{where}: until: give a date (2026-12-31) or an ISO 8601 time")


_SCAN_KEYS = frozenset({"rule", "package", "file", "reason", "until"})
_AUDIT_KEYS = frozenset({"id", "package", "reason", "until"})


def _text(raw: Mapping[str, object], key: str, where: str, *, required: bool) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} is required (a non-empty string)")
    return value.strip()


def _check_keys(raw: object, allowed: frozenset[str], where: str) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: give a table ({', '.join(sorted(allowed))})")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    return raw


def _package(raw: Mapping[str, object], where: str) -> str | None:
    name = _text(raw, "package", where, required=False)
    return canonicalize_name(name) if name else None


def scan_ignore(raw: object, where: str, source: str) -> ScanIgnore:
    """A `[[scan.ignore]]` table as typed data; missing rule or reason and unknown keys are errors."""
    table = _check_keys(raw, _SCAN_KEYS, where)
    return ScanIgnore(
        rule=_text(table, "rule", where, required=True) or "",
        package=_package(table, where),
        file=_text(table, "file", where, required=False),
        reason=_text(table, "reason", where, required=True) or "",
        until=parse_until(table.get("until"), where),
        source=source,
    )


def audit_ignore(raw: object, where: str, source: str) -> AuditIgnore:
    """An `[[audit.ignore]]` table as typed data; missing id or reason and unknown keys are errors."""
    table = _check_keys(raw, _AUDIT_KEYS, where)
    return AuditIgnore(
        id=_text(table, "id", where, required=True) or "",
        package=_package(table, where),
        reason=_text(table, "reason", where, required=True) or "",
        until=parse_until(table.get("until"), where),
        source=source,
    )
