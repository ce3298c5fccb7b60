"""The scanner fingerprint stored verdicts are keyed by: any change to what judges a file changes it."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from custody.gate.fingerprint import scan_package_digest, scanner_fingerprint, tree_digest
from custody.gate.scanning import ScanPool


def _copy_of_scan_package(tmp_path: Path) -> Path:
    source = Path(str(resources.files("custody.scan")))
    copy = tmp_path / "scan"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_changing_a_builtin_rule_file_changes_the_key(tmp_path: Path) -> None:
    package = _copy_of_scan_package(tmp_path)
    assert tree_digest(package) == scan_package_digest()  # the copy is the installed package
    before = scanner_fingerprint(package=package)
    assert before == scanner_fingerprint()
    rule = sorted((package / "yara").glob("*.yar"))[0]
    rule.write_text(rule.read_text() + "\n// a harmless comment still makes it another rule set\n")
    after = scanner_fingerprint(package=package)
    assert after != before and after.startswith("custody-")


def test_changing_engine_source_changes_the_key(tmp_path: Path) -> None:
    package = _copy_of_scan_package(tmp_path)
    before = scanner_fingerprint(package=package)
    (package / "verdict.py").write_text((package / "verdict.py").read_text() + "\n# changed\n")
    assert scanner_fingerprint(package=package) != before


def test_extra_rule_dirs_and_timeout_are_part_of_the_key(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yar").write_text('rule site_one { strings: $a = "custody-site-marker" condition: $a }\n')
    base = scanner_fingerprint((), 60.0)
    with_rules = scanner_fingerprint((str(rules),), 60.0)
    assert with_rules != base
    (rules / "site.yar").write_text('rule site_two { strings: $a = "custody-site-marker" condition: $a }\n')
    assert scanner_fingerprint((str(rules),), 60.0) not in (base, with_rules)
    assert scanner_fingerprint((), 30.0) != base
    assert ScanPool(0, 60.0).id == base  # what the gate files its verdicts under
