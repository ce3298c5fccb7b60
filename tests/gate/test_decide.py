"""The gate's decisions as pure functions: precedence of entries, advisories and the cooldown."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custody.gate.decide import Listing, Outcome, judge_listing, judge_scan
from custody.policy import Entry, EntryKind, Policy, UnknownUploadTime, policy_from_mapping

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=30)
FRESH = NOW - timedelta(minutes=5)


def _listing(**kw: object) -> Listing:
    settings: dict[str, object] = {"project": "pkg", "version": "1.0", "upload_time": OLD, **kw}
    return Listing(**settings)  # type: ignore[arg-type]


def _policy(*entries: tuple[EntryKind, str, str | None]) -> Policy:
    return Policy(entries=tuple(Entry(kind=k, name=n, version=v, reason="why") for k, n, v in entries))


def test_old_clean_listing_is_served() -> None:
    assert judge_listing(Policy(), _listing(), NOW).outcome is Outcome.SERVE


def test_cooldown_hides_fresh_and_unknown_uploads() -> None:
    fresh = judge_listing(Policy(), _listing(upload_time=FRESH), NOW)
    assert fresh.outcome is Outcome.HIDE and fresh.rule == "cooldown" and "5m ago" in fresh.reason
    unknown = judge_listing(Policy(), _listing(upload_time=None), NOW)
    assert unknown.outcome is Outcome.HIDE and "unknown" in unknown.reason
    lenient = Policy(unknown_upload_time=UnknownUploadTime.ALLOW)
    assert judge_listing(lenient, _listing(upload_time=None), NOW).outcome is Outcome.SERVE
    off = policy_from_mapping({"projects": {"pkg": {"cooldown": "0"}}})
    assert judge_listing(off, _listing(upload_time=FRESH), NOW).outcome is Outcome.SERVE


def test_security_fixes_skip_the_cooldown_unless_disabled() -> None:
    fix = _listing(upload_time=FRESH, fixes_vulnerability=True)
    assert judge_listing(Policy(), fix, NOW).outcome is Outcome.SERVE
    strict = Policy(cooldown_exempt_fixes=False)
    assert judge_listing(strict, fix, NOW).outcome is Outcome.HIDE


@pytest.mark.parametrize(
    ("entries", "listing", "outcome", "rule"),
    [
        ([(EntryKind.DENY, "pkg", None)], {}, Outcome.REFUSE, "deny"),
        ([(EntryKind.DENY, "pkg", None), (EntryKind.ALLOW, "pkg", "1.0")], {}, Outcome.SERVE, "allow"),
        ([(EntryKind.ALLOW, "pkg", "1.0")], {"malware": ("MAL-1",)}, Outcome.SERVE, "allow"),
        ([(EntryKind.ALLOW, "pkg", None)], {"malware": ("MAL-1",)}, Outcome.HIDE, "malware-advisory"),
        ([(EntryKind.ALLOW, "pkg", None)], {"upload_time": FRESH}, Outcome.SERVE, "allow"),
        ([], {"malware": ("MAL-1",)}, Outcome.HIDE, "malware-advisory"),
    ],
    ids=["deny", "exact-allow-beats-project-deny", "exact-allow-beats-advisory",
         "project-allow-not-advisory", "project-allow-lifts-cooldown", "advisory"],
)  # fmt: skip
def test_precedence(
    entries: list[tuple[EntryKind, str, str | None]], listing: dict[str, object], outcome: Outcome, rule: str
) -> None:
    decision = judge_listing(_policy(*entries), _listing(**listing), NOW)
    assert (decision.outcome, decision.rule) == (outcome, rule)


def _scan(policy: Policy, verdict: str, allowed: bool = False) -> Outcome:
    listing = _listing()
    allow = judge_listing(_policy((EntryKind.ALLOW, "pkg", "1.0")), listing, NOW) if allowed else None
    return judge_scan(
        policy, listing, verdict=verdict, rule="r", location="f.py:1", summary="s", allowed=allow
    ).outcome


def test_scan_verdicts_by_policy() -> None:
    default, strict = Policy(), policy_from_mapping({"fail_on": "suspicious"})
    assert _scan(default, "malicious") is Outcome.REFUSE
    assert _scan(default, "suspicious") is Outcome.SERVE
    assert _scan(strict, "suspicious") is Outcome.REFUSE
    assert _scan(default, "clean") is Outcome.SERVE
    assert _scan(default, "error") is Outcome.REFUSE  # fail closed
    assert _scan(policy_from_mapping({"on_error": "allow"}), "error") is Outcome.SERVE
    assert _scan(default, "malicious", allowed=True) is Outcome.SERVE
