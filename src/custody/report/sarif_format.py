"""SARIF 2.1.0 output, one run, one result per finding (for code-scanning dashboards)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from custody import __version__
from custody.scan.catalog import RULES
from custody.scan.model import ScanResult, Severity

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}


def results_to_sarif(results: Iterable[ScanResult]) -> str:
    sarif_results: list[dict[str, Any]] = []
    used: set[str] = set()
    for result in results:
        if result.error and not result.findings:
            sarif_results.append(
                {
                    "ruleId": "scan-error",
                    "level": "error",
                    "message": {"text": f"{result.target}: {result.error}"},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": result.target}}}],
                }
            )
            used.add("scan-error")
        for finding in result.findings:
            used.add(finding.rule)
            location: dict[str, Any] = {
                "artifactLocation": {
                    "uri": f"{result.target}!/{finding.file}" if finding.file else result.target
                }
            }
            if finding.line:
                location["region"] = {"startLine": finding.line, "snippet": {"text": finding.snippet}}
            sarif_results.append(
                {
                    "ruleId": finding.rule,
                    "level": _LEVEL[finding.severity],
                    "message": {"text": finding.reason},
                    "locations": [{"physicalLocation": location}],
                    "suppressions": finding.suppression.as_sarif() if finding.suppression else [],
                    "properties": {
                        "severity": finding.severity.value,
                        "security-severity": _SECURITY_SEVERITY[finding.severity],
                        "limit": finding.limit.value if finding.limit else None,
                        "verdict": result.verdict.value,
                        "package": result.name,
                        "version": result.version,
                    },
                }
            )
    rules = [
        {
            "id": rule_id,
            "name": RULES[rule_id].title if rule_id in RULES else rule_id,
            "shortDescription": {"text": RULES[rule_id].title if rule_id in RULES else rule_id},
            "fullDescription": {"text": RULES[rule_id].description if rule_id in RULES else rule_id},
        }
        for rule_id in sorted(used)
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "custody",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/custody/",
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
