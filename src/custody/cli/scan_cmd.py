"""`custody scan`: a thin click wrapper over custody.scan."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click
from rich.console import Console

from custody.artifacts import ArtifactError, running_site_dirs
from custody.artifacts.index import download, parse_spec
from custody.cli import exit_codes
from custody.cli.output import check_output_file, emit, emit_rich
from custody.cli.progress import progress_display, wanted
from custody.cli.render import render_text
from custody.errors import NoTargetsError
from custody.progress import report
from custody.report import results_to_json, results_to_sarif, scan_to_html
from custody.scan import RuleLoadError, ScanResult, ScanTask, Verdict, error_result, expand_target, scan_tasks
from custody.scan.engine import DEFAULT_TIMEOUT
from custody.scan.yara_rules import YaraRules, default_rule_dirs

FAIL_LEVELS = {"malicious": Verdict.MALICIOUS, "suspicious": Verdict.SUSPICIOUS}


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
@click.option(
    "--fail-on",
    type=click.Choice(["malicious", "suspicious"]),
    default="malicious",
    show_default=True,
    help="Exit 1 when any target reaches this verdict.",
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
    err = Console(stderr=True)
    all_rule_dirs = tuple(rule_dirs) + default_rule_dirs()
    try:
        YaraRules(all_rule_dirs)  # fail fast on bad user rules, before any worker starts
    except (RuleLoadError, OSError) as exc:
        err.print(f"[red]error:[/red] cannot load rules: {exc}")
        sys.exit(exit_codes.USAGE)
    tasks, early = _plan(list(targets) or running_site_dirs(), index_url, err)
    if not tasks and not early:
        # an empty report would read as "all clean" when nothing was looked at
        named = ", ".join(targets) if targets else "the running environment"
        raise NoTargetsError(f"nothing to scan in {named} (no package archive, directory or environment)")
    results: list[ScanResult] = list(early)
    with progress_display(wanted(fmt, output) and len(tasks) > 1) as progress:
        for done, result in enumerate(
            scan_tasks(tasks, jobs=jobs, rule_dirs=all_rule_dirs, timeout=timeout), 1
        ):
            results.append(result)
            report(progress, "scanning", done, len(tasks))
    _emit(results, fmt, output, verbose)
    sys.exit(_exit_code(results, FAIL_LEVELS[fail_on]))


def _plan(targets: list[str], index_url: str | None, err: Console) -> tuple[list[ScanTask], list[ScanResult]]:
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
        except ArtifactError as exc:
            err.print(f"[red]error:[/red] {exc}")
            sys.exit(exit_codes.USAGE)
    return tasks, early


def _exists(path: str) -> bool:
    return os.path.exists(path)


def _emit(results: list[ScanResult], fmt: str, output: str | None, verbose: bool) -> None:
    if fmt == "json":
        emit(results_to_json(results), output)
    elif fmt == "sarif":
        emit(results_to_sarif(results), output)
    elif fmt == "html":
        emit(scan_to_html(results), output)
    else:
        emit_rich(lambda console: render_text(results, console, verbose=verbose), output)


def _exit_code(results: list[ScanResult], level: Verdict) -> int:
    if any(r.verdict.rank >= level.rank for r in results):
        return exit_codes.FOUND
    if any(r.verdict is Verdict.ERROR for r in results):
        return exit_codes.SCAN_ERROR
    return exit_codes.OK
