"""Complete chains and executed code: value flows matched against the chain rules, start-up
hooks, decode-and-exec, remote loaders, dynamic code by context."""

from __future__ import annotations

import re

from custody.scan.chain_rules import match_flows, project_urls
from custody.scan.facts import Cap, Trait
from custody.scan.judging.base import LIVE, RUN_EARLY, UNASKED, Judgement
from custody.scan.model import Context, Severity

# a program started from a memory file: fexecve, or exec*/Popen/run given a /proc/self/fd path
_RUNS_MEMFD = re.compile(
    rb"fexecve|(exec\w*|Popen|run|call|system|spawn\w*)\(\s*\[?\s*f?['\"]/proc/(self|\{[^}]*\})/fd"
)
DANGEROUS_AT_STARTUP = frozenset(
    {
        Cap.PROCESS,
        Cap.NETWORK,
        Cap.DECODE_EXEC,
        Cap.NETWORK_EXEC,
        Cap.EXFIL_SINK,
        Cap.DOWNLOAD_TOOL,
        Cap.HIDDEN_SHELL,
        Cap.REVERSE_SHELL,
        Cap.SECRET,
        Cap.ENV_DUMP,
        Cap.DNS_EXFIL,
        Cap.MINER,
    }
)


def judge_flows(j: Judgement) -> None:
    """One finding per value flow that matches a chain rule (`custody.scan.chain_rules`), at the
    rule's severity for where the code runs; the package's own project URLs are its own hosts."""
    urls = project_urls(j.artifact)
    for match in match_flows(j.collected.flows, j.artifact.name, urls):
        flow = match.fact.flow
        j.add(
            match.rule.id,
            match.severity,
            None,
            f"{flow.detail}: {match.rule.description} ({match.fact.context.value})",
            file=match.fact.file,
            line=flow.line,
            snippet=j.snippet(match.fact.file, flow.line),
            context=match.fact.context,
        )


def judge_startup(j: Judgement) -> None:
    """`startup-hook` for code run at every interpreter start, `startup-hook-dangerous` when that
    code executes or does something dangerous, and `install-beacon` for DNS tunnelling in code
    that runs unasked."""
    f = j.facts
    for fact in f.get(Cap.STARTUP_CODE, frozenset({Context.STARTUP})):
        j.add(
            "startup-hook",
            Severity.MEDIUM,
            fact,
            f"{fact.detail}: runs at every Python start, no import needed",
        )
    for fact in f.get(DANGEROUS_AT_STARTUP, frozenset({Context.STARTUP})):
        j.add(
            "startup-hook-dangerous",
            Severity.CRITICAL,
            fact,
            f"start-up code {fact.detail} ({fact.cap.value}) at every interpreter start",
        )
    for fact in f.get(Cap.EXEC, frozenset({Context.STARTUP})):
        j.add("startup-hook-dangerous", Severity.HIGH, fact, f"start-up code runs {fact.detail}")


def judge_exec(j: Judgement) -> None:
    """Executed code that runs unasked: decoded payloads run (`decode-exec`), downloads run
    (`download-exec`), dynamic exec of computed text (`dynamic-exec`)."""
    f = j.facts
    for fact in f.get(Cap.DECODE_EXEC, UNASKED):
        j.add(
            "decode-exec",
            Severity.CRITICAL,
            fact,
            f"{fact.detail} in code that runs at {fact.context.value} time",
        )
    for fact in f.get(Cap.FILELESS, LIVE):
        # memfd also holds certificates and keys off disk; only running it (through
        # /proc/self/fd or fexecve) makes it a loader.
        info = j.collected.files.get(fact.file)
        if info is None or not _RUNS_MEMFD.search(info.data):
            continue
        j.add(
            "download-exec",
            Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
            fact,
            f"{fact.detail} ({fact.context.value})",
        )
    for fact in f.get(Cap.WHITESPACE_HIDDEN, LIVE):
        j.add(
            "obfuscation",
            Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
            fact,
            f"{fact.detail} ({fact.context.value})",
        )
    for fact in f.get(Cap.RAW_UPLOAD, LIVE):
        j.add(
            "exfil-sink",
            Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
            fact,
            f"{fact.detail} ({fact.context.value})",
        )
    for fact in f.get(Cap.CHAT_CREDENTIAL, LIVE):
        # A library has no business owning a chat channel: whatever it posts there, its author reads.
        j.add(
            "exfil-sink",
            Severity.CRITICAL if fact.context in RUN_EARLY else Severity.HIGH,
            fact,
            f"{fact.detail} ({fact.context.value})",
        )
    requesting = f.files((Cap.NETWORK, Cap.HIDDEN_ENDPOINT), LIVE)
    for fact in f.get(Cap.ENCODED_URL, LIVE):
        # An address kept in base64 by a module that makes requests: hidden from review, used.
        if fact.file in requesting:
            j.add(
                "exfil-sink",
                Severity.HIGH,
                fact,
                f"{fact.detail}, in a module that makes web requests ({fact.context.value})",
            )
        else:
            j.add("obfuscation", Severity.MEDIUM, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get(Cap.HIDDEN_ENDPOINT, LIVE):
        # Nobody base64-encodes their own API's address except to keep it from reviewers.
        j.add(
            "exfil-sink",
            Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
            fact,
            f"{fact.detail} ({fact.context.value})",
        )
    xor_files = f.files(Cap.XOR_DECRYPT)
    net_files = f.files(Cap.NETWORK, LIVE)
    for fact in f.get((Cap.EXEC, Cap.DECODE_EXEC), LIVE):
        # A home-made cipher feeding exec: a loader for a payload kept out of sight.
        if fact.file in xor_files and fact.trait is not Trait.COMPUTED_NAME:
            fetched = fact.file in net_files
            j.add(
                "decode-exec",
                Severity.CRITICAL if fetched or fact.context in UNASKED else Severity.HIGH,
                fact,
                f"{fact.detail} after XOR decryption"
                + (" of data fetched from the network" if fetched else ""),
            )
    fetch_or_shell = f.files((Cap.DOWNLOAD_TOOL, Cap.REVERSE_SHELL))
    for fact in f.get(Cap.DECODE_EXEC, frozenset({Context.CALL})):
        decoded_command = fact.trait is Trait.DECODED_COMMAND
        if decoded_command and fact.file in fetch_or_shell:
            # the decoded command line itself downloads-and-runs or opens a shell
            j.add(
                "decode-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} that downloads and runs code or opens a shell (when called)",
            )
        elif decoded_command:
            j.add("decode-exec", Severity.MEDIUM, fact, f"{fact.detail} (only when called)")
        else:
            # Both analysers only report this for an encoded literal: a payload hidden from review.
            j.add("decode-exec", Severity.CRITICAL, fact, f"{fact.detail}: hidden payload (when called)")
    for fact in f.get(Cap.NETWORK_EXEC, UNASKED):
        j.add(
            "download-exec",
            Severity.CRITICAL,
            fact,
            f"{fact.detail} in code that runs at {fact.context.value} time",
        )
    for fact in f.get(Cap.NETWORK_EXEC, frozenset({Context.CALL})):
        # Executing code fetched at run time has no benign library use: it is a remote loader.
        j.add("download-exec", Severity.CRITICAL, fact, f"{fact.detail} (when called)")
    for fact in f.get(Cap.EXEC, RUN_EARLY - {Context.STARTUP}):
        j.add("dynamic-exec", Severity.MEDIUM, fact, f"{fact.detail} at install time")
    for fact in f.get(Cap.EXEC, frozenset({Context.IMPORT})):
        j.add("dynamic-exec", Severity.LOW, fact, f"{fact.detail} at import time")
