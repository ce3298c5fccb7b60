"""After a breach: which datasets, clients and projects did a principal, host or key touch?

Each hit is backed by an inclusion proof of its entry in the log's current tree (checked here
before it is reported), so the answer can be handed to someone who trusts only the log's signed
checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custody.ledger import merkle
from custody.ledger.store import LedgerStore, normalize_time

FIELDS = ("principal", "host", "key")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """One log entry an exposure query found: its index, kind, integration time, exposure refs and the
    inclusion proof (hex hashes) of its leaf under the query's tree head."""

    index: int
    kind: str
    integrated_at: str
    refs: Mapping[str, Sequence[str]]
    proof: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exposure:
    """The answer to "what did this principal, host or key touch": the query, the tree head it was
    answered under (size and hex root) and the matching entries."""

    by: str  # principal | host | key
    value: str
    tree_size: int
    root: str
    hits: tuple[Hit, ...] = ()

    def touched(self, ref: str) -> list[str]:
        """Each value of ref field `ref` (dataset, client, project, ...) across the hits, sorted."""
        return sorted({v for h in self.hits for v in h.refs.get(ref, [])})

    def to_json(self) -> dict[str, Any]:
        """The answer as `custody exposure --format json` prints it."""
        return {
            "query": {self.by: self.value},
            "tree_size": self.tree_size,
            "root": self.root,
            "datasets": self.touched("dataset"),
            "clients": self.touched("client"),
            "projects": self.touched("project"),
            "entries": [
                {
                    "index": h.index,
                    "kind": h.kind,
                    "integrated_at": h.integrated_at,
                    "refs": {k: list(v) for k, v in h.refs.items()},
                    "proof": list(h.proof),
                }
                for h in self.hits
            ],
        }


def exposure(
    store: LedgerStore, field_name: str, value: str, *, since: str | None = None, until: str | None = None
) -> Exposure:
    """Every entry whose ref `field_name` (one of `FIELDS`) equals `value`, integrated in
    [`since`, `until`) when given, each with its inclusion proof under the current tree head.
    Raises ValueError for an unknown field or a malformed time."""
    if field_name not in FIELDS:
        raise ValueError(f"exposure starts from one of {', '.join(FIELDS)}, not {field_name!r}")
    low = normalize_time(since) if since else None
    high = normalize_time(until) if until else None
    size = store.size()
    root = store.root(size)
    hits: list[Hit] = []
    for index in store.find(field_name, value):
        if index >= size:
            continue  # appended after we fixed the tree head; the next query will include it
        entry = store.entry(index)
        if (low and entry.integrated_at < low) or (high and entry.integrated_at >= high):
            continue
        proof = store.inclusion_proof(index, size)
        merkle.verify_inclusion(index, size, merkle.leaf_hash(entry.commitment), proof, root)
        hits.append(
            Hit(
                index=index,
                kind=entry.kind,
                integrated_at=entry.integrated_at,
                refs=entry.refs,
                proof=tuple(p.hex() for p in proof),
            )
        )
    return Exposure(by=field_name, value=value, tree_size=size, root=root.hex(), hits=tuple(hits))
