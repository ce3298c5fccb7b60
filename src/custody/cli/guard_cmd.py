"""`custody guard ...`: the runtime guard. Thin: the work is in `custody.guard`."""

from __future__ import annotations

import json
import os
import sys

import click

from custody.cli import exit_codes
from custody.cli.controls import config_option
from custody.cli.output import check_output_file, emit
from custody.errors import UsageError
from custody.guard import (
    Environment,
    GuardMode,
    environment,
    install,
    learn,
    read_log,
    refresh_index,
    seal,
    status,
    summarise,
    uninstall,
)

PYTHON = click.option("--python", "python", help="Interpreter of the environment (default: this one).")
VENV = click.option("--venv", "venv", type=click.Path(file_okay=False), help="Virtual environment directory.")


def _env(python: str | None, venv: str | None) -> Environment:
    if python and venv:
        raise UsageError("give --python or --venv, not both")
    return environment(python=python, venv=venv)


@click.group("guard")
@config_option
def guard() -> None:
    """Runtime guard: audit hooks that log (monitor) or refuse (enforce) what packages do."""


@guard.command("install")
@PYTHON
@VENV
@click.option(
    "--mode", type=click.Choice([m.value for m in GuardMode]), help="Default: the policy's, else monitor."
)
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), help="TOML policy ([guard] table).")
@click.option(
    "--log",
    "log",
    type=click.Path(dir_okay=False),
    help="JSON-lines log (default: PREFIX/custody-guard.jsonl).",
)
def install_cmd(
    python: str | None, venv: str | None, mode: str | None, policy_path: str | None, log: str | None
) -> None:
    """Arm an environment: every interpreter started from it runs the guard first."""
    env = _env(python, venv)
    chosen = GuardMode(mode) if mode else None
    if chosen is None and policy_path:
        from custody.policy.guard import load_guard_policy  # noqa: PLC0415

        chosen = load_guard_policy(policy_path).mode
    log_path = install(env, mode=chosen or GuardMode.MONITOR, policy_path=policy_path, log=log)
    click.echo(f"armed {env.site_dir} ({(chosen or GuardMode.MONITOR).value}); log: {log_path}")
    before = status(env).before
    for path in before:
        click.echo(f"warning: {path} runs before the guard", err=True)


@guard.command("uninstall")
@PYTHON
@VENV
def uninstall_cmd(python: str | None, venv: str | None) -> None:
    """Disarm an environment (the log is kept)."""
    env = _env(python, venv)
    removed = uninstall(env)
    click.echo(f"disarmed {env.site_dir}" if removed else f"{env.site_dir}: not armed")


@guard.command("refresh")
@PYTHON
@VENV
def refresh_cmd(python: str | None, venv: str | None) -> None:
    """Rebuild the file-to-distribution index (the guard also rebuilds it when it is stale)."""
    env = _env(python, venv)
    try:
        count = refresh_index(env)
    except OSError as exc:
        raise UsageError(f"{env.site_dir}: {exc}") from exc
    click.echo(f"{env.site_dir}: {count} files indexed")


@guard.command("status")
@PYTHON
@VENV
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(python: str | None, venv: str | None, as_json: bool) -> None:
    """Armed or not, mode, policy, log, and every start-up file that runs before the guard's.

    Exits 1 when the environment is not armed or its bootstrap is not this custody's."""
    env = _env(python, venv)
    state = status(env)
    doc = {
        "site_dir": env.site_dir,
        "armed": state.armed,
        "mode": state.mode,
        "policy": state.policy,
        "log": state.log,
        "index_fresh": state.index_fresh,
        "bootstrap_intact": state.bootstrap_intact,
        "runs_before_guard": list(state.before),
    }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        for key, value in doc.items():
            if key != "runs_before_guard":
                click.echo(f"{key}: {value}")
        click.echo("runs before the guard: " + (", ".join(state.before) or "nothing"))
    sys.exit(exit_codes.OK if state.armed and state.bootstrap_intact else exit_codes.FOUND)


@guard.command("report")
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report_cmd(log: str, as_json: bool) -> None:
    """Summarise a guard log per package: capabilities used, refusals, findings."""
    summaries = summarise(list(read_log(log)))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "package": s.package,
                        "capabilities": dict(s.capabilities),
                        "denied": [e.raw for e in s.denied],
                        "findings": [e.raw for e in s.findings],
                        "startup_files": sorted(s.startup_files),
                    }
                    for s in summaries
                ],
                indent=2,
            )
        )
        return
    for s in summaries:
        used = ", ".join(f"{k} {v}" for k, v in sorted(s.capabilities.items()))
        click.echo(f"{s.package}: {used}")
        for path in sorted(s.startup_files):
            click.echo(f"  start-up file: {path}")
        for event in s.denied:
            click.echo(
                f"  {event.decision}: {event.capability} {event.resource} ({event.rule}) at {event.where}"
            )
        for event in s.findings:
            click.echo(f"  finding {event.finding}: {event.event} {event.resource} at {event.where}")


@guard.command("learn")
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    callback=check_output_file,
    help="Write the draft here (default: stdout).",
)
def learn_cmd(log: str, output: str | None) -> None:
    """Draft a [guard] policy from a monitor log (review it before enforcing)."""
    emit(learn(list(read_log(log))), output)


@guard.command("seal")
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@click.option("--ledger", required=True, help="Ledger: a path or postgresql:// URL.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False), help="Signing key (default: generated).")
@click.option(
    "--data-dir",
    default=lambda: os.path.join(os.path.expanduser("~"), ".local", "share", "custody"),
    help="Where the generated key lives.",
)
def seal_cmd(log: str, ledger: str, key_path: str | None, data_dir: str) -> None:
    """Append a guard log's events to the ledger as signed records, in batches."""
    written = seal(log, ledger, key_path, data_dir)
    click.echo(f"sealed {len(written)} events into {ledger}")
