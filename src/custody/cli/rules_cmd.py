"""`custody rules`: every rule id the scanner reports, and the chain rules with their severities."""

from __future__ import annotations

import json

import click

from custody.scan.catalog import RULES
from custody.scan.chain_rules import CHAIN_RULES, ChainRule
from custody.scan.model import Context

_CONTEXTS = (Context.STARTUP, Context.INSTALL, Context.IMPORT, Context.CALL, Context.DEV)


def _chain_entry(rule: ChainRule) -> dict[str, object]:
    return {
        "sources": sorted(s.value for s in rule.sources),
        "sink": rule.sink.value,
        "reach": rule.reach.value,
        "except_hosts": sorted(h.value for h in rule.except_hosts),
        "severity": {c.value: rule.severity[c].value for c in _CONTEXTS if c in rule.severity},
        "description": rule.description,
    }


def rules_catalogue() -> list[dict[str, object]]:
    """Every rule as data: id, title, description, and its value-flow chains (if any)."""
    out: list[dict[str, object]] = []
    for rule_id in sorted(RULES):
        info = RULES[rule_id]
        chains = [_chain_entry(r) for r in CHAIN_RULES if r.id == rule_id]
        out.append({"id": rule_id, "title": info.title, "description": info.description, "chains": chains})
    return out


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List the rules the scanner reports (id, description, chain severities by context)."""
    catalogue = rules_catalogue()
    if fmt == "json":
        click.echo(json.dumps({"schema_version": 1, "rules": catalogue}, indent=2))
        return
    for entry in catalogue:
        click.echo(f"{entry['id']}: {entry['title']}")
        click.echo(f"    {entry['description']}")
        for chain in entry["chains"]:  # type: ignore[attr-defined]
            severities = ", ".join(f"{k} {v}" for k, v in chain["severity"].items())
            sources = "/".join(chain["sources"])
            click.echo(f"    chain: {sources} -> {chain['sink']} ({chain['reach']}): {severities}")
