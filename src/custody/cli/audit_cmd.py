"""`custody audit` and `custody db ...`: thin click wrappers over custody.audit and custody.advisories."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import click

from custody.advisories import ECOSYSTEMS, AdvisoryStore, update_store
from custody.artifacts import find_site_dirs, running_site_dirs
from custody.audit import AuditReport, AuditRequest, audit
from custody.audit.environment import HookScan
from custody.audit.hook_verdicts import remembered
from custody.audit.model import FindingKind
from custody.audit.report import report_to_json, report_to_sarif, report_to_text, sorted_findings
from custody.audit.run import default_digest_cache_path
from custody.cli import exit_codes
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
from custody.cli.output import check_output_file, emit, is_terminal, wants_color
from custody.cli.progress import progress_display, wanted
from custody.config import VERDICT_SEVERITY
from custody.config.audit_apply import AuditSuppressions, audit_reached, suppress_audit
from custody.config.baseline import load_baseline
from custody.config.suppression import AuditIgnore
from custody.errors import UsageError
from custody.inventory import find_lockfiles, python_site_dirs
from custody.inventory.discover import reader_for
from custody.policy import DurationError, parse_duration


def _age(text: str | None, live: bool) -> timedelta | None:
    """`7d`, `36h`, `90m` or a number of days."""
    if text is None:
        return None
    if not live:
        raise UsageError("--min-release-age needs --live (release dates come from PyPI's JSON API)")
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise UsageError(f"--min-release-age {exc}") from exc


def plan_targets(paths: Sequence[str], pythons: Sequence[str]) -> tuple[list[str], list[str]]:
    """(site dirs, lockfiles) for the command line; exits with USAGE on a path it cannot use."""
    site_dirs: list[str] = []
    lockfiles: list[str] = []
    for python in pythons:
        site_dirs.extend(python_site_dirs(python))
    for path in paths:
        if os.path.isfile(path):
            if reader_for(path) is None:
                raise UsageError(f"{path}: not a requirements or lock file this version knows")
            lockfiles.append(path)
        elif os.path.isdir(path):
            found_sites = find_site_dirs(path)
            for venv in (".venv", "venv"):  # a project directory with its virtual environment inside
                if not found_sites and os.path.isfile(os.path.join(path, venv, "pyvenv.cfg")):
                    found_sites = find_site_dirs(os.path.join(path, venv))
            found_locks = find_lockfiles(path)
            if not found_sites and not found_locks:
                raise UsageError(f"{path}: neither an environment nor a directory with lock files")
            site_dirs.extend(found_sites)
            lockfiles.extend(found_locks)
        elif os.path.lexists(path):  # exists, but is neither: say what it is, not "no such file"
            raise UsageError(f"{path}: {_not_readable(path)}")
        else:
            raise UsageError(f"{path}: no such file or directory")
    if not paths and not pythons:
        site_dirs.extend(running_site_dirs())
        lockfiles.extend(find_lockfiles(os.getcwd()))
    return list(dict.fromkeys(site_dirs)), list(dict.fromkeys(lockfiles))


def _not_readable(path: str) -> str:
    """Why an existing path that is neither a regular file nor a directory is not audited."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot be used ({exc.strerror or exc}; a broken symbolic link?)"
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"{kind}, not a regular file or directory: not read"


def _rule_dirs() -> tuple[str, ...]:
    """User rule directories (CUSTODY_RULES), read as the scan engine reads them."""
    value = os.environ.get("CUSTODY_RULES", "")
    return tuple(p for p in value.split(os.pathsep) if p)


def _hook_scan(rule_dirs: tuple[str, ...], digest_cache: str | None) -> HookScan:
    """The scan engine for owned start-up files, imported only when a verdict is not remembered
    (importing it and compiling its rules costs about 0.3 s, a third of a warm audit); with
    `--rehash` (no digest cache) every hook is scanned afresh."""

    built: list[HookScan] = []

    def engine() -> HookScan:
        if not built:
            from custody.audit.scanning import hook_scanner  # noqa: PLC0415 - the engine is costly

            built.append(hook_scanner(rule_dirs))
        return built[0]

    def unremembered(path: str) -> tuple[str, str]:
        return engine()(path)  # built on the first owned hook, not before

    if digest_cache is None:
        return unremembered
    store = os.path.join(os.path.dirname(os.path.abspath(digest_cache)), "hook-verdicts.json")
    return remembered(engine, store, rule_dirs)


@click.command("audit")
@click.argument("paths", nargs=-1)
@click.option(
    "--python", "pythons", multiple=True, help="Audit the site-packages of this interpreter (repeatable)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "cyclonedx", "html"]),
    default="text",
    show_default=True,
    help="html: a single-file report to open in a browser (best with -o FILE).",
)
@shared_controls(
    "medium",
    ignore_help="Suppress this advisory id or alias in every package (repeatable; with --reason).",
    exclude_help="Do not count findings of this kind (unpinned, release-age...) or id (repeatable).",
)
@click.option(
    "--scan", "run_scan", is_flag=True, help="Also run the scan engine over every installed distribution."
)
@click.option(
    "--live",
    is_flag=True,
    help="Also ask PyPI's JSON API (vulnerabilities, yanked) and the index (project status, digests).",
)
@click.option(
    "--min-release-age",
    "min_age",
    default=None,
    metavar="AGE",
    help="With --live: report PyPI releases uploaded less than AGE ago (e.g. 7d, 36h; a cooldown).",
)
@click.option(
    "--index-url",
    default=None,
    help="PEP 691 index for --live statuses and digests (also CUSTODY_INDEX_URL, PIP_INDEX_URL).",
)
@click.option(
    "--db", "db_path", default=None, help="Advisory store (default: user cache; CUSTODY_ADVISORY_DB)."
)
@click.option(
    "--no-integrity", is_flag=True, help="Skip RECORD verification (start-up hooks are still listed)."
)
@click.option(
    "--rehash",
    is_flag=True,
    help="Hash every RECORD entry again instead of reusing digests of unchanged files "
    "(use after a suspected compromise).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for RECORD verification and --scan (default: all cores).",
)
@click.option("--output", "-o", metavar="FILE", default=None, callback=check_output_file)
@click.option("--verbose", "-v", is_flag=True, help="Text format: also show info findings.")
def audit_command(
    paths: Sequence[str],
    pythons: Sequence[str],
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
    run_scan: bool,
    live: bool,
    index_url: str | None,
    db_path: str | None,
    no_integrity: bool,
    rehash: bool,
    min_age: str | None,
    jobs: int | None,
    output: str | None,
    verbose: bool,
) -> None:
    """Audit environments and lock files: known vulnerabilities and malware, RECORD integrity, start-up hooks.

    PATH is a venv, a site-packages dir, a lock/requirements file, or a directory holding lock files.
    With none, audits the running environment plus the lock files in the current directory.
    """
    started = time.perf_counter()
    rules = _suppressions(exclude_rules, cli_ignore(ignores, reason, until), baseline)
    site_dirs, lockfiles = plan_targets(paths, pythons)
    rule_dirs = _rule_dirs()
    digest_cache = None if rehash else default_digest_cache_path()
    with progress_display(wanted(fmt, output) and not quiet) as progress:
        request = AuditRequest(
            site_dirs=site_dirs,
            lockfiles=lockfiles,
            store_path=db_path,
            live=live,
            min_release_age=_age(min_age, live),
            index_url=index_url,
            integrity=not no_integrity,
            workers=jobs or os.cpu_count() or 1,
            digest_cache=digest_cache,
            scan_hook=_hook_scan(rule_dirs, digest_cache),
            progress=progress,
        )
        report = audit(request)
        if run_scan:
            from custody.audit.scanning import scan_site_dirs  # noqa: PLC0415 - see _hook_scan

            scan_site_dirs(site_dirs, report, jobs=jobs, rule_dirs=rule_dirs, progress=progress)
    outcome = suppress_audit(report, rules, now())
    report = outcome.report
    for entry in outcome.expired:
        report.notes.append(f"suppression expired, no longer applied: {_expired(entry)}")
    report_expired([_expired(e) for e in outcome.expired])
    if fmt == "json":
        text = report_to_json(report)
    elif fmt == "sarif":
        text = report_to_sarif(report)
    elif fmt == "cyclonedx":
        # cyclonedx-python-lib costs ~0.2 s to import: only when this format is asked for.
        from custody.audit.cyclonedx import report_to_cyclonedx  # noqa: PLC0415

        text = report_to_cyclonedx(report)
    elif fmt == "html":
        from custody.report import audit_to_html  # noqa: PLC0415 - only for this format

        text = audit_to_html(report, sorted_findings(report))
    else:
        text = _text(report, fail_on, verbose, quiet, color, output, time.perf_counter() - started)
    emit(text, output, color=True if color == "always" else None)  # click strips colour off a pipe
    sys.exit(exit_status(audit_reached(report.findings, fail_on), bool(report.errors), exit_zero))


def _expired(entry: AuditIgnore) -> str:
    return entry.describe() + (f" (until {entry.until:%Y-%m-%d}; {entry.source})" if entry.until else "")


def _suppressions(exclude: Sequence[str], ignore: CliIgnore, baseline: str | None) -> AuditSuppressions:
    """The config's and the command line's suppressions, checked before any work."""
    from custody.scan.catalog import RULES  # noqa: PLC0415 - only the catalog, not the engine

    config = current_config()
    excluded = check_rules(exclude, {k.value for k in FindingKind} | set(RULES), "--exclude-rule")
    loaded = load_baseline(baseline, "audit") if baseline else None
    return AuditSuppressions(
        ignores=config.audit_ignores + ignore.audit(), exclude_rules=excluded, baseline=loaded
    )


def _text(
    report: AuditReport,
    fail_on: str,
    verbose: bool,
    quiet: bool,
    color: str,
    output: str | None,
    seconds: float,
) -> str:
    """The text report of the counted findings (quiet: only those reaching --fail-on), then the
    one-line summary; suppressed findings are counted there, listed in JSON and SARIF."""
    counted = [f for f in report.findings if f.suppression is None]
    shown = [f for f in counted if audit_reached([f], fail_on)] if quiet else counted
    body = report_to_text(replace(report, findings=shown), verbose=verbose)
    malicious = sum(
        f.kind is FindingKind.MALWARE
        or (f.severity == VERDICT_SEVERITY["malicious"] and f.kind is FindingKind.SCAN)
        for f in counted
    )
    suspicious = sum(
        f.kind is FindingKind.SCAN and f.severity == VERDICT_SEVERITY["suspicious"] for f in counted
    )
    counts = {
        "targets": len(report.targets),
        "malicious": malicious,
        "suspicious": suspicious,
        "other findings": len(counted) - malicious - suspicious,
        "errors": len(report.errors),
        "suppressed": len(report.findings) - len(counted),
    }
    line = summary_line("audit", counts, seconds)
    if wants_color(color, output is None and is_terminal(None)):  # a file is never a terminal
        line = click.style(line, fg="red" if audit_reached(counted, fail_on) else "green", bold=True)
    return f"{body}\n{line}" if body else line


@click.group("db")
def db_group() -> None:
    """The local advisory store (OSV records, SQLite in the user cache dir)."""


@db_group.command("update")
@click.option(
    "--from",
    "sources",
    multiple=True,
    type=click.Path(exists=True),
    help="OSV zip export, directory of OSV JSON/YAML, or one record (repeatable). Without it: download.",
)
@click.option(
    "--ecosystem", "ecosystems", multiple=True, type=click.Choice(ECOSYSTEMS), help="Exports to download."
)
@click.option(
    "--db", "db_path", default=None, help="Advisory store (default: user cache; CUSTODY_ADVISORY_DB)."
)
def db_update(sources: Sequence[str], ecosystems: Sequence[str], db_path: str | None) -> None:
    """Fill the store from OSV's per-ecosystem exports, or offline from --from PATH."""
    with progress_display(sys.stderr.isatty()) as progress:
        result = update_store(
            path=db_path, sources=sources, ecosystems=ecosystems or ECOSYSTEMS, progress=progress
        )
    if result.rebuilt:
        click.echo(f"rebuilt the advisory store: {result.rebuilt}", err=True)
    failed = 0
    for stats in result.loaded:
        click.echo(f"{stats.origin}: {stats.loaded} record(s) loaded, {stats.failed} unreadable")
        failed += stats.failed
        for error in stats.errors:
            click.echo(f"  {error}", err=True)
    click.echo(f"{result.path}: {result.total} advisories")
    sys.exit(exit_codes.SCAN_ERROR if failed else exit_codes.OK)


@db_group.command("status")
@click.option(
    "--db", "db_path", default=None, help="Advisory store (default: user cache; CUSTODY_ADVISORY_DB)."
)
def db_status(db_path: str | None) -> None:
    """Where the store is, how many advisories it holds and where they came from."""
    with AdvisoryStore.open(db_path) as store:
        click.echo(f"{store.path}: {store.count()} advisories")
        for origin, _loaded_at, records in store.feeds():
            click.echo(f"  {origin}: {records} record(s)")
