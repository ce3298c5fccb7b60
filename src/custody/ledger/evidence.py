"""Evidence packs: everything the log says about one dataset, verifiable offline.

    OUT/index.json         dataset, log size/root at packing time, one line per entry
    OUT/checkpoint.txt     the newest signed checkpoint
    OUT/entries/N.proof    a C2SP tlog-proof bundle per entry (check: custody verify N.proof --key LOGKEY)

Entries not yet covered by a checkpoint, or redacted, are listed in index.json with the reason
they have no bundle, so the pack says what it cannot prove rather than leaving it out.
"""

from __future__ import annotations

import json
import os
from typing import Any

from custody.errors import CustodyError
from custody.ledger.bundle import BundleError, make_bundle
from custody.ledger.store import LedgerStore, utc_now


class EvidenceError(CustodyError, ValueError):
    """Nothing to pack, or the output directory is not usable."""


def write_evidence(store: LedgerStore, dataset: str, out_dir: str) -> dict[str, Any]:
    """Write an evidence pack about `dataset` into `out_dir` (new or empty): every entry that names it,
    each with its proof bundle where one can be made, the newest checkpoint and an `index.json`
    summary, which is also returned. Raises EvidenceError when the ledger has no such entry or
    `out_dir` is not empty, OSError when it cannot be written."""
    indexes = store.find("dataset", dataset)
    if not indexes:
        raise EvidenceError(f"the ledger has no entry about dataset {dataset!r}")
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise EvidenceError(f"{out_dir} exists and is not empty")
    os.makedirs(os.path.join(out_dir, "entries"), exist_ok=True)
    latest = store.latest_checkpoint()
    if latest is not None:
        with open(os.path.join(out_dir, "checkpoint.txt"), "w", encoding="utf-8") as handle:
            handle.write(latest[2])
    size = store.size()
    rows: list[dict[str, Any]] = []
    for index in indexes:
        entry = store.entry(index)
        row: dict[str, Any] = {
            "index": index,
            "kind": entry.kind,
            "integrated_at": entry.integrated_at,
            "refs": entry.refs,
            "commitment": entry.commitment.hex(),
        }
        try:
            bundle = make_bundle(store, index)
        except BundleError as exc:
            row["bundle"] = None
            row["why_no_bundle"] = str(exc)
        else:
            row["bundle"] = f"entries/{index}.proof"
            with open(os.path.join(out_dir, row["bundle"]), "w", encoding="utf-8") as handle:
                handle.write(bundle)
        rows.append(row)
    summary = {
        "dataset": dataset,
        "generated_at": utc_now(),
        "log_size": size,
        "log_root": store.root(size).hex(),
        "entries": rows,
    }
    with open(os.path.join(out_dir, "index.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1, sort_keys=True)
        handle.write("\n")
    return summary
