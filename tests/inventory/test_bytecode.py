"""Byte code that `import` runs unverified is reported; byte code `import` checks is not.
Each case is confirmed by importing the module in a real interpreter (the code only prints)."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import struct
import subprocess
import sys
from pathlib import Path

from custody.inventory import IssueType, check_site_dir, verify_records
from custody.inventory.digest_cache import DigestCache
from tests.inventory.builders import make_site, write_dist

TAG = sys.implementation.cache_tag


def _compile(source: str, target: Path, tmp: Path, mode: py_compile.PycInvalidationMode) -> None:
    staged = tmp / f"staged-{target.stem}.py"
    staged.write_text(source, encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    py_compile.compile(str(staged), cfile=str(target), doraise=True, invalidation_mode=mode)


def _imports(site: Path, module: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            f"import sys; sys.path.insert(0, {str(site)!r}); import {module}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_swapped_or_sourceless_byte_code_is_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    pycache = site / "pkg" / "__pycache__"
    rows = {
        "pkg/__init__.py": b"",
        "pkg/good.py": b"print('good source')\n",
        "pkg/swapped.py": b"print('intact source')\n",
    }
    write_dist(site, "pkg", "1.0", rows)
    unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
    timestamp = py_compile.PycInvalidationMode.TIMESTAMP
    # the .py stays intact; its byte code is replaced by an unchecked-hash .pyc of other code
    _compile("print('swapped byte code')\n", pycache / f"swapped.{TAG}.pyc", tmp_path, unchecked)
    with (site / "pkg-1.0.dist-info" / "RECORD").open("a", encoding="utf-8") as record:
        record.write(f"pkg/__pycache__/swapped.{TAG}.pyc,,\n")  # as pip lists byte code: no hash
    # byte code written from the real source, as pip writes it: checked by import, not reported
    py_compile.compile(
        str(site / "pkg" / "good.py"), cfile=str(pycache / f"good.{TAG}.pyc"), invalidation_mode=timestamp
    )
    # a legacy-location .pyc without a .py beside it
    _compile("print('sourceless byte code')\n", site / "pkg" / "planted.pyc", tmp_path, timestamp)
    assert _imports(site, "pkg.swapped") == "swapped byte code"
    assert _imports(site, "pkg.planted") == "sourceless byte code"
    assert _imports(site, "pkg.good") == "good source"
    _, issues, _ = check_site_dir(str(site))
    found = {(Path(i.path).name, i.kind, i.package) for i in issues}
    assert found == {
        (f"swapped.{TAG}.pyc", IssueType.BYTECODE, "pkg"),
        ("planted.pyc", IssueType.BYTECODE, "pkg"),
    }


def test_checked_hash_byte_code_is_not_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    write_dist(site, "pkg", "1.0", {"pkg/__init__.py": b"", "pkg/mod.py": b"print('mod')\n"})
    checked = py_compile.PycInvalidationMode.CHECKED_HASH
    target = site / "pkg" / "__pycache__" / f"mod.{TAG}.pyc"
    _compile("print('other')\n", target, tmp_path, checked)  # import sees the hash differ and recompiles
    assert importlib.util.source_hash(b"print('mod')\n") != target.read_bytes()[8:16]
    assert _imports(site, "pkg.mod") == "mod"
    _, issues, _ = check_site_dir(str(site))
    assert issues == []


def test_a_pyc_swapped_after_an_audit_is_read_again_not_taken_from_the_cache(tmp_path: Path) -> None:
    # the flags word is kept in the digest cache by the .pyc's stamp (size, mtime, ctime, inode):
    # a warm run answers from it, and a .pyc rewritten since is read again, not trusted
    site = make_site(tmp_path)
    write_dist(site, "pkg", "1.0", {"pkg/__init__.py": b"", "pkg/mod.py": b"print('mod')\n"})
    target = site / "pkg" / "__pycache__" / f"mod.{TAG}.pyc"
    py_compile.compile(
        str(site / "pkg" / "mod.py"),
        cfile=str(target),
        invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
    )
    cache_path = str(tmp_path / "digests.sqlite")
    cache = DigestCache(cache_path)
    assert verify_records(str(site), cache=cache) == []  # the flags word is now in the cache
    cache.close()
    _compile("print('swapped')\n", target, tmp_path, py_compile.PycInvalidationMode.UNCHECKED_HASH)
    cache = DigestCache(cache_path)
    issues = verify_records(str(site), cache=cache)
    cache.close()
    assert [(Path(i.path).name, i.kind) for i in issues] == [(target.name, IssueType.BYTECODE)]


def _swap_keeping_header(pyc: Path, source: Path, code: str, tmp_path: Path) -> None:
    """A timestamp .pyc of other code whose header copies the intact source's mtime and size:
    `import` finds the header current and runs the byte code."""
    _compile(code, pyc, tmp_path, py_compile.PycInvalidationMode.TIMESTAMP)
    data = bytearray(pyc.read_bytes())
    info = source.stat()
    data[8:16] = struct.pack("<II", int(info.st_mtime) & 0xFFFFFFFF, info.st_size & 0xFFFFFFFF)
    pyc.write_bytes(bytes(data))


def _audit(site: Path, cache_path: str) -> list[tuple[str, IssueType, str]]:
    cache = DigestCache(cache_path)
    try:
        issues = verify_records(str(site), cache=cache)
    finally:
        cache.close()
    return [(Path(i.path).name, i.kind, i.detail.split(":")[0]) for i in issues]


def test_a_pyc_swapped_since_the_last_audit_is_compared_with_its_source(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    write_dist(site, "pkg", "1.0", {"pkg/__init__.py": b"", "pkg/mod.py": b"print('intact source')\n"})
    source = site / "pkg" / "mod.py"
    pyc = site / "pkg" / "__pycache__" / f"mod.{TAG}.pyc"
    py_compile.compile(
        str(source), cfile=str(pyc), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
    )
    cache_path = str(tmp_path / "digests.sqlite")
    assert _audit(site, cache_path) == []  # first sight: taken as it is (and remembered)
    _swap_keeping_header(pyc, source, "print('swapped byte code')\n", tmp_path)
    assert _imports(site, "pkg.mod") == "swapped byte code"
    swapped = [(pyc.name, IssueType.BYTECODE, "swapped byte code")]
    assert _audit(site, cache_path) == swapped
    assert _audit(site, cache_path) == swapped  # reported again while the file stays as it is
    # rewritten with the source's own code (as import or pip would): compared, found equal
    py_compile.compile(
        str(source), cfile=str(pyc), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
    )
    assert _imports(site, "pkg.mod") == "intact source"
    assert _audit(site, cache_path) == []
    assert _audit(site, cache_path) == []


def test_a_pyc_made_unchecked_in_place_keeping_size_and_mtime_is_reported(tmp_path: Path) -> None:
    # a warm audit clears a __pycache__ file whose flags word is cached under its stamp; flipping
    # the flags word in place keeps size, mtime (put back) and inode: only ctime tells
    site = make_site(tmp_path)
    write_dist(site, "pkg", "1.0", {"pkg/__init__.py": b"", "pkg/mod.py": b"print('mod')\n"})
    pyc = site / "pkg" / "__pycache__" / f"mod.{TAG}.pyc"
    py_compile.compile(
        str(site / "pkg" / "mod.py"),
        cfile=str(pyc),
        invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
    )
    cache_path = str(tmp_path / "digests.sqlite")
    assert _audit(site, cache_path) == []
    assert _audit(site, cache_path) == []  # now answered from the cache
    before = pyc.stat()
    with pyc.open("r+b") as handle:
        handle.seek(4)
        handle.write(struct.pack("<I", 0b01))  # hash-based, check_source off: import runs it as is
    os.utime(pyc, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = pyc.stat()
    kept = (before.st_size, before.st_mtime_ns, before.st_ino)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == kept
    assert _audit(site, cache_path) == [(pyc.name, IssueType.BYTECODE, "unchecked-hash byte code")]
