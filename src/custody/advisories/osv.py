"""OSV semantics: parsing a record, deciding whether a version is affected, and the lowest fix.

Affected when the version is listed in `versions` or falls inside an ECOSYSTEM/SEMVER range.
A range is evaluated as the OSV specification describes: events sorted by version (`introduced:
0` first, whatever order the record lists them in), and the state set by the last event at or
below the version (`last_affected` counts up to and including itself, `fixed`/`limit` from
themselves on). Withdrawn records never match.
"""

from __future__ import annotations

from typing import Any

from custody.advisories.cvss import cvss3_score, rating
from custody.advisories.model import Advisory, Affected, Event, Range
from custody.advisories.versions import Comparable, parse_version
from custody.inventory import Ecosystem, canonical_name

_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_TIE_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
_LABELS = {"critical": "critical", "high": "high", "moderate": "medium", "medium": "medium", "low": "low"}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    """A JSON array field; anything else (absent, null, a number, a string, an object) as empty."""
    return value if isinstance(value, list) else []


def _severity(record: dict[str, Any]) -> str | None:
    scores = [
        cvss3_score(s["score"])
        for s in _list(record.get("severity"))
        if isinstance(s, dict) and isinstance(s.get("score"), str)
    ]
    known = [s for s in scores if s is not None]
    if known:
        return rating(max(known))
    specific = record.get("database_specific")
    label = specific.get("severity") if isinstance(specific, dict) else None
    return _LABELS.get(label.lower()) if isinstance(label, str) else None


def _affected(item: dict[str, Any]) -> Affected | None:
    package = item.get("package")
    if not isinstance(package, dict) or not _str(package.get("name")):
        return None
    ranges = []
    for rng in _list(item.get("ranges")):
        if not isinstance(rng, dict):
            continue
        events = tuple(
            Event(kind=kind, version=str(event[kind]))
            for event in _list(rng.get("events"))
            if isinstance(event, dict)
            for kind in _EVENT_KINDS
            if isinstance(event.get(kind), (str, int, float))
        )
        ranges.append(Range(type=_str(rng.get("type")).upper(), events=events))
    versions = tuple(str(v) for v in _list(item.get("versions")) if isinstance(v, (str, int, float)))
    return Affected(
        ecosystem=_str(package.get("ecosystem")),
        name=_str(package.get("name")),
        ranges=tuple(ranges),
        versions=versions,
    )


def _check_text(advisory: Advisory) -> None:
    """JSON `\\ud800` escapes decode to lone surrogates: text that cannot be stored or printed."""
    texts = [advisory.id, advisory.modified, advisory.summary, advisory.details, *advisory.aliases]
    texts += [advisory.withdrawn or "", advisory.url or ""]
    for item in advisory.affected:
        texts += [item.ecosystem, item.name, *item.versions]
        texts += [f"{r.type}{e.version}" for r in item.ranges for e in r.events]
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"OSV record {advisory.id!r} holds text that is not valid Unicode: {exc}") from exc


def parse_record(record: dict[str, Any]) -> Advisory:
    """An `Advisory` from one OSV JSON/YAML document. Raises ValueError when it has no id, or
    holds text that is not valid Unicode; fields of the wrong type are ignored."""
    ident = _str(record.get("id"))
    if not ident:
        raise ValueError("OSV record without an `id`")
    refs = [r for r in _list(record.get("references")) if isinstance(r, dict) and _str(r.get("url"))]
    preferred = [r for r in refs if r.get("type") == "ADVISORY"] or refs
    affected = tuple(
        a for a in (_affected(i) for i in _list(record.get("affected")) if isinstance(i, dict)) if a
    )
    advisory = Advisory(
        id=ident,
        aliases=tuple(a for a in _list(record.get("aliases")) if isinstance(a, str)),
        summary=_str(record.get("summary")),
        details=_str(record.get("details"))[:2000],
        modified=_str(record.get("modified")),
        withdrawn=_str(record.get("withdrawn")) or None,
        severity=_severity(record),
        affected=affected,
        url=_str(preferred[0]["url"]) if preferred else None,
    )
    _check_text(advisory)
    return advisory


def _ecosystem_matches(affected: Affected, ecosystem: Ecosystem, key: str) -> bool:
    base = affected.ecosystem.split(":", 1)[0]
    return base.lower() == ecosystem.value.lower() and canonical_name(affected.name, ecosystem) == key


def range_contains(rng: Range, ecosystem: Ecosystem, version: str) -> bool:
    """True when `version` of `ecosystem` falls in the ECOSYSTEM or SEMVER range `rng` (a GIT range,
    or a version that cannot be parsed for the range's type, never does)."""
    if rng.type not in ("ECOSYSTEM", "SEMVER"):
        return False
    current = parse_version(ecosystem.value, version, range_type=rng.type)
    if current is None:
        return False
    affected = False
    keyed: list[tuple[Comparable, str]] = []
    for event in rng.events:
        if event.kind == "introduced" and event.version == "0":
            affected = True  # the lowest possible version: always at or below ours
            continue
        parsed = parse_version(ecosystem.value, event.version, range_type=rng.type)
        if parsed is not None:
            keyed.append((parsed, event.kind))
    keyed.sort(key=lambda pair: _TIE_ORDER[pair[1]])
    keyed.sort(key=lambda pair: pair[0])  # stable: ties keep introduced before fixed
    for bound, kind in keyed:
        passed = bound < current if kind == "last_affected" else bound <= current
        if passed:
            affected = kind == "introduced"
    return affected


def _listed(affected: Affected, ecosystem: Ecosystem, version: str) -> bool:
    if version in affected.versions:
        return True
    current = parse_version(ecosystem.value, version)
    if current is None:
        return False
    return any(parse_version(ecosystem.value, v) == current for v in affected.versions)


def affects(advisory: Advisory, ecosystem: Ecosystem, name: str, version: str) -> bool:
    """True when `name==version` is affected and the advisory is not withdrawn."""
    if advisory.withdrawn:
        return False
    key = canonical_name(name, ecosystem)
    for affected in advisory.affected:
        if not _ecosystem_matches(affected, ecosystem, key):
            continue
        if _listed(affected, ecosystem, version) or any(
            range_contains(r, ecosystem, version) for r in affected.ranges
        ):
            return True
    return False


def lowest_fix(advisory: Advisory, ecosystem: Ecosystem, name: str, version: str) -> str | None:
    """The lowest `fixed` version above `version` that the advisory does not affect, if any."""
    key = canonical_name(name, ecosystem)
    current = parse_version(ecosystem.value, version)
    candidates: list[tuple[Comparable, str]] = []
    for affected in advisory.affected:
        if not _ecosystem_matches(affected, ecosystem, key):
            continue
        for rng in affected.ranges:
            for event in rng.events:
                if event.kind != "fixed":
                    continue
                # In the package's own scheme, as `current` is: a PyPI package's SEMVER range
                # would otherwise compare a SemVer with a PEP 440 Version.
                parsed = parse_version(ecosystem.value, event.version)
                if parsed is not None and (current is None or current < parsed):
                    candidates.append((parsed, event.version))
    for _, text in sorted(candidates, key=lambda pair: pair[0]):
        if not affects(advisory, ecosystem, name, text):
            return text
    return None
