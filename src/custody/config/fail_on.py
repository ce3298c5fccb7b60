"""`--fail-on`: one vocabulary for scan and audit, verdicts mapped onto severities.

A verdict is a severity (`malicious` = critical, `suspicious` = high, the table audit already uses
for `--scan` findings); scan fails when a target's verdict or a counted finding reaches the level,
audit when a counted finding does. Suppressed findings never count. `fail_on_table` renders the
README's table from these definitions.
"""

from __future__ import annotations

SEVERITIES = ("info", "low", "medium", "high", "critical")
"""Increasing; the same scale as scan's `Severity` and audit's `SEVERITIES`."""

VERDICT_SEVERITY = {"malicious": "critical", "suspicious": "high"}
"""A scan verdict as a severity: the same table audit uses for `--scan` findings."""

FAIL_LEVELS = ("malicious", "suspicious", "critical", "high", "medium", "low")
"""The values `--fail-on` takes in both scan and audit."""

LEVEL_SEVERITY = {**VERDICT_SEVERITY, **{s: s for s in SEVERITIES if s != "info"}}


def severity_rank(severity: str) -> int:
    """Rank on the severity scale; an unknown severity ranks as medium (fail closed, not low)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("medium")


def threshold(level: str) -> int:
    """The severity rank from which `--fail-on level` fails."""
    return severity_rank(LEVEL_SEVERITY[level])


def verdict_rank(verdict: str) -> int:
    """A scan verdict's rank on the severity scale; -1 for clean and error (no severity)."""
    return severity_rank(VERDICT_SEVERITY[verdict]) if verdict in VERDICT_SEVERITY else -1


def fail_on_table() -> str:
    """The README's `--fail-on` table (a test keeps the README equal to it)."""
    lines = [
        "| `--fail-on` | as a severity | scan exits 1 when | audit exits 1 when |",
        "|---|---|---|---|",
    ]
    for level in FAIL_LEVELS:
        severity = LEVEL_SEVERITY[level]
        verdicts = [v for v, s in VERDICT_SEVERITY.items() if severity_rank(s) >= threshold(level)]
        scan = f"a verdict {' or '.join(verdicts)}" if verdicts else "—"
        lines.append(
            f"| `{level}` | {severity} | {scan}, or a finding of severity {severity} or above "
            f"| a finding of severity {severity} or above |"
        )
    return "\n".join(lines)
