"""The stable JSON report of `custody scan --format json` (documented in README.md).

Fields are only ever added, never renamed or removed, within a major version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from custody import __version__
from custody.scan.model import Finding, ScanResult

SCHEMA_VERSION = 1


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """One scan finding as the JSON report writes it."""
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "file": finding.file,
        "line": finding.line,
        "snippet": finding.snippet,
        "reason": finding.reason,
        "context": finding.context.value if finding.context else None,
        "limit": finding.limit.value if finding.limit else None,
        "suppression": finding.suppression.as_dict() if finding.suppression else None,
    }


def result_to_dict(result: ScanResult) -> dict[str, Any]:
    """One scan result as the JSON report writes it."""
    return {
        "target": result.target,
        "name": result.name,
        "version": result.version,
        "kind": result.kind,
        "verdict": result.verdict.value,
        "score": result.score,
        "summary": result.summary,
        "findings": [finding_to_dict(f) for f in result.findings],
        "error": result.error,
        "seconds": result.seconds,
    }


def results_to_json(results: Iterable[ScanResult]) -> str:
    """Scan results as `custody scan --format json` prints them."""
    document = {
        "custody_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "targets": [result_to_dict(r) for r in results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
