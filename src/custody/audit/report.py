"""Audit reports as JSON (stable, schema_version 1), SARIF 2.1.0 (custody.report's writer) and plain text."""

from __future__ import annotations

import json
from typing import Any

from custody import __version__
from custody.audit.model import AuditReport, Finding, FindingKind, severity_rank

SCHEMA_VERSION = 1


def sorted_findings(report: AuditReport) -> list[Finding]:
    """The report's findings worst first (then by kind, package, path): the order every format shows."""
    return sorted(
        report.findings,
        key=lambda f: (-severity_rank(f.severity), f.kind.value, f.package or "", f.path or ""),
    )


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One audit finding as the JSON report writes it."""
    return {
        "kind": finding.kind.value,
        "id": finding.id,
        "aliases": list(finding.aliases),
        "package": finding.package,
        "version": finding.version,
        "severity": finding.severity,
        "path": finding.path,
        "fix": finding.fix,
        "detail": finding.detail,
        "ecosystem": finding.ecosystem,
        "suppression": finding.suppression.as_dict() if finding.suppression else None,
    }


def report_to_json(report: AuditReport) -> str:
    """The audit report as `custody audit --format json` prints it."""
    return json.dumps(
        {
            "custody_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "targets": report.targets,
            "packages": report.packages,
            "findings": [finding_dict(f) for f in sorted_findings(report)],
            "errors": report.errors,
            "notes": report.notes,
        },
        indent=2,
    )


def report_to_sarif(report: AuditReport) -> str:
    """SARIF 2.1.0 through custody's one SARIF writer (custody.report), findings worst first."""
    # imported here: custody.report's SARIF writer imports custody.audit.model, whose package
    # imports this module
    from custody.report.sarif_format import audit_to_sarif  # noqa: PLC0415

    return audit_to_sarif(sorted_findings(report))


def report_to_text(report: AuditReport, *, verbose: bool = False) -> str:
    """The audit report as text: findings of low severity and up (all with `verbose`), then
    errors, notes and a summary line."""
    lines: list[str] = []
    low = severity_rank("low")
    shown = [f for f in sorted_findings(report) if verbose or severity_rank(f.severity) >= low]
    for finding in shown:
        head = f"[{finding.severity.upper()}] {finding.kind.value}"
        who = (
            f" {finding.package}=={finding.version}"
            if finding.package and finding.version
            else (f" {finding.package}" if finding.package else "")
        )
        ident = f" {finding.id}" if finding.id else ""
        alias = f" ({', '.join(finding.aliases[:4])})" if finding.aliases else ""
        lines.append(f"{head}{who}{ident}{alias}")
        lines.append(f"    {finding.detail}")
        if finding.path:
            lines.append(f"    at {finding.path}")
        if finding.fix:
            upgrade = finding.kind is FindingKind.VULNERABILITY
            lines.append(f"    fix: {'upgrade to ' if upgrade else ''}{finding.fix}")
    for error in report.errors:
        lines.append(f"[ERROR] {error}")
    for note in report.notes:
        lines.append(f"note: {note}")
    hidden = len(report.findings) - len(shown)
    counts: dict[str, int] = {}
    for finding in report.findings:
        counts[finding.kind.value] = counts.get(finding.kind.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no findings"
    lines.append(
        f"audited {report.packages} package(s) in {len(report.targets)} target(s): {summary}"
        + (f" ({hidden} info finding(s) hidden; -v shows them)" if hidden else "")
    )
    return "\n".join(lines)
