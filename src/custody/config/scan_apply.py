"""Applying suppressions, excluded rules and a baseline to scan results, and deciding `--fail-on`
from what is left. Suppressed findings are kept, marked, never dropped; the target is judged again
on the findings that still count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from custody.config.baseline import Baseline, scan_key
from custody.config.fail_on import threshold, verdict_rank
from custody.config.suppression import ScanIgnore, excluded, expired, in_baseline
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
class ScanOutcome:
    """The scan results with suppressions applied, and the ignore entries past their `until`."""

    results: list[ScanResult]
    expired: tuple[ScanIgnore, ...]
    """Entries past their `until`: not applied, to be reported."""


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
        return replace(finding, suppression=excluded(rules.exclude_source))
    for entry in live:
        if entry.matches(finding.rule, result.name, finding.file):
            return replace(finding, suppression=entry.suppression())
    baseline = rules.baseline
    if baseline is not None and scan_key(result.name, result.target, finding.rule, finding.file) in baseline:
        return replace(finding, suppression=in_baseline(baseline.source))
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
