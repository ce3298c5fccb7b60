"""Validate a real JSON output against the schema custody ships for it."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from custody.report.schema_files import load_schema


def assert_valid(name: str, document: Any) -> None:
    """Fail with every violation of the shipped schema `name` (not only the first)."""
    validator = Draft202012Validator(load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])
