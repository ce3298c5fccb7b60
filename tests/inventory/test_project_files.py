"""pyproject.toml (PEP 621, PEP 735) and setup.cfg as audit inputs: pins audited, the rest unpinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.audit import AuditRequest, FindingKind, audit
from custody.inventory import Ecosystem, InventoryError, find_lockfiles, read_lockfile

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "inference-service"
version = "0.4.0"
requires-python = ">=3.10"
dependencies = [
    "fastapi==0.115.0",
    "litellm==1.82.8",  # pinned by hand during the incident
    'pydantic>=2.7,<3',
    "uvicorn[standard]~=0.30",
    "tomli==2.0.1; python_version < \\"3.11\\"",
    "torch @ https://download.pytorch.org/whl/cpu/torch-2.3.0%2Bcpu-cp311-cp311-linux_x86_64.whl",
]

[project.optional-dependencies]
s3 = ["boto3==1.34.0", "s3fs"]
gpu = [
    "nvidia-ml-py==12.535.133",
]

[project.scripts]
serve = "inference_service.cli:main"

[dependency-groups]
test = ["pytest==8.2.0", "pytest-cov>=5"]
lint = ["ruff==0.4.4"]
dev = [{include-group = "test"}, {include-group = "lint"}, "ipython"]

[tool.ruff]
line-length = 100
"""

SETUP_CFG = """\
[metadata]
name = legacy-etl
version = 2.1.0

[options]
packages = find:
python_requires = >=3.8
install_requires =
    requests==2.19.1
    # urllib3 is pinned by requests' own range
    PyYAML>=5.1
    jinja2==2.10 ; python_version >= "3"

[options.extras_require]
aws = boto3==1.28.0; botocore>=1.31
docs =
    sphinx==7.1.2

[options.entry_points]
console_scripts =
    etl = legacy_etl.main:run
"""


def test_pyproject_dependencies_extras_and_groups(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT, encoding="utf-8")
    found = read_lockfile(str(path))
    by_name = {p.name: p for p in found}
    assert [p.name for p in found] == [
        "fastapi",
        "litellm",
        "pydantic",
        "uvicorn",
        "tomli",
        "torch",
        "boto3",
        "s3fs",
        "nvidia-ml-py",
        "pytest",
        "pytest-cov",
        "ruff",
        "ipython",
    ]  # build requirements, scripts and tool tables are not dependencies; include-group is skipped
    assert all(p.ecosystem is Ecosystem.PYPI and not p.installed for p in found)
    pinned = {p.name: p.version for p in found if p.unpinned is None}
    assert pinned == {
        "fastapi": "0.115.0",
        "litellm": "1.82.8",
        "tomli": "2.0.1",
        "boto3": "1.34.0",
        "nvidia-ml-py": "12.535.133",
        "pytest": "8.2.0",
        "ruff": "0.4.4",
    }
    assert by_name["litellm"].source == f"{path}:11"
    assert by_name["pydantic"].source == f"{path}:12"  # a TOML literal string
    assert by_name["tomli"].source == f"{path}:14" and by_name["tomli"].marker == 'python_version < "3.11"'
    assert by_name["nvidia-ml-py"].source == f"{path}:21"
    assert by_name["ruff"].source == f"{path}:29"
    assert by_name["pydantic"].unpinned == "range <3,>=2.7"
    assert by_name["uvicorn"].unpinned == "range ~=0.30"
    assert by_name["ipython"].unpinned == "no version given"
    assert (by_name["torch"].unpinned or "").startswith("URL: https://download.pytorch.org/")


def test_setup_cfg_install_requires_and_extras(tmp_path: Path) -> None:
    path = tmp_path / "setup.cfg"
    path.write_text(SETUP_CFG, encoding="utf-8")
    found = read_lockfile(str(path))
    assert [(p.name, p.version) for p in found] == [
        ("requests", "2.19.1"),
        ("PyYAML", None),
        ("jinja2", "2.10"),
        ("boto3", "1.28.0"),
        ("botocore", None),
        ("sphinx", "7.1.2"),
    ]
    by_name = {p.name: p for p in found}
    assert by_name["requests"].source == f"{path}:9"
    assert by_name["jinja2"].source == f"{path}:12" and by_name["jinja2"].marker == 'python_version >= "3"'
    assert by_name["boto3"].source == f"{path}:15"  # `;`-separated on one line
    assert by_name["sphinx"].source == f"{path}:17"
    assert by_name["PyYAML"].unpinned == "range >=5.1"


def test_setup_cfg_file_directive_and_errors(tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("click==7.0\nattrs\n", encoding="utf-8")
    path = tmp_path / "setup.cfg"
    path.write_text("[options]\ninstall_requires = file: requirements.in\n", encoding="utf-8")
    found = read_lockfile(str(path))
    assert [(p.name, p.version, Path(p.source).name) for p in found] == [
        ("click", "7.0", "requirements.in:1"),
        ("attrs", None, "requirements.in:2"),
    ]
    path.write_text("[options]\ninstall_requires = file: missing.txt\n", encoding="utf-8")
    with pytest.raises(InventoryError, match=r"missing\.txt"):
        read_lockfile(str(path))
    path.write_text("install_requires = x\n", encoding="utf-8")  # no section header
    with pytest.raises(InventoryError, match=r"not a valid setup\.cfg"):
        read_lockfile(str(path))
    bad = tmp_path / "pyproject.toml"
    bad.write_text("[project]\ndependencies = 'requests'\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="not an array"):
        read_lockfile(str(bad))
    bad.write_text("[tool.black]\nline-length = 88\n", encoding="utf-8")  # no dependencies at all
    assert read_lockfile(str(bad)) == []
    bad.write_text('[project]\ndependencies = ["six\\u003d\\u003d1.16.0"]\n', encoding="utf-8")
    (escaped,) = read_lockfile(str(bad))  # not found as written: located by its table instead
    assert (escaped.version, escaped.source) == ("1.16.0", f"{bad}#project.dependencies")


def test_declarations_are_found_only_without_a_lock(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "setup.cfg").write_text(SETUP_CFG, encoding="utf-8")
    assert [Path(p).name for p in find_lockfiles(str(tmp_path))] == ["pyproject.toml", "setup.cfg"]
    (tmp_path / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    assert [Path(p).name for p in find_lockfiles(str(tmp_path))] == ["uv.lock"]


def test_audit_of_a_pyproject(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT, encoding="utf-8")
    report = audit(AuditRequest(lockfiles=[str(path)], store_path=str(tmp_path / "absent.sqlite")))
    assert report.packages == 7  # the pins
    assert {p.name for p in report.inventory} >= {"litellm", "fastapi", "pytest"}
    unpinned = {f.package: f for f in report.findings if f.kind is FindingKind.UNPINNED}
    assert set(unpinned) == {"pydantic", "uvicorn", "torch", "s3fs", "pytest-cov", "ipython"}
    assert unpinned["pydantic"].path == f"{path}:12" and unpinned["pydantic"].severity == "low"


POETRY = """\
[tool.poetry]
name = "app"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
requests = "2.19.1"
jinja2 = "==2.10"
flask = "^0.12"
django = { version = "2.2.0", markers = "python_version >= '3'" }
mylib = { git = "https://example.invalid/mylib.git", rev = "abc" }
urllib3 = ">=1.23,<1.24"

[tool.poetry.group.dev.dependencies]
pytest = "7.0.0"
"""


def test_poetry_tables_bare_versions_are_exact_pins(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(POETRY, encoding="utf-8")
    found = {p.name: p for p in read_lockfile(str(path))}
    assert set(found) == {"requests", "jinja2", "flask", "django", "mylib", "urllib3", "pytest"}
    assert {n: p.version for n, p in found.items() if p.version} == {
        "requests": "2.19.1",  # Poetry reads a bare version as ==
        "jinja2": "2.10",
        "django": "2.2.0",
        "pytest": "7.0.0",
    }
    assert found["flask"].unpinned == "Poetry range '^0.12'"
    assert found["mylib"].unpinned is not None and "VCS" in found["mylib"].unpinned
    assert found["urllib3"].unpinned is not None
    assert found["requests"].source == f"{path}:7"
    assert found["django"].marker is not None
