"""The JSON Schemas ship in the package, are valid schemas, and name the values the code emits."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from custody.artifacts import LimitKind
from custody.audit.model import SEVERITIES, FindingKind
from custody.config import SuppressionKind
from custody.report.schema_files import SCHEMA_NAMES, load_schema
from custody.scan import Context, Severity, Verdict
from tests.report.schema_check import assert_valid

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_valid_and_shipped(name: str) -> None:
    Draft202012Validator.check_schema(load_schema(name))
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any(fnmatch.fnmatch(f"report/schemas/{name}.schema.json", p) for p in package_data["custody"])


def _enum(schema: dict[str, Any], *path: str) -> set[Any]:
    node: Any = schema
    for key in path:
        node = node[key]
    return set(node["enum"]) - {None}


def test_enumerations_match_the_code() -> None:
    scan = load_schema("scan")
    assert _enum(scan, "$defs", "target", "properties", "verdict") == {v.value for v in Verdict}
    assert _enum(scan, "$defs", "finding", "properties", "severity") == {s.value for s in Severity}
    assert _enum(scan, "$defs", "finding", "properties", "context") == {c.value for c in Context}
    assert _enum(scan, "$defs", "finding", "properties", "limit") == {k.value for k in LimitKind}
    audit = load_schema("audit")
    assert _enum(audit, "$defs", "finding", "properties", "kind") == {k.value for k in FindingKind}
    assert _enum(audit, "$defs", "finding", "properties", "severity") == set(SEVERITIES)
    for schema in (scan, audit):
        suppression = schema["$defs"]["suppression"]["oneOf"][1]
        assert _enum(suppression, "properties", "kind") == {k.value for k in SuppressionKind}


def test_a_renamed_field_is_caught() -> None:
    with pytest.raises(AssertionError, match="verdict"):
        assert_valid("gate-check", {"spec": "x==1", "files": [{"filename": "x", "verdict_": None}]})
