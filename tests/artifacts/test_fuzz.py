"""Property tests: hostile bytes and names never escape the reader as anything but ArtifactError."""

from __future__ import annotations

import io
import tarfile
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.artifacts import Artifact, ArtifactError, IssueKind, Limits, read_artifact_bytes
from tests.artifacts.builders import make_tar, make_zip

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Small limits so that mutated size fields cannot make an example slow or memory hungry.
LIMITS = Limits(max_members=500, max_total_bytes=64 * 1024 * 1024, ratio_floor_bytes=1024 * 1024)
FILENAMES = st.sampled_from(["pkg-1.0-py3-none-any.whl", "pkg-1.0.tar.gz", "pkg-1.0.zip", "x.tgz", "y.egg"])

SMALL_WHEEL = make_zip(
    [
        ("pkg/__init__.py", b"import os\nos.system('id')\n" * 3),
        ("pkg/sub/data.json", b'{"a": [1, 2, 3]}'),
        ("pkg-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\n"),
        ("pkg-1.0.dist-info/RECORD", b"pkg/__init__.py,,\n"),
    ]
)
SMALL_TAR_GZ = make_tar(
    [
        ("pkg-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\n"),
        ("pkg-1.0/setup.py", b"from setuptools import setup\nsetup()\n" * 3),
        ("pkg-1.0/pkg/inner-1.0-py3-none-any.whl", SMALL_WHEEL),
    ]
)
MAGIC = st.sampled_from(
    [b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"BZh9", b"\xfd7zXZ\x00", b""]
)


def _read(data: bytes, filename: str) -> Artifact | None:
    try:
        artifact = read_artifact_bytes(data, filename, limits=LIMITS)
    except ArtifactError:
        return None
    assert isinstance(artifact, Artifact)
    for m in artifact.members:
        assert len(m.data) <= m.size or m.size < 0
        m.path.encode("utf-8")  # always representable
    return artifact


# (a) arbitrary bytes ---------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=4096), filename=FILENAMES)
def test_arbitrary_bytes(data: bytes, filename: str) -> None:
    _read(data, filename)


@FUZZ
@given(magic=MAGIC, rest=st.binary(max_size=4096), filename=FILENAMES)
def test_arbitrary_bytes_behind_magic(magic: bytes, rest: bytes, filename: str) -> None:
    _read(magic + rest, filename)


@FUZZ
@given(rest=st.binary(min_size=0, max_size=2048))
def test_plain_tar_header_garbage(rest: bytes) -> None:
    header = bytearray(512)
    header[257:263] = b"ustar\x00"
    _read(bytes(header) + rest, "pkg-1.0.tar")


# (b) mutated valid archives --------------------------------------------------------------------

MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just(0)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(min_value=1, max_value=64)),
    st.tuples(st.just("overwrite"), st.integers(min_value=0), st.binary(min_size=1, max_size=8)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, object]]) -> bytes:
    buf = bytearray(data)
    for op, pos, arg in mutations:
        if not buf:
            break
        at = pos % len(buf)
        if op == "flip":
            assert isinstance(arg, int)
            buf[at] ^= arg
        elif op == "truncate":
            del buf[at:]
        elif op == "insert":
            assert isinstance(arg, bytes)
            buf[at:at] = arg
        elif op == "delete":
            assert isinstance(arg, int)
            del buf[at : at + arg]
        else:
            assert isinstance(arg, bytes)
            buf[at : at + len(arg)] = arg
    return bytes(buf)


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=4), filename=FILENAMES)
def test_mutated_wheel(mutations: list[tuple[str, int, object]], filename: str) -> None:
    _read(_mutate(SMALL_WHEEL, mutations), filename)


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=4), filename=FILENAMES)
def test_mutated_tar_gz(mutations: list[tuple[str, int, object]], filename: str) -> None:
    _read(_mutate(SMALL_TAR_GZ, mutations), filename)


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_plain_tar(mutations: list[tuple[str, int, object]]) -> None:
    # Without compression, mutations land directly in header fields (size, type, checksum, pax).
    plain = make_tar([("pkg-1.0/setup.py", b"setup()\n"), ("pkg-1.0/a.py", b"a = 1\n")], mode="w")
    _read(_mutate(plain, mutations), "pkg-1.0.tar")


# (c) arbitrary member names --------------------------------------------------------------------

SEGMENT = st.one_of(
    st.sampled_from(["..", ".", "", "a", "pkg", "x.py", "..a", "a..", "...", "C:", "ü", "日本", " "]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/\\"), max_size=8),
)
NAME = st.builds(
    lambda first, rest: first + "".join(sep + seg for sep, seg in rest),
    SEGMENT,
    st.lists(st.tuples(st.sampled_from(["/", "\\"]), SEGMENT), max_size=5),
).filter(lambda n: n != "")


def _expected_path(name: str) -> str:
    """The member path the reader shows for `name`, minus trailing slashes (tarfile drops them
    from PAX paths)."""
    shown = name.replace("\\", "/")
    while shown.startswith("./"):
        shown = shown[2:]
    return shown.rstrip("/")


def _is_absolute(name: str) -> bool:
    shown = name.replace("\\", "/")
    return shown.startswith("/") or (
        len(shown) >= 2 and shown[1] == ":" and shown[0].isascii() and shown[0].isalpha()
    )


def _climbs(name: str) -> bool:
    return ".." in name.replace("\\", "/").split("/")


def _check_names(artifact: Artifact, names: list[str], regular: list[str]) -> None:
    assert artifact.error is None
    member_paths = {m.path.rstrip("/") for m in artifact.members}
    for name in regular:
        assert _expected_path(name) in member_paths
    issues = {(i.kind, i.path.rstrip("/")) for i in artifact.issues}
    for name in names:
        shown = _expected_path(name)
        if _is_absolute(name):
            assert (IssueKind.ABSOLUTE_PATH, shown) in issues
        elif _climbs(name):
            assert (IssueKind.PATH_TRAVERSAL, shown) in issues
    # Harmless names are not flagged (unless another, flagged name displays the same way).
    flagged = {path for _, path in issues}
    shown_flagged = {_expected_path(n) for n in names if _is_absolute(n) or _climbs(n)}
    for name in names:
        shown = _expected_path(name)
        if not _is_absolute(name) and not _climbs(name) and shown not in shown_flagged:
            assert shown not in flagged


@FUZZ
@given(names=st.lists(NAME, min_size=1, max_size=6, unique=True))
def test_zip_member_names(names: list[str]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), b"x")
    artifact = read_artifact_bytes(buf.getvalue(), "pkg-1.0-py3-none-any.whl")
    # Names ending in '/' are directories in zip; everything else must come back as a member.
    directories = [n for n in names if n.endswith("/")]
    _check_names(artifact, names, [n for n in names if n not in directories])


@FUZZ
@given(names=st.lists(NAME, min_size=1, max_size=6, unique=True), fmt=st.sampled_from(["pax", "gnu"]))
def test_tar_member_names(names: list[str], fmt: str) -> None:
    buf = io.BytesIO()
    tar_format = tarfile.PAX_FORMAT if fmt == "pax" else tarfile.GNU_FORMAT
    with tarfile.open(fileobj=buf, mode="w:gz", format=tar_format) as archive:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))
    artifact = read_artifact_bytes(buf.getvalue(), "pkg-1.0.tar.gz")
    _check_names(artifact, names, names)


def test_name_property_examples() -> None:
    """The properties above, pinned on a few hand-picked names."""
    names = ["../a.py", "a\\..\\..\\b.py", "/abs.py", "C:\\win.py", "ok/..x/y.py", "./ok.py"]
    artifact = read_artifact_bytes(make_tar([(n, b"x") for n in names]), "p-1.0.tar.gz")
    assert {(i.kind, i.path) for i in artifact.issues} == {
        (IssueKind.PATH_TRAVERSAL, "../a.py"),
        (IssueKind.PATH_TRAVERSAL, "a/../../b.py"),
        (IssueKind.ABSOLUTE_PATH, "/abs.py"),
        (IssueKind.ABSOLUTE_PATH, "C:/win.py"),
    }
    _check_names(artifact, names, names)
