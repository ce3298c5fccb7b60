"""The built-in YARA rules name only capabilities and traits the engine knows."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import pytest
import yara_x

from custody.scan.facts import Cap, Trait
from custody.scan.flow import _SECRET_PATH
from custody.scan.yara_rules import SOURCE_HINT, YaraRules, _builtin_sources


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


SECRET_PATHS = [
    "~/.ssh/id_rsa",
    "~/.SSH/id_ed25519",
    "~/.aws/credentials",
    "C:/Users/u/AppData/Roaming/aws/credentials",
    "~/.kube/config",
    ".env",
    "/srv/app/.ENV.local",
    "~/.netrc",
    "~/.pypirc",
    "~/.npmrc",
    "~/.git-credentials",
    "~/.config/gcloud/credentials.db",
    "~/.azure/accessTokens.json",
    "/etc/shadow",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "~/.bitcoin/wallet.dat",
    "~/.electrum/wallets",
    "~/.ethereum/keystore",
    "~/.config/solana/id.json",
    "~/.docker/config.json",
    "~/.bash_history",
    "Default/Login Data",
    "User Data/Local State",
    "Default/Local Storage/leveldb",
]


@pytest.mark.parametrize("path", SECRET_PATHS)
def test_source_hint_marks_every_credential_store_the_flow_analysis_reads(path: str) -> None:
    # the hint selects helper modules for summaries across modules: a module that reads a
    # credential store the flow analysis knows must carry it, whatever the case of the path
    assert _SECRET_PATH.search(path), path  # the analysis takes it as a secret file
    code = f"def grab():\n    with open({path!r}) as f:\n        return f.read()\n".encode()
    assert SOURCE_HINT in YaraRules().scan_with_sinks(code).marks


@pytest.mark.parametrize(
    "code",
    [
        "import os\nx = os.environ['A']\n",
        "from os import environ as e\n",
        "import os\nx = os.environb\n",
        "import os\nx = getattr(os, 'environ')\n",
        "import os\nx = os.getenv('A')\n",
        # the flow analysis reads each piece of a string alone: a .env path needs no quote or
        # slash right before it in the source
        'import os\ndef load(d):\n    return open(f"{d}{os.sep}.env").read()\n',
        'def load():\n    return open("\\x2fsrv\\x2fapp\\x2f.env").read()\n',
    ],
)
def test_source_hint_marks_the_environment_under_any_alias(code: str) -> None:
    assert SOURCE_HINT in YaraRules().scan_with_sinks(code.encode()).marks


@pytest.mark.parametrize(
    "code",
    [
        '"""Read the build environment."""\nenvironment = load()\n',
        "def setup(environment_variables):\n    return environment_variables\n",
    ],
)
def test_source_hint_passes_over_words_that_name_no_source(code: str) -> None:
    # "environment": an everyday word that made most large libraries' helper modules look like
    # the source end of a chain
    assert SOURCE_HINT not in YaraRules().scan_with_sinks(code.encode()).marks


def test_rules_are_compiled_once_per_process_and_again_when_a_rule_file_changes(tmp_path: Path) -> None:
    # a scan compiles the rules to check user rules before its workers start; the scanner and
    # the forked workers take the compiled rules from there instead of compiling them again
    folder = tmp_path / "rules"
    folder.mkdir()
    rule = folder / "mine.yar"
    rule.write_text('rule mine { strings: $a = "first-marker" condition: $a }')
    first = YaraRules((str(folder),))
    assert YaraRules((str(folder),)).rules is first.rules
    assert YaraRules().rules is not first.rules  # other sources, other rules
    assert [h.rule for h in first.scan(b"x = 'first-marker'")] == ["mine"]
    rule.write_text('rule mine { strings: $a = "second-marker" condition: $a }')
    edited = YaraRules((str(folder),))
    assert edited.rules is not first.rules
    assert [h.rule for h in edited.scan(b"x = 'second-marker'")] == ["mine"]
    assert edited.scan(b"x = 'first-marker'") == []


# The exact address forms the constant-recipient selector used to spell out, by counted
# repetitions (a third of the pattern pass): it must still select every module they did.
_ADDRESS = r"""(0x[0-9a-fA-F]{40}|(bc1|tb1)[02-9ac-hj-np-z]{25,62}|[1-9A-HJ-NP-Za-km-z]{25,48})"""
_NAMES = "(dest|destination|to|recipient|receiver|to_?address|payee|beneficiary)"
_EXACT = [
    re.compile(rf"""["']{_NAMES}["']\s*:\s*["']{_ADDRESS}["']""", re.IGNORECASE),
    re.compile(rf"""\b{_NAMES}\s*=\s*["']{_ADDRESS}["']""", re.IGNORECASE),
]


def test_constant_recipient_selects_every_exact_address_form() -> None:
    rng = random.Random(7)
    rules = YaraRules()
    names = ["dest", "destination", "to", "recipient", "receiver", "to_address", "toaddress", "payee"]
    alphabets = [
        "0123456789abcdefABCDEF",
        "023456789acdefghjklmnpqrstuvwxyz",
        string.ascii_letters + string.digits,
    ]
    checked = 0
    for _ in range(3000):
        name = "".join(c.upper() if rng.random() < 0.2 else c for c in rng.choice(names))
        prefix = rng.choice(["0x", "bc1", "tb1", "", ""])
        body = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(18, 66)))
        quote = rng.choice("\"'")
        gap = rng.choice(["", " ", "  ", "\t"])
        if rng.random() < 0.5:
            text = f"{name}{gap}={gap}{quote}{prefix}{body}{quote}"
        else:
            text = f"{{{quote}{name}{quote}{gap}:{gap}{quote}{prefix}{body}{quote}}}"
        code = f"tx = build({text})\n".encode()
        if any(p.search(code.decode()) for p in _EXACT):
            checked += 1
            assert "constant-recipient" in rules.scan_with_sinks(code).marks, code
    assert checked > 300  # the generator does reach the exact forms
    # and ordinary short strings stay unselected
    for code in (b"encode(to='utf8')\n", b'convert(dest="output_directory_name")\n'):
        assert "constant-recipient" not in rules.scan_with_sinks(code).marks
