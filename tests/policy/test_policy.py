"""custody.policy: durations, TOML loading, entry expiry and precedence, per-project overrides."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from custody.policy import (
    Action,
    DurationError,
    Entry,
    EntryKind,
    FailOn,
    OnError,
    Policy,
    PolicyError,
    Rule,
    UnknownUploadTime,
    format_duration,
    load_policy,
    parse_duration,
    parse_spec,
    policy_from_mapping,
)

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gate-policy.toml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("0", timedelta(0)),
        ("7", timedelta(days=7)),  # a bare number is days, as audit's --min-release-age always read it
        (" 1.5d ", timedelta(days=1.5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "a week", "-1d", "3w", "d", "1d2h"])
def test_bad_durations_say_what_is_accepted(text: str) -> None:
    with pytest.raises(DurationError, match="give a number of days"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["3d", "36h", "90m", "0"])
def test_format_duration_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_specs_are_canonical() -> None:
    assert parse_spec("Foo_Bar==1.0") == ("foo-bar", "1.0")
    assert parse_spec("foo") == ("foo", None)
    with pytest.raises(PolicyError):
        parse_spec("foo>=1")


def _entry(kind: EntryKind, spec: str, until: datetime | None = None) -> Entry:
    name, version = parse_spec(spec)
    return Entry(kind=kind, name=name, version=version, reason="r", until=until)


def test_expired_entries_stop_applying() -> None:
    policy = Policy(entries=(_entry(EntryKind.ALLOW, "pkg==1.0", until=NOW - timedelta(seconds=1)),))
    assert policy.entry_for("pkg", "1.0", NOW) is None
    live = Policy(entries=(_entry(EntryKind.ALLOW, "pkg==1.0", until=NOW + timedelta(days=1)),))
    assert live.entry_for("pkg", "1.0", NOW) is not None


def test_version_entry_beats_project_entry_and_deny_beats_allow() -> None:
    policy = Policy(
        entries=(
            _entry(EntryKind.DENY, "pkg"),
            _entry(EntryKind.ALLOW, "pkg==1.0"),
            _entry(EntryKind.ALLOW, "other"),
            _entry(EntryKind.DENY, "other"),
        )
    )
    chosen = policy.entry_for("PKG", "1.0.0", NOW)  # PEP 440 equality and name normalisation
    assert chosen is not None and chosen.kind is EntryKind.ALLOW
    denied = policy.entry_for("pkg", "2.0", NOW)
    assert denied is not None and denied.kind is EntryKind.DENY
    tie = policy.entry_for("other", "1.0", NOW)
    assert tie is not None and tie.kind is EntryKind.DENY


def test_per_project_overrides() -> None:
    policy = policy_from_mapping(
        {
            "cooldown": "2d",
            "projects": {"Torch": {"cooldown": "0", "on_error": "allow", "fail_on": "suspicious"}},
        }
    )
    assert policy.cooldown_for("torch") == timedelta(0)
    assert policy.cooldown_for("numpy") == timedelta(days=2)
    assert policy.on_error_for("torch") is OnError.ALLOW
    assert policy.on_error_for("numpy") is OnError.REFUSE
    assert policy.fail_on_for("torch") is FailOn.SUSPICIOUS
    assert policy.fail_on_for("numpy") is FailOn.MALICIOUS


def test_defaults_fail_closed() -> None:
    policy = Policy()
    assert policy.cooldown == timedelta(days=3)
    assert policy.on_error is OnError.REFUSE
    assert policy.unknown_upload_time is UnknownUploadTime.TOO_NEW
    assert policy.action(Rule.COOLDOWN) is Action.HIDE
    assert policy.action(Rule.DENY) is Action.REFUSE
    assert policy.stale_page_limit == timedelta(minutes=10)
    assert FailOn.MALICIOUS.reached("malicious") and not FailOn.MALICIOUS.reached("suspicious")
    assert FailOn.SUSPICIOUS.reached("suspicious") and not FailOn.SUSPICIOUS.reached("clean")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"cooldwn": "3d"}, "unknown key"),
        ({"cooldown": "soon"}, "cooldown"),
        ({"stale_page_limit": True}, "stale_page_limit"),
        ({"stale_page_limit": "forever"}, "stale_page_limit"),
        ({"fail_on": "bad"}, "fail_on"),
        ({"actions": {"cooldown": "ignore"}}, "actions.cooldown"),
        ({"projects": {"x": {"fail_on": "malicious", "extra": 1}}}, "per project"),
        ({"allow": [{"spec": "pkg==1"}]}, "reason is required"),
        ({"deny": [{"spec": "pkg", "reason": "r", "until": "someday"}]}, "ISO 8601"),
    ],
)
def test_bad_policies_name_the_field(doc: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        policy_from_mapping(doc)


def test_stale_page_limit() -> None:
    assert policy_from_mapping({"stale_page_limit": "90m"}).stale_page_limit == timedelta(minutes=90)
    assert policy_from_mapping({"stale_page_limit": "0"}).stale_page_limit == timedelta(0)


def test_the_example_policy_loads() -> None:
    policy = load_policy(str(EXAMPLE))
    assert policy.cooldown == timedelta(days=3)
    assert policy.stale_page_limit == timedelta(minutes=10)
    assert any(e.kind is EntryKind.DENY for e in policy.entries)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("cooldown = \n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(str(bad))
