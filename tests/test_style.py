"""The data and exception style holds across packages (issue 13, point 7; CONTRIBUTING.md, "Style").

Every dataclass custody defines is `slots=True`, and `frozen=True` unless it is an accumulator
that the code fills in step by step, which its docstring must then say with the word
`accumulator` (`ACCUMULATOR`), so a reader knows why it may change under them. A public one with
more than three fields is `kw_only=True`, so callers name what they pass (`POSITIONAL` lists the
few still built positionally, with why).

Every public exception class custody defines derives from `custody.errors.CustodyError`, so the
CLI's one top-level handler turns it into `error: MESSAGE` and its documented exit code, never a
traceback. Internal control-flow exceptions that never reach a user are listed in `INTERNAL` with
the reason; a new one must be added there on purpose.
"""

from __future__ import annotations

import dataclasses
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
    "custody.ledger.server._BodyRefused": "control flow: a request body over the size or time limit; "
    "the route handlers answer 413/408 with it",
    "custody.scan.carriers.pickles._OverBudget": "control flow: the pickle walk's budget is spent; "
    "caught in the same module, which reports the stream as cut",
    "custody.scan.collect._OutOfTime": "control flow: the target's deadline passed; the collector "
    "catches it and lists the rest as unread",
}
"""Exception classes exempt from the rule, each with why it never reaches a user."""


def all_modules() -> list[ModuleType]:
    """Every module under src/custody, imported (an import error fails the test, never hides it)."""
    modules = [custody]
    for info in pkgutil.walk_packages(custody.__path__, prefix="custody."):
        modules.append(importlib.import_module(info.name))
    return modules


def custody_dataclasses() -> dict[str, type]:
    """Every dataclass defined in custody (private ones too), by module and qualified name; an
    alias (`Summary = _Summary`) is counted once, under the name it was defined with."""
    found: dict[str, type] = {}
    for module in all_modules():
        for obj in vars(module).values():
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{obj.__qualname__}"] = obj
    return found


ACCUMULATOR = "accumulator"
"""The word a mutable dataclass's own docstring must contain (case-insensitive)."""


def dataclass_style_problems(cls: type) -> list[str]:
    """What is wrong with one dataclass by the style: missing slots, or mutable without saying it
    is an accumulator in its own docstring (an inherited or generated one does not count)."""
    problems: list[str] = []
    if "__slots__" not in vars(cls):
        problems.append("not slots=True")
    own_doc = vars(cls).get("__doc__") or ""
    generated = own_doc.startswith(f"{cls.__name__}(")  # dataclass writes the signature when bare
    if not cls.__dataclass_params__.frozen and (generated or ACCUMULATOR not in own_doc.lower()):  # type: ignore[attr-defined]
        problems.append(f"mutable but its docstring does not say it is an {ACCUMULATOR}")
    return problems


POSITIONAL = {
    "custody.scan.facts.Fact": "built positionally at ~25 sites across custody.scan",
    "custody.scan.chain_rules.ChainRule": "the rule table reads as rows; ~18 positional rows",
    "custody.scan.declared.Requirement": "built positionally at ~9 sites in custody.scan.declared",
}
"""Public dataclasses with more than three fields still built positionally: scan is under heavy
parallel change, so they move to keywords in a quiet moment rather than in a style pass."""

KW_ONLY_ABOVE = 3
"""CONTRIBUTING.md: `kw_only=True` for public types with more than two or three fields."""


def is_public(name: str) -> bool:
    """Neither the class nor any module on its path starts with an underscore."""
    return not any(part.startswith("_") for part in name.split("."))


def positional_fields(cls: type) -> list[str]:
    """The fields a caller may pass by position."""
    return [f.name for f in dataclasses.fields(cls) if f.init and not f.kw_only]


def test_public_dataclasses_with_many_fields_are_keyword_only() -> None:
    wrong = sorted(
        f"{name}: {len(positional_fields(cls))} positional fields"
        for name, cls in custody_dataclasses().items()
        if is_public(name) and len(positional_fields(cls)) > KW_ONLY_ABOVE and name not in POSITIONAL
    )
    assert not wrong, "add kw_only=True (CONTRIBUTING.md, 'Style'):\n" + "\n".join(wrong)


def test_the_positional_list_names_real_positional_types() -> None:
    """An entry converted to kw_only (or removed) must leave the list, not linger as a blind spot."""
    found = custody_dataclasses()
    stale = [n for n in POSITIONAL if n not in found or len(positional_fields(found[n])) <= KW_ONLY_ABOVE]
    assert stale == []


def test_every_dataclass_is_frozen_with_slots_or_a_marked_accumulator() -> None:
    problems = [
        f"{name}: {problem}"
        for name, cls in sorted(custody_dataclasses().items())
        for problem in dataclass_style_problems(cls)
    ]
    assert not problems, "dataclasses off the style (CONTRIBUTING.md):\n" + "\n".join(problems)


def test_the_dataclass_check_tells_styles_apart() -> None:
    """The check itself fails on each way off the style and passes the two accepted forms."""

    @dataclasses.dataclass
    class Plain:
        items: list[str]

    @dataclasses.dataclass(slots=True)
    class Unmarked:
        """Collects items."""

        items: list[str]

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        """A value."""

        item: str

    @dataclasses.dataclass(frozen=True, slots=True)
    class Value:
        """A value."""

        item: str

    @dataclasses.dataclass(slots=True)
    class Collector:
        """An accumulator: the run appends to it step by step."""

        items: list[str]

    assert dataclass_style_problems(Plain) == [
        "not slots=True",
        "mutable but its docstring does not say it is an accumulator",
    ]
    assert dataclass_style_problems(Unmarked) == [
        "mutable but its docstring does not say it is an accumulator"
    ]
    assert dataclass_style_problems(NoSlots) == ["not slots=True"]
    assert dataclass_style_problems(Value) == []
    assert dataclass_style_problems(Collector) == []


def test_the_search_sees_dataclasses() -> None:
    """The walk reaches public and private dataclasses in every layer (not a vacuous pass)."""
    found = custody_dataclasses()
    for name in (
        "custody.ledger.dataset.Manifest",
        "custody.ledger.verify.LogReport",
        "custody.audit.model.AuditReport",
        "custody.scan.facts.Fact",
        "custody.gate.pages._Slot",
    ):
        assert name in found
    assert "custody.scan.flow.Summary" not in found  # an alias of _Summary, counted once


def custody_exceptions() -> dict[str, type[BaseException]]:
    """Exception classes defined in custody, private ones too, by qualified name (imports are not
    counted): a private one can still escape its module, so it is held to the rule as well."""
    found: dict[str, type[BaseException]] = {}
    for module in all_modules():
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_exception_derives_from_custody_error() -> None:
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
