"""SARIF 2.1.0: the one writer behind `custody scan --format sarif` and `custody audit --format sarif`.

Both commands map their findings to the typed `SarifResult` and `SarifRule` below and leave the
document (tool, rules with help text, results, suppressions) to `to_sarif`, so a code-scanning
dashboard reads one dialect whichever command produced the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody import __version__
from custody.audit.model import Finding as AuditFinding
from custody.audit.model import FindingKind
from custody.config.suppression import Suppression
from custody.scan.catalog import RULES
from custody.scan.model import ScanResult, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://custody.dev/"
"""custody's home, the namespace its ledger predicates already use (README.md, "custody ledger")."""
RULES_URI = INFORMATION_URI + "rules/"
"""Where a scan rule is described: `RULES_URI + rule id` (the text is also in `custody rules`)."""
ADVISORY_URI = "https://osv.dev/vulnerability/"
"""OSV's page of an advisory id (MAL-, GHSA-, PYSEC-, CVE- ...), where audit findings come from."""

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.0", "low": "2.0", "info": "0.0"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SarifRule:
    """One entry of `tool.driver.rules`: what a rule id means and how to act on it."""

    id: str
    name: str
    short: str
    full: str
    help: str
    """Plain-text help: what was seen, why it matters, what to do (SARIF `help.text`)."""
    help_uri: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SarifSuppression:
    """Why a result is accepted (a suppression with a reason), kept visible in the report."""

    justification: str
    kind: str = "external"
    """`external`: declared in configuration or on the command line, not in the source."""
    status: str = "accepted"
    until: str | None = None
    """ISO date after which the suppression stops applying, if any."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """custody's own record of it (how it came about, where it was declared)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SarifResult:
    """One finding, as SARIF wants it."""

    rule_id: str
    severity: str
    """`critical` | `high` | `medium` | `low` | `info`: gives the SARIF level and security-severity."""
    message: str
    uri: str | None
    start_line: int | None = None
    snippet: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    suppressions: tuple[SarifSuppression, ...] = ()


def to_sarif(results: Sequence[SarifResult], rules: Mapping[str, SarifRule], *, category: str) -> str:
    """The SARIF document: one run of custody, the rules the results use, the results in order.

    `category` (e.g. `scan`, `audit`) becomes `automationDetails.id`, so a dashboard keeps the
    uploads of the two commands apart."""
    used = sorted({r.rule_id for r in results})
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "custody",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rules.get(rule_id) or _unknown_rule(rule_id)) for rule_id in used],
                    }
                },
                "automationDetails": {"id": f"custody/{category}/"},
                "results": [_result(r) for r in results],
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _rule(rule: SarifRule) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "help": {"text": rule.help},
    }
    if rule.help_uri:
        entry["helpUri"] = rule.help_uri
    return entry


def _unknown_rule(rule_id: str) -> SarifRule:
    return SarifRule(id=rule_id, name=rule_id, short=rule_id, full=rule_id, help=rule_id)


def _result(result: SarifResult) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": result.rule_id,
        "level": _LEVEL.get(result.severity, "warning"),
        "message": {"text": result.message},
    }
    if result.uri is not None:
        location: dict[str, Any] = {"artifactLocation": {"uri": result.uri}}
        if result.start_line:
            location["region"] = {"startLine": result.start_line}
            if result.snippet:
                location["region"]["snippet"] = {"text": result.snippet}
        item["locations"] = [{"physicalLocation": location}]
    if result.suppressions:
        item["suppressions"] = [_suppression(s) for s in result.suppressions]
    item["properties"] = {
        "severity": result.severity,
        "security-severity": _SECURITY_SEVERITY.get(result.severity, "5.0"),
        **result.properties,
    }
    return item


def _suppression(suppression: SarifSuppression) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": suppression.kind,
        "status": suppression.status,
        "justification": suppression.justification,
    }
    properties = {**suppression.properties}
    if suppression.until is not None:
        properties["until"] = suppression.until
    if properties:
        entry["properties"] = properties
    return entry


def sarif_suppressions(suppression: Suppression | None) -> tuple[SarifSuppression, ...]:
    """A finding's suppression (custody.config: an ignore entry with its reason, an excluded rule,
    the baseline) as SARIF `suppressions`: dashboards show the result as dismissed, with the reason."""
    if suppression is None:
        return ()
    return (
        SarifSuppression(
            justification=suppression.reason,
            until=suppression.until.isoformat() if suppression.until else None,
            properties={"kind": suppression.kind.value, "source": suppression.source},
        ),
    )


# ---- scan ---------------------------------------------------------------------------------------
SCAN_ERROR_RULE = SarifRule(
    id="scan-error",
    name="Target not fully scanned",
    short="Target not fully scanned",
    full="The target could not be read or analysed in full (corrupt archive, failed download, a limit "
    "or the time budget), so nothing is known about what was left unread.",
    help="custody fails closed: a target it could not read is an error, never clean. Check the path "
    "or download, or raise --timeout; do not install the package until it scans.",
    help_uri=RULES_URI + "scan-error",
)


def scan_rules() -> dict[str, SarifRule]:
    """Every scan rule id with its catalogue title, description and help text."""
    rules = {
        rule_id: SarifRule(
            id=rule_id,
            name=info.title,
            short=info.title,
            full=info.description,
            help=(
                f"{info.description} Where the code runs (start-up, install, import, call) weighs the "
                "verdict: review the flagged file and line in the package before installing it, and "
                "treat credentials on a machine that ran it as exposed when the verdict is malicious."
            ),
            help_uri=RULES_URI + rule_id,
        )
        for rule_id, info in RULES.items()
    }
    rules[SCAN_ERROR_RULE.id] = SCAN_ERROR_RULE
    return rules


def scan_sarif_results(results: Iterable[ScanResult]) -> list[SarifResult]:
    """One SARIF result per finding, and one `scan-error` per target that yielded nothing."""
    out: list[SarifResult] = []
    for result in results:
        if result.error and not result.findings:
            out.append(
                SarifResult(
                    rule_id=SCAN_ERROR_RULE.id,
                    severity=Severity.CRITICAL.value,
                    message=f"{result.target}: {result.error}",
                    uri=result.target,
                    properties={"verdict": result.verdict.value},
                )
            )
        for finding in result.findings:
            out.append(
                SarifResult(
                    rule_id=finding.rule,
                    severity=finding.severity.value,
                    message=finding.reason,
                    uri=f"{result.target}!/{finding.file}" if finding.file else result.target,
                    start_line=finding.line,
                    snippet=finding.snippet,
                    properties={
                        "context": finding.context.value if finding.context else None,
                        "limit": finding.limit.value if finding.limit else None,
                        "verdict": result.verdict.value,
                        "package": result.name,
                        "version": result.version,
                    },
                    suppressions=sarif_suppressions(finding.suppression),
                )
            )
    return out


def results_to_sarif(results: Iterable[ScanResult]) -> str:
    """`custody scan --format sarif`."""
    return to_sarif(scan_sarif_results(results), scan_rules(), category="scan")


# ---- audit --------------------------------------------------------------------------------------
_KIND_HELP = {
    FindingKind.MALWARE: "An advisory (OSV MAL-) names this release as malware, not a bug: remove it, "
    "remove its start-up hooks, and rotate every credential the environment could read.",
    FindingKind.VULNERABILITY: "A published advisory affects this version: upgrade to the fixed version "
    "shown, or check whether the vulnerable code is reachable.",
    FindingKind.INTEGRITY: "Installed files differ from the distribution's RECORD (modified, missing, "
    "unlisted): something changed the package after it was installed. Reinstall it from a trusted index "
    "and find out what wrote to site-packages.",
    FindingKind.STARTUP_HOOK: "A .pth import line, .site.toml/.start entry point or sitecustomize runs at "
    "every interpreter start: check that its owner is expected to have one.",
    FindingKind.YANKED: "The index has yanked this release since it was installed or pinned: move to "
    "another version.",
    FindingKind.PROJECT_STATUS: "The index marks the whole project quarantined, archived or deprecated "
    "(PEP 792).",
    FindingKind.UNPINNED: "A requirement without an exact version cannot be audited: pin it.",
    FindingKind.SCAN: "The scan engine judged this installed distribution malicious or suspicious: "
    "run `custody scan` on it for the findings.",
    FindingKind.RELEASE_AGE: "The release is younger than the configured cooldown: wait, or review it.",
}


def _audit_rule(finding: AuditFinding) -> SarifRule:
    kind = finding.kind
    rule_id = finding.id or kind.value
    help_text = _KIND_HELP.get(kind, kind.value)
    if finding.fix and kind is FindingKind.VULNERABILITY:
        help_text += f" Fixed in {finding.fix}."
    advisory = bool(finding.id) and kind in (FindingKind.MALWARE, FindingKind.VULNERABILITY)
    return SarifRule(
        id=rule_id,
        name=rule_id,
        short=f"{kind.value}: {rule_id}",
        full=finding.detail,
        help=help_text,
        help_uri=ADVISORY_URI + rule_id if advisory else RULES_URI + kind.value,
    )


def _audit_location(path: str | None) -> tuple[str | None, int | None]:
    """`FILE:LINE`, `FILE#section` and `SITE_DIR::NAME.dist-info` as a URI and a line."""
    if not path:
        return None, None
    if "::" in path:
        site_dir, entry = path.split("::", 1)
        return f"{site_dir}/{entry}", None
    path = path.split("#", 1)[0]
    match = re.match(r"^(.*):(\d+)$", path)
    if match:
        return match.group(1), int(match.group(2))
    return path, None


def _audit_message(finding: AuditFinding) -> str:
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


def audit_to_sarif(findings: Iterable[AuditFinding]) -> str:
    """`custody audit --format sarif`: the audit's findings, in the order given."""
    results: list[SarifResult] = []
    rules: dict[str, SarifRule] = {}
    for finding in findings:
        rule = rules.setdefault(finding.id or finding.kind.value, _audit_rule(finding))
        uri, line = _audit_location(finding.path)
        results.append(
            SarifResult(
                rule_id=rule.id,
                severity=finding.severity,
                message=_audit_message(finding),
                uri=uri,
                start_line=line,
                properties={
                    "kind": finding.kind.value,
                    "id": finding.id,
                    "aliases": list(finding.aliases),
                    "package": finding.package,
                    "version": finding.version,
                    "path": finding.path,
                    "fix": finding.fix,
                    "detail": finding.detail,
                    "ecosystem": finding.ecosystem,
                },
                suppressions=sarif_suppressions(finding.suppression),
            )
        )
    return to_sarif(results, rules, category="audit")
