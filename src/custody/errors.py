"""The one base of errors custody reports to its user.

Every library error that should reach a person as a one-line message (not a traceback) derives
from `CustodyError`; the CLI's single top-level handler (`custody.cli.main`) prints
`error: {error}` on stderr and exits with `error.exit_code`. The codes are the documented ones
(README.md, "Exit codes"): 2 for what the user can correct (usage), 3 for what could not be done
(an unusable store, an unreadable input the command needed), 1 for a check the user asked for
that found a problem (a proof or signature that does not verify, a refused read).

Style (CONTRIBUTING.md): every public exception custody defines derives from `CustodyError` (with
its former base too where callers catch that, e.g. `ValueError`), carries a one-line message and
sets `exit_code` when it is not a usage error; tests/test_style.py holds it.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_FOUND = 1
"""A verification the user asked for found a problem (the same code as a finding at --fail-on)."""
EXIT_USAGE = 2
"""Bad command line, missing or unusable input path, unwritable output, unreadable config."""
EXIT_ERROR = 3
"""The work could not be done: a corrupt or foreign store, a source that could not be read."""


class CustodyError(Exception):
    """An error with a one-line message for the user and a documented exit code."""

    exit_code: ClassVar[int] = EXIT_USAGE
    """Usage-class errors by default: bad input the user can correct."""


class MissingExtraError(CustodyError):
    """A command needs an optional dependency group that is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this command needs the '{extra}' extra ({module} is not installed): "
            f"pip install 'custody[{extra}]'"
        )
        self.extra = extra
        self.module = module


class OutputError(CustodyError):
    """A report, key or document cannot be written to the path the user gave (`-o`)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


class InputError(CustodyError):
    """A path the user gave does not exist or cannot be read as what the command needs."""


class NoTargetsError(CustodyError):
    """The command line named places to look, but nothing in them can be scanned or audited.

    An empty report would read as "all clean" when nothing was checked: a usage error instead."""


class ConfigError(CustodyError):
    """A configuration file, suppression or baseline that cannot be read or holds a value custody
    does not accept: one line naming the file, the key and the fix (custody.config raises it)."""


class StoreUnusableError(CustodyError):
    """A local store (advisories, gate decisions, ledger) is corrupt, foreign or unreachable."""

    exit_code: ClassVar[int] = EXIT_ERROR


class UsageError(CustodyError):
    """Options that do not go together, or a value the command cannot use: the user can fix it."""


class OperationError(CustodyError):
    """The command was well formed but its work could not be done (a source or store failed)."""

    exit_code: ClassVar[int] = EXIT_ERROR


class CheckFailedError(CustodyError):
    """A verification the user asked for found a problem: exit 1, like a finding."""

    exit_code: ClassVar[int] = EXIT_FOUND
