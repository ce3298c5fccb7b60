"""The scan engine on generated code: any source, valid or not, gives a verdict, never a crash.

The archive reader is fuzzed in tests/artifacts/test_fuzz.py; this drives what comes after it (the
AST analysis, static decoding, name resolution, the rules) with Python-shaped sources assembled
from the constructs the rules look at, plus arbitrary text. Payload strings are inert.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.scan import Scanner, ScanTask, Verdict
from tests.scan.builders import DEFAULT_NAME, write_sdist, write_wheel

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = st.sampled_from(["x", "data", "get", "run", "exec", "eval", "self", "_", "os", "b64", "s"])
ATOMS = st.one_of(
    NAMES,
    st.sampled_from(
        [
            "'aW1wb3J0IG9z'",
            "b'\\x00\\xff'",
            "'http://192.0.2.1/x'",
            "'~/.ssh/id_rsa'",
            "''",
            "0",
            "-1",
            "1e308",
            "None",
            "...",
            "'" + "A" * 300 + "'",
            "chr(105)",
            "[1, 2]",
            "{'a': 1}",
            "f'{x}'",
            "lambda v: v",
        ]
    ),
)
CALLEES = st.sampled_from(
    [
        "exec",
        "eval",
        "compile",
        "base64.b64decode",
        "zlib.decompress",
        "marshal.loads",
        "subprocess.Popen",
        "os.system",
        "requests.get",
        "urllib.request.urlopen",
        "getattr",
        "__import__",
        "get",
        "self.decd",
        "''.join",
        "bytes.fromhex",
        "open",
        "codecs.decode",
    ]
)


def _expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            st.builds(lambda f, a: f"{f}({a})", CALLEES, inner),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", CALLEES, inner, inner),
            st.builds(lambda a, b: f"({a} ^ {b})", inner, inner),
            st.builds(lambda a: f"{a}[::-1]", inner),
            st.builds(lambda a, n: f"{a}.{n}", inner, NAMES),
            st.builds(lambda a: f"[c for c in {a}]", inner),
        ),
        max_leaves=12,
    )


STATEMENTS = st.one_of(
    st.sampled_from(
        [
            "import os, sys, base64, zlib, marshal, subprocess",
            "from requests import *",
            "from subprocess import check_output as co",
            "import urllib.request",
            "def helper():\n    from subprocess import run as r\n    return r",
            "class C:\n    def decd(self, d):\n        return base64.b64decode(d[::-1])",
            "if __name__ == '__main__':\n    pass",
            "try:\n    pass\nexcept:\n    pass",
            "while True:\n    break",
            "global x",
            "x = y = z",
            "@decorator\ndef f(): pass",
            "async def g():\n    await x",
        ]
    ),
    st.builds(lambda n, e: f"{n} = {e}", NAMES, _expressions()),
    st.builds(lambda e: e, _expressions()),
    st.builds(lambda e: f"def f():\n    return {e}", _expressions()),
    st.builds(lambda e: f"with open({e}) as h:\n    h.write({e})", _expressions()),
)
SOURCES = st.lists(STATEMENTS, max_size=8).map("\n".join)
PLACES = st.sampled_from(
    [f"{DEFAULT_NAME}/__init__.py", "setup.py", "zz.pth", "sitecustomize.py", "pkg/mod.py"]
)


@functools.lru_cache(maxsize=1)
def _scanner() -> Scanner:
    return Scanner()  # compiling the YARA rules once for every example


def _scan(files: dict[str, str | bytes], wheel: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = (write_wheel if wheel else write_sdist)(Path(tmp), files)
        (result,) = _scanner().scan_task(ScanTask(str(path)))
    assert result.verdict in (Verdict.CLEAN, Verdict.SUSPICIOUS, Verdict.MALICIOUS), result.error
    for finding in result.findings:
        assert finding.rule and finding.reason


@FUZZ
@given(source=SOURCES, place=PLACES, wheel=st.booleans())
def test_generated_python(source: str, place: str, wheel: bool) -> None:
    _scan({place: source + "\n"}, wheel)


@FUZZ
@given(data=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode), place=PLACES)
def test_arbitrary_bytes_as_code(data: bytes, place: str) -> None:
    _scan({place: data}, wheel=False)


@pytest.mark.parametrize("depth", [50, 400])
def test_deeply_nested_code(depth: int) -> None:
    # The AST of this nests `depth` calls: below the recursion limit it is analysed, above it the
    # file is read as text; neither may crash the scan.
    source = "exec(" * depth + "'x'" + ")" * depth + "\n"
    _scan({f"{DEFAULT_NAME}/__init__.py": source}, wheel=True)
