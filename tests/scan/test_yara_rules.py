"""The built-in YARA rules name only capabilities and traits the engine knows."""

from __future__ import annotations

import yara_x

from custody.scan.facts import Cap, Trait
from custody.scan.yara_rules import _builtin_sources


def _metas() -> list[tuple[str, dict[str, object]]]:
    found = []
    for _name, source in _builtin_sources():
        compiler = yara_x.Compiler()
        compiler.add_source(source)
        rules = compiler.build()
        found.extend((rule.identifier, dict(rule.metadata)) for rule in rules)
    return found


def test_every_cap_and_trait_meta_is_typed() -> None:
    # A misspelt `cap` or `trait` meta would be dropped silently at scan time (the rule would
    # stop counting), so the spelling is checked here against the enums the verdict reads.
    metas = _metas()
    assert metas
    for identifier, meta in metas:
        if "cap" in meta:
            Cap(meta["cap"])
        if "trait" in meta:
            assert Trait(meta["trait"]), identifier


def test_stealer_targets_are_marked_by_trait() -> None:
    traits = {identifier: meta.get("trait") for identifier, meta in _metas()}
    assert traits["secret_crypto_wallets"] == Trait.STEALER_TARGET.value
    assert traits["secret_ssh_keys"] is None  # an ordinary credential name, not a stealer's loot list
    assert traits["obfuscator_markers"] == Trait.OBFUSCATOR_MARKER.value
