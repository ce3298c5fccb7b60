"""`-o/--output` for every command: checked before any work, written by one writer.

A path that cannot be written (its folder is missing, it is a folder, no permission) is a usage
error (`OutputError`, exit 2) raised while the options are parsed, before the command does
anything: a scan is not run for nothing, and a ledger checkpoint or a witness cosignature is not
made and then lost. A write that fails later anyway (disk full, a race) raises the same error; the
CLI's top-level handler turns it into one line on stderr.

`emit` is the one place a command's report goes to stdout or to its `-o` file; `--color`
(auto/always/never, NO_COLOR) is decided here too, so every text report colours the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, Any, Literal, NoReturn, overload

import click
from rich.console import Console

from custody.errors import OutputError

REPORT_WIDTH = 160
"""Columns of a rich report written to a file (no terminal to measure)."""


def output_problem(path: str) -> str | None:
    """Why a report could not be written to the file `path`, or None when it can be."""
    if os.path.isdir(path):
        return "is a directory"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"no such directory: {parent}"
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            return "permission denied"
    elif not os.access(parent, os.W_OK | os.X_OK):
        return f"permission denied in {parent}"
    return None


def output_dir_problem(path: str) -> str | None:
    """Why files could not be written under the directory `path` (created when missing), or None."""
    if os.path.exists(path) and not os.path.isdir(path):
        return "exists and is not a directory"
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"permission denied in {existing}"
    return None


def fail_output(path: str, reason: str) -> NoReturn:
    """Raise the `OutputError` saying that `path` cannot be written and why."""
    raise OutputError(path, reason)


def check_output_file(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """click callback for a file `-o`: refuse an unwritable path while the options are parsed."""
    if value is not None:
        problem = output_problem(value)
        if problem is not None:
            fail_output(value, problem)
    return value


def check_output_dir(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """click callback for a directory `-o` (tiles, evidence packs)."""
    if value is not None:
        problem = output_dir_problem(value)
        if problem is not None:
            fail_output(value, problem)
    return value


@overload
def open_output(path: str, binary: Literal[False] = False) -> IO[str]: ...
@overload
def open_output(path: str, binary: Literal[True]) -> IO[bytes]: ...
def open_output(path: str, binary: bool = False) -> IO[Any]:
    """Open `path` for writing (truncating it), or raise `OutputError`."""
    try:
        if binary:
            return open(path, "wb")
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        fail_output(path, exc.strerror or str(exc))


def write_output(path: str, text: str) -> None:
    """Write `text` to `path`, or raise `OutputError`."""
    handle = open_output(path)
    try:
        with handle:
            handle.write(text)
    except OSError as exc:
        fail_output(path, exc.strerror or str(exc))


def emit(text: str, output: str | None, *, color: bool | None = None) -> None:
    """A command's report: `text` and a newline on stdout, or into the file `output`.

    `color=True` keeps colour codes on stdout even when it is not a terminal (`--color always`);
    None lets click strip them off a pipe."""
    if output is None:
        click.echo(text, color=color)
    else:
        write_output(output, text if text.endswith("\n") else text + "\n")


def emit_rich(render: Callable[[Console], None], output: str | None, *, color: str = "auto") -> None:
    """A rich report: drawn on the terminal, or into `output`, coloured as `--color` says
    (auto: only on a terminal, so a file gets plain text)."""
    if output is None:
        render(console(color))
        return
    handle = open_output(output)
    try:
        with handle:
            render(console(color, handle, REPORT_WIDTH))
    except OSError as exc:
        fail_output(output, exc.strerror or str(exc))


def wants_color(choice: str, terminal: bool) -> bool:
    """`--color`: always/never as said; auto on a terminal unless NO_COLOR is set (no-color.org)."""
    if choice != "auto":
        return choice == "always"
    return terminal and not os.environ.get("NO_COLOR", "")


def is_terminal(stream: IO[str] | None) -> bool:
    """Whether `stream` (None: stdout) is a terminal."""
    stream = sys.stdout if stream is None else stream
    return hasattr(stream, "isatty") and stream.isatty()


def console(choice: str, file: IO[str] | None = None, width: int | None = None) -> Console:
    """A rich console that colours exactly when `--color` says so (a flag beats NO_COLOR)."""
    if wants_color(choice, is_terminal(file)):
        return Console(file=file, width=width, force_terminal=True, no_color=False, color_system="standard")
    return Console(file=file, width=width, color_system=None, force_terminal=False)
