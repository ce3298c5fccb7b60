"""Hostile archives: bombs, escapes, links, special files, truncation, odd names, limits, nesting."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import warnings
import zipfile
import zlib

import pytest

from custody.artifacts import (
    Artifact,
    ArtifactError,
    Deadline,
    IssueKind,
    LimitKind,
    Limits,
    Unread,
    read_artifact,
    read_artifact_bytes,
)
from tests.artifacts.builders import (
    issues_of,
    make_tar,
    make_zip,
    make_zip_infos,
    member,
    paths,
    rename_local_header,
    repoint_zip_entry,
    tar_special,
    tar_with_zeros,
    zip_info,
    zip_symlink,
    zip_with_zeros,
)

MiB = 1024 * 1024
SMALL_BOMB_LIMITS = Limits(ratio_floor_bytes=1 * MiB)
PAYLOAD = b"import os\nos.system('id')\n"


def _kinds(artifact: Artifact) -> list[IssueKind]:
    return [i.kind for i in artifact.issues]


def _read_wheel(data: bytes, **kw: Limits) -> Artifact:
    return read_artifact_bytes(data, "pkg-1.0-py3-none-any.whl", **kw)


def _read_sdist(data: bytes, **kw: Limits) -> Artifact:
    return read_artifact_bytes(data, "pkg-1.0.tar.gz", **kw)


# --- compression bombs --------------------------------------------------------------------------


def test_zip_bomb_default_limits_not_loaded() -> None:
    data = zip_with_zeros("pkg/bomb.py", 65 * MiB, others=[("pkg/after.py", PAYLOAD)])
    assert len(data) < 200 * 1024  # ratio ~1000:1
    start = time.monotonic()
    artifact = _read_wheel(data)
    assert time.monotonic() - start < 2
    assert issues_of(artifact) == {(IssueKind.COMPRESSION_BOMB.value, "pkg/bomb.py")}
    assert "pkg/bomb.py" not in paths(artifact)
    assert member(artifact, "pkg/after.py").data == PAYLOAD  # other members are still scanned
    assert artifact.error is None


def test_zip_bomb_small_limits() -> None:
    data = zip_with_zeros("pkg/bomb.txt", 2 * MiB)
    artifact = _read_wheel(data, limits=SMALL_BOMB_LIMITS)
    assert _kinds(artifact) == [IssueKind.COMPRESSION_BOMB]
    assert paths(artifact) == []
    # The same member below the ratio floor is just compressible text.
    assert _read_wheel(data).issues == ()
    assert member(_read_wheel(data), "pkg/bomb.txt").data == bytes(2 * MiB)


def test_zip_incompressible_large_member_is_not_a_bomb() -> None:
    blob = os.urandom(2 * MiB)
    artifact = _read_wheel(make_zip([("pkg/data.json", blob)]), limits=Limits(ratio_floor_bytes=MiB))
    assert artifact.issues == ()
    assert member(artifact, "pkg/data.json").data == blob


def test_tar_gz_bomb_default_limits_stops_reading() -> None:
    data = tar_with_zeros("pkg-1.0/bomb.py", 65 * MiB, others=[("pkg-1.0/after.py", PAYLOAD)])
    assert len(data) < 200 * 1024
    start = time.monotonic()
    artifact = _read_sdist(data)
    assert time.monotonic() - start < 2
    assert issues_of(artifact) == {(IssueKind.COMPRESSION_BOMB.value, "pkg-1.0/bomb.py")}
    assert paths(artifact) == []  # the rest of the stream is not read
    assert artifact.error is None


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_tar_bomb_small_limits(mode: str) -> None:
    data = tar_with_zeros("pkg-1.0/zeros.py", 4 * MiB, mode=mode, others=[("pkg-1.0/after.py", PAYLOAD)])
    artifact = read_artifact_bytes(data, "pkg-1.0.tar", limits=SMALL_BOMB_LIMITS)
    assert _kinds(artifact) == [IssueKind.COMPRESSION_BOMB]
    assert artifact.issues[0].path == "pkg-1.0/zeros.py"
    assert paths(artifact) == []


def test_tar_bomb_judged_on_declared_size_before_inflating() -> None:
    # A header declaring 4 GiB followed by only 1 MiB of zeros and no end: if the reader tried to
    # inflate the member it would hit the truncation and report an error instead.
    info = tarfile.TarInfo("pkg-1.0/huge.py")
    info.size = 4 * 1024 * MiB
    raw = info.tobuf(format=tarfile.GNU_FORMAT) + bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container...
    data = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)  # ...never finished
    assert len(data) < 10_000
    artifact = _read_sdist(data)
    assert _kinds(artifact) == [IssueKind.COMPRESSION_BOMB]
    assert artifact.error is None


def test_total_size_limit() -> None:
    data = make_tar([(f"pkg-1.0/m{i}.py", b"x" * 1000) for i in range(10)])
    artifact = _read_sdist(data, limits=Limits(max_total_bytes=4500))
    assert _kinds(artifact) == [IssueKind.TOO_LARGE]
    assert artifact.issues[0].path == "pkg-1.0/m4.py"
    assert paths(artifact) == [f"pkg-1.0/m{i}.py" for i in range(4)]


# --- escaping paths -----------------------------------------------------------------------------

ESCAPES = [
    ("../../etc/passwd", IssueKind.PATH_TRAVERSAL, "../../etc/passwd"),
    ("pkg/../../evil.py", IssueKind.PATH_TRAVERSAL, "pkg/../../evil.py"),
    ("..\\..\\evil.py", IssueKind.PATH_TRAVERSAL, "../../evil.py"),
    ("/etc/passwd", IssueKind.ABSOLUTE_PATH, "/etc/passwd"),
    ("C:\\x", IssueKind.ABSOLUTE_PATH, "C:/x"),
    ("c:/Windows/evil.py", IssueKind.ABSOLUTE_PATH, "c:/Windows/evil.py"),
    ("\\\\server\\share\\x.py", IssueKind.ABSOLUTE_PATH, "//server/share/x.py"),
]


@pytest.mark.parametrize(("name", "kind", "shown"), ESCAPES)
@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_escaping_member_flagged_and_still_scanned(name: str, kind: IssueKind, shown: str, fmt: str) -> None:
    entries = [("pkg/ok.py", b"ok = 1\n"), (name, PAYLOAD)]
    data = make_zip(entries) if fmt == "zip" else make_tar(entries)
    artifact = _read_wheel(data)
    assert issues_of(artifact) == {(kind.value, shown)}
    escaped = member(artifact, shown)
    assert escaped.data == PAYLOAD
    assert escaped.complete
    assert member(artifact, "pkg/ok.py").data == b"ok = 1\n"


@pytest.mark.parametrize("name", ["pkg/..foo/x.py", "pkg/a..b.py", "pkg/.../x.py", "./pkg/x.py"])
def test_dotted_but_harmless_names(name: str) -> None:
    artifact = _read_wheel(make_zip([(name, PAYLOAD)]))
    assert artifact.issues == ()
    assert paths(artifact) == [name.removeprefix("./")]


# --- links and special files --------------------------------------------------------------------


def test_tar_symlink_and_hardlink_not_followed() -> None:
    data = make_tar(
        [
            ("pkg-1.0/setup.py", b"real\n"),
            tar_special("pkg-1.0/link.py", tarfile.SYMTYPE, "/etc/passwd"),
            tar_special("pkg-1.0/hard.py", tarfile.LNKTYPE, "pkg-1.0/setup.py"),
            tar_special("pkg-1.0/up.py", tarfile.SYMTYPE, "../../../.ssh/id_rsa"),
        ]
    )
    artifact = _read_sdist(data)
    assert issues_of(artifact) == {
        (IssueKind.SYMLINK.value, "pkg-1.0/link.py"),
        (IssueKind.HARDLINK.value, "pkg-1.0/hard.py"),
        (IssueKind.SYMLINK.value, "pkg-1.0/up.py"),
    }
    details = {i.path: i.detail for i in artifact.issues}
    assert "/etc/passwd" in details["pkg-1.0/link.py"]
    assert "pkg-1.0/setup.py" in details["pkg-1.0/hard.py"]
    assert paths(artifact) == ["pkg-1.0/setup.py"]
    assert artifact.member_count == 4


def test_zip_symlink_not_followed() -> None:
    data = make_zip_infos(
        [(zipfile.ZipInfo("pkg/__init__.py"), b"x = 1\n"), zip_symlink("pkg/link.py", "/etc/passwd")]
    )
    artifact = _read_wheel(data)
    assert issues_of(artifact) == {(IssueKind.SYMLINK.value, "pkg/link.py")}
    assert paths(artifact) == ["pkg/__init__.py"]


@pytest.mark.parametrize("mode", [stat.S_IFIFO | 0o644, stat.S_IFCHR | 0o644, stat.S_IFSOCK | 0o755])
def test_zip_special_file_modes(mode: int) -> None:
    artifact = _read_wheel(make_zip_infos([(zip_info("pkg/dev.py", mode), PAYLOAD)]))
    assert issues_of(artifact) == {(IssueKind.SPECIAL_FILE.value, "pkg/dev.py")}
    assert paths(artifact) == []


def test_zip_regular_mode_bits_are_fine() -> None:
    artifact = _read_wheel(make_zip_infos([(zip_info("pkg/run.py", stat.S_IFREG | 0o755), PAYLOAD)]))
    assert artifact.issues == ()
    assert member(artifact, "pkg/run.py").data == PAYLOAD


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_tar_special_file(kind: bytes) -> None:
    data = make_tar([tar_special("pkg-1.0/dev", kind), ("pkg-1.0/setup.py", b"x\n")])
    artifact = _read_sdist(data)
    assert issues_of(artifact) == {(IssueKind.SPECIAL_FILE.value, "pkg-1.0/dev")}
    assert paths(artifact) == ["pkg-1.0/setup.py"]


# --- truncation ---------------------------------------------------------------------------------

TRUNC_MEMBERS = [(f"pkg-1.0/m{i}.py", os.urandom(6000).hex().encode()) for i in range(5)]


def _check_truncated(data: bytes, filename: str, full: Artifact) -> Artifact | None:
    try:
        artifact = read_artifact_bytes(data, filename)
    except ArtifactError:
        return None
    assert isinstance(artifact, Artifact)
    # Whatever was kept is the real content: complete members exactly, a member cut short as a
    # true prefix of itself (flagged incomplete). Never garbage.
    for got, real in zip(artifact.members, full.members, strict=False):
        assert got.path == real.path
        if got.complete:
            assert got == real
        else:
            assert real.data.startswith(got.data)
    assert len(artifact.members) <= len(full.members)
    if artifact.error is None:
        assert artifact.members == full.members
    return artifact


def test_truncated_tar_gz_keeps_members_before_cut() -> None:
    data = make_tar(TRUNC_MEMBERS)
    full = _read_sdist(data)
    assert len(full.members) == 5
    kept = []
    for cut in [0, 1, 2, 5, 10, 100, 511, 512, 1024, *range(2048, len(data), 997), len(data) - 1]:
        artifact = _check_truncated(data[:cut], "pkg-1.0.tar.gz", full)
        kept.append(-1 if artifact is None else len(artifact.members))
    assert kept[0] == -1  # empty input is not an archive
    assert kept == sorted(kept)  # the longer the prefix, the more is kept
    # Cut within the last member: every earlier member survives, and the cut is reported.
    last = _check_truncated(data[: len(data) - 4000], "pkg-1.0.tar.gz", full)
    assert last is not None
    assert last.error is not None
    assert paths(last) == [name for name, _ in TRUNC_MEMBERS[:4]]


def test_truncated_wheel_never_crashes() -> None:
    data = make_zip(TRUNC_MEMBERS)
    full = _read_wheel(data)
    for cut in [0, 1, 3, 4, 30, 100, *range(500, len(data), 1499), len(data) - 22, len(data) - 1]:
        artifact = _check_truncated(data[:cut], "pkg-1.0-py3-none-any.whl", full)
        if cut < 4:
            assert artifact is None
        else:
            assert artifact is not None
            assert artifact.error is not None


def test_zip_without_central_directory_is_salvaged_from_local_headers() -> None:
    # A zip cut inside its third member: no central directory, but two whole members and the
    # start of the third are still there to scan, and the damage is reported.
    data = make_zip(TRUNC_MEMBERS)
    third = data.index(TRUNC_MEMBERS[2][0].encode())
    artifact = read_artifact_bytes(data[: third + 3000], "pkg-1.0-py3-none-any.whl")
    assert artifact.error is not None
    assert "recovered from local headers" in artifact.error
    assert paths(artifact)[:2] == [TRUNC_MEMBERS[0][0], TRUNC_MEMBERS[1][0]]
    assert member(artifact, TRUNC_MEMBERS[1][0]).data == TRUNC_MEMBERS[1][1]
    cut = member(artifact, TRUNC_MEMBERS[2][0])
    assert not cut.complete
    assert TRUNC_MEMBERS[2][1].startswith(cut.data)


def test_truncated_archive_on_disk(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "pkg-1.0.tar.gz")
    with open(path, "wb") as handle:
        handle.write(make_tar(TRUNC_MEMBERS)[:-4000])
    artifact = read_artifact(path)
    assert artifact.error is not None
    assert len(artifact.members) == 4


def test_corrupt_zip_member_flagged_others_read() -> None:
    data = bytearray(make_zip([("pkg/a.py", PAYLOAD * 50), ("pkg/b.py", b"b = 2\n")]))
    body = data.index(b"pkg/a.py") + len("pkg/a.py")
    data[body + 5 : body + 25] = bytes(20)  # damage the deflate stream of a.py only
    artifact = _read_wheel(bytes(data))
    assert (IssueKind.MEMBER_TRUNCATED.value, "pkg/a.py") in issues_of(artifact)
    assert member(artifact, "pkg/b.py").data == b"b = 2\n"


# --- undecodable names --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_tar_non_utf8_name(fmt: int) -> None:
    name = b"pkg-1.0/caf\xe9.py".decode("utf-8", "surrogateescape")
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w:gz", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(PAYLOAD)
        tar.addfile(info, io.BytesIO(PAYLOAD))
    artifact = _read_sdist(buf.getvalue())
    (only,) = artifact.members
    assert only.path == "pkg-1.0/caf\ufffd.py"
    assert only.path.isprintable()
    assert only.data == PAYLOAD
    assert issues_of(artifact) == {(IssueKind.UNDECODABLE_NAME.value, "pkg-1.0/caf\ufffd.py")}


def test_tar_latin1_name() -> None:
    data = make_tar([("pkg-1.0/naïve.py", PAYLOAD)], mode="w:gz", fmt=tarfile.GNU_FORMAT, encoding="latin-1")
    artifact = _read_sdist(data)
    assert _kinds(artifact) == [IssueKind.UNDECODABLE_NAME]
    (only,) = artifact.members
    assert only.path == "pkg-1.0/na\ufffdve.py"
    assert only.data == PAYLOAD


def test_zip_cp437_name_without_utf8_flag() -> None:
    data = make_zip([("pkg/cafX.py", PAYLOAD)])
    assert data.count(b"pkg/cafX.py") == 2  # local header and central directory
    data = data.replace(b"pkg/cafX.py", b"pkg/caf\xe9.py")
    artifact = _read_wheel(data)
    (only,) = artifact.members
    assert only.path == "pkg/caf" + b"\xe9".decode("cp437") + ".py"
    assert only.path.isprintable()
    assert only.data == PAYLOAD
    assert artifact.error is None
    assert artifact.issues == ()


def test_zip_invalid_utf8_with_utf8_flag_is_reported_not_raised() -> None:
    info = zipfile.ZipInfo("pkg/cafX.py")
    data = bytearray(make_zip_infos([(info, PAYLOAD)]))
    # Set the UTF-8 flag (bit 11) in both headers, then put invalid UTF-8 in the name.
    for sig, flag_off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(sig) + flag_off
        data[at + 1] |= 0x08
    data = bytearray(bytes(data).replace(b"pkg/cafX.py", b"pkg/caf\xe9.py"))
    artifact = _read_wheel(bytes(data))
    assert artifact.error is not None or all(m.path.isprintable() for m in artifact.members)


# --- per-member and per-artifact limits ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_member_above_max_member_bytes_is_truncated(fmt: str) -> None:
    big = bytes(range(256)) * 20  # 5120 bytes of "source"
    entries = [("pkg-1.0/big.py", big), ("pkg-1.0/small.py", b"s = 1\n")]
    data = make_zip(entries) if fmt == "zip" else make_tar(entries)
    artifact = _read_sdist(data, limits=Limits(max_member_bytes=1024))
    assert issues_of(artifact) == {(IssueKind.MEMBER_TRUNCATED.value, "pkg-1.0/big.py")}
    truncated = member(artifact, "pkg-1.0/big.py")
    assert truncated.data == big[:1024]
    assert truncated.size == len(big)
    assert not truncated.complete
    assert member(artifact, "pkg-1.0/small.py").complete


def test_loaded_bytes_budget_flags_what_it_cuts() -> None:
    entries = [(f"pkg-1.0/m{i}.py", bytes([65 + i]) * 2000) for i in range(3)]
    artifact = _read_sdist(make_tar(entries), limits=Limits(max_loaded_bytes=3000))
    assert [len(m.data) for m in artifact.members] == [2000, 1000, 0]
    assert [m.complete for m in artifact.members] == [True, False, False]
    assert issues_of(artifact) == {
        (IssueKind.MEMBER_TRUNCATED.value, "pkg-1.0/m1.py"),
        (IssueKind.MEMBER_TRUNCATED.value, "pkg-1.0/m2.py"),
    }


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_too_many_members(fmt: str) -> None:
    entries = [(f"pkg-1.0/m{i:02}.py", b"x\n") for i in range(20)]
    data = make_zip(entries) if fmt == "zip" else make_tar(entries)
    artifact = _read_sdist(data, limits=Limits(max_members=10))
    assert issues_of(artifact) == {(IssueKind.TOO_MANY_MEMBERS.value, "")}
    assert paths(artifact) == [f"pkg-1.0/m{i:02}.py" for i in range(10)]
    assert artifact.error is None


def test_exactly_max_members_is_fine() -> None:
    entries = [(f"pkg-1.0/m{i:02}.py", b"x\n") for i in range(10)]
    artifact = _read_sdist(make_tar(entries), limits=Limits(max_members=10))
    assert artifact.issues == ()
    assert len(artifact.members) == 10


# --- nested archives ----------------------------------------------------------------------------

INNER_WHEEL = make_zip([("inner/__init__.py", PAYLOAD), ("inner-2.0.dist-info/METADATA", b"Name: inner\n")])


def test_nested_wheel_in_sdist() -> None:
    outer = make_tar(
        [("pkg-1.0/setup.py", b"setup()\n"), ("pkg-1.0/vendor/inner-2.0-py3-none-any.whl", INNER_WHEEL)]
    )
    artifact = _read_sdist(outer)
    assert artifact.issues == ()
    assert paths(artifact) == [
        "pkg-1.0/setup.py",
        "pkg-1.0/vendor/inner-2.0-py3-none-any.whl",
        "pkg-1.0/vendor/inner-2.0-py3-none-any.whl!/inner/__init__.py",
        "pkg-1.0/vendor/inner-2.0-py3-none-any.whl!/inner-2.0.dist-info/METADATA",
    ]
    assert member(artifact, "pkg-1.0/vendor/inner-2.0-py3-none-any.whl!/inner/__init__.py").data == PAYLOAD
    # Identification is about the outer artifact only.
    assert (artifact.name, artifact.version, artifact.strip_prefix) == ("pkg", "1.0", "pkg-1.0/")


def test_nested_issues_carry_full_path() -> None:
    inner = make_tar([("../escape.py", PAYLOAD), tar_special("link", tarfile.SYMTYPE, "/etc")])
    artifact = _read_wheel(make_zip([("pkg/data/inner.tar.gz", inner)]))
    assert issues_of(artifact) == {
        (IssueKind.PATH_TRAVERSAL.value, "pkg/data/inner.tar.gz!/../escape.py"),
        (IssueKind.SYMLINK.value, "pkg/data/inner.tar.gz!/link"),
    }


def _russian_doll() -> bytes:
    """sdist > a.whl > b.zip > c.tar.gz > d.py: c is at depth 3."""
    c = make_tar([("d.py", PAYLOAD)])
    b = make_zip([("c.tar.gz", c)])
    a = make_zip([("b.zip", b)])
    return make_tar([("pkg-1.0/a.whl", a)])


def test_nesting_within_default_depth_is_read_and_deeper_is_flagged() -> None:
    artifact = _read_sdist(_russian_doll())
    assert issues_of(artifact) == {(IssueKind.NESTING_TOO_DEEP.value, "pkg-1.0/a.whl!/b.zip!/c.tar.gz")}
    assert paths(artifact) == ["pkg-1.0/a.whl", "pkg-1.0/a.whl!/b.zip", "pkg-1.0/a.whl!/b.zip!/c.tar.gz"]


@pytest.mark.parametrize(
    ("depth", "flagged"),
    [(0, "pkg-1.0/a.whl"), (1, "pkg-1.0/a.whl!/b.zip"), (3, None)],
)
def test_max_depth(depth: int, flagged: str | None) -> None:
    artifact = _read_sdist(_russian_doll(), limits=Limits(max_depth=depth))
    if flagged is None:
        assert artifact.issues == ()
        assert member(artifact, "pkg-1.0/a.whl!/b.zip!/c.tar.gz!/d.py").data == PAYLOAD
    else:
        assert issues_of(artifact) == {(IssueKind.NESTING_TOO_DEEP.value, flagged)}
        assert not any(p.startswith(flagged + "!/") for p in paths(artifact))


def test_corrupt_nested_archive_does_not_stop_outer() -> None:
    outer = make_tar(
        [
            ("pkg-1.0/broken-1.0-py3-none-any.whl", b"PK\x03\x04" + os.urandom(300)),
            ("pkg-1.0/broken.tar.gz", b"\x1f\x8b" + os.urandom(300)),
            ("pkg-1.0/notreally.zip", b"just text, no magic"),
            ("pkg-1.0/setup.py", b"setup()\n"),
        ]
    )
    artifact = _read_sdist(outer)
    assert issues_of(artifact) == {
        (IssueKind.NESTED_ARCHIVE_ERROR.value, "pkg-1.0/broken-1.0-py3-none-any.whl"),
        (IssueKind.NESTED_ARCHIVE_ERROR.value, "pkg-1.0/broken.tar.gz"),
    }
    assert artifact.error is None
    assert member(artifact, "pkg-1.0/setup.py").data == b"setup()\n"
    assert member(artifact, "pkg-1.0/notreally.zip").data == b"just text, no magic"


def test_nested_limits_are_shared_with_outer() -> None:
    inner = make_zip([(f"m{i}.py", b"x\n") for i in range(8)])
    outer = make_tar([("pkg-1.0/a.py", b"a\n"), ("pkg-1.0/inner.whl", inner), ("pkg-1.0/z.py", b"z\n")])
    artifact = _read_sdist(outer, limits=Limits(max_members=5))
    assert issues_of(artifact) == {(IssueKind.TOO_MANY_MEMBERS.value, "")}
    assert "pkg-1.0/z.py" not in paths(artifact)  # the limit stops the whole artifact
    assert len(artifact.members) == 5


def test_nested_bomb_flagged_inside_outer() -> None:
    bomb = zip_with_zeros("zeros.txt", 2 * MiB)
    outer = make_tar([("pkg-1.0/inner.zip", bomb), ("pkg-1.0/setup.py", b"setup()\n")])
    artifact = _read_sdist(outer, limits=SMALL_BOMB_LIMITS)
    assert issues_of(artifact) == {(IssueKind.COMPRESSION_BOMB.value, "pkg-1.0/inner.zip!/zeros.txt")}
    assert member(artifact, "pkg-1.0/setup.py").data == b"setup()\n"


# --- not archives -------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["pkg-1.0-py3-none-any.whl", "pkg-1.0.tar.gz", "pkg.egg", "x.tgz"])
def test_non_archive_raises(filename: str, tmp_path: os.PathLike[str]) -> None:
    content = b"#!/usr/bin/env python\nprint('I am not an archive')\n" * 20
    with pytest.raises(ArtifactError):
        read_artifact_bytes(content, filename)
    path = os.path.join(tmp_path, filename)
    with open(path, "wb") as handle:
        handle.write(content)
    with pytest.raises(ArtifactError):
        read_artifact(path)


# --- what limits leave unread (the scan fails closed on it) -------------------------------------


def test_zip_reads_code_before_data_so_limits_cut_data() -> None:
    data_members = [(f"pkg/data/f{i:02}.bin", os.urandom(100)) for i in range(20)]
    data = make_zip([*data_members, ("pkg/payload.py", PAYLOAD)])
    artifact = _read_wheel(data, limits=Limits(max_members=5))
    assert member(artifact, "pkg/payload.py").data == PAYLOAD
    unread = {u.path: u for u in artifact.unread}
    assert "pkg/payload.py" not in unread
    assert len(unread) == 16  # 21 members, 5 read
    assert {u.limit for u in unread.values()} == {LimitKind.MEMBER_COUNT}
    # members come back in archive order, whatever order they were read in
    names = [n for n, _ in [*data_members, ("pkg/payload.py", PAYLOAD)]]
    assert paths(artifact) == sorted(paths(artifact), key=names.index)


def test_tar_limit_records_the_unknown_rest() -> None:
    data = make_tar([(f"pkg-1.0/m{i:02}.py", b"x\n") for i in range(20)])
    artifact = _read_sdist(data, limits=Limits(max_members=5))
    assert artifact.unread == (Unread(path="", limit=LimitKind.MEMBER_COUNT, rest=True),)


def test_budget_cuts_are_recorded_with_their_limit() -> None:
    entries = [
        ("pkg-1.0/big.py", b"#" * 5000),
        ("pkg-1.0/m1.py", b"y" * 2000),
        ("pkg-1.0/m2.py", b"z" * 2000),
    ]
    artifact = _read_sdist(make_tar(entries), limits=Limits(max_member_bytes=4096, max_loaded_bytes=7000))
    assert {(u.path, u.limit, u.loaded) for u in artifact.unread} == {
        ("pkg-1.0/big.py", LimitKind.MEMBER_BYTES, 4096),
        ("pkg-1.0/m2.py", LimitKind.LOADED_BYTES, 904),
    }


def test_nested_archives_take_at_most_half_the_budget() -> None:
    inner = make_zip([("blob.bin", os.urandom(3000))], compression=zipfile.ZIP_STORED)
    entries = [(f"pkg-1.0/f{i}.zip", inner) for i in range(3)] + [("pkg-1.0/setup.py", PAYLOAD)]
    artifact = _read_sdist(make_tar(entries), limits=Limits(max_loaded_bytes=4 * len(inner)))
    assert [m.complete for m in artifact.members if m.path.endswith(".zip")] == [True, True, False]
    assert member(artifact, "pkg-1.0/setup.py").data == PAYLOAD


def test_zip_local_header_naming_another_member_is_ambiguous() -> None:
    data = rename_local_header(
        make_zip([("pkg/a.py", PAYLOAD), ("pkg/b.py", b"b = 2\n")]), "pkg/a.py", "pkg/c.py"
    )
    artifact = _read_wheel(data)
    assert (IssueKind.AMBIGUOUS_MEMBER.value, "pkg/a.py") in issues_of(artifact)
    assert [(u.path, u.limit) for u in artifact.unread] == [("pkg/a.py", LimitKind.UNREADABLE)]
    assert member(artifact, "pkg/b.py").data == b"b = 2\n"


def test_zip_entries_sharing_one_body_are_ambiguous() -> None:
    data = repoint_zip_entry(
        make_zip([("pkg/a.py", PAYLOAD), ("x.pth", b"import os\n")]), "x.pth", "pkg/a.py"
    )
    artifact = _read_wheel(data)
    assert (IssueKind.AMBIGUOUS_MEMBER.value, "x.pth") in issues_of(artifact)
    assert ("x.pth", LimitKind.UNREADABLE) in {(u.path, u.limit) for u in artifact.unread}


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_two_members_of_one_name_with_other_content_are_ambiguous(fmt: str) -> None:
    entries = [("pkg-1.0/pkg/util.py", PAYLOAD), ("pkg-1.0/pkg/util.py", b"x = 1\n")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        artifact = _read_wheel(make_zip(entries)) if fmt == "zip" else _read_sdist(make_tar(entries))
    assert (IssueKind.AMBIGUOUS_MEMBER.value, "pkg-1.0/pkg/util.py") in issues_of(artifact)
    # both are read: the scan judges each by its own bytes
    assert sorted(m.data for m in artifact.members if m.path == "pkg-1.0/pkg/util.py") == sorted(
        [PAYLOAD, b"x = 1\n"]
    )


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_a_member_repeated_with_the_same_content_is_not_ambiguous(fmt: str) -> None:
    # tar appends made this way exist in real sdists (a licence file added twice)
    entries = [("pkg-1.0/LICENSE.txt", b"MIT\n"), ("pkg-1.0/LICENSE.txt", b"MIT\n")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        artifact = _read_wheel(make_zip(entries)) if fmt == "zip" else _read_sdist(make_tar(entries))
    assert IssueKind.AMBIGUOUS_MEMBER.value not in {kind for kind, _ in issues_of(artifact)}


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_spent_deadline_stops_reading(fmt: str) -> None:
    entries = [("pkg-1.0/setup.py", PAYLOAD)]
    data = make_zip(entries) if fmt == "zip" else make_tar(entries)
    artifact = read_artifact_bytes(data, "pkg-1.0.tar.gz", deadline=Deadline(0))
    assert paths(artifact) == []
    assert {u.limit for u in artifact.unread} == {LimitKind.SCAN_TIME}
