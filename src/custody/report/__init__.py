"""Renderings of scan and audit results: JSON (documented, stable, with JSON Schemas in
`custody/report/schemas/`), SARIF 2.1.0 (one writer for both commands) and a single-file HTML
report."""

from custody.report.html_format import audit_to_html, scan_to_html
from custody.report.json_format import SCHEMA_VERSION, result_to_dict, results_to_json
from custody.report.sarif_format import (
    SarifResult,
    SarifRule,
    SarifSuppression,
    audit_to_sarif,
    results_to_sarif,
    to_sarif,
)

__all__ = [
    "SCHEMA_VERSION",
    "SarifResult",
    "SarifRule",
    "SarifSuppression",
    "audit_to_html",
    "audit_to_sarif",
    "result_to_dict",
    "results_to_json",
    "results_to_sarif",
    "scan_to_html",
    "to_sarif",
]
