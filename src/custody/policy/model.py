"""The policy as typed, frozen data: what scan, audit, gate and guard decide the same way.

A `Policy` holds the global settings (cooldown, fail-on level, on-error behaviour, whether an
unknown upload time counts as too new, whether releases that fix a known vulnerability skip the
cooldown), per-project overrides, how each page-level rule acts (hide the file from the index
page, or list it and refuse the download), and allow/deny entries with who added them, why, and
until when.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from custody.errors import CustodyError

DEFAULT_COOLDOWN = timedelta(days=3)
DEFAULT_STALE_PAGE_LIMIT = timedelta(minutes=10)
"""As long as PyPI lets clients and CDNs cache its simple pages (`Cache-Control: max-age=600`)."""
_SPEC = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:==\s*([A-Za-z0-9.+!_-]+))?\s*$")


class PolicyError(CustodyError, ValueError):
    """A policy file or entry that cannot be used; the message names the field and the fix."""


class FailOn(str, enum.Enum):
    """The scan verdict from which a package is refused (`custody scan --fail-on` too)."""

    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"

    def reached(self, verdict: str) -> bool:
        """True when a scan verdict (`malicious`, `suspicious`, `clean`, `error`) reaches this level."""
        if self is FailOn.MALICIOUS:
            return verdict == "malicious"
        return verdict in ("malicious", "suspicious")


class OnError(str, enum.Enum):
    """What to do when a package could not be checked (scan error or timeout)."""

    REFUSE = "refuse"
    ALLOW = "allow"


class UnknownUploadTime(str, enum.Enum):
    """How a file whose upload time nobody can tell is treated by the cooldown."""

    TOO_NEW = "too-new"
    """Fail closed: it could have been uploaded a minute ago."""
    ALLOW = "allow"


class Rule(str, enum.Enum):
    """Checks decided from the index page alone, before any download."""

    COOLDOWN = "cooldown"
    MALWARE_ADVISORY = "malware-advisory"
    DENY = "deny"


class Action(str, enum.Enum):
    """How a page-level rule keeps a file out: drop it from the page, or list it and answer 403."""

    HIDE = "hide"
    REFUSE = "refuse"


DEFAULT_ACTIONS: Mapping[Rule, Action] = {
    # Hidden, the resolver quietly picks an older release: what a cooldown or known malware wants.
    Rule.COOLDOWN: Action.HIDE,
    Rule.MALWARE_ADVISORY: Action.HIDE,
    # Refused, the installer shows why: an explicit deny is a decision people should see.
    Rule.DENY: Action.REFUSE,
}


class EntryKind(str, enum.Enum):
    """An allow entry (let through what the rules would stop) or a deny entry (always refuse)."""

    ALLOW = "allow"
    DENY = "deny"


def parse_spec(text: str) -> tuple[str, str | None]:
    """`NAME==VERSION` or `NAME` -> (canonical name, version or None). Raises PolicyError."""
    match = _SPEC.match(text)
    if match is None:
        raise PolicyError(f"{text!r}: give NAME or NAME==VERSION")
    return str(canonicalize_name(match.group(1))), match.group(2)


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality (`1.0` is `1.0.0`); plain string equality for what is not PEP 440."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One allow or deny entry: `name` (canonical) and optionally one `version`."""

    kind: EntryKind
    name: str
    version: str | None = None
    reason: str
    author: str | None = None
    until: datetime | None = None
    """Expiry (UTC); from then on the entry no longer applies."""
    added: datetime | None = None

    @property
    def spec(self) -> str:
        """`NAME==VERSION`, or `NAME` for an entry about every version."""
        return f"{self.name}=={self.version}" if self.version else self.name

    def active(self, now: datetime) -> bool:
        """True until the entry's expiry (always, without one)."""
        return self.until is None or now < self.until

    def matches(self, name: str, version: str | None) -> bool:
        """True when the entry names this project and, if it names one, this version (PEP 440 equality)."""
        if canonicalize_name(name) != self.name:
            return False
        return self.version is None or (version is not None and same_version(self.version, version))


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectPolicy:
    """Per-project overrides; None keeps the global setting."""

    cooldown: timedelta | None = None
    fail_on: FailOn | None = None
    on_error: OnError | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Everything the gate (and later scan, audit, guard) decides by. Build with `load_policy` or
    directly; every field has the safe default."""

    cooldown: timedelta = DEFAULT_COOLDOWN
    fail_on: FailOn = FailOn.MALICIOUS
    on_error: OnError = OnError.REFUSE
    unknown_upload_time: UnknownUploadTime = UnknownUploadTime.TOO_NEW
    cooldown_exempt_fixes: bool = True
    """A release that is the fix of a known (non-malware) advisory skips the cooldown: holding back
    a security fix for days is worse than the risk the cooldown guards against."""
    stale_page_limit: timedelta = DEFAULT_STALE_PAGE_LIMIT
    """How long past its reuse time (30 s) the gate may keep answering from a project page it
    fetched before while upstream cannot give a fresh one (0: not at all, an upstream failure is
    an error at once). Only the file list can be that old: every other check runs on each request."""
    actions: Mapping[Rule, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    projects: Mapping[str, ProjectPolicy] = field(default_factory=dict)
    """Keyed by canonical project name."""
    entries: tuple[Entry, ...] = ()

    def _project(self, name: str) -> ProjectPolicy:
        return self.projects.get(str(canonicalize_name(name)), _NO_OVERRIDE)

    def cooldown_for(self, name: str) -> timedelta:
        """The cooldown for project `name` (its own override, else the global one)."""
        own = self._project(name).cooldown
        return self.cooldown if own is None else own

    def fail_on_for(self, name: str) -> FailOn:
        """The verdict that makes a file of project `name` refused (its own override, else the global one)."""
        return self._project(name).fail_on or self.fail_on

    def on_error_for(self, name: str) -> OnError:
        """What to do with a file of project `name` that could not be scanned (override, else global)."""
        return self._project(name).on_error or self.on_error

    def action(self, rule: Rule) -> Action:
        """How a file `rule` stops is kept out: hidden or refused (the rule's default unless set)."""
        return self.actions.get(rule, DEFAULT_ACTIONS[rule])

    def entry_for(self, name: str, version: str | None, now: datetime | None = None) -> Entry | None:
        """The entry that decides `name==version`, if any: expired entries are ignored, an entry
        naming the version beats one naming only the project, and at equal specificity deny wins."""
        moment = now or datetime.now(timezone.utc)
        found = [e for e in self.entries if e.active(moment) and e.matches(name, version)]
        if not found:
            return None
        return min(found, key=lambda e: (e.version is None, e.kind is not EntryKind.DENY))

    def with_entries(self, entries: tuple[Entry, ...]) -> Policy:
        """This policy plus `entries` (e.g. the ones `custody gate allow/deny` keep in the store)."""
        return replace(self, entries=(*self.entries, *entries))


_NO_OVERRIDE = ProjectPolicy()
