"""custody.store: the one store layer every capability (advisories, ledger, gate log) builds on.

Why one layer: each capability needs the same things from a database (concurrent readers,
crash safety, a schema version it can check, corruption or a foreign database detected up front
with a clear error instead of a crash halfway through a query), and getting them right once is
cheaper than getting them right three times. SQLite (embedded, WAL) is the default;
`open_database("postgresql://...")` gives the same contract on PostgreSQL for a shared store
(`custody.store.postgres`), with the dialect differences kept in `custody.store.dialect`.
"""

from custody.store.database import Cursor, Database, is_postgres_url, open_database
from custody.store.dialect import Dialect
from custody.store.sqlite import SchemaMismatch, StoreError, open_store, transaction

__all__ = [
    "Cursor",
    "Database",
    "Dialect",
    "SchemaMismatch",
    "StoreError",
    "is_postgres_url",
    "open_database",
    "open_store",
    "transaction",
]
