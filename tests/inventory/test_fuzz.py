"""Property tests: whatever a lock, requirements or project file holds, reading it gives packages or
an InventoryError, never another exception."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.inventory import InventoryError, Package, read_lockfile
from custody.inventory._toml import tomllib

# filter_too_much: dictionaries over a small key set discard duplicate keys, which hypothesis counts
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TOML_NAMES = ("pylock.toml", "pylock.dev.toml", "uv.lock", "poetry.lock", "pyproject.toml")
JSON_NAMES = ("Pipfile.lock", "package-lock.json", "npm-shrinkwrap.json")
TEXT_NAMES = ("requirements.txt", "requirements-dev.txt", "constraints.txt", "reqs.in", "setup.cfg")
ALL_NAMES = st.sampled_from(TOML_NAMES + JSON_NAMES + TEXT_NAMES)


def _read(files: dict[str, bytes], name: str) -> list[Package] | None:
    """Write `files` (the one read is `name`) into a fresh directory and read `name`."""
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, data in files.items():
            Path(tmp, file_name).write_bytes(data)
        try:
            packages = read_lockfile(os.path.join(tmp, name))
        except InventoryError as exc:
            assert str(exc)  # a clear message, never an empty one
            return None
    assert isinstance(packages, list)
    for package in packages:
        assert isinstance(package, Package)
        assert isinstance(package.name, str)
        assert package.version is None or isinstance(package.version, str)
        assert all(isinstance(h, str) for h in package.hashes)
    return packages


# (a) arbitrary bytes and text ------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=2048), name=ALL_NAMES)
def test_arbitrary_bytes(data: bytes, name: str) -> None:
    _read({name: data}, name)


@FUZZ
@given(text=st.text(max_size=1024), name=ALL_NAMES)
def test_arbitrary_text(text: str, name: str) -> None:
    _read({name: text.encode("utf-8", "surrogatepass")}, name)


@settings(FUZZ, max_examples=60)
@given(
    opener=st.sampled_from(["[", "{", '{"a":', "a = [", "a = {b = ", "[[a]]\nb = ["]),
    depth=st.integers(min_value=1, max_value=30_000),
    name=st.sampled_from(TOML_NAMES + JSON_NAMES),
)
def test_deep_nesting(opener: str, depth: int, name: str) -> None:
    _read({name: (opener * depth).encode()}, name)


# (b) plausible documents of the wrong shape ------------------------------------------------------

KEYS = st.sampled_from(
    [
        # pylock.toml, uv.lock, poetry.lock
        "lock-version",
        "packages",
        "package",
        "name",
        "version",
        "marker",
        "source",
        "sdist",
        "wheels",
        "archive",
        "vcs",
        "directory",
        "hashes",
        "hash",
        "files",
        "file",
        "url",
        "path",
        "commit-id",
        "git",
        "editable",
        "virtual",
        "registry",
        "type",
        "reference",
        "resolved_reference",
        "sha256",
        # pyproject.toml
        "project",
        "dependencies",
        "optional-dependencies",
        "dependency-groups",
        "include-group",
        # Pipfile.lock, package-lock.json
        "default",
        "develop",
        "markers",
        "ref",
        "lockfileVersion",
        "resolved",
        "integrity",
        "link",
        "node_modules/a",
        "node_modules/@s/b",
        "",
        "a",
    ]
) | st.text(max_size=8)
ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "==1.0",
        "a==1.0",
        "a",
        "a>=1",
        "--hash=sha256:00",
        "--hash",
        "-r x.txt",
        "git+https://example.invalid/a.git",
        "./local",
        "https://registry.npmjs.org/a/-/a-1.tgz",
        "sha256:" + "0" * 64,
        "sha512-AAAA",
        "*",
        "a[b]==1; python_version<'3'",
        "\\",
        "#",
        "\n",
        "\x00",
        "\ud800",
        "𝔘",
        "1" * 5000,
    ]
) | st.text(max_size=16)
NOT_NONE = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ODD_TEXT
)
SCALARS = st.none() | NOT_NONE


def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
        max_leaves=25,
    )


DOCS = st.dictionaries(KEYS, _values(SCALARS), max_size=6)
TOML_DOCS = st.dictionaries(KEYS, _values(NOT_NONE), max_size=6)


def _toml_string(text: str) -> str:
    # JSON escapes are TOML escapes, except that TOML wants DEL escaped too.
    return json.dumps(text).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    """A value as an inline TOML value (a table of arrays of tables is still an array of tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml(doc: dict[str, Any]) -> bytes:
    lines = [f"{_toml_string(k)} = {_toml_value(v)}" for k, v in doc.items()]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def test_toml_writer_round_trips() -> None:
    doc = {"a": [{"b": 1.5, "c\x7f": "d\x00\x7f"}], "e": {"f": [True, -3]}, "g": "h"}
    assert tomllib.loads(_toml(doc).decode()) == doc


@FUZZ
@given(doc=TOML_DOCS, name=st.sampled_from(TOML_NAMES))
def test_toml_documents(doc: dict[str, Any], name: str) -> None:
    _read({name: _toml(doc)}, name)


@FUZZ
@given(
    packages=st.lists(st.dictionaries(KEYS, _values(NOT_NONE), max_size=6), max_size=4),
    key=st.sampled_from(["packages", "package"]),
    name=st.sampled_from(["pylock.toml", "uv.lock", "poetry.lock"]),
)
def test_toml_package_tables(packages: list[dict[str, Any]], key: str, name: str) -> None:
    # Closer to the real formats: a lock version and an array of package tables.
    _read({name: _toml({"lock-version": "1.0", "version": 1, key: packages})}, name)


@FUZZ
@given(
    groups=st.dictionaries(KEYS, _values(NOT_NONE), max_size=4),
    dependencies=st.lists(ODD_TEXT, max_size=6),
)
def test_pyproject_declarations(groups: dict[str, Any], dependencies: list[str]) -> None:
    doc = {
        "project": {"dependencies": dependencies, "optional-dependencies": groups},
        "dependency-groups": groups,
    }
    _read({"pyproject.toml": _toml(doc)}, "pyproject.toml")


@FUZZ
@given(doc=_values(SCALARS), name=st.sampled_from(JSON_NAMES))
def test_json_documents(doc: Any, name: str) -> None:
    _read({name: json.dumps(doc).encode()}, name)


@FUZZ
@given(
    entries=st.dictionaries(KEYS, _values(SCALARS), max_size=5),
    section=st.sampled_from(["default", "develop", "packages"]),
    name=st.sampled_from(JSON_NAMES),
)
def test_json_package_maps(entries: dict[str, Any], section: str, name: str) -> None:
    doc = {"lockfileVersion": 3, "_meta": {}, section: entries}
    _read({name: json.dumps(doc).encode()}, name)


ENTRY_KEYS = (
    "version",
    "hashes",
    "markers",
    "git",
    "ref",
    "path",
    "file",
    "name",
    "resolved",
    "integrity",
    "link",
)
ENTRY = st.fixed_dictionaries({}, optional=dict.fromkeys(ENTRY_KEYS, _values(SCALARS)))


@FUZZ
@given(
    entries=st.dictionaries(KEYS, ENTRY | _values(SCALARS), max_size=4),
    section=st.sampled_from(["default", "develop", "packages"]),
    name=st.sampled_from(JSON_NAMES),
)
def test_json_package_entries(entries: dict[str, Any], section: str, name: str) -> None:
    # Package entries with the keys the readers look at, each holding any JSON value.
    doc = {"lockfileVersion": 3, section: entries}
    _read({name: json.dumps(doc).encode()}, name)


# Requirements files (with includes) and setup.cfg, built from plausible fragments.

INCLUDE_LINE = st.builds(
    "{}{}{}".format,
    st.sampled_from(["-r", "-c", "--requirement", "--constraint", "-e", "--editable"]),
    st.sampled_from([" ", "=", "\t", " \\\n "]),
    st.sampled_from(
        ["other.txt", "requirements.txt", ".", "..", "/", "", "missing.txt", "\x00", "a\x00b", "'a b'"]
    )
    | st.text(max_size=6),
)


@FUZZ
@given(
    main=st.lists(INCLUDE_LINE, min_size=1, max_size=4).map("\n".join),
    other=st.lists(INCLUDE_LINE, max_size=3).map("\n".join),
)
def test_requirement_includes(main: str, other: str) -> None:
    _read({"requirements.txt": _encode(main), "other.txt": _encode(other)}, "requirements.txt")


REQ_PIECES = st.sampled_from(
    [
        "a",
        "a==1.0",
        "a>=1,<2",
        "a[x]==1 ; python_version < '3'",
        "-r",
        "-c",
        "--requirement",
        "--constraint=",
        "-e",
        "--editable",
        "--hash=sha256:00",
        "--hash",
        "--index-url",
        "other.txt",
        "requirements.txt",
        ".",
        "..",
        "missing.txt",
        "https://example.invalid/r.txt",
        "git+https://x/a",
        "./pkg",
        "file:",
        "#",
        " # c",
        "\\",
        "\n",
        "\t",
        "'",
        '"',
        "=",
        ";",
        "@",
        "\x00",
        "\ud800",
        "𝔘",
        "1" * 5000,
    ]
) | st.text(max_size=6)
REQ_TEXT = st.lists(REQ_PIECES, max_size=12).map(" ".join) | st.lists(REQ_PIECES, max_size=12).map("".join)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(main=REQ_TEXT, other=REQ_TEXT, name=st.sampled_from(["requirements.txt", "constraints.txt", "x.in"]))
def test_requirements_with_includes(main: str, other: str, name: str) -> None:
    _read({name: _encode(main), "other.txt": _encode(other)}, name)


SETUP_CFG = st.builds(
    lambda section, key, value, extra: (
        f"[{section}]\n{key} = {value}\n[options.extras_require]\nx = {extra}\n"
    ),
    st.sampled_from(["options", "metadata", "options.extras_require", ""]),
    st.sampled_from(["install_requires", "setup_requires", "x"]),
    REQ_TEXT | st.sampled_from(["file: other.txt", "file: missing.txt", "file: ., other.txt", "file:"]),
    REQ_TEXT,
)


@FUZZ
@given(cfg=SETUP_CFG, other=REQ_TEXT)
def test_setup_cfg(cfg: str, other: str) -> None:
    _read({"setup.cfg": _encode(cfg), "other.txt": _encode(other)}, "setup.cfg")


# Regressions: the minimal examples the properties above found ----------------------------------


@pytest.mark.parametrize("name", ["pylock.toml", "uv.lock", "poetry.lock", "pyproject.toml"])
def test_toml_that_is_not_utf8(name: str) -> None:
    with pytest.raises(InventoryError, match="not valid TOML"):
        _read_or_raise({name: b"\xff"}, name)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("uv.lock", b"a = " + b"[" * 5000),
        ("Pipfile.lock", b"[" * 100_000),
        ("package-lock.json", b'{"a":' * 100_000),
    ],
)
def test_deeply_nested_document(name: str, data: bytes) -> None:
    with pytest.raises(InventoryError, match="nested too deeply"):
        _read_or_raise({name: data}, name)


def test_pipfile_lock_hashes_not_a_list() -> None:
    doc = {"default": {"a": {"version": "==1.0", "hashes": 0}}}
    [package] = _read_or_raise({"Pipfile.lock": json.dumps(doc).encode()}, "Pipfile.lock")
    assert (package.name, package.version, package.hashes) == ("a", "1.0", ())


def test_requirements_include_with_nul_byte() -> None:
    with pytest.raises(InventoryError, match="not a usable file name"):
        _read_or_raise({"requirements.txt": b"-r \x00\n"}, "requirements.txt")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("pyproject.toml", b'[project]\ndependencies = ["--hash=sha256:00"]\n'),
        ("setup.cfg", b"[options]\ninstall_requires = --hash=sha256:00\n"),
    ],
)
def test_requirement_that_is_only_options(name: str, data: bytes) -> None:
    packages = _read_or_raise({name: data}, name)
    assert all(p.version is None and p.unpinned for p in packages)


def _read_or_raise(files: dict[str, bytes], name: str) -> list[Package]:
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, data in files.items():
            Path(tmp, file_name).write_bytes(data)
        return read_lockfile(os.path.join(tmp, name))
