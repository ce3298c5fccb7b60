"""Decisions recorded off the request path: queued, then written in batches by a background task
to the gate store and, as signed in-toto records, to the ledger.

A request only puts its decision on a queue; signing and the two writes happen on the store
thread, many decisions per transaction. A batch that cannot be written is logged and the
recorder carries on: the client's answer never waits on the ledger (the decision itself was
already taken and enforced).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from custody.gate.store import DecisionRow
from custody.ledger.api import Record, record
from custody.ledger.keys import SigningKey, load_signing_key, write_key_pair
from custody.ledger.store import LedgerStore

LOG = logging.getLogger("custody.gate")
KEY_NAME = "custody-gate"
BATCH = 200
LINGER = 0.05
"""Seconds a batch waits after its first decision before it is written. The writing (signing,
two stores) runs on another thread but needs the GIL for much of it: started at once, it competed
with the event loop for the very response whose decision it records (2 ms of a cold file's time
to first byte, measured). Later, it overlaps the body being sent instead, and batches more."""


def gate_key(data_dir: str, path: str | None = None) -> SigningKey:
    """The gate's signing key: `path` if given, else `custody-gate.key` in `data_dir`, generated
    there (0600, next to its `.pub`) on first use."""
    if path is not None:
        return load_signing_key(path)
    key_path = os.path.join(data_dir, f"{KEY_NAME}.key")
    if not os.path.exists(key_path):
        write_key_pair(SigningKey.generate(KEY_NAME), data_dir)
    return load_signing_key(key_path)


def decision_record(row: DecisionRow) -> Record:
    """A decision as a ledger record: the file is the subject, the rest the predicate."""
    digest = {"sha256": row.sha256} if row.sha256 else {}
    predicate: dict[str, Any] = {
        key: value
        for key, value in {
            "project": row.project,
            "version": row.version,
            "filename": row.filename,
            "decision": row.decision,
            "verdict": row.verdict,
            "rule": row.rule,
            "reason": row.reason,
            "host": row.client,
            "user_agent": row.user_agent,
            "time": row.as_json()["at"],
        }.items()
        if value is not None
    }
    return Record("gate-decision", [{"name": row.filename, "digest": digest}], predicate)


class LedgerWriter:
    """The ledger and key, opened once (on the store thread) and reused for every batch."""

    def __init__(self, ledger: str, key_path: str | None, data_dir: str) -> None:
        if "://" not in ledger:
            os.makedirs(os.path.dirname(os.path.abspath(ledger)), exist_ok=True)
        os.makedirs(data_dir, exist_ok=True)
        self.key = gate_key(data_dir, key_path)
        self.store = LedgerStore.open(ledger)

    def append(self, rows: Sequence[DecisionRow]) -> range:
        """Sign the decisions into the ledger as one batch; returns their log indexes."""
        return record(self.store, [decision_record(r) for r in rows], [self.key])

    def close(self) -> None:
        """Close the ledger."""
        self.store.close()


class Recorder:
    """Queue decisions; a background task hands them to `sink` in batches via `run` (the store
    thread)."""

    def __init__(
        self,
        run: Callable[[Callable[[list[DecisionRow]], None], list[DecisionRow]], Awaitable[None]],
        sink: Callable[[list[DecisionRow]], None],
        *,
        linger: float = LINGER,
    ) -> None:
        self._run = run
        self._sink = sink
        self._linger = linger
        self._queue: asyncio.Queue[DecisionRow | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.written = 0

    def start(self) -> None:
        """Start the background task that writes queued decisions (needs a running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="custody-gate-recorder")

    def add(self, row: DecisionRow) -> None:
        """Queue one decision for writing (never blocks)."""
        self._queue.put_nowait(row)

    async def flush(self) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        await self._queue.join()

    async def stop(self) -> None:
        """Write what is queued, then end the background task."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        while True:
            first = await self._queue.get()
            got = 1
            batch: list[DecisionRow] = []
            done = first is None
            if first is not None:
                batch.append(first)
                await asyncio.sleep(self._linger)
            while not done and len(batch) < BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                got += 1
                if item is None:
                    done = True
                else:
                    batch.append(item)
            if batch:
                try:
                    await self._run(self._sink, batch)
                    self.written += len(batch)
                except Exception:  # the answer was already given; keep recording what comes next
                    LOG.exception("could not record %d gate decisions", len(batch))
            for _ in range(got):
                self._queue.task_done()
            if done:
                return
