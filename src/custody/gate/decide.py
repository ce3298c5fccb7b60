"""What the gate decides about one file, as pure functions of the policy and the facts.

Two stages. `judge_listing` runs on the index page, before anything is downloaded: deny entries,
MAL- advisories and the cooldown, each hiding the file or refusing its download as the policy
says. `judge_scan` runs once the file is downloaded, verified and scanned. Allow entries: one
naming the exact version (`NAME==VERSION`) overrides every policy check (not integrity: a file
whose hash does not match is never served); one naming only the project lifts the cooldown and
scan refusals but not a MAL- advisory, so a later trojaned release of a trusted project is still
kept out when the advisory feed knows it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from custody.policy import Action, Entry, EntryKind, OnError, Policy, Rule, UnknownUploadTime, format_duration


class Outcome(str, enum.Enum):
    """What the gate does with a file: serve it, refuse it (listed, but the download is refused) or
    hide it (left out of the project page)."""

    SERVE = "served"
    REFUSE = "refused"
    HIDE = "hidden"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The gate's answer for one file."""

    outcome: Outcome
    rule: str | None = None
    """`deny`, `malware-advisory`, `cooldown`, `scan:RULE`, `scan-error`, `hash-mismatch`, `upstream`,
    `allow` (served only because of an allow entry), or None (nothing to say)."""
    reason: str = ""
    """One line: why (empty for a plain serve)."""
    verdict: str | None = None
    """The scan verdict, once scanned."""
    status: int = 200
    """HTTP status for a refusal: 403 (policy), 502 (upstream or integrity)."""
    warning: bool = False
    """Served, but worth a logged warning (a suspicious verdict below the fail-on level)."""


SERVE = Decision(outcome=Outcome.SERVE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """What is known about a file from its page and the advisory store."""

    project: str
    version: str | None
    upload_time: datetime | None
    malware: tuple[str, ...] = ()
    """Ids of MAL- advisories that name this version."""
    fixes_vulnerability: bool = False
    """This version is the `fixed` version of a known (non-malware) advisory."""


def override_hint(project: str, version: str | None) -> str:
    """The `custody gate allow` command that would let this project (version) through, for refusal texts."""
    spec = f"{project}=={version}" if version else project
    return f'custody gate allow {spec} --reason "..."'


def _by_rule(policy: Policy, rule: Rule, reason: str) -> Decision:
    action = policy.action(rule)
    return Decision(
        outcome=Outcome.HIDE if action is Action.HIDE else Outcome.REFUSE,
        rule=rule.value,
        reason=reason,
        status=403,
    )


def _entry_text(entry: Entry) -> str:
    who = f" by {entry.author}" if entry.author else ""
    return f"{entry.kind.value} entry {entry.spec}{who}: {entry.reason}"


def judge_listing(policy: Policy, listing: Listing, now: datetime) -> Decision:
    """The page-level decision (deny entry > exact allow > MAL- advisory > project allow > cooldown)."""
    entry = policy.entry_for(listing.project, listing.version, now)
    if entry is not None and entry.kind is EntryKind.DENY:
        return _by_rule(policy, Rule.DENY, _entry_text(entry))
    if entry is not None and entry.version is not None:
        return Decision(outcome=Outcome.SERVE, rule="allow", reason=_entry_text(entry))
    if listing.malware:
        return _by_rule(
            policy, Rule.MALWARE_ADVISORY, f"named by malware advisory {', '.join(listing.malware)}"
        )
    if entry is not None:  # a project-wide allow lifts the cooldown
        return Decision(outcome=Outcome.SERVE, rule="allow", reason=_entry_text(entry))
    cooldown = policy.cooldown_for(listing.project)
    if cooldown > timedelta(0) and not (policy.cooldown_exempt_fixes and listing.fixes_vulnerability):
        if listing.upload_time is None:
            if policy.unknown_upload_time is UnknownUploadTime.TOO_NEW:
                return _by_rule(
                    policy, Rule.COOLDOWN, f"upload time unknown; cooldown {format_duration(cooldown)}"
                )
        else:
            age = now - listing.upload_time
            if age < cooldown:
                return _by_rule(
                    policy,
                    Rule.COOLDOWN,
                    f"uploaded {_ago(age)} ago, cooldown {format_duration(cooldown)}",
                )
    return SERVE


def _ago(age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // 1440}d"


def judge_scan(
    policy: Policy,
    listing: Listing,
    *,
    verdict: str,
    rule: str | None,
    location: str | None,
    summary: str,
    allowed: Decision | None,
) -> Decision:
    """The download-time decision from a scan verdict. `allowed` is the listing decision when an
    allow entry let the file through (it then overrides a refusing verdict too)."""
    where = f" at {location}" if location else ""
    what = f"{verdict} ({rule}{where})" if rule else verdict
    if verdict == "error":
        if policy.on_error_for(listing.project) is OnError.ALLOW:
            return Decision(
                outcome=Outcome.SERVE,
                rule="scan-error",
                reason=f"not checked: {summary}",
                verdict=verdict,
                warning=True,
            )
        if allowed is not None:
            return Decision(
                outcome=Outcome.SERVE, rule="allow", reason=allowed.reason, verdict=verdict, warning=True
            )
        return Decision(
            outcome=Outcome.REFUSE,
            rule="scan-error",
            reason=f"could not be checked: {summary}",
            verdict=verdict,
            status=403,
        )
    if policy.fail_on_for(listing.project).reached(verdict):
        if allowed is not None:
            return Decision(
                outcome=Outcome.SERVE,
                rule="allow",
                reason=f"{what}; {allowed.reason}",
                verdict=verdict,
                warning=True,
            )
        return Decision(
            outcome=Outcome.REFUSE,
            rule=f"scan:{rule}" if rule else "scan",
            reason=what,
            verdict=verdict,
            status=403,
        )
    if verdict == "suspicious":
        return Decision(
            outcome=Outcome.SERVE,
            rule=f"scan:{rule}" if rule else "scan",
            reason=what,
            verdict=verdict,
            warning=True,
        )
    return Decision(
        outcome=Outcome.SERVE,
        rule=allowed.rule if allowed else None,
        reason=allowed.reason if allowed else "",
        verdict=verdict,
    )


def refusal_text(listing: Listing, filename: str, decision: Decision, *, sha256: str | None = None) -> str:
    """The full body of a refusal: what, why, and how to override it."""
    version = listing.version or "?"
    lines = [
        f"custody gate refused {filename} ({listing.project} {version})",
        f"decision: {decision.outcome.value}",
        f"rule: {decision.rule or '-'}",
        f"reason: {decision.reason}",
    ]
    if decision.verdict:
        lines.append(f"verdict: {decision.verdict}")
    if sha256:
        lines.append(f"sha256: {sha256}")
    if decision.status == 403:
        lines.append(f"to override: {override_hint(listing.project, listing.version)}")
    return "\n".join(lines) + "\n"


def short_reason(listing: Listing, decision: Decision) -> str:
    """One line for the HTTP reason phrase: `custody refused NAME VERSION: REASON`."""
    return f"custody refused {listing.project} {listing.version or ''}: {decision.reason}".replace("  ", " ")
