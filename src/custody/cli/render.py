"""Human-readable terminal output (rich)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from custody.scan.model import ScanResult, Verdict

_STYLE = {
    Verdict.MALICIOUS: "bold red",
    Verdict.SUSPICIOUS: "yellow",
    Verdict.CLEAN: "green",
    Verdict.ERROR: "magenta",
}


def _why(result: ScanResult) -> str:
    """The summary, or the reason a target could not be scanned (its findings say nothing then)."""
    if result.verdict is Verdict.ERROR and result.error is not None:
        return f"error: {result.error}"
    return result.summary


_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_text(results: Sequence[ScanResult], console: Console, *, verbose: bool = False) -> None:
    """The results as a table (one row per target), then the findings and read errors of each."""
    table = Table(title="custody scan", show_lines=False)
    table.add_column("target", overflow="fold")
    table.add_column("package")
    table.add_column("verdict")
    table.add_column("score", justify="right")
    table.add_column("why", overflow="fold")
    for result in results:
        package = f"{result.name or '?'} {result.version or ''}".strip()
        table.add_row(
            result.target,
            package,
            Text(result.verdict.value, style=_STYLE[result.verdict]),
            f"{result.score:.1f}",
            _why(result),
        )
    console.print(table)
    for result in results:
        if result.verdict is Verdict.CLEAN and not verbose:
            continue
        shown = [f for f in result.findings if verbose or f.severity.rank >= 2]
        if not shown and result.error is None:
            continue
        console.print(
            Text(f"\n{result.target}", style="bold"),
            Text(f" [{result.verdict.value}]", style=_STYLE[result.verdict]),
        )
        if result.error is not None:
            # in full here: the table cell may be folded or, for a partial read, hold the findings
            console.print(Text(f"  error: {result.error}", style=_STYLE[Verdict.ERROR]))
        for finding in shown[:25]:
            where = f"{finding.file}:{finding.line}" if finding.line else (finding.file or "(package)")
            console.print(
                Text(f"  {finding.severity.value:<8}", style=_SEV_STYLE[finding.severity.value]),
                Text(f"{finding.rule:<24} ", style="bold"),
                Text(where, style="cyan"),
            )
            console.print(Text(f"           {finding.reason}"))
            if finding.snippet:
                console.print(Text(f"           > {finding.snippet[:160]}", style="dim"))
        if len(shown) > 25:
            console.print(Text(f"  ... {len(shown) - 25} more findings (use --format json)", style="dim"))
