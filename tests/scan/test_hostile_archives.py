"""Hostile archives against the scan verdict: nothing a limit, a timeout or a trick leaves unread
may come out `clean`.

Every payload is inert: the start-up hook is the litellm replica (it would post fake credential
paths to the discard port on 127.0.0.1), and nothing here is ever executed, imported or extracted;
the scanner only reads the archives as bytes. Small `Limits` stand in for the default ones so the
archives stay small; no test asserts on wall-clock time (the time bound is exercised with a short
`timeout`, and the verdict and the limit named are asserted).
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.artifacts import DEFAULT_LIMITS, LimitKind, Limits, read_artifact_bytes
from custody.cli import exit_codes
from custody.cli.main import cli
from custody.scan import Finding, Scanner, ScanResult, Verdict
from custody.scan.selection import scan_selector
from tests.artifacts.builders import (
    make_tar,
    make_zip,
    rename_local_header,
    repoint_zip_entry,
    zip_with_zeros,
)
from tests.scan.builders import DEFAULT_NAME, litellm_pth, wheel_entries

MiB = 1024 * 1024
PTH = "fixturepkg_init.pth"
HOOK = litellm_pth("/home/fixture-user")
INIT = f"{DEFAULT_NAME}/__init__.py"
WHEEL = f"{DEFAULT_NAME}-1.0.0-py3-none-any.whl"
SDIST = f"{DEFAULT_NAME}-1.0.0.tar.gz"
PREFIX = f"{DEFAULT_NAME}-1.0.0/"
PADDING = b"# padding: an ordinary comment line, repeated\n" * 7000  # ~320 kB of harmless source


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def scan(scanner: Scanner, data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS) -> ScanResult:
    artifact = read_artifact_bytes(data, filename, limits=limits, selector=scan_selector)
    return scanner.scan_artifact(artifact)


def describe(result: ScanResult) -> str:
    lines = [f"verdict={result.verdict.value} error={result.error}"]
    lines += [f"  {f.rule} {f.severity.value} {f.file} {f.limit} {f.reason}" for f in result.findings]
    return "\n".join(lines)


def limited(result: ScanResult, limit: LimitKind) -> list[Finding]:
    return [f for f in result.findings if f.limit is limit]


def wheel(extra: list[tuple[str, bytes]], *, first: bool = True) -> bytes:
    """A wheel with `extra` members before (or after) the usual ones."""
    base = list(wheel_entries().items())
    return make_zip(extra + base if first else base + extra)


def sdist(members: list[tuple[str, bytes]]) -> bytes:
    """An sdist whose members (under the `name-version/` wrapper) come in exactly this order."""
    head = [(PREFIX + "PKG-INFO", f"Metadata-Version: 2.1\nName: {DEFAULT_NAME}\nVersion: 1.0.0\n".encode())]
    return make_tar(head + [(PREFIX + name, data) for name, data in members])


# ---- padding before code -------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["code", "data"])
def test_zip_padding_before_the_payload_does_not_hide_it(scanner: Scanner, padding: str) -> None:
    suffix = ".py" if padding == "code" else ".bin"
    pads = [(f"{DEFAULT_NAME}/pad{i}{suffix}", PADDING) for i in range(4)]
    data = wheel([*pads, (PTH, HOOK.encode())])
    result = scan(scanner, data, WHEEL, Limits(max_loaded_bytes=700_000))
    assert result.verdict is Verdict.MALICIOUS, describe(result)
    assert any(f.rule == "startup-hook-dangerous" and f.file == PTH for f in result.findings)
    if padding == "code":
        # the padding that did not fit is code, and is reported as unread, by its limit
        assert {f.file for f in limited(result, LimitKind.LOADED_BYTES) if f.rule == "scan-incomplete"}


def test_tar_padding_before_a_startup_file_is_an_error(scanner: Scanner) -> None:
    pads = [(f"{DEFAULT_NAME}/pad{i}.py", PADDING) for i in range(4)]
    data = sdist([*pads, (PTH, HOOK.encode())])
    result = scan(scanner, data, SDIST, Limits(max_loaded_bytes=700_000))
    assert result.verdict is Verdict.ERROR, describe(result)
    unread = [f for f in limited(result, LimitKind.LOADED_BYTES) if f.rule == "scan-incomplete"]
    assert PREFIX + PTH in {f.file for f in unread}, describe(result)
    assert result.error is not None


def test_tar_nested_archives_cannot_crowd_code_out_of_the_budget(scanner: Scanner) -> None:
    blob = os.urandom(200_000)
    fixtures = [(f"{DEFAULT_NAME}/fixtures/f{i}.zip", make_zip([("blob.bin", blob)])) for i in range(3)]
    data = sdist([*fixtures, (PTH, HOOK.encode())])
    result = scan(scanner, data, SDIST, Limits(max_loaded_bytes=500_000))
    assert result.verdict is Verdict.MALICIOUS, describe(result)


# ---- member count --------------------------------------------------------------------------------
def test_zip_member_count_cuts_data_not_the_payload(scanner: Scanner) -> None:
    # `.dat`, not `.bin`: a `.bin` may be a pickled model, which the scan reads like code
    data_members = [(f"{DEFAULT_NAME}/data/f{i:02}.dat", os.urandom(100)) for i in range(30)]
    result = scan(scanner, wheel([*data_members, (PTH, HOOK.encode())]), WHEEL, Limits(max_members=10))
    assert result.verdict is Verdict.MALICIOUS, describe(result)


def test_zip_member_count_cutting_code_is_suspicious(scanner: Scanner) -> None:
    modules = [(f"{DEFAULT_NAME}/m{i:02}.py", b"VALUE = %d\n" % i) for i in range(30)]
    result = scan(scanner, wheel(modules), WHEEL, Limits(max_members=10))
    assert result.verdict is Verdict.SUSPICIOUS, describe(result)
    assert limited(result, LimitKind.MEMBER_COUNT)


def test_tar_member_count_with_the_payload_after_the_limit(scanner: Scanner) -> None:
    data_members = [(f"{DEFAULT_NAME}/data/f{i:02}.txt", b"x\n") for i in range(30)]
    data = sdist([*data_members, (PTH, HOOK.encode())])
    result = scan(scanner, data, SDIST, Limits(max_members=10))
    assert result.verdict is Verdict.ERROR, describe(result)
    assert any(f.rule == "scan-incomplete" for f in limited(result, LimitKind.MEMBER_COUNT))


def test_unread_data_stays_informational(scanner: Scanner) -> None:
    libraries = [(f"{DEFAULT_NAME}/lib{i}.so", b"\x7fELF" + os.urandom(4000)) for i in range(10)]
    result = scan(scanner, wheel(libraries), WHEEL, Limits(max_members=5))
    assert result.verdict is Verdict.CLEAN, describe(result)
    assert not [f for f in result.findings if f.rule == "scan-incomplete"]


# ---- ambiguous zip entries -----------------------------------------------------------------------
def test_overlapping_entries_hiding_a_startup_file(scanner: Scanner) -> None:
    data = repoint_zip_entry(wheel([(PTH, HOOK.encode())], first=False), PTH, INIT)
    result = scan(scanner, data, WHEEL)
    assert result.verdict is Verdict.ERROR, describe(result)
    assert any(f.rule == "archive-confusion" and f.file == PTH for f in result.findings), describe(result)
    assert any(f.file == PTH for f in limited(result, LimitKind.UNREADABLE)), describe(result)


def test_local_header_naming_another_member(scanner: Scanner) -> None:
    data = rename_local_header(wheel([]), INIT, f"{DEFAULT_NAME}/__main__.py")
    result = scan(scanner, data, WHEEL)
    assert result.verdict is Verdict.SUSPICIOUS, describe(result)
    assert any(f.rule == "archive-confusion" and f.file == INIT for f in result.findings), describe(result)


# ---- huge lines, pathological text, time -------------------------------------------------------
@pytest.mark.parametrize(
    ("member", "verdict"), [(f"{DEFAULT_NAME}/big.py", Verdict.SUSPICIOUS), (PTH, Verdict.ERROR)]
)
def test_payload_after_16_mib_on_one_line(scanner: Scanner, member: str, verdict: Verdict) -> None:
    line = b"import os; x = '" + b"A" * (16 * MiB) + b"'; " + HOOK.encode()
    result = scan(scanner, wheel([(member, line)]), WHEEL)
    assert result.verdict is verdict, describe(result)
    assert any(f.file == member for f in limited(result, LimitKind.MEMBER_BYTES)), describe(result)


REPEATED = b"from os import " * (1024 * 1024)  # 15 MiB that costs pattern matching seconds


def test_pathological_text_hits_the_time_budget() -> None:
    result = scan(Scanner(timeout=0.5), wheel([(f"{DEFAULT_NAME}/gen.py", REPEATED)]), WHEEL)
    assert result.verdict is Verdict.ERROR, describe(result)
    assert [f.rule for f in limited(result, LimitKind.SCAN_TIME)] == ["scan-timeout"]
    assert result.error is not None


def test_cli_timeout_option(tmp_path: Path) -> None:
    path = tmp_path / WHEEL
    path.write_bytes(wheel([(f"{DEFAULT_NAME}/gen.py", REPEATED)]))
    result = CliRunner().invoke(
        cli,
        ["scan", "--format", "json", "--timeout", "0.5", str(path)],
        env={"CUSTODY_RULES": None},
        catch_exceptions=False,
    )
    assert result.exit_code == exit_codes.SCAN_ERROR, result.output
    (target,) = json.loads(result.stdout)["targets"]
    assert target["verdict"] == "error"
    assert "scan-time" in {f["limit"] for f in target["findings"]}


# ---- bombs ---------------------------------------------------------------------------------------
SMALL_BOMB = Limits(ratio_floor_bytes=1 * MiB)


def test_zip_bomb_in_the_artifact_is_malicious(scanner: Scanner) -> None:
    data = zip_with_zeros(f"{DEFAULT_NAME}/weights.bin", 4 * MiB, others=list(wheel_entries().items()))
    result = scan(scanner, data, WHEEL, SMALL_BOMB)
    assert result.verdict is Verdict.MALICIOUS, describe(result)
    (bomb,) = limited(result, LimitKind.COMPRESSION_RATIO)
    assert bomb.rule == "archive-bomb"


def test_zip_bomb_in_a_nested_archive_is_an_error(scanner: Scanner) -> None:
    inner = zip_with_zeros("zeros.bin", 4 * MiB)
    data = sdist([(f"{DEFAULT_NAME}/__init__.py", b"VALUE = 1\n"), (f"{DEFAULT_NAME}/fixtures/z.zip", inner)])
    result = scan(scanner, data, SDIST, SMALL_BOMB)
    assert result.verdict is Verdict.ERROR, describe(result)
    assert limited(result, LimitKind.COMPRESSION_RATIO)


def test_tar_stream_bomb_before_code_is_malicious(scanner: Scanner) -> None:
    info = tarfile.TarInfo(PREFIX + "zeros.bin")
    info.size = 4 * MiB
    data = make_tar([(info, bytes(4 * MiB)), (PREFIX + PTH, HOOK.encode())])
    result = scan(scanner, data, SDIST, SMALL_BOMB)
    assert result.verdict is Verdict.MALICIOUS, describe(result)


def test_tar_huge_member_before_code_is_an_error(scanner: Scanner) -> None:
    data = sdist([("blob.bin", os.urandom(3 * MiB)), (PTH, HOOK.encode())])
    result = scan(scanner, data, SDIST, Limits(max_total_bytes=2 * MiB))
    assert result.verdict is Verdict.ERROR, describe(result)
    assert limited(result, LimitKind.TOTAL_BYTES)


# ---- truncation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["wheel", "sdist"])
def test_truncated_archive_is_never_clean(scanner: Scanner, fmt: str) -> None:
    members = [(f"{DEFAULT_NAME}/m{i}.py", os.urandom(3000).hex().encode()) for i in range(4)]
    if fmt == "wheel":
        data, name = wheel(members), WHEEL
    else:
        data, name = sdist(members), SDIST
    result = scan(scanner, data[: len(data) * 2 // 3], name)
    assert result.verdict is Verdict.ERROR, describe(result)
