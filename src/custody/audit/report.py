"""Audit reports as JSON (stable, schema_version 1), SARIF 2.1.0 and plain text."""

from __future__ import annotations

import json
import re
from typing import Any

from custody import __version__
from custody.audit.model import AuditReport, Finding, FindingKind, severity_rank

SCHEMA_VERSION = 1
_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _sorted(report: AuditReport) -> list[Finding]:
    return sorted(
        report.findings,
        key=lambda f: (-severity_rank(f.severity), f.kind.value, f.package or "", f.path or ""),
    )


def finding_dict(finding: Finding) -> dict[str, Any]:
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
    return json.dumps(
        {
            "custody_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "targets": report.targets,
            "packages": report.packages,
            "findings": [finding_dict(f) for f in _sorted(report)],
            "errors": report.errors,
            "notes": report.notes,
        },
        indent=2,
    )


def report_to_sarif(report: AuditReport) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in _sorted(report):
        rule_id = finding.id or finding.kind.value
        rules.setdefault(
            rule_id, {"id": rule_id, "shortDescription": {"text": f"{finding.kind.value}: {rule_id}"}}
        )
        result: dict[str, Any] = {
            "ruleId": rule_id,
            "level": _SARIF_LEVEL.get(finding.severity, "warning"),
            "message": {"text": _line(finding)},
            "properties": finding_dict(finding),
            "suppressions": finding.suppression.as_sarif() if finding.suppression else [],
        }
        if finding.path:
            result["locations"] = [{"physicalLocation": _location(finding.path)}]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "custody-audit",
                        "version": __version__,
                        "informationUri": "https://github.com/",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2)


def _location(path: str) -> dict[str, Any]:
    """`FILE:LINE`, `FILE#section` and `SITE_DIR::NAME.dist-info` as a SARIF physical location."""
    if "::" in path:
        site_dir, entry = path.split("::", 1)
        return {"artifactLocation": {"uri": f"{site_dir}/{entry}"}}
    path = path.split("#", 1)[0]
    match = re.match(r"^(.*):(\d+)$", path)
    if match:
        return {"artifactLocation": {"uri": match.group(1)}, "region": {"startLine": int(match.group(2))}}
    return {"artifactLocation": {"uri": path}}


def _line(finding: Finding) -> str:
    who = (
        f"{finding.package}=={finding.version}"
        if finding.package and finding.version
        else finding.package or ""
    )
    ident = finding.id or ""
    if finding.aliases:
        ident += f" ({', '.join(finding.aliases[:4])})"
    head = " ".join(p for p in (who, ident) if p)
    return f"{head}: {finding.detail}" if head else finding.detail


def report_to_text(report: AuditReport, *, verbose: bool = False) -> str:
    lines: list[str] = []
    shown = [f for f in _sorted(report) if verbose or severity_rank(f.severity) >= severity_rank("low")]
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
