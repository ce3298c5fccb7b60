"""Every rule id the engine can report, with what it describes. One id, one spelling, one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's stable id, short title and one-paragraph description (what `custody rules` lists)."""

    id: str
    title: str
    description: str


RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        RuleInfo(
            "startup-hook",
            "Start-up hook",
            "Code in a .pth, .site.toml/.start entry point or "
            "sitecustomize runs at every interpreter start, no import needed.",
        ),
        RuleInfo(
            "startup-hook-dangerous",
            "Dangerous start-up hook",
            "A start-up hook starts processes, opens connections or executes decoded code.",
        ),
        RuleInfo(
            "decode-exec",
            "Decode-then-execute",
            "Executes code that was decoded, decompressed, "
            "decrypted or assembled from characters: the payload is hidden from review.",
        ),
        RuleInfo(
            "download-exec", "Download-and-execute", "Executes code or a binary fetched from the network."
        ),
        RuleInfo(
            "recipient-swap",
            "Transfer recipient swapped",
            "A function takes the destination of a payment or transfer from its caller, then sends "
            "to a cryptocurrency address written into the code instead: a drainer in a wallet or "
            "chain client.",
        ),
        RuleInfo(
            "secret-exfiltration",
            "Credential harvesting with a network send",
            "Reads credential stores "
            "or the whole environment and has a way to send data out, in code that runs unasked.",
        ),
        RuleInfo(
            "exfil-flow",
            "Secret sent to a hard-coded host",
            "A value followed through the code from a secret (a key or mnemonic a function is given, a "
            "credential file, the environment, the calling program's source, the host identity) "
            "reaches a network send to a hard-coded host: a throwaway one (bare IP, tunnel, request "
            "catcher, mock API, chat bot, paste site) in any context, another one when unasked.",
        ),
        RuleInfo(
            "remote-control",
            "Chat-controlled shell",
            "A chat bot handler passes the messages it receives to a shell or to exec: whoever "
            "writes in that chat runs commands on the machine.",
        ),
        RuleInfo(
            "stealer",
            "Stealer behaviour",
            "Targets browser, chat or wallet secrets and sends them to an exfiltration sink.",
        ),
        RuleInfo(
            "install-beacon",
            "Install-time beacon",
            "Collects host/user identity and sends it out while "
            "installing or starting (dependency-confusion probe or first-stage recon).",
        ),
        RuleInfo(
            "install-process",
            "Process at install/start-up",
            "Starts a process while installing, at "
            "start-up or import, with a downloader, hidden window or encoded command.",
        ),
        RuleInfo(
            "install-network",
            "Network at install/start-up",
            "Opens a network connection while installing or at start-up.",
        ),
        RuleInfo("reverse-shell", "Reverse shell", "Connects a shell's standard streams to a socket."),
        RuleInfo("sabotage", "Sabotage", "Shuts the machine down or wipes data."),
        RuleInfo("cryptominer", "Cryptominer", "Ships or launches a cryptocurrency miner."),
        RuleInfo("persistence", "Persistence", "Writes to an auto-start location."),
        RuleInfo(
            "exfil-sink", "Exfiltration endpoint", "Names a chat webhook, paste site or request catcher."
        ),
        RuleInfo("raw-ip-url", "Raw IP URL", "Contacts a literal public IP address instead of a host name."),
        RuleInfo(
            "pip-install-runtime",
            "Installs packages at run time",
            "Runs pip to install further packages outside the resolver's view.",
        ),
        RuleInfo(
            "hidden-shell", "Hidden or encoded shell", "PowerShell with a hidden window or encoded command."
        ),
        RuleInfo(
            "secret-access", "Credential store access", "Names credential stores in code that runs unasked."
        ),
        RuleInfo(
            "detached-process",
            "Detached background process",
            "Starts a process detached from its parent (own session or process group, "
            "DETACHED_PROCESS) at import or start-up: it keeps running after the import returns.",
        ),
        RuleInfo(
            "spyware",
            "Keylogging, screen or clipboard capture",
            "Captures keystrokes, the screen or the clipboard.",
        ),
        RuleInfo(
            "anti-analysis",
            "Anti-analysis",
            "Checks for virtual machines or debuggers, or disables defences.",
        ),
        RuleInfo(
            "obfuscation",
            "Obfuscated code",
            "Obfuscator runtimes, high-entropy blobs, huge lines, invisible characters or junk control flow.",
        ),
        RuleInfo(
            "obfuscated-exec",
            "Obfuscated code executed unasked",
            "Obfuscated code plus dynamic execution in code that runs unasked.",
        ),
        RuleInfo(
            "dynamic-exec", "Dynamic code execution", "exec/eval of computed code in code that runs unasked."
        ),
        RuleInfo(
            "embedded-executable",
            "Embedded executable",
            "A PE, ELF or Mach-O binary inside a source distribution or a pure-Python wheel.",
        ),
        RuleInfo(
            "serialized-exec",
            "Pickle or YAML that runs code when loaded",
            "A pickle, model file or YAML document names a callable that runs code, a shell or a "
            "process (critical), or reaches files, the network or attributes by name (high), and "
            "calls it as it is loaded.",
        ),
        RuleInfo(
            "sourceless-bytecode",
            "Bytecode without source",
            "An importable .pyc ships without its .py: the code runs but cannot be reviewed.",
        ),
        RuleInfo(
            "disguised-file",
            "Archive or program named like data",
            "A file named like an image, text or compiled bytecode holds something else (a zip, a "
            "compressed stream, an executable, an opaque blob); critical when package code puts it "
            "on sys.path, loads it as a library or runs it.",
        ),
        RuleInfo(
            "setup-cmdclass",
            "Overridden setup command",
            "setup.py replaces an install/build command; its code runs at install.",
        ),
        RuleInfo("typosquat", "Typosquat", "The name is one edit away from a popular project."),
        RuleInfo(
            "placeholder-version",
            "Placeholder version",
            "A version like 999.x or 1337, used to win dependency-confusion resolution.",
        ),
        RuleInfo(
            "stdlib-dependency",
            "Dependency named after a standard-library module",
            "Declares a dependency such as `subprocess` or `shutil`: what pip fetches under that name is "
            "somebody's squat, never the standard library.",
        ),
        RuleInfo(
            "empty-package",
            "Empty package",
            "No code to import (or only empty `__init__.py` files) and no dependency: a name "
            "reservation or dependency-confusion probe, not a library or a meta package.",
        ),
        RuleInfo(
            "renamed-copy",
            "Renamed copy of a popular project",
            "Ships a popular project's import package and names that project as its home, under "
            "another distribution name.",
        ),
        RuleInfo(
            "malicious-dependency",
            "Dependency on known malware",
            "Requires a package that the local advisory store lists as malware (OSV MAL- record).",
        ),
        RuleInfo(
            "typosquat-dependency",
            "Dependency on a typosquat",
            "Requires a package whose name is one edit away from a popular project's.",
        ),
        RuleInfo(
            "mcp-tool-injection",
            "Instructions to the model in an MCP tool description",
            "An MCP tool's description or docstring tells the model to ignore its instructions, hide "
            "actions from the user, or read secrets and pass them on (tool poisoning).",
        ),
        RuleInfo(
            "direct-url-dependency",
            "Dependency from a direct URL",
            "A requirement pip fetches from a URL instead of the index: a build requirement runs its "
            "code at install; one from a bare IP, paste or file-drop site is a second stage.",
        ),
        RuleInfo(
            "metadata-missing",
            "Missing or mismatched metadata",
            "No package metadata, or metadata that contradicts the file name.",
        ),
        RuleInfo(
            "archive-unsafe-path", "Unsafe archive path", "A member path is absolute or climbs out with '..'."
        ),
        RuleInfo("archive-link", "Archive link member", "A symbolic or hard link member (not followed)."),
        RuleInfo("archive-special-file", "Special file member", "Device, FIFO or other special file."),
        RuleInfo(
            "archive-bomb", "Compression bomb", "A member or stream inflates far beyond its compressed size."
        ),
        RuleInfo(
            "archive-limit", "Archive limit reached", "Too many members, too many bytes or too deep nesting."
        ),
        RuleInfo(
            "archive-unreadable", "Unreadable member", "A member or nested archive could not be read in full."
        ),
        RuleInfo(
            "archive-confusion",
            "Ambiguous zip entry",
            "A local header names another file than the central directory, or two entries share one "
            "body: installers that read zips differently would install different files.",
        ),
        RuleInfo(
            "scan-incomplete",
            "Code left unread by a limit",
            "A reader limit, an unreadable member or a pattern timeout left code unread: at least "
            "suspicious, and an error for start-up and install-time files (the finding names the limit).",
        ),
        RuleInfo(
            "scan-timeout",
            "Scan time budget exceeded",
            "The target's time budget (--timeout) ran out before it was fully analysed: verdict error.",
        ),
        RuleInfo("user-rule", "User YARA rule", "A rule from a --rules directory matched."),
    )
}
