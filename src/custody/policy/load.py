"""Read a policy from TOML (see `examples/gate-policy.toml` for every key)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from custody.policy.duration import DurationError, parse_duration
from custody.policy.model import (
    DEFAULT_ACTIONS,
    Action,
    Entry,
    EntryKind,
    FailOn,
    OnError,
    Policy,
    PolicyError,
    ProjectPolicy,
    Rule,
    UnknownUploadTime,
    parse_spec,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_TOP_KEYS = {
    "cooldown",
    "fail_on",
    "on_error",
    "unknown_upload_time",
    "cooldown_exempt_fixes",
    "stale_page_limit",
    "actions",
    "projects",
    "allow",
    "deny",
    "guard",  # the runtime guard's table, read by custody.policy.guard
}


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or date-time; a date means its start in UTC, a naive time is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise PolicyError(f"{text!r}: give a date (2026-12-31) or an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _enum(kind: type[Any], value: object, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise PolicyError(f"{where}: {value!r} is not one of {allowed}") from None


def _duration(value: object, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise PolicyError(f'{where}: give a duration such as "3d", "12h", "90m" or "0"')
    try:
        return parse_duration(str(value))
    except DurationError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _entry(kind: EntryKind, raw: object, where: str) -> Entry:
    if isinstance(raw, str):
        raw = {"spec": raw}
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: give a table with spec and reason")
    spec, reason = raw.get("spec"), raw.get("reason")
    if not isinstance(spec, str):
        raise PolicyError(f"{where}: spec (NAME or NAME==VERSION) is required")
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyError(f"{where}: {spec}: a reason is required")
    name, version = parse_spec(spec)
    until, author = raw.get("until"), raw.get("author")
    if isinstance(until, datetime):  # TOML's own date-time
        until = until if until.tzinfo else until.replace(tzinfo=timezone.utc)
    elif until is not None:
        until = parse_time(str(until))  # a TOML date or a string
    return Entry(
        kind=kind,
        name=name,
        version=version,
        reason=reason.strip(),
        author=author if isinstance(author, str) else None,
        until=until,
    )


def policy_from_mapping(doc: Mapping[str, Any], source: str = "policy") -> Policy:
    """A `Policy` from parsed TOML; unknown keys are errors (a typo must not silently relax it)."""
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    settings: dict[str, Any] = {}
    if "cooldown" in doc:
        settings["cooldown"] = _duration(doc["cooldown"], f"{source}: cooldown")
    if "fail_on" in doc:
        settings["fail_on"] = _enum(FailOn, doc["fail_on"], f"{source}: fail_on")
    if "on_error" in doc:
        settings["on_error"] = _enum(OnError, doc["on_error"], f"{source}: on_error")
    if "unknown_upload_time" in doc:
        settings["unknown_upload_time"] = _enum(
            UnknownUploadTime, doc["unknown_upload_time"], f"{source}: unknown_upload_time"
        )
    if "cooldown_exempt_fixes" in doc:
        if not isinstance(doc["cooldown_exempt_fixes"], bool):
            raise PolicyError(f"{source}: cooldown_exempt_fixes: give true or false")
        settings["cooldown_exempt_fixes"] = doc["cooldown_exempt_fixes"]
    if "stale_page_limit" in doc:
        settings["stale_page_limit"] = _duration(doc["stale_page_limit"], f"{source}: stale_page_limit")
    actions = dict(DEFAULT_ACTIONS)
    raw_actions = doc.get("actions", {})
    if not isinstance(raw_actions, Mapping):
        raise PolicyError(f"{source}: [actions] must be a table")
    for key, value in raw_actions.items():
        actions[_enum(Rule, key, f"{source}: actions")] = _enum(Action, value, f"{source}: actions.{key}")
    projects: dict[str, ProjectPolicy] = {}
    raw_projects = doc.get("projects", {})
    if not isinstance(raw_projects, Mapping):
        raise PolicyError(f"{source}: [projects] must be a table of tables")
    for name, raw in raw_projects.items():
        where = f"{source}: projects.{name}"
        if not isinstance(raw, Mapping) or set(raw) - {"cooldown", "fail_on", "on_error"}:
            raise PolicyError(f"{where}: only cooldown, fail_on and on_error can be set per project")
        canonical, _ = parse_spec(name)
        projects[canonical] = ProjectPolicy(
            cooldown=_duration(raw["cooldown"], f"{where}.cooldown") if "cooldown" in raw else None,
            fail_on=_enum(FailOn, raw["fail_on"], f"{where}.fail_on") if "fail_on" in raw else None,
            on_error=_enum(OnError, raw["on_error"], f"{where}.on_error") if "on_error" in raw else None,
        )
    entries: list[Entry] = []
    for kind in EntryKind:
        raw_list = doc.get(kind.value, [])
        if not isinstance(raw_list, list):
            raise PolicyError(f"{source}: {kind.value} must be an array of tables ([[{kind.value}]])")
        entries.extend(_entry(kind, raw, f"{source}: {kind.value}[{i}]") for i, raw in enumerate(raw_list))
    return Policy(**settings, actions=actions, projects=projects, entries=tuple(entries))


def read_policy_document(path: str) -> dict[str, Any]:
    """The TOML document of a policy file. Raises PolicyError (unreadable, not TOML)."""
    try:
        with open(path, "rb") as handle:
            doc: dict[str, Any] = tomllib.load(handle)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    return doc


def load_policy(path: str) -> Policy:
    """Read the TOML policy file at `path`. Raises PolicyError (unreadable, not TOML, bad values)."""
    return policy_from_mapping(read_policy_document(path), path)
