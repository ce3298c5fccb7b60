"""Helpers the ledger commands share: the --ledger/--db option, errors, opening stores and keys."""

from __future__ import annotations

from collections.abc import Sequence

import click

from custody.errors import UsageError
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


def open_ledger(path: str, *, create: bool = False) -> LedgerStore:
    """The ledger store at `path` (created with `create`); one that cannot be opened is a
    usage error (one line, exit 2)."""
    try:
        return LedgerStore.open(path, create=create)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc


def signers_from(paths: Sequence[str]) -> list[SigningKey]:
    """Private keys from files, or the one in $CUSTODY_SIGNING_KEY when none is given."""
    return [load_signing_key(p) for p in paths] if paths else [load_signing_key(None)]


def verifiers_from(items: Sequence[str]) -> list[VerifierKey]:
    """Public keys from files or key text; an unreadable or malformed one is a usage error."""
    try:
        return [load_verifier(i) for i in items]
    except (BadKey, OSError) as exc:
        raise UsageError(str(exc)) from exc
