"""One SARIF writer for scan and audit: rule help for every rule id, a real informationUri, and
suppressions rendered as SARIF `suppressions` (kept visible, never dropped)."""

from __future__ import annotations

import json

from custody.audit.model import Finding as AuditFinding
from custody.audit.model import FindingKind
from custody.report import SarifResult, SarifRule, SarifSuppression, audit_to_sarif, to_sarif
from custody.report.sarif_format import ADVISORY_URI, INFORMATION_URI, scan_rules
from custody.scan.catalog import RULES


def test_every_scan_rule_has_help_text_and_a_help_uri() -> None:
    rules = scan_rules()
    assert set(RULES) | {"scan-error"} == set(rules)
    for rule in rules.values():
        assert rule.help and rule.help != rule.id
        assert rule.help_uri and rule.help_uri.startswith(INFORMATION_URI)


def test_audit_uses_the_same_writer_with_advisory_help() -> None:
    finding = AuditFinding(
        kind=FindingKind.VULNERABILITY,
        id="PYSEC-2021-66",
        aliases=("CVE-2020-28493",),
        package="jinja2",
        version="2.10",
        severity="medium",
        path="requirements.txt:3",
        fix="2.11.3",
        detail="ReDoS",
    )
    [run] = json.loads(audit_to_sarif([finding]))["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "custody" and driver["informationUri"] == INFORMATION_URI
    assert run["automationDetails"]["id"] == "custody/audit/"
    [rule] = driver["rules"]
    assert rule["helpUri"] == ADVISORY_URI + "PYSEC-2021-66" and "Fixed in 2.11.3." in rule["help"]["text"]
    [result] = run["results"]
    assert result["level"] == "warning" and result["properties"]["fix"] == "2.11.3"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}


def test_a_suppressed_result_stays_in_the_report_with_its_reason() -> None:
    rule = SarifRule(id="startup-hook", name="n", short="s", full="f", help="h")
    result = SarifResult(
        rule_id="startup-hook",
        severity="high",
        message="m",
        uri="pkg.whl",
        suppressions=(SarifSuppression(justification="our own .pth, reviewed", until="2027-01-01"),),
    )
    [sarif_result] = json.loads(to_sarif([result], {"startup-hook": rule}, category="scan"))["runs"][0][
        "results"
    ]
    assert sarif_result["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "our own .pth, reviewed",
            "properties": {"until": "2027-01-01"},
        }
    ]
    assert sarif_result["level"] == "error"  # the finding itself is unchanged
