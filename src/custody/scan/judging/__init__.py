"""Rules that weigh facts by where code runs and what co-occurs: facts in, findings out.

The principle: a capability alone says little (every HTTP client opens sockets, every CLI starts
processes); the same capability in code that runs unasked (start-up, install, import), next to
another that completes an attack chain (secret read + send, decode + exec, download + run), is
what malware looks like.

Each module holds one family of judgements as functions of a `Judgement`; `SECTIONS` runs them in
a fixed order (the per-rule-and-file cap keeps the first findings, so the order is part of the
result). The package verdict from the findings is `custody.scan.verdict.decide`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from custody.artifacts import Artifact
from custody.scan.collect import Collected
from custody.scan.judging.artifact import judge_archive, judge_binaries, judge_carriers, judge_user_rules
from custody.scan.judging.base import LIVE, RUN_EARLY, SECRETS, SENDS, UNASKED, Facts, Judgement
from custody.scan.judging.chains import judge_exec, judge_flows, judge_startup
from custody.scan.judging.hiding import judge_obfuscation
from custody.scan.judging.implants import judge_implants, judge_recipient_swaps
from custody.scan.judging.processes import judge_processes
from custody.scan.judging.secrets import judge_beacons, judge_secrets, judge_sinks
from custody.scan.model import Finding

SECTIONS: tuple[Callable[[Judgement], None], ...] = (
    judge_flows,
    judge_startup,
    judge_exec,
    judge_secrets,
    judge_beacons,
    judge_processes,
    judge_implants,
    judge_recipient_swaps,
    judge_sinks,
    judge_obfuscation,
    judge_binaries,
    judge_carriers,
    judge_archive,
    judge_user_rules,
)


def judge(artifact: Artifact, collected: Collected, extra: Iterable[Finding] = ()) -> list[Finding]:
    """Findings for an artifact from its collected facts (plus `extra`, e.g. metadata signals),
    most severe first."""
    judgement = Judgement(artifact, collected)
    for section in SECTIONS:
        section(judgement)
    findings = judgement.findings + list(extra)
    findings.sort(key=lambda x: (-x.severity.rank, x.file, x.line or 0))
    return findings


__all__ = ["LIVE", "RUN_EARLY", "SECRETS", "SECTIONS", "SENDS", "UNASKED", "Facts", "Judgement", "judge"]
