"""The zip reader's direct path (`zip_reader._direct_read`): stored and deflated members read from
their local header and inflated by ISA-L (or zlib) give exactly what `zipfile` gives, and anything
out of the ordinary is left to `zipfile`, which reports it as before."""

from __future__ import annotations

import io
import os
import random
import zipfile
from typing import Any

import pytest

from custody.artifacts import zip_reader
from custody.artifacts.model import IssueKind
from custody.artifacts.reader import read_artifact_bytes
from custody.artifacts.zip_reader import _direct_read
from tests.artifacts.builders import _central_records, issues_of


def _zip(members: dict[str, bytes], method: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_direct_reads_equal_zipfile_reads(method: int) -> None:
    rng = random.Random(3)
    members = {
        "pkg/empty.txt": b"",
        "pkg/small.py": b"print('hi')\n",
        "pkg/text.py": b"x = 1\n" * 50_000,
        "pkg/noise.bin": os.urandom(200_000),
        "pkg/mixed.so": b"\x7fELF" + bytes(rng.randrange(4) for _ in range(300_000)),
    }
    data = _zip(members, method)
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        for want in (1, 64, 4096, 70_000, info.file_size, info.file_size + 10):
            if not info.file_size or want > info.file_size + 10:
                continue
            with archive.open(info) as handle:
                expected = handle.read(want)
            assert _direct_read(io.BytesIO(data), info, want) == expected, (info.filename, want)


def test_a_body_that_inflates_past_its_promised_size_is_left_to_zipfile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the central directory promises 10 bytes; the body inflates to a megabyte (a bomb whose
    # header lies): never inflated past the promise, and the member is reported unreadable
    data = bytearray(_zip({"pkg/bomb.py": b"A" * (1 << 20)}, zipfile.ZIP_DEFLATED))
    record = _central_records(bytes(data))["pkg/bomb.py"]
    data[record + 24 : record + 28] = (10).to_bytes(4, "little")  # uncompressed size
    local = int.from_bytes(data[record + 42 : record + 46], "little")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("pkg/bomb.py")
    produced: list[int] = []
    real = zip_reader.raw_decoder

    class Counting:
        def __init__(self) -> None:
            self.inner = real()

        def decompress(self, chunk: bytes, max_length: int = 0) -> bytes:
            out = self.inner.decompress(chunk, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(zip_reader, "raw_decoder", Counting)
    assert _direct_read(io.BytesIO(bytes(data)), info, 1 << 21) is None
    assert produced and max(produced) <= 11  # never inflated past the promise
    artifact = read_artifact_bytes(bytes(data), "demo-1.0-py3-none-any.whl")
    assert (IssueKind.MEMBER_TRUNCATED.value, "pkg/bomb.py") in issues_of(artifact)  # bad CRC
    assert all(len(m.data) <= 10 for m in artifact.members if m.path == "pkg/bomb.py")


def test_a_corrupt_body_or_crc_is_left_to_zipfile_and_reported() -> None:
    data = bytearray(_zip({"pkg/mod.py": b"import os\n" * 1000}, zipfile.ZIP_DEFLATED))
    record = _central_records(bytes(data))["pkg/mod.py"]
    data[record + 16 : record + 20] = b"\0\0\0\0"  # CRC-32 in the directory no longer matches
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("pkg/mod.py")
    assert _direct_read(io.BytesIO(bytes(data)), info, info.file_size) is None
    artifact = read_artifact_bytes(bytes(data), "demo-1.0-py3-none-any.whl")
    assert (IssueKind.MEMBER_TRUNCATED.value, "pkg/mod.py") in issues_of(artifact)
    assert any(u.path == "pkg/mod.py" for u in artifact.unread)


def test_encrypted_or_other_methods_are_left_to_zipfile() -> None:
    data = _zip({"pkg/mod.py": b"x = 1\n" * 100}, zipfile.ZIP_BZIP2)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("pkg/mod.py")
    assert _direct_read(io.BytesIO(data), info, info.file_size) is None
    artifact = read_artifact_bytes(data, "demo-1.0-py3-none-any.whl")
    assert [m.data for m in artifact.members if m.path == "pkg/mod.py"] == [b"x = 1\n" * 100]
    info.flag_bits |= 0x1
    assert _direct_read(io.BytesIO(data), info, info.file_size) is None


def test_the_reader_reads_ordinary_members_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    # the speed this path exists for: an ordinary wheel's members never go through zipfile's reader
    members = {"pkg/__init__.py": b"x = 1\n" * 100, "pkg/data.bin": os.urandom(5000)}
    ordinary = [_zip(members, method) for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)]
    unusual = _zip(members, zipfile.ZIP_BZIP2)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spying(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else str(name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spying)
    for data in ordinary:
        artifact = read_artifact_bytes(data, "demo-1.0-py3-none-any.whl")
        assert [m.data for m in artifact.members if m.path == "pkg/__init__.py"] == [
            members["pkg/__init__.py"]
        ]
    assert opened == []
    # and a member that needs zipfile still gets it
    artifact = read_artifact_bytes(unusual, "demo-1.0-py3-none-any.whl")
    assert "pkg/__init__.py" in opened
    assert [m.data for m in artifact.members if m.path == "pkg/__init__.py"] == [members["pkg/__init__.py"]]
