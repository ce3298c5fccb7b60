"""Applying suppressions, excluded rules and a baseline to scan results and audit reports, and
deciding `--fail-on` from what is left. Suppressed findings are kept, marked, never dropped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from custody.audit.model import AuditReport
from custody.audit.model import Finding as AuditFinding
from custody.config.baseline import Baseline, audit_key, scan_key
from custody.config.fail_on import severity_rank, threshold, verdict_rank
from custody.config.suppression import AuditIgnore, ScanIgnore, Suppression, SuppressionKind, expired
from custody.scan.model import Finding, ScanResult
from custody.scan.verdict import settle


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanSuppressions:
    """What to suppress in one scan run."""

    ignores: tuple[ScanIgnore, ...] = ()
    exclude_rules: frozenset[str] = frozenset()
    exclude_source: str = "--exclude-rule"
    baseline: Baseline | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSuppressions:
    """What to suppress in one audit run."""

    ignores: tuple[AuditIgnore, ...] = ()
    exclude_rules: frozenset[str] = frozenset()
    """Finding kinds (`unpinned`, `release-age`...) or ids (scan rules, advisory ids)."""
    exclude_source: str = "--exclude-rule"
    baseline: Baseline | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOutcome:
    results: list[ScanResult]
    expired: tuple[ScanIgnore, ...]
    """Entries past their `until`: not applied, to be reported."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditOutcome:
    report: AuditReport
    expired: tuple[AuditIgnore, ...]


def _excluded(source: str) -> Suppression:
    return Suppression(kind=SuppressionKind.EXCLUDED, reason="rule excluded", until=None, source=source)


def _in_baseline(baseline: Baseline) -> Suppression:
    return Suppression(
        kind=SuppressionKind.BASELINE,
        reason="already in the baseline report",
        until=None,
        source=baseline.source,
    )


def suppress_scan(results: Iterable[ScanResult], rules: ScanSuppressions, now: datetime) -> ScanOutcome:
    """Mark the findings `rules` cover and judge each target again on the findings left."""
    live = tuple(e for e in rules.ignores if not expired(e, now))
    gone = tuple(e for e in rules.ignores if expired(e, now))
    out = []
    for result in results:
        findings = tuple(_scan_mark(result, f, live, rules) for f in result.findings)
        if findings == result.findings:
            out.append(result)
            continue
        counted = [f for f in findings if f.suppression is None]
        verdict, score, summary = settle(counted, result.error)
        out.append(
            replace(result, findings=findings, verdict=verdict, score=round(score, 2), summary=summary)
        )
    return ScanOutcome(results=out, expired=gone)


def _scan_mark(
    result: ScanResult, finding: Finding, live: Sequence[ScanIgnore], rules: ScanSuppressions
) -> Finding:
    if finding.suppression is not None:
        return finding
    if finding.rule in rules.exclude_rules:
        return replace(finding, suppression=_excluded(rules.exclude_source))
    for entry in live:
        if entry.matches(finding.rule, result.name, finding.file):
            return replace(finding, suppression=entry.suppression())
    baseline = rules.baseline
    if baseline is not None and scan_key(result.name, result.target, finding.rule, finding.file) in baseline:
        return replace(finding, suppression=_in_baseline(baseline))
    return finding


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
        return replace(finding, suppression=_excluded(rules.exclude_source))
    for entry in live:
        if entry.matches(finding.id, finding.aliases, finding.package):
            return replace(finding, suppression=entry.suppression())
    baseline = rules.baseline
    if (
        baseline is not None
        and audit_key(finding.kind.value, finding.id, finding.package, finding.path) in baseline
    ):
        return replace(finding, suppression=_in_baseline(baseline))
    return finding


def scan_reached(results: Iterable[ScanResult], level: str) -> bool:
    """`--fail-on level` for scan: a verdict or a counted finding at or above it."""
    bar = threshold(level)
    for result in results:
        if verdict_rank(result.verdict.value) >= bar:
            return True
        if any(f.suppression is None and f.severity.rank >= bar for f in result.findings):
            return True
    return False


def audit_reached(findings: Iterable[AuditFinding], level: str) -> bool:
    """`--fail-on level` for audit: a counted finding at or above it."""
    bar = threshold(level)
    return any(f.suppression is None and severity_rank(f.severity) >= bar for f in findings)
