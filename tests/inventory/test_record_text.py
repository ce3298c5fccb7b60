"""RECORDs left as text (`distributions(parse_records=False)`, as `custody audit` reads them) give
the answer of parsed ones: the plan reads directories from the text, the parts parse the rows."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.artifacts import InstalledDistribution, parse_record
from custody.inventory.environment import distributions
from custody.inventory.integrity import (
    _Classified,
    _classify,
    _text_tops,
    find_startup_hooks,
    verify_records,
)
from tests.inventory.builders import make_site, record_hash, write_dist


def _site(tmp_path: Path) -> Path:
    """Plain RECORDs, one with rows outside the package dirs (`../../../bin/tool`, `./x`), one
    with a quoted row (planned row by row), a namespace dir shared by two, a .pth hook, tampering."""
    site = make_site(tmp_path)
    for n in range(3):
        write_dist(site, f"pkg{n}", "1.0", {f"pkg{n}/mod{i}.py": f"V = {i}\n".encode() for i in range(30)})
    write_dist(site, "ns-a", "1.0", {"ns/a/__init__.py": b"A = 1\n", "ns_a-hook.pth": b"import ns\n"})
    write_dist(site, "ns-b", "1.0", {"ns/b/__init__.py": b"B = 1\n"})
    tool = tmp_path / "venv" / "bin" / "tool"
    tool.parent.mkdir(parents=True, exist_ok=True)
    tool.write_bytes(b"#!/bin/sh\n")
    files = {"scripts/__init__.py": b"S = 1\n", "odd,name.py": b"O = 1\n"}
    dist_info = write_dist(site, "scripts", "1.0", files)
    record = dist_info / "RECORD"
    rows = record.read_text(encoding="utf-8").replace("odd,name.py,", '"odd,name.py",')
    script = record_hash(b"#!/bin/sh\n")
    rows += f"../../../bin/tool,{script},10\n./scripts/extra.py,,\n"
    record.write_text(rows, encoding="utf-8")
    (site / "scripts" / "extra.py").write_bytes(b"E = 1\n")
    (site / "pkg1" / "mod3.py").write_bytes(b"V = 9\n")  # same size, other content
    (site / "pkg2" / "mod4.py").unlink()
    (site / "ns" / "planted.py").write_bytes(b"import os\n")
    tool.write_bytes(b"#!/bin/sh\nexit 1\n")
    return site


def _answer(site: Path, parse: bool) -> list[tuple[str, str, str | None]]:
    dists = distributions(str(site), parse_records=parse)
    issues = verify_records(str(site), dists)
    return [(i.kind.value, os.path.relpath(i.path, site), i.package) for i in issues]


def test_text_and_parsed_records_give_the_same_issues_and_hooks(tmp_path: Path) -> None:
    site = _site(tmp_path)
    lazy = distributions(str(site), parse_records=False)
    assert all(d.record == () and d.record_text for d in lazy)
    assert (
        _answer(site, parse=False)
        == _answer(site, parse=True)
        == [
            ("modified", "../../../bin/tool", "scripts"),
            ("unlisted", "ns/planted.py", "ns-a"),
            ("modified", "pkg1/mod3.py", "pkg1"),
            ("missing", "pkg2/mod4.py", "pkg2"),
        ]
    )
    hooks = find_startup_hooks(str(site), lazy)
    assert hooks == find_startup_hooks(str(site), distributions(str(site)))
    assert [(os.path.basename(h.path), h.owner_name) for h in hooks] == [("ns_a-hook.pth", "ns-a")]


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")
def test_forked_parts_parse_text_records_to_the_same_answer(tmp_path: Path) -> None:
    site = _site(tmp_path)
    program = (
        "import json, os, sys\n"
        "import custody.inventory.integrity as integrity\n"
        "from custody.inventory import _parallel\n"
        "from custody.inventory.environment import distributions\n"
        "integrity._ROWS_PER_WORKER = 0\n"
        "site = sys.argv[1]\n"
        "issues = integrity.verify_records(site, distributions(site, parse_records=False), workers=2)\n"
        "print(json.dumps({'forked': _parallel.can_fork(),\n"
        "    'issues': [[i.kind.value, os.path.relpath(i.path, site), i.package] for i in issues]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(site)], capture_output=True, text=True, check=True, timeout=120
    )
    answer = json.loads(done.stdout)
    assert answer["forked"] is True
    assert [tuple(i) for i in answer["issues"]] == _answer(site, parse=True)


def _dist(site: str, text: str) -> InstalledDistribution:
    return InstalledDistribution(
        site_dir=site,
        entry="x-1.dist-info",
        name="x",
        version="1",
        record=(),
        has_record=True,
        record_text=text,
    )


_SEGMENTS = st.sampled_from(
    ["pkg", "ns", "bin", ".", "..", ".hidden", "__pycache__", "x.dist-info", "a.data"] * 3
    + ["", "p,q", 'q"r']
)
_PATHS = st.lists(_SEGMENTS, min_size=1, max_size=4).map("/".join)
_ROWS = st.tuples(_PATHS, st.sampled_from(["", "sha256=abc", "sha256=a/b"]), st.sampled_from(["", "12"]))
_ENDINGS = st.sampled_from(["\n"] * 6 + ["\r\n"] * 6 + ["\r", ""])  # mostly what pip writes


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(_ROWS, _ENDINGS, st.sampled_from([False] * 12 + [True])), max_size=12))
def test_directories_read_from_text_are_those_of_the_parsed_rows(
    rows: list[tuple[tuple[str, str, str], str, bool]],
) -> None:
    site = "/env/lib/python3.11/site-packages"
    lines = []
    for (path, digest, size), ending, quoted in rows:
        shown = '"' + path.replace('"', '""') + '"' if quoted or "," in path or '"' in path else path
        lines.append(f"{shown},{digest},{size}{ending}")
    text = "".join(lines)
    found = _text_tops(site, text)
    dist = _dist(site, text)
    by_top, _ = _classify(site, dist, parse_record(text))
    if found is not None:  # None: the plan sorts these rows one by one instead
        assert found == collections.Counter({top: len(listed) for top, listed in by_top.items()})


def test_a_row_under_a_directory_the_plan_did_not_see_is_looked_up_not_dropped() -> None:
    site = "/env/lib/python3.11/site-packages"
    dist = _dist(site, "pkg/a.py,sha256=abc,1\nother/b.py,sha256=abc,1\n")
    rows = _Classified(site)
    looked = rows.looked_up((dist, None), frozenset({"pkg"}))
    assert [entry.path for _, _, entry in looked] == ["other/b.py"]
    assert json.dumps([e.path for _, _, e in rows.under((dist, None), "pkg")]) == '["pkg/a.py"]'
