"""Processes and downloads: programs started unasked, droppers that save and run, detached
processes, installs at run time, hidden shells."""

from __future__ import annotations

import re

from custody.scan.facts import Cap, Fact, Trait
from custody.scan.indent_context import IndentContext
from custody.scan.judging.base import LIVE, RUN_EARLY, UNASKED, Judgement
from custody.scan.model import Context, Severity

_EXECUTABLE_HINT = re.compile(r"\.(exe|scr|bat|cmd|vbs|ps1|pyw|jar|msi)\b|\bstart(file)?\b", re.IGNORECASE)


def judge_processes(j: Judgement) -> None:
    """Processes started by code that runs unasked: hidden shells, download-and-run commands, detached
    background processes, pip installs at run time, and processes or network use at install."""
    f = j.facts
    markers = (Cap.DOWNLOAD_TOOL, Cap.HIDDEN_SHELL, Cap.RAW_IP_URL, Cap.EXFIL_SINK)
    for fact in f.get(Cap.PROCESS, UNASKED):
        partners = [m for m in f.get(markers, UNASKED) if m.file == fact.file]
        if partners:
            j.add(
                "install-process",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} at {fact.context.value} time with {partners[0].detail}",
            )
        elif fact.context is Context.INSTALL:
            j.add("install-process", Severity.LOW, fact, f"{fact.detail} at install time")
    net_install = f.get(Cap.NETWORK, frozenset({Context.INSTALL}))
    run_files = f.files((Cap.PROCESS, Cap.WRITE_EXEC), frozenset({Context.INSTALL}))
    raw_files = f.files((Cap.RAW_IP_URL, Cap.EXFIL_SINK), RUN_EARLY)
    for fact in net_install:
        if fact.file in run_files and fact.file in raw_files:
            j.add(
                "download-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} to a raw IP or drop site at install time, then runs a process",
            )
        elif fact.file in run_files:
            j.add(
                "install-network",
                Severity.MEDIUM,
                fact,
                f"{fact.detail} at install time next to process execution",
            )
        else:
            j.add("install-network", Severity.MEDIUM, fact, f"{fact.detail} at install time")
    drops = (Cap.DROP, Cap.DROP_DECODED)
    drop_files = f.files(drops)
    exe_files = f.files(Cap.EXE_URL)
    shady_hosts = f.files((Cap.RAW_IP_URL, Cap.EXFIL_SINK))
    process_files = f.files(Cap.PROCESS, LIVE)
    for fact in f.get(drops):
        downloaded = fact.cap is Cap.DROP
        runs = [r for r in f.get(Cap.RUN_WRITTEN, LIVE) if r.file == fact.file]
        if not runs and fact.context in (Context.IMPORT, Context.STARTUP):
            # Build scripts run commands held in variables all the time; importing a module should not.
            runs = [r for r in f.get(Cap.RUN_VARIABLE, UNASKED) if r.file == fact.file]
        if runs and fact.context in UNASKED:
            j.add(
                "download-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} and runs it ({runs[0].detail}) at {fact.context.value} time",
            )
        elif runs:
            # Downloading a program and starting it is what droppers do, but only-when-called
            # code also fetches installers (get-pip.py, toolchains) from their vendors: it takes
            # a Windows program, a raw IP or a file-drop host to make that an attack.
            severity = (
                Severity.CRITICAL
                if downloaded and fact.file in (exe_files | shady_hosts)
                else Severity.HIGH
                if not downloaded or any(_same_function(j, fact, run) for run in runs)
                else Severity.MEDIUM  # saved in one place, something else run in another
            )
            j.add("download-exec", severity, fact, f"{fact.detail} and runs it (when called)")
        elif fact.context in RUN_EARLY and any(
            _EXECUTABLE_HINT.search(j.collected.files[p.file].line_text(p.line))
            for p in f.get(Cap.PROCESS, RUN_EARLY)
            if p.file == fact.file and p.file in j.collected.files
        ):
            j.add(
                "download-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} at {fact.context.value} time, then starts an executable",
            )
        elif fact.file in exe_files and fact.file in process_files:
            # Saving a download named like a Windows program next to code that starts programs.
            severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
            j.add(
                "download-exec",
                severity,
                fact,
                f"{fact.detail}: a Windows executable, in a module that starts programs "
                f"({fact.context.value})",
            )
        elif fact.file in exe_files and fact.context in UNASKED:
            j.add(
                "download-exec",
                Severity.HIGH,
                fact,
                f"{fact.detail}: a Windows executable, at {fact.context.value} time",
            )
        elif fact.context in RUN_EARLY:
            j.add("install-network", Severity.MEDIUM, fact, f"{fact.detail} at {fact.context.value} time")
    for fact in f.get(Cap.RUN_WRITTEN, frozenset({Context.STARTUP, Context.IMPORT})):
        if fact.file in drop_files:
            continue
        # At import, only a clear program launch counts (`startfile(...\\x.pyw)`): build helpers
        # imported by mistake also "run what they wrote" (`git add` on a generated folder).
        if fact.context is Context.STARTUP or _launches_program(j, fact):
            j.add(
                "download-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} at {fact.context.value} time: a dropper, not a library",
            )
    for fact in f.get(Cap.RUN_WRITTEN, frozenset({Context.INSTALL, Context.IMPORT})):
        if fact.file not in drop_files:
            j.add("install-process", Severity.MEDIUM, fact, f"{fact.detail} at {fact.context.value} time")
    for fact in f.get(Cap.DETACHED, frozenset({Context.STARTUP, Context.IMPORT})):
        # A library may start helpers when called; one that leaves a detached process behind
        # the moment it is imported (or at every start) is planting something that stays.
        j.add(
            "detached-process",
            Severity.HIGH,
            fact,
            f"{fact.detail} at {fact.context.value} time: it keeps running after the import",
        )
    for fact in f.get(Cap.PIP_INSTALL, UNASKED):
        # Importing a module should never install anything, least of all from outside the index.
        direct = fact.trait is Trait.DIRECT_URL and fact.context in (Context.IMPORT, Context.STARTUP)
        j.add(
            "pip-install-runtime",
            Severity.CRITICAL if direct else Severity.HIGH,
            fact,
            f"{fact.detail} at {fact.context.value} time",
        )
    for fact in f.get(Cap.HIDDEN_SHELL, UNASKED):
        # A script hidden in base64 and handed to PowerShell when nobody asked is a dropper's
        # launch, not a build step: no installer needs to hide what it runs.
        severity = Severity.CRITICAL if fact.trait is Trait.ENCODED_COMMAND else Severity.HIGH
        j.add("hidden-shell", severity, fact, f"{fact.detail} at {fact.context.value} time")
    for fact in f.get(Cap.HIDDEN_SHELL, frozenset({Context.CALL})):
        j.add("hidden-shell", Severity.MEDIUM, fact, fact.detail)


def _same_function(j: Judgement, first: Fact, second: Fact) -> bool:
    """Both facts sit in the same function body (by indentation): one chain, not neighbours."""
    info = j.collected.files.get(first.file)
    if info is None or first.file != second.file or first.line is None or second.line is None:
        return False
    estimate = IndentContext(info.data, Context.CALL)
    names = estimate.enclosing(first.line)[1]
    return bool(names) and names[:1] == estimate.enclosing(second.line)[1][:1]


def _launches_program(j: Judgement, fact: Fact) -> bool:
    info = j.collected.files.get(fact.file)
    return info is not None and _EXECUTABLE_HINT.search(info.line_text(fact.line)) is not None
