"""Old install layouts (egg-info files, `.egg` directories on `sys.path`) are inventoried exactly as
`importlib.metadata` lists them, checked by asking a real interpreter in a real venv."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from custody.inventory import installed_packages
from tests.inventory.builders import write_dist

LIST = (
    "import importlib.metadata as m, json;"
    "print(json.dumps(sorted([d.metadata['Name'], d.version] for d in m.distributions())))"
)


def _pkg_info(name: str, version: str) -> str:
    return f"Metadata-Version: 1.1\nName: {name}\nVersion: {version}\nSummary: old layout\n"


def _old_layouts(site: Path, elsewhere: Path) -> None:
    write_dist(site, "modern", "3.0", {"modern/__init__.py": b""})
    # distutils' install_egg_info: the .egg-info is one file, the PKG-INFO itself
    (site / "oldfile-1.0-py3.11.egg-info").write_text(_pkg_info("oldfile", "1.0"), encoding="utf-8")
    # setuptools' --single-version-externally-managed: an .egg-info directory
    (site / "olddir-2.0-py3.11.egg-info").mkdir()
    (site / "olddir-2.0-py3.11.egg-info" / "PKG-INFO").write_text(
        _pkg_info("olddir", "2.0"), encoding="utf-8"
    )
    # easy_install: .egg directories put on sys.path by easy-install.pth, relative and absolute
    for parent, name, version in ((site, "Jinja2", "2.10"), (elsewhere, "urllib3", "1.23")):
        info = parent / f"{name}-{version}-py3.11.egg" / "EGG-INFO"
        info.mkdir(parents=True)
        (info / "PKG-INFO").write_text(_pkg_info(name, version), encoding="utf-8")
    # an egg no .pth names is not on sys.path: importlib.metadata does not list it
    (site / "stray-9.9-py3.11.egg" / "EGG-INFO").mkdir(parents=True)
    (site / "stray-9.9-py3.11.egg" / "EGG-INFO" / "PKG-INFO").write_text(
        _pkg_info("stray", "9.9"), encoding="utf-8"
    )
    # easy_install's default: a zipped egg (importlib.metadata reads a zip on sys.path as a folder)
    with zipfile.ZipFile(site / "Werkzeug-0.15.3-py3.11.egg", "w") as egg:
        egg.writestr("EGG-INFO/PKG-INFO", _pkg_info("Werkzeug", "0.15.3"))
        egg.writestr("werkzeug/__init__.py", "")
    (site / "easy-install.pth").write_text(
        f"./Jinja2-2.10-py3.11.egg\n{elsewhere / 'urllib3-1.23-py3.11.egg'}\n./Werkzeug-0.15.3-py3.11.egg\n",
        encoding="utf-8",
    )


def test_old_layouts_are_listed_as_importlib_metadata_lists_them(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = venv / "lib" / version / "site-packages"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _old_layouts(site, elsewhere)
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", LIST],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected = {tuple(pair) for pair in json.loads(listed.stdout)}
    assert {("Jinja2", "2.10"), ("urllib3", "1.23"), ("oldfile", "1.0"), ("olddir", "2.0")} <= expected
    assert ("Werkzeug", "0.15.3") in expected
    assert ("stray", "9.9") not in expected
    assert {(p.name, p.version) for p in installed_packages(str(site))} == expected
