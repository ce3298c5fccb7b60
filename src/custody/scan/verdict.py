"""The package verdict from its findings (`decide`); the findings come from
`custody.scan.judging` (`judge`, re-exported here)."""

from __future__ import annotations

from custody.scan.judging import judge
from custody.scan.model import Basis, Finding, Severity, Verdict

WEIGHTS = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 4.0,
    Severity.MEDIUM: 1.5,
    Severity.LOW: 0.3,
    Severity.INFO: 0.0,
}


METADATA_RULES = frozenset({"typosquat", "placeholder-version"})
# Behaviours that, in a package whose name imitates a popular one, complete the picture of an attack.
BAIT_PARTNERS = frozenset(
    {
        "raw-ip-url",
        "exfil-sink",
        "secret-access",
        "install-process",
        "install-network",
        "download-exec",
        "decode-exec",
        "obfuscation",
        "obfuscated-exec",
        "dynamic-exec",
        "pip-install-runtime",
        "hidden-shell",
        "persistence",
        "install-beacon",
        "serialized-exec",
        "sourceless-bytecode",
        "disguised-file",
    }
)


def settle(findings: list[Finding], error: str | None) -> tuple[Verdict, float, str]:
    """`decide`, then fail closed: what could not be read or analysed (`error`) is not declared
    harmless, so the verdict is `error` unless the findings already make it malicious."""
    verdict, score, summary = decide(findings)
    if error is not None and verdict is not Verdict.MALICIOUS:
        return Verdict.ERROR, score, f"error: {error}"
    return verdict, score, summary


def decide(findings: list[Finding]) -> tuple[Verdict, float, str]:
    """Verdict, score (0-10) and a one-line explanation."""
    by_rule: dict[str, Severity] = {}
    for finding in findings:
        if finding.rule not in by_rule or finding.severity.rank > by_rule[finding.rule].rank:
            by_rule[finding.rule] = finding.severity
    score = float(min(10.0, sum(WEIGHTS[s] for s in by_rule.values())))
    critical = [r for r, s in by_rule.items() if s is Severity.CRITICAL]
    high = [r for r, s in by_rule.items() if s is Severity.HIGH]
    medium = [r for r, s in by_rule.items() if s is Severity.MEDIUM]
    # Metadata signals (a declaration, not a behaviour) never make a package malicious on their own
    # or together: only next to what its code does. A high one is bait like a squatted name.
    # A code finding on the very line a signal was read from (an IP address in setup.py's
    # install_requires) is the same evidence twice, not corroboration.
    declared = {f.rule for f in findings if f.basis is Basis.METADATA}
    sites = {(f.file, f.line) for f in findings if f.basis is Basis.METADATA and f.line is not None}
    high_signals = [r for r in high if r in declared]
    code_high = sorted(
        {
            f.rule
            for f in findings
            if f.severity is Severity.HIGH
            and f.rule in high
            and f.rule not in declared
            and (f.file, f.line) not in sites
        }
    )
    name_bait = sorted({r for r in METADATA_RULES if r in by_rule} | set(high_signals))
    if critical:
        return Verdict.MALICIOUS, score, "malicious: " + ", ".join(sorted(critical))
    if name_bait and code_high:
        return Verdict.MALICIOUS, max(score, 8.0), "malicious: " + ", ".join(sorted(name_bait + code_high))
    partners = [r for r, s in by_rule.items() if r in BAIT_PARTNERS and s.rank >= Severity.LOW.rank]
    if "typosquat" in by_rule and partners:
        return Verdict.MALICIOUS, max(score, 8.0), "malicious: typosquat with " + ", ".join(sorted(partners))
    if len(code_high) >= 3:
        return Verdict.MALICIOUS, score, "malicious: " + ", ".join(sorted(high))
    if high or len(medium) >= 3:
        return Verdict.SUSPICIOUS, score, "suspicious: " + ", ".join(sorted(high + medium))
    return Verdict.CLEAN, score, "no malicious behaviour found"


__all__ = ["WEIGHTS", "decide", "judge"]
