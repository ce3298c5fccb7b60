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
    assert str(target) in cache.group(str(site / "demo")).known  # the second run may reuse it

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


def test_cache_of_another_version_is_started_afresh(tmp_path: Path) -> None:
    from custody.store import open_store

    old_path = str(tmp_path / "digests.sqlite")
    old = open_store(old_path, kind="digest-cache", schema_version=1, schema="CREATE TABLE t (x INTEGER);")
    old.close()
    site = make_site(tmp_path)
    write_dist(site, "demo", "1.0", {"demo/core.py": b"VALUE = 1\n"})
    cache = DigestCache(old_path)
    assert cache.group(str(site / "demo")).known == {}
    assert _modified(site, cache) == []
    cache.close()
    assert str(site / "demo" / "core.py") in DigestCache(old_path).group(str(site / "demo")).known


def test_deleted_files_leave_the_cache_and_a_damaged_group_is_rehashed(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    write_dist(site, "demo", "1.0", {"demo/a.py": b"A = 1\n", "demo/b.py": b"B = 1\n"})
    cache_path = str(tmp_path / "digests.sqlite")
    cache = DigestCache(cache_path)
    assert _modified(site, cache) == []
    cache.close()
    (site / "demo" / "b.py").unlink()
    cache = DigestCache(cache_path)
    verify_records(str(site), distributions(str(site)), cache)  # b.py is reported missing
    cache.close()
    assert set(DigestCache(cache_path).group(str(site / "demo")).known) == {str(site / "demo" / "a.py")}

    import sqlite3

    conn = sqlite3.connect(cache_path)
    conn.execute("UPDATE digest_group SET entries = '{not json' WHERE grp = ?", (str(site / "demo"),))
    conn.commit()
    conn.close()
    (site / "demo" / "a.py").write_bytes(b"A = 2\n")  # same size: only the digest can tell
    cache = DigestCache(cache_path)
    assert cache.group(str(site / "demo")).known == {}
    assert _modified(site, cache) == ["a.py"]
    cache.close()


def test_a_stored_value_that_is_not_a_stamp_string_is_never_trusted(tmp_path: Path) -> None:
    # a group is loaded as stored, without checking each row: a value of another type (here the
    # [stamp, digest] pair of schema 3, naming the file's current stamp and RECORD's digest) must
    # still lead to hashing the file, not to taking its digest as verified
    import json
    import sqlite3

    from custody.inventory.digest_cache import _stamp

    site = make_site(tmp_path)
    write_dist(site, "demo", "1.0", {"demo/a.py": b"A = 1\n"})
    cache_path = str(tmp_path / "digests.sqlite")
    cache = DigestCache(cache_path)
    assert _modified(site, cache) == []
    cache.close()
    target = site / "demo" / "a.py"
    target.write_bytes(b"A = 2\n")
    recorded = next(e.digest for d in distributions(str(site)) for e in d.record if e.path == "demo/a.py")
    pair = [_stamp(os.lstat(target), "sha256"), recorded]
    conn = sqlite3.connect(cache_path)
    conn.execute(
        "UPDATE digest_group SET entries = ? WHERE grp = ?",
        (json.dumps({str(target): pair}), str(site / "demo")),
    )
    conn.commit()
    conn.close()
    cache = DigestCache(cache_path)
    assert _modified(site, cache) == ["a.py"]
    cache.close()
