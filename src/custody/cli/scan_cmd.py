"""`custody scan`: a thin click wrapper over custody.scan."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import click
from rich.console import Console
from rich.text import Text

from custody.artifacts import ArtifactError, running_site_dirs
from custody.artifacts.index import download, parse_spec
from custody.cli.controls import (
    CliIgnore,
    check_rules,
    cli_ignore,
    current_config,
    exit_status,
    now,
    report_expired,
    shared_controls,
    summary_line,
)
from custody.cli.output import check_output_file, emit, emit_rich
from custody.cli.progress import progress_display, wanted
from custody.cli.render import render_text
from custody.config.baseline import load_baseline
from custody.config.scan_apply import ScanSuppressions, scan_reached, suppress_scan
from custody.errors import InputError, NoTargetsError, UsageError
from custody.progress import report
from custody.report import results_to_json, results_to_sarif, scan_to_html
from custody.scan import (
    RULES,
    RuleLoadError,
    ScanResult,
    ScanTask,
    Verdict,
    error_result,
    expand_target,
    scan_tasks,
)
from custody.scan.engine import DEFAULT_TIMEOUT
from custody.scan.yara_rules import YaraRules, default_rule_dirs


@click.command()
@click.argument("targets", nargs=-1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "html"]),
    default="text",
    show_default=True,
    help="html: a single-file report to open in a browser (best with -o FILE).",
)
@shared_controls(
    "malicious",
    ignore_help="Suppress this rule's findings in every package (repeatable; with --reason).",
    exclude_help="Do not count this rule (repeatable); its findings stay in JSON/SARIF, marked.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores)."
)
@click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra YARA rule directory (repeatable; also CUSTODY_RULES).",
)
@click.option("--index-url", default=None, help="Package index for NAME==VERSION targets (PEP 691 JSON API).")
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    default=None,
    callback=check_output_file,
    help="Write the report to this file instead of stdout.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="CPU seconds per target; a target not fully analysed in time is reported as error.",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Text format: show findings of clean targets and low ones."
)
def scan(
    targets: Sequence[str],
    fmt: str,
    fail_on: str,
    exit_zero: bool,
    quiet: bool,
    color: str,
    exclude_rules: Sequence[str],
    ignores: Sequence[str],
    reason: str | None,
    until: str | None,
    baseline: str | None,
    jobs: int | None,
    rule_dirs: Sequence[str],
    index_url: str | None,
    output: str | None,
    timeout: float,
    verbose: bool,
) -> None:
    """Scan package archives, directories, environments or NAME==VERSION pins for malicious behaviour.

    A project directory (pyproject.toml, setup.py or setup.cfg at the top; a checkout, an unpacked
    sdist) is scanned as one package; a venv or site-packages one target per distribution; any
    other directory, every archive under it. With no TARGET, scans the running Python
    environment. Never executes package code.
    """
    started = time.perf_counter()
    rules = _suppressions(exclude_rules, cli_ignore(ignores, reason, until), baseline)
    all_rule_dirs = tuple(rule_dirs) + default_rule_dirs()
    try:
        YaraRules(all_rule_dirs)  # fail fast on bad user rules, before any worker starts
    except (RuleLoadError, OSError) as exc:
        raise UsageError(f"cannot load rules: {exc}") from exc
    tasks, early = _plan(list(targets) or running_site_dirs(), index_url)
    if not tasks and not early:
        # an empty report would read as "all clean" when nothing was looked at
        named = ", ".join(targets) if targets else "the running environment"
        raise NoTargetsError(f"nothing to scan in {named} (no package archive, directory or environment)")
    results: list[ScanResult] = list(early)
    with progress_display(wanted(fmt, output) and len(tasks) > 1 and not quiet) as progress:
        for done, result in enumerate(
            scan_tasks(tasks, jobs=jobs, rule_dirs=all_rule_dirs, timeout=timeout), 1
        ):
            results.append(result)
            report(progress, "scanning", done, len(tasks))
    outcome = suppress_scan(results, rules, now())
    report_expired(
        [e.describe() + f" (until {e.until:%Y-%m-%d}; {e.source})" for e in outcome.expired if e.until]
    )
    view = TextView(verbose=verbose, quiet=quiet, color=color, seconds=time.perf_counter() - started)
    _emit(outcome.results, fmt, output, view)
    errors = any(r.verdict is Verdict.ERROR for r in outcome.results)
    sys.exit(exit_status(scan_reached(outcome.results, fail_on), errors, exit_zero))


def _suppressions(exclude: Sequence[str], ignore: CliIgnore, baseline: str | None) -> ScanSuppressions:
    """The config's and the command line's suppressions, checked before any work."""
    config = current_config()
    known = set(RULES)
    excluded = check_rules(exclude, known, "--exclude-rule")
    check_rules([i.rule for i in config.scan_ignores] + list(ignore.ids), known, "ignore rule")
    loaded = load_baseline(baseline, "scan") if baseline else None
    return ScanSuppressions(
        ignores=config.scan_ignores + ignore.scan(), exclude_rules=excluded, baseline=loaded
    )


def _plan(targets: list[str], index_url: str | None) -> tuple[list[ScanTask], list[ScanResult]]:
    tasks: list[ScanTask] = []
    early: list[ScanResult] = []
    for target in targets:
        pin = parse_spec(target)
        if pin is not None and not _exists(target):
            try:
                paths = download(pin[0], pin[1], index_url)
            except ArtifactError as exc:
                early.append(error_result(target, str(exc)))
                continue
            tasks.extend(ScanTask(p) for p in paths)
            continue
        try:
            tasks.extend(expand_target(target))
        except ArtifactError as exc:  # a target that names nothing readable: usage, not exit 3
            raise InputError(str(exc)) from exc
    return tasks, early


def _exists(path: str) -> bool:
    return os.path.exists(path)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextView:
    """How the text report is shown."""

    verbose: bool
    quiet: bool
    color: str
    seconds: float


def _emit(results: list[ScanResult], fmt: str, output: str | None, view: TextView) -> None:
    if fmt == "json":
        emit(results_to_json(results), output)
    elif fmt == "sarif":
        emit(results_to_sarif(results), output)
    elif fmt == "html":
        emit(scan_to_html(results), output)
    else:
        emit_rich(lambda console: _text(results, console, view), output, color=view.color)


def _text(results: list[ScanResult], out: Console, view: TextView) -> None:
    """The table and findings (suppressed ones left out, counted), then the one-line summary."""
    counted = [replace(r, findings=tuple(f for f in r.findings if f.suppression is None)) for r in results]
    shown = [r for r in counted if r.verdict is not Verdict.CLEAN] if view.quiet else counted
    if shown:
        render_text(shown, out, verbose=view.verbose)
    suppressed = sum(1 for r in results for f in r.findings if f.suppression is not None)
    counts = {
        "targets": len(results),
        "malicious": sum(r.verdict is Verdict.MALICIOUS for r in results),
        "suspicious": sum(r.verdict is Verdict.SUSPICIOUS for r in results),
        "errors": sum(r.verdict is Verdict.ERROR for r in results),
        "suppressed": suppressed,
    }
    style = "bold red" if counts["malicious"] else "yellow" if counts["suspicious"] else "green"
    out.print(Text(summary_line("scan", counts, view.seconds), style=style), soft_wrap=True)  # one line
