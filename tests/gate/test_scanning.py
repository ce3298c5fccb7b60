"""The gate's scan pool with real worker processes: verdicts come back over the pipes, a dead
worker is an `error` outcome (never clean) and is replaced, files queue for a busy worker."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from custody.gate.scanning import ScanPool
from tests.gate.builders import EXEC_PTH, add_wheel


def test_process_workers_scan_and_a_dead_worker_is_replaced(tmp_path: Path) -> None:
    clean = str(add_wheel(tmp_path, "poolok", "1.0.0"))
    hooked = str(add_wheel(tmp_path, "poolhook", "1.0.0", files={"poolhook_init.pth": EXEC_PTH}))

    async def run() -> list[tuple[str, str, float | None]]:
        pool = ScanPool(1, 120.0)
        try:
            seen = []
            first = await pool.scan(clean)
            seen.append((first.verdict, first.summary, first.seconds))
            (worker,) = pool._all
            assert worker.process.pid is not None
            os.kill(worker.process.pid, signal.SIGKILL)  # the worker dies while idle
            worker.process.join(timeout=10)
            dead = await pool.scan(clean)
            seen.append((dead.verdict, dead.summary, dead.seconds))
            # the replacement serves three files asked for at once, one after another
            for outcome in await asyncio.gather(*(pool.scan(p) for p in (hooked, clean, hooked))):
                seen.append((outcome.verdict, outcome.summary, outcome.seconds))
            return seen
        finally:
            pool.close()

    seen = asyncio.run(run())
    assert seen[0][0] == "clean" and seen[0][2] is not None and seen[0][2] > 0  # timed in the worker
    assert seen[1] == ("error", "error: scan worker died", None)
    assert [verdict for verdict, _, _ in seen[2:]] == ["malicious", "clean", "malicious"]
