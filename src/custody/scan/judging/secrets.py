"""Secrets leaving: credential and stealer reads next to sends, install-time beacons, exfiltration
sinks and raw addresses by context."""

from __future__ import annotations

from custody.scan.facts import Cap, Trait
from custody.scan.judging.base import LIVE, RUN_EARLY, SECRETS, SENDS, UNASKED, Judgement
from custody.scan.model import Context, Severity


def judge_secrets(j: Judgement) -> None:
    """`secret-access` and `secret-exfiltration`: credentials, keys and wallets read by code that runs
    early, and sent when that code also sends data."""
    f = j.facts
    early_sends = f.get(SENDS, RUN_EARLY) + [
        p for p in f.get(Cap.PROCESS, RUN_EARLY) if f.files(Cap.DOWNLOAD_TOOL, RUN_EARLY)
    ]
    early_secrets = f.get(SECRETS, RUN_EARLY)
    if early_secrets and early_sends:
        for fact in early_secrets:
            j.add(
                "secret-exfiltration",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} at {fact.context.value} time, and the package sends data out "
                f"({early_sends[0].detail}, {early_sends[0].file}:{early_sends[0].line})",
            )
    # Cloud SDKs legitimately talk to the metadata endpoint from library code: at import time only
    # credential files and environment dumps count.
    import_secrets = (Cap.SECRET, Cap.ENV_DUMP)
    import_files = j.facts.files(import_secrets, frozenset({Context.IMPORT})) & j.facts.files(
        SENDS, frozenset({Context.IMPORT})
    )
    for fact in f.get(import_secrets, frozenset({Context.IMPORT})):
        if fact.file in import_files:
            j.add(
                "secret-exfiltration",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} at import time, next to a network send in the same module",
            )
    # Stealer: browser, chat or wallet secrets plus a chat/paste sink, wherever it runs.
    targets = [x for x in f.get(Cap.SECRET) if x.trait is Trait.STEALER_TARGET]
    acting = f.files((Cap.NETWORK, Cap.PROCESS, Cap.EXFIL_SINK, Cap.DNS_EXFIL), LIVE | {Context.DEV})
    sink_files = f.files(Cap.EXFIL_SINK) | f.files(Cap.NETWORK) | f.files(Cap.DNS_EXFIL)
    for fact in targets:
        if fact.file in sink_files:
            j.add(
                "stealer",
                Severity.CRITICAL,
                fact,
                f"{fact.detail}, and the same module sends to an exfiltration endpoint",
            )
        elif fact.context in UNASKED and fact.file in acting:
            j.add("secret-access", Severity.MEDIUM, fact, f"{fact.detail} in code that runs unasked")
        elif fact.context in UNASKED:
            # Names in a module that neither sends nor starts anything: a table of words (a
            # scanner's own rules, a path list), nothing that could carry the secret away.
            j.add("secret-access", Severity.LOW, fact, f"{fact.detail} (a module that sends nothing)")
        else:
            j.add("secret-access", Severity.LOW, fact, f"{fact.detail} (only when called)")
    for fact in f.get(SECRETS, RUN_EARLY):
        if fact.trait is not Trait.STEALER_TARGET:
            j.add("secret-access", Severity.MEDIUM, fact, f"{fact.detail} at {fact.context.value} time")


def judge_beacons(j: Judgement) -> None:
    """`install-beacon`: machine identity (host, user, addresses) gathered and sent by code that runs
    at install, start-up or import."""
    f = j.facts
    recon = f.get(Cap.RECON, RUN_EARLY)
    sends = f.get(SENDS, RUN_EARLY)
    if recon and sends:
        for fact in recon:
            j.add(
                "install-beacon",
                Severity.CRITICAL,
                fact,
                f"reads {fact.detail} at {fact.context.value} time and sends data out "
                f"({sends[0].detail}, {sends[0].file}:{sends[0].line})",
            )
    for fact in f.get(Cap.BEACON, UNASKED):
        j.add("install-beacon", Severity.CRITICAL, fact, f"{fact.detail} at {fact.context.value} time")
    catcher_files = f.files((Cap.EXFIL_SINK, Cap.DNS_EXFIL))
    for fact in f.get(Cap.BEACON, frozenset({Context.CALL})):
        # A library may report its host to its own service; sending it to a request catcher or
        # out-of-band DNS collector is how dependency-confusion probes report back.
        if fact.file in catcher_files:
            j.add(
                "install-beacon",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} to a request catcher (when called)",
            )
    strong_sinks = {Cap.EXFIL_SINK, Cap.DNS_EXFIL, Cap.RAW_IP_URL}
    strong = j.same_file(Cap.RECON, strong_sinks, frozenset({Context.IMPORT}))
    files = j.same_file(Cap.RECON, SENDS, frozenset({Context.IMPORT}))
    for fact in f.get(Cap.RECON, frozenset({Context.IMPORT})):
        if fact.file in strong:
            j.add(
                "install-beacon",
                Severity.CRITICAL,
                fact,
                f"reads {fact.detail} at import time and names an exfiltration endpoint",
            )
        elif fact.file in files:
            j.add(
                "install-beacon",
                Severity.MEDIUM,
                fact,
                f"reads {fact.detail} at import time next to a network send",
            )
    for fact in f.get(Cap.HOOK_NETWORK, frozenset({Context.INSTALL})):
        j.add(
            "install-beacon",
            Severity.CRITICAL,
            fact,
            f"{fact.detail}: pip install itself phones home (dependency-confusion beacon)",
        )
    for fact in f.get(Cap.DNS_EXFIL, UNASKED):
        j.add("install-beacon", Severity.HIGH, fact, f"{fact.detail} (DNS tunnelling)")


def judge_sinks(j: Judgement) -> None:
    """`exfil-sink` (known exfiltration destinations, weighed by where they run and whether the
    file sends), `secret-exfiltration` (such a send while installing or starting), `raw-ip-url` by
    context and `install-process` (a download tool run early)."""
    f = j.facts
    early_net = f.files(Cap.NETWORK, RUN_EARLY)
    for fact in f.get(Cap.EXFIL_SINK, RUN_EARLY):
        if fact.file in early_net:
            j.add(
                "secret-exfiltration",
                Severity.CRITICAL,
                fact,
                f"sends data to {fact.detail} while installing or starting",
            )
    sending = f.files(SENDS - {Cap.EXFIL_SINK}, UNASKED)
    requesting_files = f.files((Cap.NETWORK, Cap.DOWNLOAD_TOOL, Cap.PROCESS), LIVE | {Context.DEV})
    for fact in f.get(Cap.EXFIL_SINK):
        if fact.context in RUN_EARLY or (fact.context is Context.IMPORT and fact.file in sending):
            severity = Severity.HIGH
        elif fact.context is Context.IMPORT and fact.file in requesting_files:
            severity = Severity.MEDIUM
        else:
            # Only named, by a module that makes no request at all (a host list, a rule table).
            severity = Severity.LOW
        j.add("exfil-sink", severity, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get(Cap.RAW_IP_URL):
        severity = {
            Context.STARTUP: Severity.HIGH,
            Context.INSTALL: Severity.HIGH,
            Context.IMPORT: Severity.MEDIUM,
        }.get(fact.context, Severity.LOW)
        j.add("raw-ip-url", severity, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get(Cap.DOWNLOAD_TOOL, RUN_EARLY):
        j.add("install-process", Severity.HIGH, fact, f"{fact.detail} at {fact.context.value} time")
