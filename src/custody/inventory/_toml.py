"""tomllib on 3.11+, tomli before."""

from __future__ import annotations

import sys
from typing import Any

from custody.inventory.model import InventoryError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["load_toml", "tomllib"]


def load_toml(path: str, shown: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            doc: dict[str, Any] = tomllib.load(handle)
            return doc
    except OSError as exc:
        raise InventoryError(f"{shown}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{shown}: not valid TOML: {exc}") from exc
