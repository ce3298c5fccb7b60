"""Guard policy parsing and the shared start-up file grammar."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from custody.policy import PolicyError
from custody.policy.guard import Capabilities, guard_policy_from_mapping, load_guard_policy
from custody.policy.load import policy_from_mapping
from custody.startup_files import (
    pth_executed_lines,
    pth_lines,
    site_toml_entries,
    start_entries,
    startup_order,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "guard-policy.toml"


def test_example_policy_loads_and_compiles_to_marshal() -> None:
    policy = load_guard_policy(str(EXAMPLE))
    assert policy.for_package("boto3").protected == ("cloud-credentials",)
    assert policy.for_package("Unlisted_Package") == policy.default
    assert policy.default.network == () and policy.default.read is None
    compiled = policy.compiled()
    assert marshal.loads(marshal.dumps(compiled, 4)) == compiled
    assert "169.254.169.254" in compiled["protected"]["cloud-metadata"]["hosts"]


def test_listed_package_inherits_the_default_for_keys_it_omits() -> None:
    doc = {"guard": {"default": {"subprocess": False}, "packages": {"Foo.Bar": {"network": ["*"]}}}}
    policy = guard_policy_from_mapping(doc)
    assert policy.for_package("foo-bar") == Capabilities(network=None, subprocess=False)


def test_unknown_keys_and_bad_values_are_errors() -> None:
    with pytest.raises(PolicyError, match="unknown key"):
        guard_policy_from_mapping({"guard": {"default": {"netwrok": []}}})
    with pytest.raises(PolicyError, match="true or false"):
        guard_policy_from_mapping({"guard": {"default": {"subprocess": "no"}}})
    with pytest.raises(PolicyError, match="monitor"):
        guard_policy_from_mapping({"guard": {"mode": "block"}})


def test_shared_deny_entry_denies_everything() -> None:
    doc = {"guard": {}, "deny": [{"spec": "evilpkg", "reason": "MAL-2026-1"}]}
    policy = guard_policy_from_mapping(doc, shared=policy_from_mapping(doc))
    caps = policy.for_package("evilpkg")
    assert caps.denied and caps.compiled()["subprocess"] is False


def test_pth_grammar() -> None:
    text = "# comment\n\nimport os; os.getcwd()\nimport\tsys\nsome/path\n importx\n"
    kinds = [line.kind for line in pth_lines(text)]
    assert kinds == ["comment", "blank", "import", "import", "path", "path"]
    assert pth_executed_lines(text) == [(3, "import os; os.getcwd()"), (4, "import\tsys")]


def test_pep_829_entries() -> None:
    assert start_entries("# c\nmod:func\n\n  other:run \n") == [(2, "mod:func"), (4, "other:run")]
    assert site_toml_entries('[entrypoints]\ninit = ["a.b:c"]\n') == [(2, "a.b:c")]
    assert site_toml_entries("[[[")[0][1].startswith("<unparseable")


def test_startup_order_is_sorted_listdir_without_hidden(tmp_path: Path) -> None:
    for name in ("b.pth", "A.pth", ".hidden.pth", "x.start", "y.site.toml", "mod.py", "!custody-guard.pth"):
        (tmp_path / name).write_text("")
    assert startup_order(str(tmp_path)) == ["!custody-guard.pth", "A.pth", "b.pth", "x.start", "y.site.toml"]
