"""RECORD verification split over forked workers gives exactly the serial answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from custody.inventory._parallel import run_parts
from custody.inventory.environment import distributions
from custody.inventory.integrity import IssueType, verify_records
from tests.inventory.builders import make_site, write_dist


def _tampered_site(tmp_path: Path) -> Path:
    """Several distributions, one namespace directory shared by two of them, and one of each problem."""
    site = make_site(tmp_path)
    for n in range(6):
        files = {f"pkg{n}/mod{i}.py": f"VALUE = {i}\n".encode() for i in range(40)}
        write_dist(site, f"pkg{n}", "1.0", files)
    write_dist(site, "ns-a", "1.0", {"ns/a/__init__.py": b"A = 1\n"})
    write_dist(site, "ns-b", "1.0", {"ns/b/__init__.py": b"B = 1\n", "nsb_tool.py": b"T = 1\n"})
    (site / "pkg1" / "mod3.py").write_bytes(b"VALUE = 9\n")  # same size, other content
    (site / "pkg2" / "mod4.py").unlink()
    (site / "pkg3" / "dropped.py").write_bytes(b"import os\n")
    (site / "pkg4" / "__pycache__").mkdir()
    (site / "pkg4" / "__pycache__" / "mod1.cpython-311.pyc").write_bytes(b"\0")  # byte code: fine
    (site / "pkg4" / "__pycache__" / "hidden.py").write_bytes(b"import os\n")  # not byte code
    (site / "ns-b-extra.txt").write_bytes(b"x")  # at the root: no package directory, not walked
    return site


def _summary(site: Path, workers: int) -> list[tuple[str, str, str | None]]:
    issues = verify_records(str(site), distributions(str(site)), workers=workers)
    return [(i.kind.value, os.path.relpath(i.path, site), i.package) for i in issues]


def test_serial_answer(tmp_path: Path) -> None:
    site = _tampered_site(tmp_path)
    assert _summary(site, 1) == [
        (IssueType.MODIFIED.value, "pkg1/mod3.py", "pkg1"),
        (IssueType.MISSING.value, "pkg2/mod4.py", "pkg2"),
        (IssueType.UNLISTED.value, "pkg3/dropped.py", "pkg3"),
        (IssueType.UNLISTED.value, "pkg4/__pycache__/hidden.py", "pkg4"),
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")
def test_forked_workers_give_the_serial_answer(tmp_path: Path) -> None:
    site = _tampered_site(tmp_path)
    # pytest workers may run helper threads, so the fork is refused there: ask a fresh interpreter
    program = (
        "import json, os, sys\n"
        "import custody.inventory.integrity as integrity\n"
        "from custody.inventory import _parallel\n"
        "from custody.inventory.environment import distributions\n"
        "integrity._ROWS_PER_WORKER = 0\n"
        "pids = set()\n"
        "real = _parallel.run_parts\n"
        "def spy(jobs):\n"
        "    wrapped = [lambda job=job: (os.getpid(), job()) for job in jobs]\n"
        "    results = real(wrapped)\n"
        "    pids.update(pid for pid, _ in results)\n"
        "    return [result for _, result in results]\n"
        "integrity.run_parts = spy\n"
        "site = sys.argv[1]\n"
        "issues = integrity.verify_records(site, distributions(site), workers=2)\n"
        "print(json.dumps({'processes': len(pids), 'forked': _parallel.can_fork(),\n"
        "    'issues': [[i.kind.value, os.path.relpath(i.path, site), i.package] for i in issues]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(site)], capture_output=True, text=True, check=True, timeout=120
    )
    answer = json.loads(done.stdout)
    assert answer["forked"] is True
    assert answer["processes"] == 2
    assert [tuple(i) for i in answer["issues"]] == _summary(site, 1)


def _fresh(program: str) -> dict[str, object]:
    """Run `program` in a new interpreter (pytest workers may run helper threads, and run_parts
    refuses to fork then) and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")
def test_run_parts_keeps_order_and_redoes_a_failed_child() -> None:
    answer = _fresh(
        "import json, os\n"
        "from custody.inventory._parallel import can_fork, run_parts\n"
        "parent = os.getpid()\n"
        "def job(n):\n"
        "    if os.getpid() != parent:\n"
        "        if n == 2:\n"
        "            os._exit(3)  # a child that dies: the parent must do its share\n"
        "        return ('child', n * n)\n"
        "    return ('parent', n * n)\n"
        "jobs = [lambda n=n: job(n) for n in range(4)]\n"
        "print(json.dumps({'forked': can_fork(), 'results': run_parts(jobs)}))\n"
    )
    assert answer["forked"] is True
    assert answer["results"] == [["parent", 0], ["child", 1], ["parent", 4], ["child", 9]]


def test_an_exception_in_the_parents_share_propagates() -> None:
    def boom() -> int:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        run_parts([boom, lambda: 1])


def test_deep_trees_are_walked_by_path_past_the_descriptor_depth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custody.inventory import integrity

    site = make_site(tmp_path)
    deep = "deep/" + "/".join(f"d{i}" for i in range(6))
    write_dist(site, "deep", "1.0", {f"{deep}/mod.py": b"X = 1\n", "deep/__init__.py": b""})
    (site / deep / "mod.py").write_bytes(b"X = 2\n")
    (site / deep / "planted.py").write_bytes(b"import os\n")
    expected = [
        (IssueType.MODIFIED.value, f"{deep}/mod.py", "deep"),
        (IssueType.UNLISTED.value, f"{deep}/planted.py", "deep"),
    ]
    assert _summary(site, 1) == expected
    monkeypatch.setattr(integrity, "_FD_DEPTH", 2)
    assert _summary(site, 1) == expected


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")
def test_a_refused_fork_runs_that_share_here() -> None:
    answer = _fresh(
        "import json, os\n"
        "from custody.inventory._parallel import can_fork, run_parts\n"
        "def no_fork():\n"
        "    raise OSError(11, 'Resource temporarily unavailable')\n"
        "os.fork = no_fork\n"
        "print(json.dumps({'forked': can_fork(), 'results': run_parts([lambda: 1, lambda: 2, lambda: 3])}))\n"
    )
    assert answer == {"forked": True, "results": [1, 2, 3]}


def test_paused_collection_pauses_and_restores_the_collector() -> None:
    import gc

    from custody.inventory import paused_collection

    assert gc.isenabled()
    with paused_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    try:
        with paused_collection():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled()
