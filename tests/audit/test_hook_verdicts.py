"""Remembered scan verdicts of owned start-up files: the real scan engine judges each new file,
name, engine or rule set; a remembered verdict is the one the engine gave. The malicious hook is
the inert litellm replica (temporary HOME, never executed: only read)."""

from __future__ import annotations

import os
from pathlib import Path

from custody.audit.environment import HookScan
from custody.audit.hook_verdicts import engine_fingerprint, remembered
from custody.audit.scanning import hook_scanner
from tests.scan.builders import LITELLM_PTH, litellm_pth

CLEAN = "import os; os.environ.setdefault('EXAMPLE_FLAG', '1')\n"


class Engine:
    """The real hook scanner, counting how often an audit had to build and ask it."""

    def __init__(self, rule_dirs: tuple[str, ...] = ()) -> None:
        self.rule_dirs = rule_dirs
        self.built = 0
        self.asked = 0

    def __call__(self) -> HookScan:
        self.built += 1
        real = hook_scanner(self.rule_dirs)

        def ask(path: str) -> tuple[str, str]:
            self.asked += 1
            return real(path)

        return ask


def test_a_remembered_verdict_is_the_engines_and_skips_the_engine(tmp_path: Path) -> None:
    hook = tmp_path / "site" / LITELLM_PTH
    hook.parent.mkdir()
    hook.write_text(litellm_pth(str(tmp_path / "home")), encoding="utf-8")
    clean = tmp_path / "site" / "distutils-precedence.pth"
    clean.write_text(CLEAN, encoding="utf-8")
    store = str(tmp_path / "cache" / "hook-verdicts.json")
    first = Engine()
    scan = remembered(first, store)
    judged = {p: scan(str(p)) for p in (hook, clean)}
    assert judged[hook][0] == "critical" and judged[clean][0] == "info"
    assert judged == {p: hook_scanner()(str(p)) for p in (hook, clean)}
    assert (first.built, first.asked) == (1, 2)
    # a later audit (a new process: a new `remembered`) answers without the engine
    later = Engine()
    again = remembered(later, store)
    assert {p: again(str(p)) for p in (hook, clean)} == judged
    assert later.built == 0


def test_a_changed_file_or_name_is_scanned_again(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    hook = site / "helper.pth"
    hook.write_text(CLEAN, encoding="utf-8")
    store = str(tmp_path / "hook-verdicts.json")
    assert remembered(Engine(), store)(str(hook))[0] == "info"
    # same name, new content: the replica's payload
    hook.write_text(litellm_pth(str(tmp_path / "home")), encoding="utf-8")
    engine = Engine()
    assert remembered(engine, store)(str(hook))[0] == "critical"
    assert engine.asked == 1
    # same content under another name
    renamed = site / "other.pth"
    os.replace(hook, renamed)
    engine = Engine()
    assert remembered(engine, store)(str(renamed))[0] == "critical"
    assert engine.asked == 1


def test_new_rules_or_engine_files_forget_every_verdict(tmp_path: Path) -> None:
    hook = tmp_path / "helper.pth"
    hook.write_text(CLEAN, encoding="utf-8")
    store = str(tmp_path / "hook-verdicts.json")
    rules = tmp_path / "rules"
    rules.mkdir()
    before = engine_fingerprint((str(rules),))
    remembered(Engine((str(rules),)), store, (str(rules),))(str(hook))
    (rules / "flag.yar").write_text(
        'rule example_flag { meta: severity = "high" strings: $a = "EXAMPLE_FLAG" condition: $a }\n',
        encoding="utf-8",
    )
    assert engine_fingerprint((str(rules),)) != before
    engine = Engine((str(rules),))
    remembered(engine, store, (str(rules),))(str(hook))
    assert engine.asked == 1


def test_an_unreadable_hook_is_never_remembered(tmp_path: Path) -> None:
    dangling = tmp_path / "dangling.pth"
    os.symlink(tmp_path / "nowhere.pth", dangling)
    store = tmp_path / "hook-verdicts.json"
    engine = Engine()
    severity, verdict = remembered(engine, str(store))(str(dangling))
    assert (severity, engine.asked) == ("low", 1) and "unreadable" in verdict
    assert not store.exists()
