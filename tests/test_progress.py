"""Progress callbacks: libraries report (stage, done, total); a failing callback never stops the work."""

from __future__ import annotations

import json
from pathlib import Path

from custody.advisories import update_store
from custody.artifacts.index import fetch_each
from custody.cli.progress import progress_display
from custody.progress import report


def test_fetch_each_reports_every_answer_and_a_broken_callback_is_ignored() -> None:
    seen: list[tuple[str, int, int | None]] = []
    found, errors = fetch_each(
        [1, 2, 3], lambda k: k * 10, expected=(ValueError,), progress=lambda *a: seen.append(a), stage="x"
    )
    assert found == {1: 10, 2: 20, 3: 30} and errors == []
    assert seen[0] == ("x", 0, 3) and seen[-1] == ("x", 3, 3) and len(seen) == 4

    def broken(stage: str, done: int, total: int | None) -> None:
        raise RuntimeError("a terminal went away")

    assert fetch_each([1], lambda k: k, expected=(ValueError,), progress=broken) == ({1: 1}, [])
    report(None, "nothing", 1, 1)  # no callback: nothing to do


def test_store_update_counts_records(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    for n in range(3):
        record = {"id": f"MAL-0000-{n}", "affected": [{"package": {"ecosystem": "PyPI", "name": f"x{n}"}}]}
        (records / f"MAL-0000-{n}.json").write_text(json.dumps(record), encoding="utf-8")
    seen: list[tuple[str, int, int | None]] = []
    update_store(path=str(tmp_path / "s.sqlite"), sources=[str(records)], progress=lambda *a: seen.append(a))
    assert seen[-1] == ("records", 3, 3)


def test_the_cli_display_draws_without_a_refresh_thread() -> None:
    import threading

    before = threading.active_count()
    with progress_display(True) as progress:
        assert progress is not None
        progress("stage", 1, 2)
        progress("stage", 2, 2)
        assert threading.active_count() == before  # forking RECORD workers stays possible
    with progress_display(False) as progress:
        assert progress is None
