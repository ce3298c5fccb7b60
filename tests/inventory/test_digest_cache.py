"""The digest cache: reused only for unchanged files, so a re-audit still sees every change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custody.inventory.digest_cache import DigestCache
from custody.inventory.environment import distributions
from custody.inventory.integrity import IssueType, verify_records
from custody.store import StoreError
from tests.inventory.builders import make_site, write_dist


def _modified(site: Path, cache: DigestCache | None) -> list[str]:
    return sorted(
        os.path.basename(issue.path)
        for issue in verify_records(str(site), distributions(str(site)), cache)
        if issue.kind is IssueType.MODIFIED
    )


def test_cached_digests_still_catch_a_rewrite_that_keeps_size_and_mtime(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    write_dist(site, "demo", "1.0", {"demo/core.py": b"VALUE = 1\n"})
    target = site / "demo" / "core.py"
    cache_path = str(tmp_path / "digests.sqlite")

    cache = DigestCache(cache_path)
    assert _modified(site, cache) == []
    cache.close()
    cache = DigestCache(cache_path)
    assert str(target) in cache.known  # the second run may reuse it

    # same size, same mtime put back: only ctime (which cannot be set back) tells
    before = target.stat()
    target.write_bytes(b"VALUE = 2\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    assert _modified(site, cache) == ["core.py"]
    cache.close()


def test_unusable_cache_file_is_a_store_error_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "digests.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        DigestCache(str(bad))
