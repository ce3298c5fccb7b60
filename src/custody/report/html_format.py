"""The single-file HTML report of `custody scan --format html` and `custody audit --format html`.

One file a reviewer can open offline: inline CSS, no script, no font, image or stylesheet from
anywhere. The report shows hostile package content (snippets, file names, metadata a package
author chose), so every piece of text goes through `html.escape`, and the page carries a
Content-Security-Policy that allows nothing but its own stylesheet (by hash): even markup that
slipped through could neither run a script nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from html import escape

from custody import __version__
from custody.audit.model import AuditReport, FindingKind, severity_rank
from custody.audit.model import Finding as AuditFinding
from custody.config.suppression import Suppression
from custody.scan.catalog import RULES
from custody.scan.model import Context, Finding, ScanResult, Verdict

CONTEXT_WORDS = {
    Context.STARTUP: "runs at every interpreter start-up",
    Context.INSTALL: "runs while the package is installed",
    Context.IMPORT: "runs when the module is imported",
    Context.CALL: "runs only when called",
    Context.DEV: "tests, docs or examples: not run by installing or importing",
}
"""Where the code of a finding runs, in words a reviewer reads."""

VERDICT_ORDER = (Verdict.MALICIOUS, Verdict.SUSPICIOUS, Verdict.ERROR, Verdict.CLEAN)

_RISKY = re.compile(
    r"\b(exec|eval|compile|__import__|b64decode|b32decode|b85decode|a85decode|fromhex|decompress|"
    r"marshal|pickle|subprocess|Popen|system|popen|spawn\w*|urlopen|urlretrieve|requests|httpx|"
    r"socket|connect|sendall|environ|getenv|chmod|ctypes|CreateRemoteThread|VirtualAlloc)\b"
)
"""Names whose presence in a snippet is what a reviewer should look at first (highlighted)."""

_CSS = """
:root{--bad:#b00020;--warn:#9a5b00;--ok:#1b6e2f;--err:#6a1b9a;--mute:#5f6368;--line:#dadce0}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;
padding:0 1rem;color:#202124}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .5rem}
.meta{color:var(--mute);margin:0 0 1.5rem}
.cards{display:flex;gap:.75rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:8px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.6rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:0 .4rem;font-weight:600;color:#fff}
.malicious,.critical{background:var(--bad)}.suspicious,.high{background:#d93025}
.medium{background:var(--warn)}.clean{background:var(--ok)}.error{background:var(--err)}
.low,.info,.suppressed{background:var(--mute)}
.finding.muted,tr.muted{color:var(--mute)}
section.pkg{border:1px solid var(--line);border-radius:8px;padding:.5rem 1rem;margin:1rem 0}
.finding{border-top:1px solid var(--line);padding:.5rem 0}
.where{color:var(--mute)}.reason{margin:.25rem 0}
.ctx{font-weight:600}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:.5rem;overflow:auto;
white-space:pre-wrap;word-break:break-all;margin:.25rem 0}
pre .ln{color:var(--mute);user-select:none;margin-right:.75rem}
mark{background:#ffe08a;padding:0 1px}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.small{color:var(--mute);font-size:.9em}
"""
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
_CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'"
)


def _e(text: object) -> str:
    """Escaped for element content and quoted attribute values."""
    return escape(str(text), quote=True)


def _page(title: str, body: Iterable[str]) -> str:
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{_e(title)}</h1>",
            f'<p class="meta">custody {_e(__version__)}, generated {generated}</p>',
            *body,
            "</body></html>\n",
        ]
    )


def _badge(word: str) -> str:
    return f'<span class="badge {_e(word)}">{_e(word)}</span>'


def highlighted(snippet: str) -> str:
    """`snippet`, escaped, with the names a reviewer should look at first wrapped in `<mark>`."""
    parts: list[str] = []
    last = 0
    for match in _RISKY.finditer(snippet):
        parts.append(_e(snippet[last : match.start()]))
        parts.append(f"<mark>{_e(match.group(0))}</mark>")
        last = match.end()
    parts.append(_e(snippet[last:]))
    return "".join(parts)


def _code(snippet: str, line: int | None) -> str:
    gutter = f'<span class="ln">{line}</span>' if line else ""
    return f"<pre><code>{gutter}{highlighted(snippet)}</code></pre>"


def _suppression(suppression: Suppression | None) -> str:
    """The line saying why a finding does not count (shown, never hidden: a reviewer can disagree)."""
    if suppression is None:
        return ""
    until = f", until {suppression.until:%Y-%m-%d}" if suppression.until else ""
    origin = f"{suppression.kind.value}, {suppression.source}{until}"
    return (
        f'<div class="why-suppressed">{_badge("suppressed")} {_e(suppression.reason)} '
        f'<span class="small">({_e(origin)})</span></div>'
    )


# ---- scan ---------------------------------------------------------------------------------------
def _package(result: ScanResult) -> str:
    return f"{result.name or '?'} {result.version or ''}".strip()


def _cards(counts: Counter[str], order: Sequence[str]) -> str:
    cards = "".join(f'<div class="card"><b>{counts.get(word, 0)}</b>{_badge(word)}</div>' for word in order)
    return f'<div class="cards">{cards}</div>'


def _scan_overview(results: Sequence[ScanResult]) -> str:
    counts = Counter(r.verdict.value for r in results)
    rows = "".join(
        f"<tr><td>{_e(_package(r))}</td><td>{_badge(r.verdict.value)}</td>"
        f'<td>{r.score:.1f}</td><td>{_e(_why(r))}</td><td class="small">{_e(r.target)}</td></tr>'
        for r in _ranked(results)
    )
    return (
        f"<h2>Verdicts ({len(results)} target{'s' if len(results) != 1 else ''})</h2>"
        + _cards(counts, [v.value for v in VERDICT_ORDER])
        + "<table><thead><tr><th>package</th><th>verdict</th><th>score</th><th>why</th>"
        + f"<th>target</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _why(result: ScanResult) -> str:
    if result.verdict is Verdict.ERROR and result.error is not None:
        return f"error: {result.error}"
    return result.summary


def _ranked(results: Sequence[ScanResult]) -> list[ScanResult]:
    return sorted(results, key=lambda r: (VERDICT_ORDER.index(r.verdict), -r.score, r.target))


def _finding(finding: Finding) -> str:
    rule = RULES.get(finding.rule)
    title = f" ({_e(rule.title)})" if rule else ""
    where = f"{finding.file}:{finding.line}" if finding.line else (finding.file or "(the package itself)")
    runs = (
        f'<span class="ctx">{_e(CONTEXT_WORDS[finding.context])}</span>'
        if finding.context
        else '<span class="ctx">where it runs: not applicable</span>'
    )
    snippet = _code(finding.snippet, finding.line) if finding.snippet else ""
    muted = " muted" if finding.suppression else ""
    return (
        f'<div class="finding{muted}">{_badge(finding.severity.value)} <code>{_e(finding.rule)}</code>{title}'
        f"{_suppression(finding.suppression)}"
        f'<div class="where"><code>{_e(where)}</code> · {runs}</div>'
        f'<p class="reason">{_e(finding.reason)}</p>{snippet}</div>'
    )


def _scan_section(result: ScanResult) -> str:
    # counted findings first (worst first), then the suppressed ones, marked with their reason
    findings = sorted(result.findings, key=lambda f: (f.suppression is not None, -f.severity.rank))
    body = "".join(_finding(f) for f in findings)
    error = f'<p class="reason">error: {_e(result.error)}</p>' if result.error else ""
    flagged = result.verdict is not Verdict.CLEAN
    suppressed = sum(f.suppression is not None for f in findings)
    counted = len(findings) - suppressed
    also = f" ({suppressed} suppressed)" if suppressed else ""
    head = (
        f"<summary><strong>{_e(_package(result))}</strong> {_badge(result.verdict.value)} "
        f'<span class="small">{counted} finding{"s" if counted != 1 else ""}{also} · '
        f"{_e(result.target)}</span></summary>"
    )
    summary = f"<p>{_e(result.summary)}</p>" if result.summary else ""
    return (
        f'<section class="pkg"><details{" open" if flagged else ""}>{head}{summary}{error}{body}'
        "</details></section>"
    )


def scan_to_html(results: Sequence[ScanResult]) -> str:
    """The scan report: verdict overview, then each package with its findings (flagged ones open)."""
    ranked = _ranked(results)
    sections = [_scan_section(r) for r in ranked if r.findings or r.error]
    return _page(
        "custody scan report",
        [
            _scan_overview(results),
            "<h2>Findings per package</h2>",
            *(sections or ["<p>No findings.</p>"]),
        ],
    )


# ---- audit --------------------------------------------------------------------------------------
_ADVISORY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,80}$")


def _advisory(finding: AuditFinding) -> str:
    if not finding.id:
        return ""
    ident = _e(finding.id)
    if finding.kind in (FindingKind.MALWARE, FindingKind.VULNERABILITY) and _ADVISORY_ID.match(finding.id):
        ident = f'<a href="https://osv.dev/vulnerability/{ident}" rel="noreferrer">{ident}</a>'
    aliases = f' <span class="small">({_e(", ".join(finding.aliases[:6]))})</span>' if finding.aliases else ""
    return ident + aliases


def _fix(finding: AuditFinding) -> str:
    if not finding.fix:
        return '<span class="small">none known</span>' if finding.kind is FindingKind.VULNERABILITY else ""
    prefix = "upgrade to " if finding.kind is FindingKind.VULNERABILITY else ""
    return f"{prefix}{_e(finding.fix)}"


def _audit_row(finding: AuditFinding) -> str:
    who = f"{finding.package or ''} {finding.version or ''}".strip()
    path = f'<div class="small"><code>{_e(finding.path)}</code></div>' if finding.path else ""
    muted = ' class="muted"' if finding.suppression else ""
    return (
        f"<tr{muted}><td>{_badge(finding.severity)}</td><td>{_e(finding.kind.value)}</td><td>{_e(who)}</td>"
        f"<td>{_advisory(finding)}</td><td>{_fix(finding)}</td><td>{_e(finding.detail)}{path}"
        f"{_suppression(finding.suppression)}</td></tr>"
    )


def _audit_table(findings: Sequence[AuditFinding]) -> str:
    rows = "".join(_audit_row(f) for f in findings)
    return (
        "<table><thead><tr><th>severity</th><th>kind</th><th>package</th><th>advisory</th>"
        f"<th>fix</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def audit_to_html(report: AuditReport, findings: Sequence[AuditFinding]) -> str:
    """The audit report: counts by severity and kind, then every finding (worst first) with the
    advisory, its aliases and the version that fixes it, then the suppressed findings (not
    counted, each with its reason), then errors and notes."""
    counted = [f for f in findings if f.suppression is None]
    suppressed = [f for f in findings if f.suppression is not None]
    by_severity = Counter(f.severity for f in counted)
    kinds = Counter(f.kind.value for f in counted)
    kind_line = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no findings"
    if suppressed:
        kind_line += f" ({len(suppressed)} suppressed)"
    table = _audit_table(counted) if counted else "<p>No findings.</p>"
    hidden = (
        f"<h2>Suppressed ({len(suppressed)}, not counted)</h2>{_audit_table(suppressed)}"
        if suppressed
        else ""
    )
    errors = "".join(f"<li>{_e(e)}</li>" for e in report.errors)
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    targets = "".join(f"<li><code>{_e(t)}</code></li>" for t in report.targets)
    severities = sorted({*by_severity, "critical", "high", "medium", "low"}, key=lambda s: -severity_rank(s))
    return _page(
        "custody audit report",
        [
            f"<h2>Overview</h2><p>{report.packages} package(s) audited in {len(report.targets)} "
            f"target(s): {_e(kind_line)}.</p>",
            _cards(by_severity, severities),
            "<h2>Findings</h2>",
            table,
            hidden,
            f'<h2>Errors</h2><ul class="errors">{errors}</ul>' if errors else "",
            f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "",
            f"<h2>Targets</h2><ul>{targets}</ul>" if targets else "",
        ],
    )
