"""custody.audit: installed environments and lockfiles against advisories, RECORD and start-up hooks.

from custody.audit import AuditRequest, audit
report = audit(AuditRequest(site_dirs=[".venv/lib/python3.12/site-packages"]))
"""

from custody.audit.matching import finding_for_group, group_by_alias, match_package
from custody.audit.model import (
    MALWARE_REMEDIATION,
    SEVERITIES,
    AuditReport,
    Finding,
    FindingKind,
    severity_rank,
)
from custody.audit.report import report_to_json, report_to_sarif, report_to_text
from custody.audit.run import AuditRequest, audit

__all__ = [
    "MALWARE_REMEDIATION",
    "SEVERITIES",
    "AuditReport",
    "AuditRequest",
    "Finding",
    "FindingKind",
    "audit",
    "finding_for_group",
    "group_by_alias",
    "match_package",
    "report_to_json",
    "report_to_sarif",
    "report_to_text",
    "severity_rank",
]
