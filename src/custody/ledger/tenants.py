"""The ledger server's tenants file: who may write and read which tenant's log, by token hash.

Kept apart from `custody.ledger.server` so that `custody ledger token` and tenants-file checks
work without the 'server' extra (starlette, uvicorn):

    {"origin_prefix": "ledger.example",
     "tenants": {"acme": {"ledger": "acme.db",
                          "writers": ["sha256:<hex>"], "auditors": ["sha256:<hex>"]}}}

Tokens are stored only as SHA-256 hashes, so the file is not a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

from custody.errors import CustodyError
from custody.ledger.signing import SignatureError, check_origin
from custody.ledger.store import LedgerStore


class ConfigError(CustodyError, ValueError):
    """The tenants file is malformed."""


def token_hash(token: str) -> str:
    """How a bearer token is kept in the tenants file: `sha256:` and the hex SHA-256 of the token."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class _OpenLog:
    """The one mutable part of a tenant: its log once opened (a handle, not data)."""

    __slots__ = ("store",)

    def __init__(self) -> None:
        self.store: LedgerStore | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """One tenant of the ledger server: its name, its log (a path or URL) and the token hashes of its
    writers and auditors. The log is opened on first use and closed when the server stops."""

    name: str
    ledger: str
    writers: tuple[str, ...] = ()
    auditors: tuple[str, ...] = ()
    _log: _OpenLog = field(default_factory=_OpenLog, init=False, repr=False, compare=False)
    """The log opened by `open`: kept apart so that who may do what stays frozen."""

    @property
    def store(self) -> LedgerStore | None:
        """The tenant's log while it is open, else None."""
        return self._log.store

    def role(self, token: str | None) -> str | None:
        """`"writer"`, `"auditor"` or None for a bearer token (compared in constant time)."""
        if not token:
            return None
        digest = token_hash(token)
        if any(hmac.compare_digest(digest, w) for w in self.writers):
            return "writer"
        if any(hmac.compare_digest(digest, a) for a in self.auditors):
            return "auditor"
        return None

    def open(self) -> LedgerStore:
        """The tenant's log, opened on first use; raises StoreError when it cannot be opened."""
        if self._log.store is None:
            self._log.store = LedgerStore.open(self.ledger)
        return self._log.store

    def close(self) -> None:
        """Close the tenant's log (when the server has stopped)."""
        if self._log.store is not None:
            self._log.store.close()
            self._log.store = None


def load_tenants(data: dict[str, Any]) -> tuple[str, dict[str, Tenant]]:
    """(origin prefix, tenants by name) from a parsed tenants file. Raises ConfigError for a malformed
    file, a tenant whose checkpoint origin `PREFIX/NAME` is not valid, or a token not given as a hash."""
    try:
        prefix = str(data.get("origin_prefix", "custody"))
        tenants = {
            name: Tenant(
                name=name,
                ledger=str(t["ledger"]),
                writers=tuple(t.get("writers", [])),
                auditors=tuple(t.get("auditors", [])),
            )
            for name, t in dict(data["tenants"]).items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"tenants file: {exc}") from exc
    for t in tenants.values():
        try:
            check_origin(f"{prefix}/{t.name}")  # every checkpoint this tenant gets carries it
        except SignatureError as exc:
            raise ConfigError(f"tenant {t.name!r} with origin_prefix {prefix!r}: {exc}") from exc
        for h in t.writers + t.auditors:
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", h):
                raise ConfigError(f"tenant {t.name}: tokens must be given as sha256:<64 hex>, not in clear")
    return prefix, tenants
