"""What stays behind or takes over: reverse shells, sabotage, miners, persistence, spyware,
self-deletion, and swapped payment recipients."""

from __future__ import annotations

from collections import defaultdict

from custody.scan.facts import Cap, Trait
from custody.scan.judging.base import LIVE, RUN_EARLY, UNASKED, Judgement
from custody.scan.model import Severity

# Writes into an auto-start place that only an implant makes: a fetch command, a download or
# decoded text appended to a login script (rc files also hold PATH exports, so a plain write is not).
IMPLANTING = frozenset({Trait.AUTOSTART_COMMAND, Trait.AUTOSTART_DOWNLOAD, Trait.AUTOSTART_HIDDEN_TEXT})


def judge_implants(j: Judgement) -> None:
    """`reverse-shell` (a socket wired to a shell or interpreter) and `anti-analysis` (sandbox and
    debugger checks, self-deleting code) in code that runs unasked."""
    f = j.facts
    sockets = defaultdict(list)
    for fact in f.get(Cap.NETWORK):
        sockets[fact.file].append(fact.line or 0)
    for fact in f.get(Cap.REVERSE_SHELL):
        is_dup2 = fact.trait is Trait.STREAM_REDIRECT
        if is_dup2 and not any(abs((fact.line or 0) - ln) <= 20 for ln in sockets.get(fact.file, ())):
            continue
        severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
        j.add("reverse-shell", severity, fact, fact.detail)
    for fact in f.get(Cap.SABOTAGE, LIVE):
        severity = Severity.CRITICAL if fact.context in UNASKED else Severity.MEDIUM
        j.add("sabotage", severity, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get(Cap.MINER):
        severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
        j.add("cryptominer", severity, fact, fact.detail)
    active = f.files((Cap.PROCESS, Cap.NETWORK, Cap.WRITE_EXEC), RUN_EARLY)
    # An auto-start entry in a module that talks to a bare public IP address: an implant
    # installer, whenever it runs. (Lexers and container recipes name rc files and drop sites
    # often enough that those partners prove nothing.)
    implant = f.files(Cap.RAW_IP_URL)
    for fact in f.get(Cap.PERSISTENCE):
        if fact.context in LIVE and fact.trait in IMPLANTING:
            severity = Severity.CRITICAL
        elif fact.trait is Trait.AUTOSTART_PROGRAM:
            severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
        elif fact.context in RUN_EARLY:
            severity = Severity.CRITICAL if fact.file in active else Severity.HIGH
        elif fact.file in implant and fact.context in LIVE:
            severity = Severity.HIGH
        else:
            severity = Severity.LOW
        j.add("persistence", severity, fact, f"{fact.detail} ({fact.context.value})")
    exfil_files = f.files(Cap.EXFIL_SINK)
    net_files = f.files(Cap.NETWORK)
    for fact in f.get(Cap.KEYLOGGER):
        if fact.file in exfil_files:
            j.add("spyware", Severity.CRITICAL, fact, f"{fact.detail}, sent to an exfiltration endpoint")
        elif fact.file in net_files and fact.context in UNASKED:
            j.add("spyware", Severity.HIGH, fact, f"{fact.detail} next to a network send, unasked")
        else:
            severity = Severity.MEDIUM if fact.context in UNASKED else Severity.LOW
            j.add("spyware", severity, fact, fact.detail)
    # Deleting its own source after running a shipped native library, a process, a request or
    # dynamic code: the payload ran and the evidence is gone.
    acted = f.files((Cap.NATIVE_LOAD, Cap.PROCESS, Cap.NETWORK, Cap.EXEC, Cap.DECODE_EXEC), UNASKED)
    for fact in f.get(Cap.ANTI_ANALYSIS):
        if fact.trait is Trait.SELF_DELETE and fact.context in UNASKED and fact.file in acted:
            j.add("anti-analysis", Severity.CRITICAL, fact, f"{fact.detail} after acting, unasked")
            continue
        severity = Severity.HIGH if fact.context in UNASKED else Severity.MEDIUM
        j.add("anti-analysis", severity, fact, fact.detail)


def judge_recipient_swaps(j: Judgement) -> None:
    """`recipient-swap`: code that replaces the address money or a transfer goes to."""
    # The caller chose where the money goes and the code sends it elsewhere: theft whenever it
    # runs; in tests it is a fixture.
    for fact in j.facts.get(Cap.RECIPIENT_SWAP):
        severity = Severity.CRITICAL if fact.context in LIVE else Severity.LOW
        j.add("recipient-swap", severity, fact, f"{fact.detail} ({fact.context.value})")
