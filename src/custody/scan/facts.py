"""Facts: single observed capabilities at a place in a file, before rules combine them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from custody.scan.flow import Flow
from custody.scan.model import Context


class Cap(str, enum.Enum):
    """Capabilities the analysers observe. Rules decide what their combinations mean."""

    EXEC = "exec"  # exec/eval/compile/dynamic import of non-literal code
    DECODE_EXEC = "decode-exec"  # exec of something decoded, decompressed, decrypted or built from chars
    NETWORK_EXEC = "network-exec"  # exec of something fetched from the network
    DECODE = "decode"  # base64/zlib/marshal/... decoding of data
    PROCESS = "process"  # starts a process or shell
    NETWORK = "network"  # opens a connection / sends a request
    DNS_EXFIL = "dns-exfil"  # resolves a host name built from data
    RECON = "recon"  # reads host name, user name, cwd, external IP
    BEACON = "beacon"  # a network call that carries host or user identity
    ENV_DUMP = "env-dump"  # takes the whole environment
    SECRET = "secret"  # noqa: S105 - a capability name, not a password; names a credential store (ssh, cloud, kube, browser, wallet, tokens)
    CLOUD_METADATA = "cloud-metadata"  # talks to the instance metadata endpoint
    EXFIL_SINK = "exfil-sink"  # chat webhook, paste site, request catcher, OAST host
    RAW_IP_URL = "raw-ip-url"  # URL with a literal public IP
    DOWNLOAD_TOOL = "download-tool"  # curl/wget/Invoke-WebRequest/certutil in a command
    EXE_URL = "exe-url"  # names a URL or a save path of a Windows executable or script
    FILELESS = "fileless"  # memfd_create and friends: a program run without touching the disk
    WHITESPACE_HIDDEN = "whitespace-hidden"  # code pushed far right on a line, out of an editor's view
    RAW_UPLOAD = "raw-upload"  # a command line that uploads local files to a bare IP address
    CHAT_CREDENTIAL = "chat-credential"  # a bot token or webhook secret baked into the code
    CHAR_CODES = "char-codes"  # text built from lists of character codes
    ENCODED_URL = "encoded-url"  # a base64 literal that decodes to an http(s) URL
    HIDDEN_ENDPOINT = "hidden-endpoint"  # a network call whose address was decoded at run time
    XOR_DECRYPT = "xor-decrypt"  # character-wise XOR with a key: the usual home-made payload cipher
    HIDDEN_SHELL = "hidden-shell"  # powershell -enc / hidden window / CREATE_NO_WINDOW
    PERSISTENCE = "persistence"  # systemd, cron, autostart, rc files, Run keys, schtasks
    REVERSE_SHELL = "reverse-shell"
    MINER = "miner"
    SABOTAGE = "sabotage"  # shutdown, wiping
    PIP_INSTALL = "pip-install"  # installs other packages at run time
    WRITE_EXEC = "write-exec"  # writes an executable file or marks one executable
    DROP = "drop"  # writes downloaded bytes to disk
    DROP_DECODED = "drop-decoded"  # writes bytes decoded from the package's own data to disk
    RUN_WRITTEN = "run-written"  # runs a file the same code wrote
    RUN_VARIABLE = "run-variable"  # runs a program whose name is computed
    DETACHED = "detached"  # starts a process that outlives its caller (detached, own session)
    HOOK_NETWORK = "hook-network"  # network request from an overridden install/develop/egg_info command
    DYNAMIC_BUILTIN = "dynamic-builtin"  # builtins looked up by computed name, or exec/eval renamed
    OBFUSCATOR = "obfuscator"  # known obfuscator runtime (PyArmor and similar)
    BLOB = "blob"  # long high-entropy literal
    HUGE_LINE = "huge-line"
    ODD_IDENTIFIER = "odd-identifier"  # non-ASCII / confusable identifiers
    INVISIBLE_CHAR = "invisible-char"  # zero-width / bidi controls in code
    OPAQUE_LOOP = "opaque-loop"  # junk control flow typical of obfuscators
    CMDCLASS = "cmdclass"  # setup.py overrides an install/build command
    STARTUP_CODE = "startup-code"  # code in a .pth / .site.toml / .start / sitecustomize
    STEALER_MARKER = "stealer-marker"  # strings stealers use to label or package loot
    KEYLOGGER = "keylogger"
    SCREENSHOT = "screenshot"
    CLIPBOARD = "clipboard"
    ANTI_ANALYSIS = "anti-analysis"  # VM / debugger / sandbox checks, AV exclusions
    NATIVE_LOAD = "native-load"  # loads a native library shipped in the package (ctypes), a partner fact
    RECIPIENT_SWAP = "recipient-swap"  # a transfer's destination parameter replaced by a constant address
    # carriers (custody.scan.carriers): payloads in files that code loads rather than runs
    SERIALIZED_EXEC = "serialized-exec"  # a pickle/YAML that calls exec, a shell or a process when loaded
    SERIALIZED_CALL = "serialized-call"  # a pickle/YAML that calls file, network or lookup functions
    SOURCELESS_BYTECODE = "sourceless-bytecode"  # an importable .pyc shipped without its source
    DISGUISED_ARCHIVE = "disguised-archive"  # a zip/gzip/... named like an image or text file
    DISGUISED_BINARY = "disguised-binary"  # an executable named like an image or text file
    FAKE_BYTECODE = "fake-bytecode"  # a .pyc whose bytes are not Python bytecode: a blob where nobody looks
    DISGUISED_LOAD = "disguised-load"  # code puts a disguised file on sys.path, loads or runs it


class Trait(str, enum.Enum):
    """A typed qualifier of a fact: what kind of the capability was seen, for the verdict to weigh.

    The verdict decides from these, never from a fact's detail text (which is for people).
    """

    COMPUTED_NAME = "computed-name"  # EXEC: a function reached through a name built at run time
    DECODED_COMMAND = "decoded-command"  # DECODE_EXEC: a process started with a decoded command line
    ENCODED_COMMAND = "encoded-command"  # HIDDEN_SHELL: PowerShell given its script base64-encoded
    STEALER_TARGET = "stealer-target"  # SECRET: browser, chat-token, wallet or game-session stores
    OBFUSCATOR_MARKER = "obfuscator-marker"  # OBFUSCATOR: an obfuscator's banner or runtime marker
    DIRECT_URL = "direct-url"  # PIP_INSTALL: pip install of a direct URL
    STREAM_REDIRECT = "stream-redirect"  # REVERSE_SHELL: os.dup2 of the standard streams
    AUTOSTART_COMMAND = "autostart-command"  # PERSISTENCE: a command appended to an auto-start file
    AUTOSTART_DOWNLOAD = "autostart-download"  # PERSISTENCE: a download saved into an auto-start place
    AUTOSTART_HIDDEN_TEXT = "autostart-hidden-text"  # PERSISTENCE: decoded text written to one
    AUTOSTART_PROGRAM = "autostart-program"  # PERSISTENCE: a program saved into an auto-start place
    BIDI = "bidi"  # INVISIBLE_CHAR: a bidirectional control (Trojan Source), not a zero-width space
    LOOK_ALIKE = "look-alike"  # ODD_IDENTIFIER: letters Python folds (NFKC) to another identifier
    SELF_DELETE = "self-delete"  # ANTI_ANALYSIS: code that removes its own source file
    COMPILED_MODULE = "compiled-module"  # NATIVE_LOAD: a shipped compiled extension module imported


@dataclass(frozen=True, slots=True)
class Fact:
    """One capability seen in one place: which capability, the file and line, when that code runs, a
    short text of what showed it, whether it was only in a comment, and its trait where kinds differ."""

    cap: Cap
    file: str
    line: int | None
    context: Context
    detail: str
    """Short text: the call or string that showed the capability."""
    prose: bool = False
    """Seen only in a comment: words about code (a banner, a note), not code that does it."""
    trait: Trait | None = None
    """What kind of the capability this is, where the verdict weighs kinds differently."""


@dataclass(frozen=True, slots=True)
class FlowFact:
    """A value flow (source to sink) observed in a file, with the context its sink runs in."""

    flow: Flow
    file: str
    context: Context
