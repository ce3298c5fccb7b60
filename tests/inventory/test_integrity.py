"""RECORD verification and start-up hooks on synthetic site-packages (written, never executed)."""

from __future__ import annotations

from pathlib import Path

from custody.inventory import IssueType, check_site_dir, installed_packages, python_site_dirs
from tests.inventory.builders import ORPHAN_PTH, make_site, write_dist


def _site(tmp_path: Path) -> Path:
    site = make_site(tmp_path)
    write_dist(site, "goodpkg", "1.0", {"goodpkg/__init__.py": b"VALUE = 1\n", "goodpkg/util.py": b"x = 2\n"})
    write_dist(
        site,
        "hookpkg",
        "2.0",
        {"hookpkg/__init__.py": b"", "hookpkg.pth": b"import hookpkg\n", "paths.pth": b"/opt/extra\n"},
    )
    return site


def test_clean_environment_has_no_integrity_issue(tmp_path: Path) -> None:
    site = _site(tmp_path)
    dists, issues, hooks = check_site_dir(str(site))
    assert sorted(d.name or "" for d in dists) == ["goodpkg", "hookpkg"]
    assert issues == []
    # hookpkg.pth executes (owned); paths.pth only adds a path and runs nothing.
    assert [(Path(h.path).name, h.owner, h.lines) for h in hooks] == [
        ("hookpkg.pth", "hookpkg-2.0.dist-info", ((1, "import hookpkg"),))
    ]
    assert sorted((p.name, p.version) for p in installed_packages(str(site), dists)) == [
        ("goodpkg", "1.0"),
        ("hookpkg", "2.0"),
    ]


def test_modified_missing_unlisted_and_orphan_hooks(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "goodpkg" / "__init__.py").write_bytes(b"VALUE = 2\n")  # same size, other content
    (site / "goodpkg" / "util.py").unlink()
    (site / "goodpkg" / "dropped.py").write_bytes(b"import os\n")
    (site / "goodpkg" / "__pycache__").mkdir()
    (site / "goodpkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (site / "zz_orphan.pth").write_text(ORPHAN_PTH, encoding="utf-8")
    (site / "sitecustomize.py").write_text("print('hi')\n", encoding="utf-8")
    (site / "late.site.toml").write_text('[entrypoints]\ninit = ["evil.boot:run"]\n', encoding="utf-8")
    (site / "early.start").write_text("# comment\nevil.boot:start\n", encoding="utf-8")
    _, issues, hooks = check_site_dir(str(site))
    kinds = [(i.kind, Path(i.path).name, i.package) for i in issues]
    assert sorted(kinds) == sorted(
        [
            (IssueType.MODIFIED, "__init__.py", "goodpkg"),
            (IssueType.MISSING, "util.py", "goodpkg"),
            (IssueType.UNLISTED, "dropped.py", "goodpkg"),
        ]
    )
    orphans = {Path(h.path).name: h for h in hooks if h.owner is None}
    assert set(orphans) == {"zz_orphan.pth", "sitecustomize.py", "late.site.toml", "early.start"}
    assert orphans["zz_orphan.pth"].lines == ((1, ORPHAN_PTH.strip()),)
    assert orphans["late.site.toml"].lines == ((2, "evil.boot:run"),)
    assert orphans["early.start"].lines == ((2, "evil.boot:start"),)
    assert orphans["sitecustomize.py"].kind == "sitecustomize"


def test_size_change_and_symlink_are_modified(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "goodpkg" / "util.py").write_bytes(b"x = 2  # longer now\n")
    (site / "goodpkg" / "__init__.py").unlink()
    (site / "goodpkg" / "__init__.py").symlink_to(site / "goodpkg" / "util.py")
    _, issues, _ = check_site_dir(str(site))
    details = sorted((Path(i.path).name, i.kind, i.detail.split()[0]) for i in issues)
    assert details == [("__init__.py", IssueType.MODIFIED, "now"), ("util.py", IssueType.MODIFIED, "size")]


def test_dist_info_without_record(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "hookpkg-2.0.dist-info" / "RECORD").unlink()
    _, issues, hooks = check_site_dir(str(site))
    assert [(i.kind, i.package) for i in issues] == [(IssueType.NO_RECORD, "hookpkg")]
    assert [h.owner for h in hooks] == [None]  # nothing vouches for hookpkg.pth any more


def test_python_site_dirs_of_a_venv_needs_no_execution(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (tmp_path / "venv" / "bin").mkdir()
    fake_python = tmp_path / "venv" / "bin" / "python"
    fake_python.write_text("not an interpreter; never run\n", encoding="utf-8")
    assert python_site_dirs(str(fake_python)) == [str(site)]


def test_record_pointing_outside_the_environment_is_flagged_not_read(tmp_path: Path) -> None:
    site = _site(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for custody\n", encoding="utf-8")
    record = site / "goodpkg-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text(encoding="utf-8") + f"{secret},sha256=AAAA,16\n", encoding="utf-8")
    _, issues, _ = check_site_dir(str(site))
    assert [(i.kind, i.path, "outside" in i.detail) for i in issues] == [
        (IssueType.MODIFIED, str(secret), True)
    ]


def test_a_listed_file_replaced_by_a_fifo_is_modified_not_read(tmp_path: Path) -> None:
    import os

    site = _site(tmp_path)
    target = site / "goodpkg" / "util.py"
    target.unlink()
    os.mkfifo(target)  # nobody writes to it: reading it would block
    _, issues, _ = check_site_dir(str(site))
    assert [(Path(i.path).name, i.kind, i.detail) for i in issues] == [
        ("util.py", IssueType.MODIFIED, "no longer a regular file")
    ]
