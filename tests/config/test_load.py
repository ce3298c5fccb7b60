"""custody.config: finding, reading and validating the one configuration."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
import pytest

from custody.cli.main import cli
from custody.config import ConfigError, find_config, load_config
from custody.config.schema import OPTIONS


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_custody_toml_beats_pyproject_and_explicit_beats_both(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.custody.scan]\nfail-on = "high"\n')
    assert load_config(cwd=tmp_path).get("scan", "fail-on") == "high"
    write(tmp_path / "custody.toml", '[scan]\nfail-on = "suspicious"\n')
    assert load_config(cwd=tmp_path).get("scan", "fail-on") == "suspicious"
    other = write(tmp_path / "ci" / "strict.toml", '[scan]\nfail-on = "low"\n')
    assert load_config(other, cwd=tmp_path).get("scan", "fail-on") == "low"


def test_found_in_a_parent_and_pyproject_without_table_skipped(tmp_path: Path) -> None:
    write(tmp_path / "custody.toml", '[audit]\nfail-on = "critical"\n')
    inner = tmp_path / "pkg"
    write(inner / "pyproject.toml", '[project]\nname = "pkg"\n')  # no [tool.custody]: not a config
    assert find_config(inner) == tmp_path / "custody.toml"
    assert load_config(cwd=inner).defaults_for("audit") == {"fail_on": "critical"}


def test_no_file_is_every_default(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config.source is None and config.defaults_for("scan") == {} and config.scan_ignores == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[scan]\nfial-on = "high"\n', "unknown key 'fial-on'"),
        ('colour = "never"\n', "unknown key 'colour'"),
        ('[scan]\nfail-on = "severe"\n', "fail-on: give one of malicious, suspicious"),
        ("[scan]\njobs = 'four'\n", "jobs: give a integer"),
        ('[[scan.ignore]]\nrule = "typosquat"\n', "reason is required"),
        ('[[audit.ignore]]\nid = "X"\nreason = "r"\npackages = "y"\n', "unknown key 'packages'"),
        ('[[audit.ignore]]\nid = "X"\nreason = "r"\nuntil = "someday"\n', "until 'someday'"),
        ("[scan\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "custody.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    write(
        tmp_path / "custody.toml",
        'rules = ["yara"]\n[gate]\npolicy = "gate.toml"\nstore = "postgresql://h/db"\n',
    )
    config = load_config(cwd=tmp_path)
    assert config.get("", "rules") == [str(tmp_path / "yara")]
    assert config.defaults_for("gate serve")["policy_path"] == str(tmp_path / "gate.toml")
    assert config.defaults_for("gate serve")["store"] == "postgresql://h/db"  # a URL, not a path


def test_suppressions_in_the_config_and_in_a_separate_file(tmp_path: Path) -> None:
    write(
        tmp_path / "custody.toml",
        'suppressions = "ignores.toml"\n'
        '[[scan.ignore]]\nrule = "install-network"\npackage = "Our_Pkg"\nfile = "setup.py"\n'
        'reason = "fetches our own mirror"\nuntil = 2099-01-31\n',
    )
    write(
        tmp_path / "ignores.toml",
        '[[audit.ignore]]\nid = "CVE-2099-1"\npackage = "jinja2"\nreason = "not reachable"\n',
    )
    config = load_config(cwd=tmp_path)
    (scan,) = config.scan_ignores
    assert (scan.rule, scan.package, scan.file) == ("install-network", "our-pkg", "setup.py")
    assert scan.until == datetime(2099, 1, 31, tzinfo=timezone.utc)
    assert scan.source == str(tmp_path / "custody.toml")
    (audit,) = config.audit_ignores
    assert (audit.id, audit.package, audit.source) == ("CVE-2099-1", "jinja2", str(tmp_path / "ignores.toml"))


def test_separate_file_takes_only_ignore_tables(tmp_path: Path) -> None:
    write(tmp_path / "custody.toml", 'suppressions = "ignores.toml"\n')
    write(tmp_path / "ignores.toml", '[scan]\nfail-on = "low"\n')
    with pytest.raises(ConfigError, match="only"):
        load_config(cwd=tmp_path)


def _command(path: str) -> click.Command:
    ctx = click.Context(cli)
    command: click.Command = cli
    for part in path.split():
        assert isinstance(command, click.Group)
        found = command.get_command(ctx, part)
        assert found is not None, path
        command = found
    return command


def test_every_key_names_a_real_option_of_its_commands() -> None:
    """A key that sets no existing parameter would be silently ignored: the table must be exact."""
    for option in OPTIONS:
        for command, param in option.params:
            names = {p.name for p in _command(command).params}
            assert param in names, (option.name, command, param)
