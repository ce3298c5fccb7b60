"""custody.ledger: provenance of datasets in a verifiable, append-only log.

`merkle` (RFC 6962/9162 trees and proofs), `store` (the log on SQLite), `keys` and `signing`
(Ed25519, C2SP signed notes and checkpoints, DSSE), `attest` (in-toto statements), `dataset`
(manifests), `verify` (whole-log checks), `exposure` (breach queries), `api` (signed records).
"""

from custody.ledger.api import Record, checkpoint, record
from custody.ledger.store import LedgerStore, NewEntry

__all__ = ["LedgerStore", "NewEntry", "Record", "checkpoint", "record"]
