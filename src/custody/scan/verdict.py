"""Rules that weigh facts by where code runs and what co-occurs, then the package verdict.

The principle: a capability alone says little (every HTTP client opens sockets, every CLI starts
processes); the same capability in code that runs unasked (start-up, install, import), next to
another that completes an attack chain (secret read + send, decode + exec, download + run), is
what malware looks like.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from custody.artifacts import Artifact, ArtifactKind, IssueKind, LimitKind
from custody.scan.chain_rules import match_flows, project_urls
from custody.scan.collect import Collected
from custody.scan.facts import Cap, Fact, Trait
from custody.scan.indent_context import IndentContext
from custody.scan.model import Basis, Context, Finding, Severity, Verdict
from custody.scan.roles import ExecutableFormat

_EXECUTABLE_HINT = re.compile(r"\.(exe|scr|bat|cmd|vbs|ps1|pyw|jar|msi)\b|\bstart(file)?\b", re.IGNORECASE)
# a program started from a memory file: fexecve, or exec*/Popen/run given a /proc/self/fd path
_RUNS_MEMFD = re.compile(
    rb"fexecve|(exec\w*|Popen|run|call|system|spawn\w*)\(\s*\[?\s*f?['\"]/proc/(self|\{[^}]*\})/fd"
)
RUN_EARLY = frozenset({Context.STARTUP, Context.INSTALL})
UNASKED = frozenset({Context.STARTUP, Context.INSTALL, Context.IMPORT})
LIVE = frozenset({Context.STARTUP, Context.INSTALL, Context.IMPORT, Context.CALL})
SENDS = frozenset({Cap.NETWORK, Cap.EXFIL_SINK, Cap.DNS_EXFIL, Cap.DOWNLOAD_TOOL})
SECRETS = frozenset({Cap.SECRET, Cap.ENV_DUMP, Cap.CLOUD_METADATA})
# Writes into an auto-start place that only an implant makes: a fetch command, a download or
# decoded text appended to a login script (rc files also hold PATH exports, so a plain write is not).
IMPLANTING = frozenset({Trait.AUTOSTART_COMMAND, Trait.AUTOSTART_DOWNLOAD, Trait.AUTOSTART_HIDDEN_TEXT})
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
MAX_PER_RULE_FILE = 3
WEIGHTS = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 4.0,
    Severity.MEDIUM: 1.5,
    Severity.LOW: 0.3,
    Severity.INFO: 0.0,
}


class _Facts:
    def __init__(self, facts: Iterable[Fact]) -> None:
        self.by_cap: dict[Cap, list[Fact]] = defaultdict(list)
        for fact in facts:
            self.by_cap[fact.cap].append(fact)

    def get(self, caps: Cap | Iterable[Cap], contexts: frozenset[Context] = LIVE) -> list[Fact]:
        wanted = (caps,) if isinstance(caps, Cap) else tuple(caps)
        return [f for cap in wanted for f in self.by_cap.get(cap, ()) if f.context in contexts]

    def files(self, caps: Cap | Iterable[Cap], contexts: frozenset[Context] = LIVE) -> set[str]:
        return {f.file for f in self.get(caps, contexts)}


class _Judge:
    def __init__(self, artifact: Artifact, collected: Collected) -> None:
        self.artifact = artifact
        self.collected = collected
        self.facts = _Facts(collected.facts)
        self.findings: list[Finding] = []
        self._count: dict[tuple[str, str], int] = defaultdict(int)
        self._seen: set[tuple[str, str, int | None, str]] = set()

    def add(
        self,
        rule: str,
        severity: Severity,
        fact: Fact | None,
        reason: str,
        *,
        file: str = "",
        line: int | None = None,
        snippet: str = "",
        context: Context | None = None,
        limit: LimitKind | None = None,
    ) -> None:
        if fact is not None:
            file, line = fact.file, fact.line
            info = self.collected.files.get(fact.file)
            snippet = info.line_text(fact.line) if info else snippet
        if (rule, file, line, reason) in self._seen:
            return
        self._seen.add((rule, file, line, reason))
        key = (rule, file)
        self._count[key] += 1
        if self._count[key] > MAX_PER_RULE_FILE:
            return
        if len(snippet) > 200:
            snippet = snippet[:197] + "..."
        self.findings.append(
            Finding(
                rule=rule,
                severity=severity,
                file=file,
                line=line,
                snippet=snippet,
                reason=reason,
                context=fact.context if fact else context,
                limit=limit,
            )
        )

    def same_file(
        self, a: Iterable[Cap] | Cap, b: Iterable[Cap] | Cap, contexts: frozenset[Context]
    ) -> set[str]:
        return self.facts.files(a, contexts) & self.facts.files(b, contexts)

    # ------------------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        self._flows()
        self._startup()
        self._exec()
        self._secrets()
        self._beacon()
        self._process_and_network()
        self._shells_miners_persistence()
        self._recipient_swaps()
        self._sinks()
        self._obfuscation()
        self._binaries()
        self._carriers()
        self._archive()
        self._user_rules()
        return self.findings

    def _flows(self) -> None:
        urls = project_urls(self.artifact)
        for match in match_flows(self.collected.flows, self.artifact.name, urls):
            flow = match.fact.flow
            self.add(
                match.rule.id,
                match.severity,
                None,
                f"{flow.detail}: {match.rule.description} ({match.fact.context.value})",
                file=match.fact.file,
                line=flow.line,
                snippet=self._snippet(match.fact.file, flow.line),
                context=match.fact.context,
            )

    def _snippet(self, file: str, line: int | None) -> str:
        info = self.collected.files.get(file)
        return info.line_text(line) if info else ""

    def _startup(self) -> None:
        f = self.facts
        for fact in f.get(Cap.STARTUP_CODE, frozenset({Context.STARTUP})):
            self.add(
                "startup-hook",
                Severity.MEDIUM,
                fact,
                f"{fact.detail}: runs at every Python start, no import needed",
            )
        for fact in f.get(DANGEROUS_AT_STARTUP, frozenset({Context.STARTUP})):
            self.add(
                "startup-hook-dangerous",
                Severity.CRITICAL,
                fact,
                f"start-up code {fact.detail} ({fact.cap.value}) at every interpreter start",
            )
        for fact in f.get(Cap.EXEC, frozenset({Context.STARTUP})):
            self.add("startup-hook-dangerous", Severity.HIGH, fact, f"start-up code runs {fact.detail}")

    def _exec(self) -> None:
        f = self.facts
        for fact in f.get(Cap.DECODE_EXEC, UNASKED):
            self.add(
                "decode-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} in code that runs at {fact.context.value} time",
            )
        for fact in f.get(Cap.FILELESS, LIVE):
            # memfd also holds certificates and keys off disk; only running it (through
            # /proc/self/fd or fexecve) makes it a loader.
            info = self.collected.files.get(fact.file)
            if info is None or not _RUNS_MEMFD.search(info.data):
                continue
            self.add(
                "download-exec",
                Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
                fact,
                f"{fact.detail} ({fact.context.value})",
            )
        for fact in f.get(Cap.WHITESPACE_HIDDEN, LIVE):
            self.add(
                "obfuscation",
                Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
                fact,
                f"{fact.detail} ({fact.context.value})",
            )
        for fact in f.get(Cap.RAW_UPLOAD, LIVE):
            self.add(
                "exfil-sink",
                Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH,
                fact,
                f"{fact.detail} ({fact.context.value})",
            )
        for fact in f.get(Cap.CHAT_CREDENTIAL, LIVE):
            # A library has no business owning a chat channel: whatever it posts there, its author reads.
            self.add(
                "exfil-sink",
                Severity.CRITICAL if fact.context in RUN_EARLY else Severity.HIGH,
                fact,
                f"{fact.detail} ({fact.context.value})",
            )
        requesting = f.files((Cap.NETWORK, Cap.HIDDEN_ENDPOINT), LIVE)
        for fact in f.get(Cap.ENCODED_URL, LIVE):
            # An address kept in base64 by a module that makes requests: hidden from review, used.
            if fact.file in requesting:
                self.add(
                    "exfil-sink",
                    Severity.HIGH,
                    fact,
                    f"{fact.detail}, in a module that makes web requests ({fact.context.value})",
                )
            else:
                self.add("obfuscation", Severity.MEDIUM, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get(Cap.HIDDEN_ENDPOINT, LIVE):
            # Nobody base64-encodes their own API's address except to keep it from reviewers.
            self.add(
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
                self.add(
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
                self.add(
                    "decode-exec",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} that downloads and runs code or opens a shell (when called)",
                )
            elif decoded_command:
                self.add("decode-exec", Severity.MEDIUM, fact, f"{fact.detail} (only when called)")
            else:
                # Both analysers only report this for an encoded literal: a payload hidden from review.
                self.add(
                    "decode-exec", Severity.CRITICAL, fact, f"{fact.detail}: hidden payload (when called)"
                )
        for fact in f.get(Cap.NETWORK_EXEC, UNASKED):
            self.add(
                "download-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail} in code that runs at {fact.context.value} time",
            )
        for fact in f.get(Cap.NETWORK_EXEC, frozenset({Context.CALL})):
            # Executing code fetched at run time has no benign library use: it is a remote loader.
            self.add("download-exec", Severity.CRITICAL, fact, f"{fact.detail} (when called)")
        for fact in f.get(Cap.EXEC, RUN_EARLY - {Context.STARTUP}):
            self.add("dynamic-exec", Severity.MEDIUM, fact, f"{fact.detail} at install time")
        for fact in f.get(Cap.EXEC, frozenset({Context.IMPORT})):
            self.add("dynamic-exec", Severity.LOW, fact, f"{fact.detail} at import time")

    def _secrets(self) -> None:
        f = self.facts
        early_sends = f.get(SENDS, RUN_EARLY) + [
            p for p in f.get(Cap.PROCESS, RUN_EARLY) if f.files(Cap.DOWNLOAD_TOOL, RUN_EARLY)
        ]
        early_secrets = f.get(SECRETS, RUN_EARLY)
        if early_secrets and early_sends:
            for fact in early_secrets:
                self.add(
                    "secret-exfiltration",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} at {fact.context.value} time, and the package sends data out "
                    f"({early_sends[0].detail}, {early_sends[0].file}:{early_sends[0].line})",
                )
        # Cloud SDKs legitimately talk to the metadata endpoint from library code: at import time only
        # credential files and environment dumps count.
        import_secrets = (Cap.SECRET, Cap.ENV_DUMP)
        import_files = self.facts.files(import_secrets, frozenset({Context.IMPORT})) & self.facts.files(
            SENDS, frozenset({Context.IMPORT})
        )
        for fact in f.get(import_secrets, frozenset({Context.IMPORT})):
            if fact.file in import_files:
                self.add(
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
                self.add(
                    "stealer",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail}, and the same module sends to an exfiltration endpoint",
                )
            elif fact.context in UNASKED and fact.file in acting:
                self.add("secret-access", Severity.MEDIUM, fact, f"{fact.detail} in code that runs unasked")
            elif fact.context in UNASKED:
                # Names in a module that neither sends nor starts anything: a table of words (a
                # scanner's own rules, a path list), nothing that could carry the secret away.
                self.add("secret-access", Severity.LOW, fact, f"{fact.detail} (a module that sends nothing)")
            else:
                self.add("secret-access", Severity.LOW, fact, f"{fact.detail} (only when called)")
        for fact in f.get(SECRETS, RUN_EARLY):
            if fact.trait is not Trait.STEALER_TARGET:
                self.add(
                    "secret-access", Severity.MEDIUM, fact, f"{fact.detail} at {fact.context.value} time"
                )

    def _beacon(self) -> None:
        f = self.facts
        recon = f.get(Cap.RECON, RUN_EARLY)
        sends = f.get(SENDS, RUN_EARLY)
        if recon and sends:
            for fact in recon:
                self.add(
                    "install-beacon",
                    Severity.CRITICAL,
                    fact,
                    f"reads {fact.detail} at {fact.context.value} time and sends data out "
                    f"({sends[0].detail}, {sends[0].file}:{sends[0].line})",
                )
        for fact in f.get(Cap.BEACON, UNASKED):
            self.add("install-beacon", Severity.CRITICAL, fact, f"{fact.detail} at {fact.context.value} time")
        catcher_files = f.files((Cap.EXFIL_SINK, Cap.DNS_EXFIL))
        for fact in f.get(Cap.BEACON, frozenset({Context.CALL})):
            # A library may report its host to its own service; sending it to a request catcher or
            # out-of-band DNS collector is how dependency-confusion probes report back.
            if fact.file in catcher_files:
                self.add(
                    "install-beacon",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} to a request catcher (when called)",
                )
        strong_sinks = {Cap.EXFIL_SINK, Cap.DNS_EXFIL, Cap.RAW_IP_URL}
        strong = self.same_file(Cap.RECON, strong_sinks, frozenset({Context.IMPORT}))
        files = self.same_file(Cap.RECON, SENDS, frozenset({Context.IMPORT}))
        for fact in f.get(Cap.RECON, frozenset({Context.IMPORT})):
            if fact.file in strong:
                self.add(
                    "install-beacon",
                    Severity.CRITICAL,
                    fact,
                    f"reads {fact.detail} at import time and names an exfiltration endpoint",
                )
            elif fact.file in files:
                self.add(
                    "install-beacon",
                    Severity.MEDIUM,
                    fact,
                    f"reads {fact.detail} at import time next to a network send",
                )
        for fact in f.get(Cap.HOOK_NETWORK, frozenset({Context.INSTALL})):
            self.add(
                "install-beacon",
                Severity.CRITICAL,
                fact,
                f"{fact.detail}: pip install itself phones home (dependency-confusion beacon)",
            )
        for fact in f.get(Cap.DNS_EXFIL, UNASKED):
            self.add("install-beacon", Severity.HIGH, fact, f"{fact.detail} (DNS tunnelling)")

    def _process_and_network(self) -> None:
        f = self.facts
        markers = (Cap.DOWNLOAD_TOOL, Cap.HIDDEN_SHELL, Cap.RAW_IP_URL, Cap.EXFIL_SINK)
        for fact in f.get(Cap.PROCESS, UNASKED):
            partners = [m for m in f.get(markers, UNASKED) if m.file == fact.file]
            if partners:
                self.add(
                    "install-process",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} at {fact.context.value} time with {partners[0].detail}",
                )
            elif fact.context is Context.INSTALL:
                self.add("install-process", Severity.LOW, fact, f"{fact.detail} at install time")
        net_install = f.get(Cap.NETWORK, frozenset({Context.INSTALL}))
        run_files = f.files((Cap.PROCESS, Cap.WRITE_EXEC), frozenset({Context.INSTALL}))
        raw_files = f.files((Cap.RAW_IP_URL, Cap.EXFIL_SINK), RUN_EARLY)
        for fact in net_install:
            if fact.file in run_files and fact.file in raw_files:
                self.add(
                    "download-exec",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} to a raw IP or drop site at install time, then runs a process",
                )
            elif fact.file in run_files:
                self.add(
                    "install-network",
                    Severity.MEDIUM,
                    fact,
                    f"{fact.detail} at install time next to process execution",
                )
            else:
                self.add("install-network", Severity.MEDIUM, fact, f"{fact.detail} at install time")
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
                self.add(
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
                    if not downloaded or any(self._same_function(fact, run) for run in runs)
                    else Severity.MEDIUM  # saved in one place, something else run in another
                )
                self.add("download-exec", severity, fact, f"{fact.detail} and runs it (when called)")
            elif fact.context in RUN_EARLY and any(
                _EXECUTABLE_HINT.search(self.collected.files[p.file].line_text(p.line))
                for p in f.get(Cap.PROCESS, RUN_EARLY)
                if p.file == fact.file and p.file in self.collected.files
            ):
                self.add(
                    "download-exec",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} at {fact.context.value} time, then starts an executable",
                )
            elif fact.file in exe_files and fact.file in process_files:
                # Saving a download named like a Windows program next to code that starts programs.
                severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
                self.add(
                    "download-exec",
                    severity,
                    fact,
                    f"{fact.detail}: a Windows executable, in a module that starts programs "
                    f"({fact.context.value})",
                )
            elif fact.file in exe_files and fact.context in UNASKED:
                self.add(
                    "download-exec",
                    Severity.HIGH,
                    fact,
                    f"{fact.detail}: a Windows executable, at {fact.context.value} time",
                )
            elif fact.context in RUN_EARLY:
                self.add(
                    "install-network", Severity.MEDIUM, fact, f"{fact.detail} at {fact.context.value} time"
                )
        for fact in f.get(Cap.RUN_WRITTEN, frozenset({Context.STARTUP, Context.IMPORT})):
            if fact.file in drop_files:
                continue
            # At import, only a clear program launch counts (`startfile(...\\x.pyw)`): build helpers
            # imported by mistake also "run what they wrote" (`git add` on a generated folder).
            if fact.context is Context.STARTUP or self._launches_program(fact):
                self.add(
                    "download-exec",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail} at {fact.context.value} time: a dropper, not a library",
                )
        for fact in f.get(Cap.RUN_WRITTEN, frozenset({Context.INSTALL, Context.IMPORT})):
            if fact.file not in drop_files:
                self.add(
                    "install-process", Severity.MEDIUM, fact, f"{fact.detail} at {fact.context.value} time"
                )
        for fact in f.get(Cap.DETACHED, frozenset({Context.STARTUP, Context.IMPORT})):
            # A library may start helpers when called; one that leaves a detached process behind
            # the moment it is imported (or at every start) is planting something that stays.
            self.add(
                "detached-process",
                Severity.HIGH,
                fact,
                f"{fact.detail} at {fact.context.value} time: it keeps running after the import",
            )
        for fact in f.get(Cap.PIP_INSTALL, UNASKED):
            # Importing a module should never install anything, least of all from outside the index.
            direct = fact.trait is Trait.DIRECT_URL and fact.context in (Context.IMPORT, Context.STARTUP)
            self.add(
                "pip-install-runtime",
                Severity.CRITICAL if direct else Severity.HIGH,
                fact,
                f"{fact.detail} at {fact.context.value} time",
            )
        for fact in f.get(Cap.HIDDEN_SHELL, UNASKED):
            self.add("hidden-shell", Severity.HIGH, fact, f"{fact.detail} at {fact.context.value} time")
        for fact in f.get(Cap.HIDDEN_SHELL, frozenset({Context.CALL})):
            self.add("hidden-shell", Severity.MEDIUM, fact, fact.detail)

    def _recipient_swaps(self) -> None:
        # The caller chose where the money goes and the code sends it elsewhere: theft whenever it
        # runs; in tests it is a fixture.
        for fact in self.facts.get(Cap.RECIPIENT_SWAP):
            severity = Severity.CRITICAL if fact.context in LIVE else Severity.LOW
            self.add("recipient-swap", severity, fact, f"{fact.detail} ({fact.context.value})")

    def _shells_miners_persistence(self) -> None:
        f = self.facts
        sockets = defaultdict(list)
        for fact in f.get(Cap.NETWORK):
            sockets[fact.file].append(fact.line or 0)
        for fact in f.get(Cap.REVERSE_SHELL):
            is_dup2 = fact.trait is Trait.STREAM_REDIRECT
            if is_dup2 and not any(abs((fact.line or 0) - ln) <= 20 for ln in sockets.get(fact.file, ())):
                continue
            severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
            self.add("reverse-shell", severity, fact, fact.detail)
        for fact in f.get(Cap.SABOTAGE, LIVE):
            severity = Severity.CRITICAL if fact.context in UNASKED else Severity.MEDIUM
            self.add("sabotage", severity, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get(Cap.MINER):
            severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
            self.add("cryptominer", severity, fact, fact.detail)
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
            self.add("persistence", severity, fact, f"{fact.detail} ({fact.context.value})")
        exfil_files = f.files(Cap.EXFIL_SINK)
        net_files = f.files(Cap.NETWORK)
        for fact in f.get(Cap.KEYLOGGER):
            if fact.file in exfil_files:
                self.add(
                    "spyware", Severity.CRITICAL, fact, f"{fact.detail}, sent to an exfiltration endpoint"
                )
            elif fact.file in net_files and fact.context in UNASKED:
                self.add("spyware", Severity.HIGH, fact, f"{fact.detail} next to a network send, unasked")
            else:
                severity = Severity.MEDIUM if fact.context in UNASKED else Severity.LOW
                self.add("spyware", severity, fact, fact.detail)
        # Deleting its own source after running a shipped native library, a process, a request or
        # dynamic code: the payload ran and the evidence is gone.
        acted = f.files((Cap.NATIVE_LOAD, Cap.PROCESS, Cap.NETWORK, Cap.EXEC, Cap.DECODE_EXEC), UNASKED)
        for fact in f.get(Cap.ANTI_ANALYSIS):
            if fact.trait is Trait.SELF_DELETE and fact.context in UNASKED and fact.file in acted:
                self.add("anti-analysis", Severity.CRITICAL, fact, f"{fact.detail} after acting, unasked")
                continue
            severity = Severity.HIGH if fact.context in UNASKED else Severity.MEDIUM
            self.add("anti-analysis", severity, fact, fact.detail)

    def _same_function(self, first: Fact, second: Fact) -> bool:
        """Both facts sit in the same function body (by indentation): one chain, not neighbours."""
        info = self.collected.files.get(first.file)
        if info is None or first.file != second.file or first.line is None or second.line is None:
            return False
        estimate = IndentContext(info.data, Context.CALL)
        names = estimate.enclosing(first.line)[1]
        return bool(names) and names[:1] == estimate.enclosing(second.line)[1][:1]

    def _launches_program(self, fact: Fact) -> bool:
        info = self.collected.files.get(fact.file)
        return info is not None and _EXECUTABLE_HINT.search(info.line_text(fact.line)) is not None

    def _sinks(self) -> None:
        f = self.facts
        early_net = f.files(Cap.NETWORK, RUN_EARLY)
        for fact in f.get(Cap.EXFIL_SINK, RUN_EARLY):
            if fact.file in early_net:
                self.add(
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
            self.add("exfil-sink", severity, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get(Cap.RAW_IP_URL):
            severity = {
                Context.STARTUP: Severity.HIGH,
                Context.INSTALL: Severity.HIGH,
                Context.IMPORT: Severity.MEDIUM,
            }.get(fact.context, Severity.LOW)
            self.add("raw-ip-url", severity, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get(Cap.DOWNLOAD_TOOL, RUN_EARLY):
            self.add("install-process", Severity.HIGH, fact, f"{fact.detail} at {fact.context.value} time")

    def _obfuscation(self) -> None:
        f = self.facts
        runs = f.files((Cap.EXEC, Cap.DECODE_EXEC), UNASKED)
        for fact in f.get((Cap.OBFUSCATOR, Cap.BLOB, Cap.HUGE_LINE), UNASKED):
            if fact.file in runs:
                self.add(
                    "obfuscated-exec",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail}, executed by code that runs at {fact.context.value} time",
                )
        active = f.files(
            (Cap.EXEC, Cap.DECODE_EXEC, Cap.PIP_INSTALL, Cap.PROCESS, Cap.NETWORK, Cap.WRITE_EXEC), UNASKED
        )
        for fact in f.get(Cap.DYNAMIC_BUILTIN, UNASKED):
            if fact.file in active:
                self.add(
                    "obfuscated-exec",
                    Severity.CRITICAL,
                    fact,
                    f"{fact.detail}, in a module that executes code, processes or requests at "
                    f"{fact.context.value} time",
                )
            else:
                self.add("obfuscation", Severity.HIGH, fact, fact.detail)
        for fact in f.get(Cap.DYNAMIC_BUILTIN, frozenset({Context.CALL})):
            self.add("obfuscation", Severity.LOW, fact, fact.detail)
        tricks = f.files(
            (Cap.EXEC, Cap.DECODE, Cap.DECODE_EXEC, Cap.DYNAMIC_BUILTIN, Cap.BLOB, Cap.HUGE_LINE), LIVE
        )
        for fact in f.get(Cap.OBFUSCATOR):
            # Obfuscators sold for hiding stealers (BlankOBF, Hyperion...) plus the dynamic code they
            # generate, in code that runs: that is the payload's wrapper, not a licence check.
            marker = fact.trait is Trait.OBFUSCATOR_MARKER
            if marker and fact.context in UNASKED and fact.file in tricks:
                self.add("obfuscated-exec", Severity.CRITICAL, fact, f"{fact.detail} wrapping dynamic code")
            elif fact.prose and fact.file not in tricks:
                # A comment naming an obfuscator over plain code (a scanner's notes, docs): the
                # file is not obfuscated, so the words alone decide nothing.
                self.add("obfuscation", Severity.LOW, fact, f"{fact.detail}, in a comment over plain code")
            else:
                self.add("obfuscation", Severity.HIGH, fact, fact.detail)
        for fact in f.get(Cap.INVISIBLE_CHAR):
            severity = Severity.MEDIUM if fact.trait is Trait.BIDI else Severity.LOW
            self.add("obfuscation", severity, fact, fact.detail)
        for fact in f.get((Cap.BLOB, Cap.HUGE_LINE, Cap.ODD_IDENTIFIER, Cap.OPAQUE_LOOP)):
            # Look-alike letters that Python folds back to ASCII serve only to defeat search and review.
            folded = fact.trait is Trait.LOOK_ALIKE
            self.add("obfuscation", Severity.HIGH if folded else Severity.LOW, fact, fact.detail)

    def _binaries(self) -> None:
        kind = self.artifact.kind
        pure_wheel = kind is ArtifactKind.WHEEL and self.artifact.source.endswith("-none-any.whl")
        if kind not in (ArtifactKind.SDIST, ArtifactKind.SOURCE, ArtifactKind.EGG) and not pure_wheel:
            return
        launched = " ".join(
            self.collected.files[p.file].line_text(p.line)
            for p in self.facts.get(Cap.PROCESS, RUN_EARLY)
            if p.file in self.collected.files
        )
        for path, binary in self.collected.executables:
            label = binary.value
            name = path.rsplit("/", 1)[-1]
            if name and name in launched:
                self.add(
                    "embedded-executable",
                    Severity.HIGH,
                    None,
                    f"{label} inside a {kind.value}, launched at install time",
                    file=path,
                )
            elif "!/" in path:
                self.add(
                    "embedded-executable", Severity.LOW, None, f"{label} inside a nested archive", file=path
                )
            else:
                severity = Severity.MEDIUM if binary is ExecutableFormat.PE else Severity.LOW
                self.add("embedded-executable", severity, None, f"{label} inside a {kind.value}", file=path)

    def _carriers(self) -> None:
        """Payloads in files that code loads (custody.scan.carriers). A booby-trapped pickle or
        YAML file attacks whoever loads it, so it counts wherever it sits, tests and docs aside."""
        f = self.facts
        dev = frozenset({Context.DEV})
        for fact in f.get(Cap.SERIALIZED_EXEC, LIVE):
            self.add("serialized-exec", Severity.CRITICAL, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get(Cap.SERIALIZED_CALL, LIVE):
            self.add("serialized-exec", Severity.HIGH, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get((Cap.SERIALIZED_EXEC, Cap.SERIALIZED_CALL), dev):
            severity = Severity.MEDIUM if fact.cap is Cap.SERIALIZED_EXEC else Severity.LOW
            self.add("serialized-exec", severity, fact, f"{fact.detail} (test or docs data)")
        kind = self.artifact.kind
        # Sdists and pure wheels are source by definition: bytecode in place of a module is hiding it.
        source_only = kind is ArtifactKind.SDIST or (
            kind is ArtifactKind.WHEEL and self.artifact.source.endswith("-none-any.whl")
        )
        for fact in f.get(Cap.SOURCELESS_BYTECODE, frozenset(Context)):
            if fact.context is Context.DEV:
                severity = Severity.LOW
            elif fact.context in UNASKED and source_only:
                severity = Severity.HIGH
            else:
                severity = Severity.MEDIUM
            self.add("sourceless-bytecode", severity, fact, f"{fact.detail} ({fact.context.value})")
        for fact in f.get((Cap.DISGUISED_BINARY, Cap.FAKE_BYTECODE), LIVE):
            self.add("disguised-file", Severity.MEDIUM, fact, fact.detail)
        for fact in f.get((Cap.DISGUISED_BINARY, Cap.FAKE_BYTECODE), frozenset({Context.DEV})):
            self.add("disguised-file", Severity.LOW, fact, fact.detail)
        for fact in f.get(Cap.DISGUISED_ARCHIVE, frozenset(Context)):
            # Compressed data under a data name is common enough; it only matters once loaded.
            self.add("disguised-file", Severity.INFO, fact, fact.detail)
        for fact in f.get(Cap.DISGUISED_LOAD, LIVE):
            severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
            self.add("disguised-file", severity, fact, f"{fact.detail} ({fact.context.value})")

    def _archive(self) -> None:
        mapping = {
            IssueKind.PATH_TRAVERSAL: ("archive-unsafe-path", Severity.HIGH),
            IssueKind.ABSOLUTE_PATH: ("archive-unsafe-path", Severity.HIGH),
            IssueKind.SYMLINK: ("archive-link", Severity.MEDIUM),
            IssueKind.HARDLINK: ("archive-link", Severity.MEDIUM),
            IssueKind.SPECIAL_FILE: ("archive-special-file", Severity.HIGH),
            # Installing unpacks every member of the artifact: a bomb there is a denial of service
            # against the installing host, which no benign package of the benchmark comes near.
            IssueKind.COMPRESSION_BOMB: ("archive-bomb", Severity.CRITICAL),
            IssueKind.TOO_MANY_MEMBERS: ("archive-limit", Severity.MEDIUM),
            IssueKind.TOO_LARGE: ("archive-limit", Severity.MEDIUM),
            IssueKind.NESTING_TOO_DEEP: ("archive-limit", Severity.LOW),
            IssueKind.MEMBER_TRUNCATED: ("archive-unreadable", Severity.INFO),
            IssueKind.UNDECODABLE_NAME: ("archive-unreadable", Severity.LOW),
            IssueKind.OUTSIDE_ROOT: ("archive-unsafe-path", Severity.MEDIUM),
            IssueKind.NESTED_ARCHIVE_ERROR: ("archive-unreadable", Severity.LOW),
            IssueKind.AMBIGUOUS_MEMBER: ("archive-confusion", Severity.HIGH),
        }
        for issue in self.artifact.issues:
            rule, severity = mapping[issue.kind]
            if "!/" in issue.path and severity.rank > Severity.LOW.rank:
                # Inside a nested archive (test fixtures, vendored wheels): installers never unpack it.
                severity = Severity.LOW
            reason = f"{issue.kind.value}: {issue.detail}"
            if issue.kind is IssueKind.COMPRESSION_BOMB and severity is Severity.CRITICAL:
                reason += " (installing unpacks it: denial of service)"
            self.add(rule, severity, None, reason, file=issue.path, limit=issue.limit)

    def _user_rules(self) -> None:
        for path, hit, line in self.collected.user_hits:
            try:
                severity = Severity(hit.severity.lower())
            except ValueError:
                severity = Severity.HIGH
            info = self.collected.files.get(path)
            self.add(
                "user-rule",
                severity,
                None,
                f"{hit.rule}: {hit.detail}",
                file=path,
                line=line,
                snippet=info.line_text(line) if info else "",
            )
        for fact in self.facts.get(Cap.CMDCLASS, frozenset({Context.INSTALL})):
            self.add("setup-cmdclass", Severity.INFO, fact, fact.detail)


def judge(artifact: Artifact, collected: Collected, extra: Iterable[Finding] = ()) -> list[Finding]:
    findings = _Judge(artifact, collected).run() + list(extra)
    findings.sort(key=lambda x: (-x.severity.rank, x.file, x.line or 0))
    return findings


METADATA_RULES = frozenset({"typosquat", "placeholder-version"})
# Behaviours that, in a package whose name imitates a popular one, complete the picture of an attack.
BAIT_PARTNERS = frozenset(
    {
        "raw-ip-url",
        "exfil-sink",
        "secret-access",
        "install-process",
        "install-network",
        "download-exec",
        "decode-exec",
        "obfuscation",
        "obfuscated-exec",
        "dynamic-exec",
        "pip-install-runtime",
        "hidden-shell",
        "persistence",
        "install-beacon",
        "serialized-exec",
        "sourceless-bytecode",
        "disguised-file",
    }
)


def decide(findings: list[Finding]) -> tuple[Verdict, float, str]:
    """Verdict, score (0-10) and a one-line explanation."""
    by_rule: dict[str, Severity] = {}
    for finding in findings:
        if finding.rule not in by_rule or finding.severity.rank > by_rule[finding.rule].rank:
            by_rule[finding.rule] = finding.severity
    score = float(min(10.0, sum(WEIGHTS[s] for s in by_rule.values())))
    critical = [r for r, s in by_rule.items() if s is Severity.CRITICAL]
    high = [r for r, s in by_rule.items() if s is Severity.HIGH]
    medium = [r for r, s in by_rule.items() if s is Severity.MEDIUM]
    # Metadata signals (a declaration, not a behaviour) never make a package malicious on their own
    # or together: only next to what its code does. A high one is bait like a squatted name.
    # A code finding on the very line a signal was read from (an IP address in setup.py's
    # install_requires) is the same evidence twice, not corroboration.
    declared = {f.rule for f in findings if f.basis is Basis.METADATA}
    sites = {(f.file, f.line) for f in findings if f.basis is Basis.METADATA and f.line is not None}
    high_signals = [r for r in high if r in declared]
    code_high = sorted(
        {
            f.rule
            for f in findings
            if f.severity is Severity.HIGH
            and f.rule in high
            and f.rule not in declared
            and (f.file, f.line) not in sites
        }
    )
    name_bait = sorted({r for r in METADATA_RULES if r in by_rule} | set(high_signals))
    if critical:
        return Verdict.MALICIOUS, score, "malicious: " + ", ".join(sorted(critical))
    if name_bait and code_high:
        return Verdict.MALICIOUS, max(score, 8.0), "malicious: " + ", ".join(sorted(name_bait + code_high))
    partners = [r for r, s in by_rule.items() if r in BAIT_PARTNERS and s.rank >= Severity.LOW.rank]
    if "typosquat" in by_rule and partners:
        return Verdict.MALICIOUS, max(score, 8.0), "malicious: typosquat with " + ", ".join(sorted(partners))
    if len(code_high) >= 3:
        return Verdict.MALICIOUS, score, "malicious: " + ", ".join(sorted(high))
    if high or len(medium) >= 3:
        return Verdict.SUSPICIOUS, score, "suspicious: " + ", ".join(sorted(high + medium))
    return Verdict.CLEAN, score, "no malicious behaviour found"
