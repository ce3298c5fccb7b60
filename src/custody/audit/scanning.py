"""The scan engine inside an audit: owned start-up hooks, and `--scan` over every distribution."""

from __future__ import annotations

from collections.abc import Sequence

from custody.artifacts import ArtifactError, read_loose_file
from custody.audit.environment import HookScan
from custody.audit.model import MALWARE_REMEDIATION, AuditReport, Finding, FindingKind
from custody.progress import Progress
from custody.progress import report as report_progress
from custody.scan import Scanner, ScanResult, Verdict, expand_target, scan_tasks

VERDICT_SEVERITY = {
    Verdict.MALICIOUS: "critical",
    Verdict.SUSPICIOUS: "high",
    Verdict.CLEAN: "info",
    Verdict.ERROR: "low",
}


def hook_scanner(rule_dirs: tuple[str, ...] = ()) -> HookScan:
    """A HookScan that compiles the rules once, on first use."""
    scanner: list[Scanner] = []

    def scan(path: str) -> tuple[str, str]:
        if not scanner:
            scanner.append(Scanner(rule_dirs))
        try:
            result = scanner[0].scan_artifact(read_loose_file(path))
        except ArtifactError as exc:
            return "low", f"unreadable: {exc}"
        return VERDICT_SEVERITY[result.verdict], f"{result.verdict.value}: {result.summary}"

    return scan


def _finding(result: ScanResult) -> Finding:
    rules = sorted({f.rule for f in result.findings if f.severity.rank >= 3})
    return Finding(
        kind=FindingKind.SCAN,
        id=rules[0] if rules else None,
        aliases=tuple(rules[1:]),
        package=result.name,
        version=result.version,
        severity=VERDICT_SEVERITY[result.verdict],
        path=result.target,
        fix=MALWARE_REMEDIATION if result.verdict is Verdict.MALICIOUS else None,
        detail=f"scan verdict {result.verdict.value}: {result.summary}",
    )


def scan_site_dirs(
    site_dirs: Sequence[str],
    report: AuditReport,
    *,
    jobs: int | None = None,
    rule_dirs: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> None:
    """`--scan`: every distribution (and the unowned start-up files) through the scan engine."""
    tasks = []
    for site_dir in site_dirs:
        try:
            tasks.extend(expand_target(site_dir))
        except ArtifactError as exc:
            report.errors.append(str(exc))
    report_progress(progress, "scan", 0, len(tasks))
    for done, result in enumerate(scan_tasks(tasks, jobs=jobs, rule_dirs=rule_dirs), 1):
        report_progress(progress, "scan", done, len(tasks))
        if result.verdict is Verdict.ERROR:
            report.errors.append(f"{result.target}: {result.error}")
        elif result.verdict in (Verdict.MALICIOUS, Verdict.SUSPICIOUS):
            report.findings.append(_finding(result))
