"""The JSON Schemas (draft 2020-12) of custody's JSON outputs, shipped in the package.

| name | output |
|---|---|
| `scan` | `custody scan --format json` |
| `audit` | `custody audit --format json` |
| `gate-decisions` | `custody gate log --format json` |
| `gate-check` | `custody gate check --format json` |
| `guard-log` | one line of a guard log (JSON lines) |
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_NAMES = ("scan", "audit", "gate-decisions", "gate-check", "guard-log")


def schema_text(name: str) -> str:
    """The schema file `name` (one of `SCHEMA_NAMES`) as shipped."""
    if name not in SCHEMA_NAMES:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    return (resources.files("custody.report") / "schemas" / f"{name}.schema.json").read_text("utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """The schema `name`, parsed."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema
