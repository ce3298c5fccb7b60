"""The controls scan and audit share: `--config`, `--fail-on`, `--exit-zero`, `-q`, `--color`,
`--exclude-rule`, `--ignore/--reason/--until` and `--baseline`, with the same names, values and
meaning in both. The logic lives in custody.config; this module only parses and renders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import click

from custody.cli import exit_codes
from custody.config import FAIL_LEVELS, Config, ConfigError, load_config, parse_until
from custody.config.suppression import AuditIgnore, ScanIgnore

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_KEY = "custody.config"


def _load(ctx: click.Context, _param: click.Parameter, value: str | None) -> Config:
    """Eager: read the configuration before any other option, and make it their defaults.

    A `ConfigError` propagates to the CLI's top-level handler (one line, exit 2)."""
    config = load_config(value)
    command = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ctx.info_name or ""
    defaults = dict(ctx.default_map or {})
    if isinstance(ctx.command, click.Group):  # gate, guard: a default map per sub-command
        for name in ctx.command.list_commands(ctx):
            defaults[name] = {**defaults.get(name, {}), **config.defaults_for(f"{command} {name}")}
    else:
        defaults.update(config.defaults_for(command))
    ctx.default_map = defaults
    ctx.meta[CONFIG_KEY] = config
    return config


def config_option(function: F) -> F:
    """`--config FILE`: the configuration file (else custody.toml / [tool.custody] found upwards)."""
    return click.option(
        "--config",
        "config",
        metavar="FILE",
        envvar="CUSTODY_CONFIG",
        is_eager=True,
        expose_value=False,
        callback=_load,
        help="Config file (default: custody.toml, else [tool.custody] in pyproject.toml, "
        "in this directory or a parent; also CUSTODY_CONFIG).",
    )(function)


def current_config() -> Config:
    """The configuration `--config` loaded for the running command (defaults outside one)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_root().meta.get(CONFIG_KEY) if ctx else None
    return found if isinstance(found, Config) else Config()


def shared_controls(default_fail_on: str, ignore_help: str, exclude_help: str) -> Callable[[F], F]:
    """The options every report command takes, in one place so scan and audit cannot drift."""
    options = [
        config_option,
        click.option(
            "--fail-on",
            type=click.Choice(FAIL_LEVELS),
            default=default_fail_on,
            show_default=True,
            help="Exit 1 from this level; verdicts and severities share one scale (README, --fail-on).",
        ),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on."),
        click.option("--quiet", "-q", is_flag=True, help="Text: only what is not clean, and the summary."),
        click.option(
            "--color",
            type=click.Choice(("auto", "always", "never")),
            default="auto",
            show_default=True,
            help="Colour in text reports (auto: on a terminal unless NO_COLOR is set).",
        ),
        click.option("--exclude-rule", "exclude_rules", multiple=True, metavar="ID", help=exclude_help),
        click.option("--ignore", "ignores", multiple=True, metavar="ID", help=ignore_help),
        click.option("--reason", default=None, metavar="TEXT", help="Why: required with --ignore."),
        click.option("--until", default=None, metavar="DATE", help="--ignore stops applying then."),
        click.option(
            "--baseline",
            default=None,
            metavar="REPORT.json",
            help="Earlier --format json report: only findings not in it count.",
        ),
    ]

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@dataclass(frozen=True, slots=True, kw_only=True)
class CliIgnore:
    """`--ignore ID --reason TEXT [--until DATE]` checked, before any work."""

    ids: tuple[str, ...]
    reason: str
    until: datetime | None

    def scan(self) -> tuple[ScanIgnore, ...]:
        """The `--ignore` ids as scan suppressions (any package, any file)."""
        return tuple(
            ScanIgnore(
                rule=i, package=None, file=None, reason=self.reason, until=self.until, source="--ignore"
            )
            for i in self.ids
        )

    def audit(self) -> tuple[AuditIgnore, ...]:
        """The `--ignore` ids as audit suppressions (any package)."""
        return tuple(
            AuditIgnore(id=i, package=None, reason=self.reason, until=self.until, source="--ignore")
            for i in self.ids
        )


def cli_ignore(ids: Sequence[str], reason: str | None, until: str | None) -> CliIgnore:
    """The command line's suppressions; a missing reason is a usage error (a decision needs a why)."""
    if ids and not (reason and reason.strip()):
        raise ConfigError("--ignore needs --reason TEXT (why the finding does not count)")
    if not ids and (reason is not None or until is not None):
        raise ConfigError("--reason and --until go with --ignore ID")
    return CliIgnore(ids=tuple(ids), reason=(reason or "").strip(), until=parse_until(until, "--until"))


def check_rules(ids: Sequence[str], known: set[str], what: str) -> frozenset[str]:
    """Refuse an id no rule has: a typo in --exclude-rule or --ignore must not go unnoticed."""
    for rule in ids:
        if rule not in known:
            raise ConfigError(f"{what} {rule!r}: no such rule (`custody rules` lists them)")
    return frozenset(ids)


def now() -> datetime:
    """The current time in UTC: what suppression expiry (`until`) is judged against."""
    return datetime.now(timezone.utc)


def report_expired(descriptions: Sequence[str]) -> None:
    """Expired suppressions are not applied, and said so (stderr: every format, CI logs)."""
    for line in descriptions:
        click.echo(f"warning: suppression expired, no longer applied: {line}", err=True)


def exit_status(found: bool, errors: bool, exit_zero: bool) -> int:
    """The documented code: FOUND beats SCAN_ERROR; --exit-zero clears FOUND only (fail closed)."""
    if found and not exit_zero:
        return exit_codes.FOUND
    return exit_codes.SCAN_ERROR if errors else exit_codes.OK


def summary_line(command: str, counts: dict[str, int], seconds: float) -> str:
    """The last line of every text report: N targets, N malicious, N suspicious, N errors, time."""
    parts = [f"{n} {label}" for label, n in counts.items()]
    return f"custody {command}: {', '.join(parts)}, {seconds:.1f} s"
