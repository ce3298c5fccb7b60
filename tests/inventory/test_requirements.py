"""Requirements files: includes, hashes, markers, and what counts as pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.inventory import Ecosystem, InventoryError, read_lockfile
from custody.inventory.requirements import read_requirements

SHA_A = "a" * 64
SHA_B = "b" * 64


def test_requirements_with_includes_hashes_markers_and_unpinned(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("Django==4.2.1  # web\n", encoding="utf-8")
    (tmp_path / "constraints.txt").write_text("urllib3==1.26.5\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text(
        "# pinned with hashes, as pip-compile --generate-hashes writes them\n"
        "--index-url https://pypi.org/simple\n"
        "-r sub/base.txt\n"
        "--constraint=constraints.txt\n"
        f"requests[socks]==2.31.0 \\\n    --hash=sha256:{SHA_A} \\\n    --hash=sha256:{SHA_B}\n"
        'pywin32==306 ; sys_platform == "win32"\n'
        "numpy>=1.20\n"
        "flask\n"
        "git+https://github.com/example/project.git@v1.0#egg=project\n"
        "mylib @ https://example.com/mylib-1.0.tar.gz\n"
        "-e ./local-package\n"
        "Black===23.1.0\n",
        encoding="utf-8",
    )
    found = read_requirements(str(tmp_path / "requirements.txt"))
    by_name = {p.name: p for p in found}
    assert by_name["Django"].version == "4.2.1"
    assert by_name["Django"].source.endswith("sub/base.txt:1")
    assert by_name["urllib3"].version == "1.26.5"
    requests = by_name["requests"]
    assert requests.version == "2.31.0"
    assert requests.hashes == (f"sha256:{SHA_A}", f"sha256:{SHA_B}")
    assert requests.source.endswith("requirements.txt:5")
    assert by_name["pywin32"].marker == 'sys_platform == "win32"'
    assert by_name["pywin32"].version == "306"
    assert by_name["numpy"].version is None and "range" in (by_name["numpy"].unpinned or "")
    assert by_name["flask"].unpinned == "no version given"
    assert by_name["project"].version is None and "VCS" in (by_name["project"].unpinned or "")
    assert by_name["mylib"].version is None and "URL" in (by_name["mylib"].unpinned or "")
    assert "editable" in (by_name["local-package"].unpinned or "")
    assert by_name["Black"].version == "23.1.0"
    assert all(p.ecosystem is Ecosystem.PYPI for p in found)


def test_include_cycle_terminates(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nsix==1.16.0\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("-r a.txt\nidna==3.4\n", encoding="utf-8")
    names = sorted(p.name for p in read_requirements(str(tmp_path / "a.txt")))
    assert names == ["idna", "six"]


def test_missing_include_is_an_inventory_error(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r nowhere.txt\n", encoding="utf-8")
    with pytest.raises(InventoryError, match=r"nowhere\.txt"):
        read_lockfile(str(tmp_path / "requirements.txt"))
