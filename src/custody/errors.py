"""The one base of errors custody reports to its user.

Every library error that should reach a person as a one-line message (not a traceback) derives
from `CustodyError`; the CLI's single top-level handler prints `str(error)` and exits with
`error.exit_code`. The codes are the documented ones (README.md, "Exit codes").
"""

from __future__ import annotations

from typing import ClassVar


class CustodyError(Exception):
    """An error with a one-line message for the user and a documented exit code."""

    exit_code: ClassVar[int] = 2
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
