"""Payload carriers: pickles and model files, YAML tags, sourceless bytecode, disguised archives.

Every sample is built here as bytes and only ever read by the scanner: pickles come from
`pickle.dumps` of objects whose `__reduce__` names a callable with an inert argument ('true'),
or are assembled opcode by opcode; nothing is unpickled, imported or run.
"""

from __future__ import annotations

import collections
import gzip
import importlib.util
import io
import marshal
import os
import pickle
import struct
import subprocess
import webbrowser
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.scan import Finding, Scanner, ScanResult, ScanTask, Severity, Verdict
from custody.scan.carriers import CARRIER_BYTES, pickles
from custody.scan.carriers.callables import Danger, classify_callable
from custody.scan.carriers.pickles import scan_pickle
from custody.scan.selection import scan_selector
from tests.scan.builders import DEFAULT_NAME, write_sdist, write_wheel

PKG = DEFAULT_NAME
RULE = "serialized-exec"


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


# test_rules imports this module's positive tests for its catalogue check, so the few helpers
# live here rather than there (no import cycle).
def scan(path: Path, scanner: Scanner) -> ScanResult:
    [result] = scanner.scan_task(ScanTask(str(path)))
    assert result.error is None, result.error
    return result


def hits(result: ScanResult, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


def describe(result: ScanResult) -> str:
    lines = [f"verdict={result.verdict.value}"]
    lines += [f"  {f.rule} {f.severity.value} {f.file}:{f.line} {f.reason}" for f in result.findings]
    return "\n".join(lines)


def assert_fires(result: ScanResult, rule: str, verdict: Verdict, *, severity: Severity) -> list[Finding]:
    found = hits(result, rule)
    assert found, f"{rule} did not fire\n{describe(result)}"
    assert max(f.severity.rank for f in found) == severity.rank, describe(result)
    assert result.verdict is verdict, describe(result)
    return found


def assert_quiet(result: ScanResult, rule: str) -> None:
    assert not hits(result, rule) and result.verdict is Verdict.CLEAN, describe(result)


# ---- sample builders -----------------------------------------------------------------------------
class _Shell:
    """Pickles as `os.system('true')`: the shape of a booby-trapped model file."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


class _Spawn:
    def __reduce__(self) -> tuple[object, tuple[list[str]]]:
        return (subprocess.Popen, (["true"],))


class _Browser:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (webbrowser.open, ("http://localhost/",))


def shell_pickle(protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    return pickle.dumps({"weights": [0.5, 1.5], "hook": _Shell()}, protocol=protocol)


def benign_pickle(protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    return pickle.dumps(
        {"weights": [0.5, 1.5], "vocab": collections.OrderedDict(a=1), "raw": b"\x00\x01", "n": None},
        protocol=protocol,
    )


def _unicode(text: str) -> bytes:
    return b"\x8c" + bytes([len(text)]) + text.encode()  # SHORT_BINUNICODE


def stack_global_pickle(module: str, name: str, argument: str) -> bytes:
    """Protocol 4 by hand: the callable's name parts go through the memo before STACK_GLOBAL, and
    the call takes the callable back from the memo (BINGET), as optimised pickles do."""
    return (
        b"\x80\x04"
        + _unicode(module)
        + b"\x94"  # MEMOIZE -> 0
        + _unicode(name)
        + b"\x94"  # MEMOIZE -> 1
        + b"\x93"  # STACK_GLOBAL
        + b"\x94"  # MEMOIZE -> 2
        + b"0"  # POP: the callable now lives only in the memo
        + b"h\x02"  # BINGET 2
        + _unicode(argument)
        + b"\x85"  # TUPLE1
        + b"R"  # REDUCE
        + b"."
    )


def torch_like_pickle(extra: bytes = b"") -> bytes:
    """What `torch.save(state_dict)` writes into `archive/data.pkl`, reduced to its globals:
    an OrderedDict of one tensor rebuilt by `torch._utils._rebuild_tensor_v2` from a persistent
    storage id. `extra` (protocol 2 opcodes leaving one value) goes into the dict too."""
    storage = b"(X\x07\x00\x00\x00storageq\x00ctorch\nFloatStorage\nq\x01X\x01\x00\x00\x000q\x02tq\x03Q"
    tensor = b"ctorch._utils\n_rebuild_tensor_v2\nq\x04(" + storage + b"K\x00K\x02\x85K\x01\x85\x89tq\x05R"
    body = b"ccollections\nOrderedDict\nq\x06)Rq\x07X\x06\x00\x00\x00weightq\x08" + tensor + b"s"
    if extra:
        body += b"X\x04\x00\x00\x00hookq\x09" + extra + b"s"
    return b"\x80\x02" + body + b"."


def torch_zip(pickle_bytes: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/data/0", struct.pack("<2f", 0.5, 1.5))
        archive.writestr("archive/version", "3\n")
    return buf.getvalue()


def npy(header_descr: str, body: bytes) -> bytes:
    header = f"{{'descr': '{header_descr}', 'fortran_order': False, 'shape': (1,), }}".encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def pyc(source: str) -> bytes:
    """A .pyc of inert source, as py_compile lays it out (magic, flags, mtime, size, code)."""
    code = compile(source, "mod.py", "exec")
    return importlib.util.MAGIC_NUMBER + struct.pack("<III", 0, 0, len(source)) + marshal.dumps(code)


LOADS_AT_IMPORT = (
    "import os, pickle\n"
    "HERE = os.path.dirname(__file__)\n"
    "with open(os.path.join(HERE, 'model.pkl'), 'rb') as fh:\n"
    "    MODEL = pickle.load(fh)\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)


# ---- the opcode scanner --------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_scanner_finds_called_shell_in_every_protocol(protocol: int) -> None:
    report = scan_pickle(shell_pickle(protocol))
    assert report.error is None
    [call] = report.calls
    assert call.danger is Danger.EXEC and call.called and call.name == "system"
    assert call.args == "'true'"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_scanner_benign_containers_name_nothing(protocol: int) -> None:
    report = scan_pickle(benign_pickle(protocol))
    assert report.calls == [] and report.error is None


def test_pickle_scanner_resolves_stack_global_through_the_memo() -> None:
    [call] = scan_pickle(stack_global_pickle("builtins", "exec", "print(1)")).calls
    assert (call.module, call.name, call.called, call.danger) == ("builtins", "exec", True, Danger.EXEC)
    assert "print(1)" in call.args


def test_pickle_scanner_reads_pickles_back_to_back() -> None:
    # legacy torch.save: several pickles in a row; the payload may sit in any of them
    report = scan_pickle(pickle.dumps(119547037146038801333356, protocol=2) + shell_pickle(2))
    assert report.pickles == 2 and [c.name for c in report.calls] == ["system"]


def test_pickle_scanner_resumes_after_raw_bytes() -> None:
    # joblib writes array bytes between opcodes; a payload after them must still be decoded
    array = struct.pack("<4d", 1.0, 2.0, 3.0, 4.0) + b"\x00\xff"
    for protocol in (2, 4):
        report = scan_pickle(benign_pickle(protocol)[:-1] + array + shell_pickle(protocol))
        assert [(c.name, c.called) for c in report.calls] == [("system", True)], report


def test_pickle_scanner_sweep_ignores_harmless_names_in_trailing_bytes() -> None:
    tail = b"ccollections\nOrderedDict\n" + bytes(range(256))
    assert scan_pickle(benign_pickle(2) + tail).calls == []


def test_pickle_scanner_torch_globals_are_not_dangerous() -> None:
    assert scan_pickle(torch_like_pickle()).calls == []
    for module, name in (
        ("torch._utils", "_rebuild_tensor_v2"),
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("torch", "FloatStorage"),
        ("_codecs", "encode"),  # how protocol 2 pickles bytes
    ):
        assert classify_callable(module, name) is None
    assert classify_callable("posix", "system") is Danger.EXEC
    assert classify_callable("subprocess", "Popen.__init__") is Danger.EXEC
    assert classify_callable("urllib.request", "urlopen") is Danger.RISKY


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("pydoc", "pipepager"),
        ("pydoc", "tempfilepager"),
        ("distutils.spawn", "spawn"),
        ("setuptools._distutils.spawn", "spawn"),
        ("imaplib", "IMAP4_stream"),
    ],
)
def test_standard_library_helpers_that_start_a_command_are_exec(module: str, name: str) -> None:
    # a pickle may reduce to any importable callable: these start the command they are given
    assert classify_callable(module, name) is Danger.EXEC
    reduce = f"c{module}\n{name}\n(Vtext\nVsh -c true\ntR.".encode()
    assert scan_pickle(reduce).calls, reduce


def test_pickle_scanner_bound_method_lookup_alone_is_not_a_call() -> None:
    # pickling a bound method gives getattr(obj, name): a lookup whose result nobody calls
    report = scan_pickle(pickle.dumps([1, 2].append, protocol=2))
    assert [c.name for c in report.calls] == ["getattr"] and not report.calls_computed


PICKLE_FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@PICKLE_FUZZ
@given(st.binary(max_size=4096))
def test_pickle_scanner_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    report = scan_pickle(data)
    assert report.opcodes >= 0


@PICKLE_FUZZ
@given(
    st.sampled_from([b"\x80\x02", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00", b"(", b"c"]),
    st.lists(
        st.one_of(
            st.sampled_from([b"\x93", b"R", b"\x94", b"h\x00", b"(", b"t", b"0", b"1", b"2", b"b", b"."]),
            st.sampled_from(["os", "system", "builtins", "eval", ""]).map(_unicode),
            st.binary(max_size=8),
        ),
        max_size=60,
    ),
)
def test_pickle_scanner_never_raises_on_opcode_soup(head: bytes, parts: list[bytes]) -> None:
    report = scan_pickle(head + b"".join(parts))
    assert all(c.module and c.name for c in report.calls)


def test_pickle_scanner_stops_at_its_opcode_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # a long run of tiny opcodes ends the scan early instead of running on
    monkeypatch.setattr(pickles, "MAX_OPCODES", 1000)
    report = scan_pickle(b"\x80\x02" + b"N0" * 1000 + b".")
    assert report.error is not None and "opcodes" in report.error and report.opcodes == 1001


# ---- pickles and models in packages --------------------------------------------------------------
def test_malicious_pickle_loaded_at_import_is_malicious(tmp_path: Path, scanner: Scanner) -> None:
    path = write_wheel(tmp_path, {f"{PKG}/model.pkl": shell_pickle(), f"{PKG}/loader.py": LOADS_AT_IMPORT})
    result = scan(path, scanner)
    [finding] = assert_fires(result, RULE, Verdict.MALICIOUS, severity=Severity.CRITICAL)
    assert finding.file.endswith("model.pkl") and "os.system" not in finding.reason  # posix spelling
    assert "system('true')" in finding.reason and "loader.py:3" in finding.reason
    assert finding.context is not None and finding.context.value == "import"


def test_malicious_pickle_nobody_loads_is_still_malicious(tmp_path: Path, scanner: Scanner) -> None:
    for name, data in (
        ("weights.pickle", stack_global_pickle("builtins", "exec", "print(1)")),
        ("model.joblib", gzip.compress(shell_pickle())),
        ("spawn.pkl", pickle.dumps(_Spawn(), protocol=2)),
    ):
        result = scan(write_wheel(tmp_path, {f"{PKG}/{name}": data}), scanner)
        [finding] = assert_fires(result, RULE, Verdict.MALICIOUS, severity=Severity.CRITICAL)
        assert finding.context is not None and finding.context.value == "call"


def test_risky_pickle_call_is_suspicious(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_wheel(tmp_path, {f"{PKG}/page.pkl": pickle.dumps(_Browser())}), scanner)
    assert_fires(result, RULE, Verdict.SUSPICIOUS, severity=Severity.HIGH)


def test_benign_pickles_and_models_stay_clean(tmp_path: Path, scanner: Scanner) -> None:
    files = {
        f"{PKG}/vocab.pkl": benign_pickle(),
        f"{PKG}/old.pkl": benign_pickle(0),
        f"{PKG}/model.pt": torch_zip(torch_like_pickle()),
        f"{PKG}/legacy.bin": pickle.dumps(119547037146038801333356, protocol=2) + torch_like_pickle(),
        f"{PKG}/method.pkl": pickle.dumps([1, 2].append, protocol=2),
        f"{PKG}/table.npy": npy("<f8", struct.pack("<d", 1.0)),
        f"{PKG}/clf.joblib": gzip.compress(benign_pickle()),
        f"{PKG}/tokenizer.bin": bytes(range(256)) * 8,
        f"{PKG}/loader.py": LOADS_AT_IMPORT,
    }
    assert_quiet(scan(write_wheel(tmp_path, files), scanner), RULE)


def test_torch_zip_and_binary_pth_with_payload_are_malicious(tmp_path: Path, scanner: Scanner) -> None:
    payload = b"cposix\nsystem\nq\x0aX\x04\x00\x00\x00trueq\x0b\x85q\x0cR"
    for name in ("model.pt", "checkpoint.pth", "weights.ckpt"):
        path = write_wheel(tmp_path, {f"{PKG}/{name}": torch_zip(torch_like_pickle(payload))})
        [finding] = assert_fires(scan(path, scanner), RULE, Verdict.MALICIOUS, severity=Severity.CRITICAL)
        assert "archive/data.pkl" in finding.reason


def test_text_pth_is_a_startup_hook_not_a_model(tmp_path: Path, scanner: Scanner) -> None:
    # a .pth of paths is read by the start-up analysis only; the pickle reader never sees text
    result = scan(write_wheel(tmp_path, {"extra_paths.pth": "lib\nvendor\n"}), scanner)
    assert_quiet(result, RULE)


def test_numpy_object_array_with_payload_is_malicious(tmp_path: Path, scanner: Scanner) -> None:
    path = write_wheel(tmp_path, {f"{PKG}/table.npy": npy("|O", shell_pickle(3))})
    assert_fires(scan(path, scanner), RULE, Verdict.MALICIOUS, severity=Severity.CRITICAL)


def npz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buf.getvalue()


def test_npz_object_array_beside_numeric_arrays_is_malicious(tmp_path: Path, scanner: Scanner) -> None:
    # numeric arrays are read only up to their header; the object array behind them in full
    big = npy("<f8", struct.pack("<d", 1.0) * 100_000)
    members = {"weights.npy": big, "labels.npy": npy("|O", b"\x00" * 5000 + shell_pickle(3))}
    path = write_wheel(tmp_path, {f"{PKG}/arrays.npz": npz(members)})
    assert_fires(scan(path, scanner), RULE, Verdict.MALICIOUS, severity=Severity.CRITICAL)


def test_npz_of_numeric_arrays_is_clean(tmp_path: Path, scanner: Scanner) -> None:
    members = {
        "weights.npy": npy("<f8", struct.pack("<d", 1.0) * 100_000),
        "bias.npy": npy("<f4", b"\x00" * 64),
    }
    assert_quiet(scan(write_wheel(tmp_path, {f"{PKG}/arrays.npz": npz(members)}), scanner), RULE)


def test_malicious_pickle_in_tests_is_reported_not_decisive(tmp_path: Path, scanner: Scanner) -> None:
    # pickle scanners ship exploit samples as test data; nothing of the package loads them
    path = write_sdist(tmp_path, {"tests/data/exploit.pkl": shell_pickle()})
    result = scan(path, scanner)
    assert [f.severity for f in hits(result, RULE)] == [Severity.MEDIUM]
    assert result.verdict is Verdict.CLEAN


# ---- YAML ----------------------------------------------------------------------------------------
def test_yaml_python_apply_tag_is_malicious(tmp_path: Path, scanner: Scanner) -> None:
    config = "name: demo\nhook: !!python/object/apply:os.system ['true']\n"
    loader = "import yaml\n\nCONFIG = yaml.load(open('settings.yaml'), Loader=yaml.Loader)\n"
    path = write_wheel(tmp_path, {f"{PKG}/settings.yaml": config, f"{PKG}/conf.py": loader})
    [finding] = assert_fires(scan(path, scanner), RULE, Verdict.MALICIOUS, severity=Severity.CRITICAL)
    assert finding.line == 2 and finding.context is not None and finding.context.value == "import"


def test_yaml_python_name_of_a_plain_function_is_clean(tmp_path: Path, scanner: Scanner) -> None:
    # mkdocs configs name formatter functions this way
    config = (
        "markdown_extensions:\n  - pymdownx.emoji:\n"
        "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
        "      emoji_generator: !!python/name:material.extensions.emoji.to_svg\n"
    )
    assert_quiet(scan(write_wheel(tmp_path, {f"{PKG}/mkdocs.yml": config}), scanner), RULE)


# ---- bytecode without source ---------------------------------------------------------------------
def test_sourceless_bytecode_module_is_suspicious(tmp_path: Path, scanner: Scanner) -> None:
    path = write_sdist(tmp_path, {f"{PKG}/core.pyc": pyc("def add(a, b):\n    return a + b\n")})
    [finding] = assert_fires(
        scan(path, scanner), "sourceless-bytecode", Verdict.SUSPICIOUS, severity=Severity.HIGH
    )
    assert finding.file.endswith("core.pyc")


def test_sourceless_bytecode_strings_feed_the_byte_rules(tmp_path: Path, scanner: Scanner) -> None:
    source = "HOOK = 'https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz'\n"
    path = write_wheel(tmp_path, {f"{PKG}/core.pyc": pyc(source)})
    result = scan(path, scanner)
    assert hits(result, "exfil-sink"), result.findings


def test_bytecode_next_to_its_source_or_in_a_cache_is_quiet(tmp_path: Path, scanner: Scanner) -> None:
    code = "def add(a, b):\n    return a + b\n"
    files = {
        f"{PKG}/core.py": code,
        f"{PKG}/core.pyc": pyc(code),
        f"{PKG}/__pycache__/gone.cpython-311.pyc": pyc(code),
    }
    assert_quiet(scan(write_sdist(tmp_path, files), scanner), "sourceless-bytecode")


def test_bytecode_in_a_test_egg_is_reported_not_decisive(tmp_path: Path, scanner: Scanner) -> None:
    # frameworks test their egg loading with eggs of bare .pyc files; installers never unpack them
    egg = zipfile_bytes({"eggapp/__init__.pyc": pyc("VALUE = 1\n"), "EGG-INFO/PKG-INFO": "Name: eggapp\n"})
    result = scan(write_sdist(tmp_path, {"tests/eggs/eggapp.egg": egg}), scanner)
    assert [f.severity for f in hits(result, "sourceless-bytecode")] == [Severity.LOW], describe(result)
    assert result.verdict is Verdict.CLEAN
    vendored = scan(write_sdist(tmp_path, {f"{PKG}/vendor/eggapp.egg": egg}), scanner)
    assert [f.severity for f in hits(vendored, "sourceless-bytecode")] == [Severity.MEDIUM]


def zipfile_bytes(entries: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


# ---- archives and programs named like data -------------------------------------------------------
def _zip_with_module() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("helper.py", "VALUE = 1\n")
    return buf.getvalue()


def test_disguised_zip_put_on_sys_path_at_import_is_malicious(tmp_path: Path, scanner: Scanner) -> None:
    init = (
        "import os, sys\n"
        "sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'logo.png'))\n"
        "import helper\n"
    )
    path = write_wheel(tmp_path, {f"{PKG}/logo.png": _zip_with_module(), f"{PKG}/boot.py": init})
    found = assert_fires(scan(path, scanner), "disguised-file", Verdict.MALICIOUS, severity=Severity.CRITICAL)
    assert any(f.file.endswith("boot.py") and f.line == 2 for f in found)


def test_disguised_file_alone_is_noted_and_real_images_are_quiet(tmp_path: Path, scanner: Scanner) -> None:
    path = write_wheel(tmp_path, {f"{PKG}/logo.png": _zip_with_module(), f"{PKG}/icon.png": PNG})
    result = scan(path, scanner)
    assert [(f.severity, f.file.rsplit("/", 1)[-1]) for f in hits(result, "disguised-file")] == [
        (Severity.INFO, "logo.png")
    ]
    assert result.verdict is Verdict.CLEAN
    assert_quiet(scan(write_wheel(tmp_path, {f"{PKG}/icon.png": PNG}), scanner), "disguised-file")


def test_zip_under_a_certificate_name_imported_by_a_library_function_is_reported(
    tmp_path: Path, scanner: Scanner
) -> None:
    # what a loader really loads: zipimport does not care for the name, so neither may we
    routes = (
        "import os, zipimport\n"
        "def get(path):\n"
        "    cert = zipimport.zipimporter(f'{os.path.dirname(__file__)}/server.crt').load_module('tls')\n"
        "    return cert.route(path)\n"
    )
    path = write_wheel(tmp_path, {f"{PKG}/server.crt": _zip_with_module(), f"{PKG}/routes.py": routes})
    found = assert_fires(scan(path, scanner), "disguised-file", Verdict.SUSPICIOUS, severity=Severity.HIGH)
    assert [(f.file.rsplit("/", 1)[-1], f.line) for f in found] == [("routes.py", 3)]
    # the same archive never loaded is nobody's business; nor is a zip under an archive's name
    assert_quiet(
        scan(write_wheel(tmp_path, {f"{PKG}/server.crt": _zip_with_module()}), scanner), "disguised-file"
    )
    honest = routes.replace("server.crt", "plugins.zip")
    path = write_wheel(tmp_path, {f"{PKG}/plugins.zip": _zip_with_module(), f"{PKG}/routes.py": honest})
    assert_quiet(scan(path, scanner), "disguised-file")


def test_model_saves_beside_import_path_changes_are_not_disguised(tmp_path: Path, scanner: Scanner) -> None:
    # an example that extends sys.path and loads a numpy or torch save (both are zips) loads data
    loader = (
        "import os, sys\n"
        "import numpy as np\n"
        "sys.path.insert(0, os.path.dirname(__file__))\n"
        "WEIGHTS = np.load(os.path.join(os.path.dirname(__file__), 'weights.npz'))\n"
        "STATE = os.path.join(os.path.dirname(__file__), 'state.pt')\n"
    )
    files = {
        f"{PKG}/weights.npz": _zip_with_module(),
        f"{PKG}/state.pt": _zip_with_module(),
        f"{PKG}/w.py": loader,
    }
    assert_quiet(scan(write_wheel(tmp_path, files), scanner), "disguised-file")


def test_only_carriers_are_loaded_beyond_their_magic_number() -> None:
    big = 50 * 1024 * 1024
    assert scan_selector("pkg/model.pkl", big) == CARRIER_BYTES
    assert scan_selector("pkg/settings.yaml", 100) == 100
    assert scan_selector("pkg/core.pyc", big) == CARRIER_BYTES
    assert scan_selector("pkg/__pycache__/core.cpython-311.pyc", big) == 64
    assert scan_selector("pkg/logo.png", big) == 64


def test_pyc_that_is_not_bytecode_is_noted(tmp_path: Path, scanner: Scanner) -> None:
    blob = bytes((i * 73 + 41) % 256 for i in range(4096))  # stands in for an encrypted payload
    path = write_wheel(tmp_path, {f"{PKG}/__pycache__/helper.pyc": blob})
    result = scan(path, scanner)
    assert [f.severity for f in hits(result, "disguised-file")] == [Severity.MEDIUM], describe(result)
    assert result.verdict is Verdict.CLEAN  # one medium finding alone decides nothing
    # ...but next to a name imitating a popular project it completes the picture
    bait = write_wheel(tmp_path, {"requestz/__pycache__/helper.pyc": blob}, name="requestz")
    assert scan(bait, scanner).verdict is Verdict.MALICIOUS


def _result_rules(result: ScanResult) -> set[str]:
    return {f.rule for f in result.findings}


def test_carriers_leave_a_plain_package_untouched(tmp_path: Path, scanner: Scanner) -> None:
    files = {f"{PKG}/data.json": '{"a": 1}', f"{PKG}/notes.txt": "hello\n", f"{PKG}/conf.yaml": "a: 1\n"}
    result = scan(write_wheel(tmp_path, files), scanner)
    assert result.verdict is Verdict.CLEAN and not _result_rules(result)
