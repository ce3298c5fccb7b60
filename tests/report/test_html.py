"""The single-file HTML report, rendered by a real headless Chromium and read as a reader sees it.

The report shows hostile package content, so one test feeds it findings that try to close the
stylesheet, open a script, load an image and rewrite the title, and checks in the browser that
none of it took effect and the text is shown as text."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from custody.audit.model import AuditReport, FindingKind
from custody.audit.model import Finding as AuditFinding
from custody.cli.main import cli
from custody.config import Suppression, SuppressionKind
from custody.report import audit_to_html, scan_to_html
from custody.scan import Context, Finding, ScanResult, Severity, Verdict
from tests.report.browser import Page, render_dom
from tests.scan.builders import write_litellm_wheel, write_wheel

HOSTILE = (
    "</style><script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.title='pwned'\"><style>body{display:none}</style>"
    "<!-- </pre></code></details> -->"
)

GOOD_CODE = (
    "def mean(values):\n"
    "    total = sum(values)\n"
    "    return total / len(values) if values else 0.0\n\n\n"
    "def spread(values):\n"
    "    return max(values) - min(values)\n"
)


def _scan_cli(args: list[str], home: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["scan", *args], env={"HOME": str(home)}, catch_exceptions=False)
    return result.exit_code, result.stdout


def test_scan_report_shows_verdicts_packages_and_reasons(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    bad = write_litellm_wheel(tmp_path, home=str(home))
    (tmp_path / "good").mkdir()
    good = write_wheel(tmp_path / "good", {"goodpkg/__init__.py": GOOD_CODE}, name="goodpkg", version="2.0")
    code, stdout = _scan_cli(["--format", "json", str(bad), str(good)], home)
    assert code == 1
    document = json.loads(stdout)
    [malicious] = [t for t in document["targets"] if t["verdict"] == "malicious"]
    startup = next(f for f in malicious["findings"] if f["context"] == "startup")

    report = tmp_path / "report.html"
    code, stdout = _scan_cli(["--format", "html", "-o", str(report), str(bad), str(good)], home)
    assert code == 1 and stdout == ""
    page = Page(render_dom(report))

    assert page.title == "custody scan report"
    assert "Verdicts (2 targets)" in page.text
    assert "litellm 1.82.8 malicious" in page.text and "goodpkg 2.0 clean" in page.text
    assert " ".join(startup["reason"].split()) in page.text
    assert "runs at every interpreter start-up" in page.text
    assert f"{startup['file']}:{startup['line']}" in page.text
    assert page.tags.get("mark", 0) > 0  # the risky names in the snippet are highlighted
    assert page.tags.get("script", 0) == 0 and page.tags.get("link", 0) == 0 and page.tags.get("img", 0) == 0


def test_hostile_finding_text_cannot_inject(tmp_path: Path) -> None:
    finding = Finding(
        rule="startup-hook-dangerous",
        severity=Severity.CRITICAL,
        file=f"evil{HOSTILE}.pth",
        line=1,
        snippet=f"exec({HOSTILE!r})",
        reason=f"reason {HOSTILE}",
        context=Context.STARTUP,
    )
    result = ScanResult(
        target=f"/tmp/{HOSTILE}.whl",
        name=f"evil{HOSTILE}",
        version="1.0",
        verdict=Verdict.MALICIOUS,
        score=10.0,
        findings=(finding,),
        error=None,
        seconds=0.0,
        summary=f"malicious: {HOSTILE}",
    )
    html = scan_to_html([result])
    assert not re.search(r"<script|<img|onerror=\"", html, re.IGNORECASE)
    assert html.count("<style>") == 1 and html.count("</style>") == 1  # only the report's own
    report = tmp_path / "hostile.html"
    report.write_text(html, encoding="utf-8")

    page = Page(render_dom(report))
    assert page.title == "custody scan report"  # no injected script ran
    assert page.tags.get("script", 0) == 0 and page.tags.get("img", 0) == 0
    assert page.tags.get("style", 0) == 1
    assert f"reason {' '.join(HOSTILE.split())}" in page.text  # shown, as text, where a reader looks
    assert "pwned" not in page.title


def test_audit_report_lists_advisories_with_fix_versions(tmp_path: Path) -> None:
    report = AuditReport(
        findings=[
            AuditFinding(
                kind=FindingKind.VULNERABILITY,
                id="PYSEC-2021-66",
                aliases=("CVE-2020-28493", "GHSA-g3rq-g295-4j3m"),
                package="jinja2",
                version="2.10",
                severity="medium",
                path="requirements.txt:3",
                fix="2.11.3",
                detail="ReDoS in the urlize filter",
                ecosystem="PyPI",
            ),
            AuditFinding(
                kind=FindingKind.MALWARE,
                id="MAL-2026-2144",
                aliases=(),
                package="litellm",
                version="1.82.7",
                severity="critical",
                path="requirements.txt:1",
                fix="remove it, rotate every credential",
                detail=f"Malicious code in litellm {HOSTILE}",
                ecosystem="PyPI",
            ),
        ],
        errors=["a lock file that could not be read"],
        packages=2,
        targets=["requirements.txt"],
    )
    page_file = tmp_path / "audit.html"
    page_file.write_text(audit_to_html(report, report.findings), encoding="utf-8")
    page = Page(render_dom(page_file))
    assert page.title == "custody audit report"
    assert "2 package(s) audited in 1 target(s): 1 malware, 1 vulnerability." in page.text
    assert "PYSEC-2021-66 (CVE-2020-28493, GHSA-g3rq-g295-4j3m)" in page.text
    assert "jinja2 2.10" in page.text and "upgrade to 2.11.3" in page.text
    assert "MAL-2026-2144" in page.text and "remove it, rotate every credential" in page.text
    assert "a lock file that could not be read" in page.text
    assert (
        page.tags.get("script", 0) == 0
        and page.tags.get("img", 0) == 0
        and page.title == "custody audit report"
    )


def test_audit_html_from_the_command_line(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("requests==2.31.0\n", encoding="utf-8")
    out = tmp_path / "audit.html"
    env = {"HOME": str(tmp_path), "CUSTODY_ADVISORY_DB": str(tmp_path / "none.db")}
    result = CliRunner().invoke(cli, ["audit", str(lock), "--format", "html", "-o", str(out)], env=env)
    assert result.exit_code in (0, 3), result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "custody audit report" in text
    assert str(lock) in text


def test_suppressed_findings_are_shown_as_suppressed_with_their_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    bad = write_litellm_wheel(tmp_path, home=str(home))
    code, stdout = _scan_cli(["--format", "json", str(bad)], home)
    assert code == 1
    found = [f["rule"] for t in json.loads(stdout)["targets"] for f in t["findings"]]
    ignores = [arg for rule in sorted(set(found)) for arg in ("--ignore", rule)]
    report = tmp_path / "report.html"
    args = ["--format", "html", "-o", str(report), *ignores, "--reason", "lab replica, reviewed", str(bad)]
    code, _ = _scan_cli(args, home)
    assert code == 0
    dom = render_dom(report)
    page = Page(dom)
    assert "litellm 1.82.8 clean" in page.text  # suppressed findings do not make the verdict
    assert f"0 findings ({len(found)} suppressed)" in page.text  # the clean package's summary line
    # kept under it (closed, as every clean package), each marked with the reason
    marked = re.findall(r'<div class="why-suppressed">(.*?)</div>', dom)
    assert len(marked) == len(found)
    assert {" ".join(Page(m).text.split()) for m in marked} == {
        "suppressed lab replica, reviewed (ignored, --ignore)"
    }


def test_audit_report_counts_only_findings_not_suppressed(tmp_path: Path) -> None:
    def finding(ident: str, suppression: Suppression | None) -> AuditFinding:
        return AuditFinding(
            kind=FindingKind.VULNERABILITY,
            id=ident,
            aliases=(),
            package="jinja2",
            version="2.10",
            severity="high",
            path="requirements.txt:3",
            fix=None,
            detail=f"flaw {ident}",
            ecosystem="PyPI",
            suppression=suppression,
        )

    accepted = Suppression(
        kind=SuppressionKind.IGNORED,
        reason="the filter is never used",
        until=datetime(2099, 12, 31, tzinfo=timezone.utc),
        source="custody.toml",
    )
    report = AuditReport(
        findings=[finding("PYSEC-1", None), finding("PYSEC-2", accepted)], packages=1, targets=["r.txt"]
    )
    page_file = tmp_path / "audit.html"
    page_file.write_text(audit_to_html(report, report.findings), encoding="utf-8")
    page = Page(render_dom(page_file))
    assert "1 package(s) audited in 1 target(s): 1 vulnerability (1 suppressed)." in page.text
    assert "Suppressed (1, not counted)" in page.text
    assert "suppressed the filter is never used (ignored, custody.toml, until 2099-12-31)" in page.text
    findings_part, suppressed_part = page.text.split("Suppressed (1, not counted)")
    assert "PYSEC-1" in findings_part and "PYSEC-2" not in findings_part and "PYSEC-2" in suppressed_part
