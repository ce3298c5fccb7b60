"""`custody rules` lists the catalogue, with the value-flow chains and their severities by context."""

from __future__ import annotations

import json

from click.testing import CliRunner

from custody.cli.main import cli
from custody.scan.catalog import RULES


def test_rules_json_lists_every_rule_and_the_chain_severities() -> None:
    result = CliRunner().invoke(cli, ["rules", "--format", "json"])
    assert result.exit_code == 0, result.output
    rules = {r["id"]: r for r in json.loads(result.output)["rules"]}
    assert set(rules) == set(RULES)
    chains = rules["exfil-flow"]["chains"]
    assert any(c["reach"] == "throwaway" and c["severity"].get("call") == "critical" for c in chains)
    assert rules["typosquat"]["chains"] == []


def test_rules_text_names_each_rule_once() -> None:
    result = CliRunner().invoke(cli, ["rules"])
    assert result.exit_code == 0, result.output
    heads = [line.split(":", 1)[0] for line in result.output.splitlines() if not line.startswith(" ")]
    assert sorted(heads) == sorted(RULES)
