"""custody.config.scan_apply: suppressions decided on typed fields, kept on the finding, verdict re-judged."""

from __future__ import annotations

from datetime import datetime, timezone

from custody.config import ScanIgnore, SuppressionKind
from custody.config.baseline import Baseline, scan_key
from custody.config.scan_apply import ScanSuppressions, scan_reached, suppress_scan
from custody.scan.model import Finding, ScanResult, Severity, Verdict

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def result(name: str = "Our_Pkg") -> ScanResult:
    findings = (
        Finding(
            rule="download-exec", severity=Severity.CRITICAL, file="setup.py", line=3, snippet="x", reason="r"
        ),
        Finding(rule="obfuscation", severity=Severity.LOW, file="pkg/a.py", line=1, snippet="y", reason="r"),
    )
    return ScanResult(
        target=f"{name}-1.0.tar.gz", name=name, version="1.0", verdict=Verdict.MALICIOUS, score=10.0,
        findings=findings, error=None, seconds=0.0,
    )  # fmt: skip


def ignore(**kw: object) -> ScanIgnore:
    values: dict[str, object] = {"rule": "download-exec", "package": "our-pkg", "file": None,
                                 "reason": "our build", "until": None, "source": "custody.toml"}  # fmt: skip
    values.update(kw)
    return ScanIgnore(**values)  # type: ignore[arg-type]


def test_ignore_matches_canonical_name_and_rejudges_the_verdict() -> None:
    out = suppress_scan([result()], ScanSuppressions(ignores=(ignore(),)), NOW).results[0]
    assert out.verdict is Verdict.CLEAN
    suppressed = out.findings[0].suppression
    assert (
        suppressed is not None
        and suppressed.reason == "our build"
        and suppressed.kind is SuppressionKind.IGNORED
    )
    assert out.findings[1].suppression is None and len(out.findings) == 2  # kept, never dropped
    assert not scan_reached([out], "malicious")


def test_other_package_file_or_rule_not_matched() -> None:
    for entry in (ignore(package="other"), ignore(file="pkg/*"), ignore(rule="obfuscation-x")):
        out = suppress_scan([result()], ScanSuppressions(ignores=(entry,)), NOW).results[0]
        assert out.verdict is Verdict.MALICIOUS and out.findings[0].suppression is None


def test_expired_entry_not_applied_and_returned() -> None:
    entry = ignore(until=datetime(2026, 1, 1, tzinfo=timezone.utc))
    outcome = suppress_scan([result()], ScanSuppressions(ignores=(entry,)), NOW)
    assert outcome.expired == (entry,) and outcome.results[0].verdict is Verdict.MALICIOUS


def test_baseline_and_excluded_rule() -> None:
    key = scan_key("our-pkg", "elsewhere.tar.gz", "download-exec", "setup.py")
    rules = ScanSuppressions(
        exclude_rules=frozenset({"obfuscation"}),
        baseline=Baseline(source="old.json", kind="scan", keys=frozenset({key})),
    )
    out = suppress_scan([result()], rules, NOW).results[0]
    kinds = [f.suppression.kind if f.suppression else None for f in out.findings]
    assert kinds == [SuppressionKind.BASELINE, SuppressionKind.EXCLUDED]
    assert not scan_reached([out], "low")
