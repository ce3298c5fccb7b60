"""Requirements files: includes, hashes, markers, and what counts as pinned."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.inventory import Ecosystem, InventoryError, PartialInventory, read_lockfile, requirements
from custody.inventory.requirements import read_requirements

SHA_A = "a" * 64
SHA_B = "b" * 64


def test_requirements_with_includes_hashes_markers_and_unpinned(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("Django==4.2.1  # web\n", encoding="utf-8")
    (tmp_path / "constraints.txt").write_text("urllib3==1.26.5\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text(
        "# pinned with hashes, as pip-compile --generate-hashes writes them\n"
        "--index-url https://pypi.org/simple\n"
        "-r sub/base.txt\n"
        "--constraint=constraints.txt\n"
        f"requests[socks]==2.31.0 \\\n    --hash=sha256:{SHA_A} \\\n    --hash=sha256:{SHA_B}\n"
        'pywin32==306 ; sys_platform == "win32"\n'
        "numpy>=1.20\n"
        "flask\n"
        "git+https://github.com/example/project.git@v1.0#egg=project\n"
        "mylib @ https://example.com/mylib-1.0.tar.gz\n"
        "-e ./local-package\n"
        "Black===23.1.0\n",
        encoding="utf-8",
    )
    found = read_requirements(str(tmp_path / "requirements.txt"))
    by_name = {p.name: p for p in found}
    assert by_name["Django"].version == "4.2.1"
    assert by_name["Django"].source.endswith("sub/base.txt:1")
    assert by_name["urllib3"].version == "1.26.5"
    requests = by_name["requests"]
    assert requests.version == "2.31.0"
    assert requests.hashes == (f"sha256:{SHA_A}", f"sha256:{SHA_B}")
    assert requests.source.endswith("requirements.txt:5")
    assert by_name["pywin32"].marker == 'sys_platform == "win32"'
    assert by_name["pywin32"].version == "306"
    assert by_name["numpy"].version is None and "range" in (by_name["numpy"].unpinned or "")
    assert by_name["flask"].unpinned == "no version given"
    assert by_name["project"].version is None and "VCS" in (by_name["project"].unpinned or "")
    assert by_name["mylib"].version is None and "URL" in (by_name["mylib"].unpinned or "")
    assert "editable" in (by_name["local-package"].unpinned or "")
    assert by_name["Black"].version == "23.1.0"
    assert all(p.ecosystem is Ecosystem.PYPI for p in found)


def test_include_cycle_terminates(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nsix==1.16.0\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("-r a.txt\nidna==3.4\n", encoding="utf-8")
    names = sorted(p.name for p in read_requirements(str(tmp_path / "a.txt")))
    assert names == ["idna", "six"]


def test_missing_include_is_an_inventory_error(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r nowhere.txt\n", encoding="utf-8")
    with pytest.raises(InventoryError, match=r"nowhere\.txt"):
        read_lockfile(str(tmp_path / "requirements.txt"))


def _partial(path: Path) -> PartialInventory:
    with pytest.raises(PartialInventory) as caught:
        read_lockfile(str(path))
    return caught.value


@pytest.mark.parametrize("include", ["missing.txt", "/dev/zero", "https://example.invalid/reqs.txt", ""])
def test_a_bad_include_is_reported_and_every_other_pin_still_read(tmp_path: Path, include: str) -> None:
    (tmp_path / "base.txt").write_text("jinja2==2.10\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text(
        f"flask==0.12.2\n-r {include}\nurllib3==1.23\n-r base.txt\n", encoding="utf-8"
    )
    error = _partial(tmp_path / "requirements.txt")
    pins = {(p.name, p.version) for p in error.packages}
    assert pins == {("flask", "0.12.2"), ("urllib3", "1.23"), ("jinja2", "2.10")}
    [problem] = error.problems
    assert problem.startswith(f"{tmp_path / 'requirements.txt'}:2: ")


def test_every_include_is_read_however_many_there_are(tmp_path: Path) -> None:
    # a flat list of 40 includes (pip reads them all); the old cap counted files, not depth
    lines = []
    for i in range(40):
        (tmp_path / f"part{i}.txt").write_text(f"pkg{i}==1.{i}\n", encoding="utf-8")
        lines.append(f"-r part{i}.txt")
    (tmp_path / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = read_requirements(str(tmp_path / "requirements.txt"))
    assert sorted(p.name for p in found) == sorted(f"pkg{i}" for i in range(40))


def test_nesting_past_the_cap_fails_closed(tmp_path: Path) -> None:
    depth = 70
    for i in range(depth):
        (tmp_path / f"level{i}.txt").write_text(f"-r level{i + 1}.txt\nlib{i}==1.0\n", encoding="utf-8")
    (tmp_path / f"level{depth}.txt").write_text("deepest==1.0\n", encoding="utf-8")
    error = _partial(tmp_path / "level0.txt")
    assert len(error.packages) == 65  # lib0..lib63 and the pins of the 65th file, in reading order
    [problem] = error.problems
    assert "nested deeper than 64" in problem and "level65.txt" in problem


def test_includes_past_the_file_cap_are_reported_not_dropped(tmp_path: Path) -> None:
    # 1,001 flat includes: the first 999 are read (with the including file, 1,000 files), the
    # last two are past the cap and each one is named, so the audit fails closed
    lines = []
    for i in range(1001):
        (tmp_path / f"part{i}.txt").write_text(f"pkg{i}==1.0\n", encoding="utf-8")
        lines.append(f"-r part{i}.txt")
    (tmp_path / "requirements.txt").write_text("\n".join(lines) + "\nlast==2.0\n", encoding="utf-8")
    error = _partial(tmp_path / "requirements.txt")
    assert sorted(p.name for p in error.packages) == sorted([*(f"pkg{i}" for i in range(999)), "last"])
    shown = tmp_path / "requirements.txt"
    assert error.problems == [
        f"{shown}:1000: more than 1000 files included: part999.txt not read",
        f"{shown}:1001: more than 1000 files included: part1000.txt not read",
    ]


def test_random_bytes_are_an_error_not_a_stream_of_findings(tmp_path: Path) -> None:
    junk = tmp_path / "requirements.txt"
    junk.write_bytes(bytes(random.Random(12).randrange(256) for _ in range(4096)))
    with pytest.raises(InventoryError, match="not a text requirements file") as caught:
        read_lockfile(str(junk))
    assert not isinstance(caught.value, PartialInventory)


def test_a_bom_names_the_encoding(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes("flask==0.12.2\r\n".encode("utf-16"))  # with its BOM
    [flask] = read_requirements(str(tmp_path / "requirements.txt"))
    assert (flask.name, flask.version) == ("flask", "0.12.2")


def test_a_long_token_is_read_in_linear_time(tmp_path: Path) -> None:
    # shlex.split is quadratic in a token's length (4 MB took minutes): requirement lines never go
    # through it, and an option line that long is reported instead
    name = "a" * 4_000_000
    (tmp_path / "requirements.txt").write_text(f"{name}\n-r {name}\n", encoding="utf-8")
    error = _partial(tmp_path / "requirements.txt")
    assert [p.unpinned for p in error.packages] == ["no version given"]
    assert error.problems == [
        f"{tmp_path / 'requirements.txt'}:2: option line of 4000003 characters not read"
    ]


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="no /proc here")
def test_an_include_of_a_secret_file_never_echoes_its_lines(tmp_path: Path) -> None:
    secret = "s3cr3t-" + "".join(random.Random(3).choice("abcdefghijkmnop") for _ in range(24))
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine example.org login me password {secret}\nTOKEN={secret}\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text(f"-r {netrc}\n-r /proc/self/environ\n", encoding="utf-8")
    env = {**os.environ, "CUSTODY_TEST_SECRET": secret}
    script = "import json, sys; from custody.inventory.requirements import read_requirements as r; "
    script += "print(json.dumps([repr(p) for p in r(sys.argv[1])]))"
    # a child process, so /proc/self/environ holds the secret
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "requirements.txt")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert secret not in done.stdout and "CUSTODY_TEST_SECRET" not in done.stdout
    packages = json.loads(done.stdout)
    assert len(packages) >= 2 and all("<unparseable line>" in p for p in packages)


_NAME = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,12}[A-Za-z0-9])?", fullmatch=True)
_VERSION = st.from_regex(
    r"[0-9]{1,4}(\.[0-9]{1,4}){0,3}((a|b|rc)[0-9]{1,3})?(\.post[0-9]{1,3})?(\.dev[0-9]{1,3})?", fullmatch=True
)
_NOISE = st.sampled_from(
    ["", " ", "==", "[x]", ";python_version<'3'", ".*", "+local", "-1", "rc", "!", "@", "~=", "\\t"]
)


@settings(max_examples=500, deadline=None)
@given(_NAME, _VERSION, _NOISE, _NOISE)
def test_the_plain_pin_shortcut_reads_what_the_parser_reads(name: str, version: str, a: str, b: str) -> None:
    # the shortcut for `name==version` must give exactly the parser's Package, and lines around
    # it (extras, markers, wildcards, local versions, spaces) must still reach the parser
    for written in (f"{name}=={version}", f"{name}{a}=={version}{b}", f"{name}=={a}{version}"):
        line = written.strip()  # as _logical_lines hands lines over
        assert requirements._requirement(line, "r.txt:1") == requirements._parsed_requirement(line, "r.txt:1")
