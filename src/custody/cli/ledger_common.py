"""Helpers the ledger commands share: the --ledger/--db option, errors, opening stores and keys."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from custody.cli import exit_codes
from custody.ledger.keys import BadKey, SigningKey, VerifierKey, load_signing_key, load_verifier
from custody.ledger.store import LedgerStore
from custody.store import StoreError

LEDGER_OPTION = click.option(
    "--ledger",
    "--db",
    "ledger_path",
    envvar="CUSTODY_LEDGER",
    default="custody-ledger.db",
    show_default=True,
    help="Ledger database: a path or sqlite:///PATH (SQLite), or postgresql://USER@HOST/DB for a "
    "shared ledger (also CUSTODY_LEDGER).",
)


def fail(message: str, code: int = exit_codes.USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def open_ledger(path: str, *, create: bool = False) -> LedgerStore:
    try:
        return LedgerStore.open(path, create=create)
    except StoreError as exc:
        fail(str(exc))


def signers_from(paths: Sequence[str]) -> list[SigningKey]:
    """Private keys from files, or the one in $CUSTODY_SIGNING_KEY when none is given."""
    try:
        return [load_signing_key(p) for p in paths] if paths else [load_signing_key(None)]
    except BadKey as exc:
        fail(str(exc))


def verifiers_from(items: Sequence[str]) -> list[VerifierKey]:
    try:
        return [load_verifier(i) for i in items]
    except (BadKey, OSError) as exc:
        fail(str(exc))
