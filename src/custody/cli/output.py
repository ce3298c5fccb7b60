"""`-o/--output` for every command: checked before any work, written with a one-line error.

A path that cannot be written (its folder is missing, it is a folder, no permission) is a usage
error, exit `exit_codes.USAGE`, reported on one line before the command does anything: a scan is
not run for nothing, and a ledger checkpoint or a witness cosignature is not made and then lost.
A write that fails later anyway (disk full, a race) is reported the same way.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Literal, NoReturn, overload

import click

from custody.cli import exit_codes


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
    """Report on one line that `path` cannot be written, and exit with the usage error code."""
    click.echo(f"error: cannot write {path}: {reason}", err=True)
    sys.exit(exit_codes.USAGE)


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
    """Open `path` for writing (truncating it), or exit with the one-line error."""
    try:
        if binary:
            return open(path, "wb")
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        fail_output(path, exc.strerror or str(exc))


def write_output(path: str, text: str) -> None:
    """Write `text` to `path`, or exit with the one-line error."""
    handle = open_output(path)
    try:
        with handle:
            handle.write(text)
    except OSError as exc:
        fail_output(path, exc.strerror or str(exc))
