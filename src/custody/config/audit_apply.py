"""Applying suppressions, excluded rules and a baseline to an audit report, and deciding
`--fail-on` from what is left. Kept apart from the scan side so `custody audit` does not import
the scan engine (a third of its start-up) unless `--scan` asks for it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from custody.audit.model import AuditReport
from custody.audit.model import Finding as AuditFinding
from custody.config.baseline import Baseline, audit_key
from custody.config.fail_on import severity_rank, threshold
from custody.config.suppression import AuditIgnore, excluded, expired, in_baseline


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSuppressions:
    """What to suppress in one audit run."""

    ignores: tuple[AuditIgnore, ...] = ()
    exclude_rules: frozenset[str] = frozenset()
    """Finding kinds (`unpinned`, `release-age`...) or ids (scan rules, advisory ids)."""
    exclude_source: str = "--exclude-rule"
    baseline: Baseline | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditOutcome:
    """The audit report with suppressions applied, and the ignore entries past their `until`
    (not applied, to be reported)."""

    report: AuditReport
    expired: tuple[AuditIgnore, ...]


def suppress_audit(report: AuditReport, rules: AuditSuppressions, now: datetime) -> AuditOutcome:
    """A copy of `report` with the findings `rules` cover marked (kept in place, in order)."""
    live = tuple(e for e in rules.ignores if not expired(e, now))
    gone = tuple(e for e in rules.ignores if expired(e, now))
    findings = [_audit_mark(f, live, rules) for f in report.findings]
    return AuditOutcome(report=replace(report, findings=findings), expired=gone)


def _audit_mark(finding: AuditFinding, live: Sequence[AuditIgnore], rules: AuditSuppressions) -> AuditFinding:
    if finding.suppression is not None:
        return finding
    if finding.kind.value in rules.exclude_rules or (finding.id or "") in rules.exclude_rules:
        return replace(finding, suppression=excluded(rules.exclude_source))
    for entry in live:
        if entry.matches(finding.id, finding.aliases, finding.package):
            return replace(finding, suppression=entry.suppression())
    baseline = rules.baseline
    if (
        baseline is not None
        and audit_key(finding.kind.value, finding.id, finding.package, finding.path) in baseline
    ):
        return replace(finding, suppression=in_baseline(baseline.source))
    return finding


def audit_reached(findings: Iterable[AuditFinding], level: str) -> bool:
    """`--fail-on level` for audit: a counted finding at or above it."""
    bar = threshold(level)
    return any(f.suppression is None and severity_rank(f.severity) >= bar for f in findings)
