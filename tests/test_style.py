"""The exception style holds across packages (issue 13, point 7; CONTRIBUTING.md, "Style").

Every public exception class custody defines derives from `custody.errors.CustodyError`, so the
CLI's one top-level handler turns it into `error: MESSAGE` and its documented exit code, never a
traceback. Internal control-flow exceptions that never reach a user are listed in `INTERNAL` with
the reason; a new one must be added there on purpose.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import custody
from custody.errors import EXIT_ERROR, EXIT_FOUND, EXIT_USAGE, CustodyError

INTERNAL = {
    "custody.scan.yara_rules.PatternTimeout": "control flow: the scan engine catches it and records "
    "a per-member timeout finding; it never leaves custody.scan",
    "custody.artifacts._collect.StopReading": "control flow: stops a reader at its size or member "
    "budget; every archive reader catches it",
}
"""Exception classes exempt from the rule, each with why it never reaches a user."""


def all_modules() -> list[ModuleType]:
    """Every module under src/custody, imported (an import error fails the test, never hides it)."""
    modules = [custody]
    for info in pkgutil.walk_packages(custody.__path__, prefix="custody."):
        modules.append(importlib.import_module(info.name))
    return modules


def custody_exceptions() -> dict[str, type[BaseException]]:
    """Public exception classes defined in custody, by qualified name (imports are not counted)."""
    found: dict[str, type[BaseException]] = {}
    for module in all_modules():
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_public_exception_derives_from_custody_error() -> None:
    exceptions = custody_exceptions()
    stray = sorted(
        name for name, cls in exceptions.items() if not issubclass(cls, CustodyError) and name not in INTERNAL
    )
    assert not stray, "exceptions that do not derive from custody.errors.CustodyError: " + ", ".join(stray)


def test_the_allowlist_names_real_exceptions() -> None:
    """A renamed or removed internal exception must leave the list, not linger as a blind spot."""
    exceptions = custody_exceptions()
    assert sorted(set(INTERNAL) - set(exceptions)) == []
    assert not [name for name in INTERNAL if issubclass(exceptions[name], CustodyError)]


def test_the_search_sees_library_errors() -> None:
    """The walk reaches the packages' errors (a search that found nothing would pass vacuously)."""
    exceptions = custody_exceptions()
    for name in (
        "custody.store.sqlite.StoreError",
        "custody.advisories.model.AdvisoryError",
        "custody.ledger.tenants.ConfigError",
        "custody.gate.upstream.UpstreamError",
        "custody.scan.yara_rules.RuleLoadError",
    ):
        assert name in exceptions


@pytest.mark.parametrize("name", sorted(custody_exceptions()))
def test_exit_codes_are_documented_ones(name: str) -> None:
    cls = custody_exceptions()[name]
    if issubclass(cls, CustodyError):
        assert cls.exit_code in (EXIT_FOUND, EXIT_USAGE, EXIT_ERROR)
