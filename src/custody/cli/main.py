"""`custody` entry point.

Sub-commands are imported when they run, not at start-up: `custody audit` of a large environment
is expected back in well under a second, and the ledger, scan and HTTP stacks cost a third of that
to import.

Errors: the group's `invoke` is the one top-level handler. A `CustodyError` raised anywhere below
it (while options are parsed, e.g. an unwritable `-o`, or while the command runs) becomes
`error: MESSAGE` on one line of stderr and the error's documented exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from custody import __version__
from custody.errors import CustodyError

_COMMANDS = {
    "audit": "custody.cli.audit_cmd:audit_command",
    "data": "custody.cli.ledger_cmds:data",
    "db": "custody.cli.audit_cmd:db_group",
    "exposure": "custody.cli.ledger_cmds:exposure",
    "gate": "custody.cli.gate_cmd:gate",
    "guard": "custody.cli.guard_cmd:guard",
    "key": "custody.cli.ledger_cmds:key",
    "ledger": "custody.cli.ledger_log:ledger_group",
    "log": "custody.cli.ledger_log:log",
    "rules": "custody.cli.rules_cmd:rules",
    "scan": "custody.cli.scan_cmd:scan",
    "verify": "custody.cli.ledger_log:verify",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported from `_COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> object:
        """Run the sub-command; a `CustodyError` becomes one line on stderr and its exit code."""
        try:
            return super().invoke(ctx)
        except CustodyError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="custody")
def cli() -> None:
    """custody: defend AI pipelines against supply-chain compromise."""


def main() -> None:
    """The `custody` console script."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
