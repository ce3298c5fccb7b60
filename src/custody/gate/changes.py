"""The stores' change token, read on every index-page request without leaving the event loop.

Every page request asks "did an allow/deny entry or an advisory change since this page was
judged?" (`custody.gate.views`). A round trip to a worker thread for that costs little CPU but,
on a busy machine, a wait for the thread to be scheduled: under 50 paced clients it was the
largest part of the gate's tail latency (p99 5-12 ms in the server against 1.1-1.2 ms without it).

When both stores are local SQLite files, the token is read on the event loop through connections
of its own that never wait for a lock (`busy_timeout = 0`; in WAL mode a reader does not wait for
writers anyway): the entries' count and newest id (one row) and the advisory store's
`PRAGMA data_version`. Anything that goes wrong there (a lock, an error) raises, and the caller
reads the token on the read thread instead, where it may wait and where a real failure fails
the request closed. A PostgreSQL store is never read on the loop (a network round trip).
"""

from __future__ import annotations

from custody.advisories import AdvisoryStore
from custody.gate.store import GateStore
from custody.store.database import is_postgres_url


class LoopTokens:
    """Change-token reads for the event loop, on connections used for nothing else."""

    def __init__(self, store: GateStore, advisories: AdvisoryStore | None) -> None:
        self._store = store
        self._advisories = advisories
        # never sleep on a lock on the event loop: fail at once, the caller falls back
        store.db.execute("PRAGMA busy_timeout = 0")
        if advisories is not None:
            advisories.conn.execute("PRAGMA busy_timeout = 0")

    @classmethod
    def open(cls, store_target: str, advisory_path: str | None) -> LoopTokens | None:
        """Connections for `store_target` (and the advisory store, when there is one); None for
        a PostgreSQL store."""
        if is_postgres_url(store_target):
            return None
        store = GateStore.open(store_target)
        try:
            advisories = AdvisoryStore.open(advisory_path) if advisory_path is not None else None
        except BaseException:
            store.close()
            raise
        return cls(store, advisories)

    def read(self) -> object:
        """The token (comparable with `==`); raises when it cannot be read at once."""
        advisories = self._advisories.data_version() if self._advisories is not None else None
        return (self._store.entries_version(), advisories)

    def close(self) -> None:
        """Close the store connections the token reads."""
        self._store.close()
        if self._advisories is not None:
            self._advisories.close()
