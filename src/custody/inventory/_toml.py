"""tomllib on 3.11+, tomli before."""

from __future__ import annotations

import sys
from typing import Any

from custody.inventory._files import read_declared
from custody.inventory.model import InventoryError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["load_toml", "tomllib"]


def load_toml(path: str, shown: str) -> dict[str, Any]:
    """The TOML document at `path` (`shown` names it in errors); InventoryError when it is
    missing, too large or not valid TOML."""
    data = read_declared(path, shown)
    try:
        doc: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        return doc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{shown}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise InventoryError(f"{shown}: not valid TOML: arrays or tables nested too deeply") from exc
