"""Smoke test over real malware from ../shared, read only as archives through the reader.

Skipped when the shared corpus is not beside the project. It guards the reader and engine against
crashes on hostile real-world input; detection quality is measured by bench/, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custody.scan import ScanTask, Verdict, scan_tasks

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "malicious-dev"


def _sample(step: int) -> list[str]:
    files = sorted(str(p) for p in CORPUS.rglob("*") if p.is_file())
    return files[::step]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared malware corpus not available")
def test_reader_and_engine_get_through_real_malware() -> None:
    paths = _sample(13)
    assert len(paths) > 250
    results = list(scan_tasks([ScanTask(p) for p in paths], jobs=min(2, os.cpu_count() or 1)))
    assert len(results) == len(paths)
    internal = [r for r in results if r.error and r.error.startswith("internal error")]
    assert internal == []
    errors = [r for r in results if r.verdict is Verdict.ERROR]
    # A handful of corpus files are empty or not archives at all; they must be errors, not crashes.
    assert len(errors) <= 3
    flagged = [r for r in results if r.verdict in (Verdict.MALICIOUS, Verdict.SUSPICIOUS)]
    assert len(flagged) / len(results) > 0.9
    for result in flagged:
        assert result.findings, result.target
        assert all(f.reason and f.rule for f in result.findings)
