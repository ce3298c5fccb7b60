"""custody.store: the one SQLite layer every capability (advisories, ledger, gate log) builds on.

Why one layer: each capability needs the same things from an embedded database (WAL for
concurrent readers, crash safety, a schema version it can check, corruption detected up front
with a clear error instead of a crash halfway through a query), and getting them right once is
cheaper than getting them right three times.
"""

from custody.store.sqlite import SchemaMismatch, StoreError, open_store, transaction

__all__ = ["SchemaMismatch", "StoreError", "open_store", "transaction"]
