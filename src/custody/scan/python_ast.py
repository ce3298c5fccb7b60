"""Behaviour facts from Python source via its AST, with the context each line runs in.

Context: module top level runs at import (or install, for setup.py; or start-up for sitecustomize
and .pth lines); a function body runs in its caller's context when the module itself calls it
(or hands it to a thread, atexit, a cmdclass...), and only when called otherwise.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from custody.scan.callables import bind_callables, constant_getattr, dispatched
from custody.scan.export_slice import exported_slice, exported_tree
from custody.scan.facts import Cap, Fact, FlowFact, Trait
from custody.scan.flow import (
    DNS_LOOKUPS,
    IDENTITY_COMMANDS,
    MAX_FLOW_NODES,
    UNAME_CALLS,
    UNAME_PLATFORM_FIELDS,
    Summary,
    module_flows,
)
from custody.scan.model import Context
from custody.scan.scopes import ScopeMap
from custody.scan.static_decode import StaticDecoder, chr_lambda, one_return
from custody.scan.syntax import parse_python, walk

PROCESS_CALLS = frozenset(
    {
        "subprocess.Popen",
        "subprocess.call",
        "subprocess.run",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.startfile",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execlpe",
        "os.execv",
        "os.execve",
        "os.execvp",
        "os.execvpe",
        "os.spawnl",
        "os.spawnle",
        "os.spawnlp",
        "os.spawnv",
        "os.spawnve",
        "os.spawnvp",
        "os.posix_spawn",
        "os.posix_spawnp",
        "pty.spawn",
        "commands.getoutput",
        "asyncio.create_subprocess_shell",
        "asyncio.create_subprocess_exec",
        "win32api.ShellExecute",
        "win32process.CreateProcess",
        "ctypes.windll.shell32.ShellExecuteW",
    }
)
NETWORK_PREFIXES = (
    "requests.",
    "httpx.",
    "urllib.request.urlopen",
    "urllib.request.urlretrieve",
    "urllib2.urlopen",
    "urllib.urlopen",
    "urllib.urlretrieve",
    "http.client.HTTP",
    "httplib.HTTP",
    "socket.create_connection",
    "aiohttp.",
    "urllib3.",
    "pycurl.",
    "ftplib.",
    "smtplib.",
    "telnetlib.",
    "websocket.",
    "websockets.",
    "paramiko.",
    "discord_webhook.",
    "dhooks.",
    "telebot.",
    "telegram.",
)
# Names under the network prefixes that build objects or raise errors without sending anything.
NOT_SENDS = frozenset(
    {
        "exceptions",
        "HTTPError",
        "RequestException",
        "ConnectionError",
        "Timeout",
        "codes",
        "utils",
        "adapters",
        "HTTPAdapter",
        "Response",
        "PreparedRequest",
        "structures",
        "build_opener",
        "install_opener",
        "HTTPHandler",
        "ProxyHandler",
        "quote",
        "urlencode",
        "Limits",
        "BasicAuth",
        "ClientTimeout",
        "TCPConnector",
        "Retry",
    }
)
NETWORK_NAMES = frozenset({"urlopen", "urlretrieve", "Request", "post", "get", "put", "Session"})
# What `from MODULE import *` brings in that the rules look at: a star import hides where `get`
# or `Popen` come from, so these names resolve as if imported one by one (a local definition of
# the same name wins).
STAR_EXPORTS: dict[str, tuple[str, ...]] = {
    "requests": ("get", "post", "put", "patch", "delete", "head", "request", "Session", "session"),
    "subprocess": ("Popen", "call", "run", "check_call", "check_output", "getoutput", "getstatusoutput"),
    "os": ("system", "popen", "startfile", "getlogin", "environ", "getenv", "execv", "execve", "spawnv"),
    "urllib.request": ("urlopen", "urlretrieve", "Request"),
    "socket": ("socket", "gethostname", "create_connection"),
    "base64": ("b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "urlsafe_b64decode"),
    "marshal": ("loads",),
    "zlib": ("decompress",),
    "platform": ("node", "uname"),
    "getpass": ("getuser",),
    "http.client": ("HTTPConnection", "HTTPSConnection"),
}
RECON_CALLS = frozenset(
    {
        "socket.gethostname",
        "getpass.getuser",
        "os.getlogin",
        "platform.node",
        "platform.uname",
        "os.getcwd",
        "os.uname",
        "uuid.getnode",
        "platform.platform",
        "socket.getfqdn",
        "os.getuid",
        "pwd.getpwuid",
        "platform.system",
        "os.getenv",
    }
)
# Weak recon: alone they are everywhere; they count only next to a send at install or start-up.
RECON_STRONG = frozenset(
    {
        "socket.gethostname",
        "getpass.getuser",
        "os.getlogin",
        "platform.node",
        "socket.getfqdn",
        "uuid.getnode",
        "os.uname",
        "platform.uname",
    }
)
RECIPIENT_PARAMETER = re.compile(
    r"(^|_)(dest|destination|recipient|receiver|to_?addr(ess)?|to_?wallet|payee|beneficiary)($|_)",
    re.IGNORECASE,
)
RECIPIENT_SLOT = re.compile(
    r"^(dest|destination|to|recipient|receiver|to_?address|payee|beneficiary)$", re.IGNORECASE
)
CRYPTO_ADDRESS = re.compile(
    r"^(0x[0-9a-fA-F]{40}|5[1-9A-HJ-NP-Za-km-z]{46,47}|(bc1|tb1)[02-9ac-hj-np-z]{25,62}|"
    r"[13][1-9A-HJ-NP-Za-km-z]{25,34}|T[1-9A-HJ-NP-Za-km-z]{33}|[1-9A-HJ-NP-Za-km-z]{32,44})$"
)
"""An address on a chain: EVM hex, Substrate SS58, Bitcoin bech32 or base58, Tron, Solana."""
SELF_REMOVERS = frozenset({"os.remove", "os.unlink", "shutil.rmtree", "os.rmdir"})
NATIVE_LOADERS = frozenset(
    {
        "ctypes.CDLL",
        "ctypes.WinDLL",
        "ctypes.PyDLL",
        "ctypes.OleDLL",
        "ctypes.cdll.LoadLibrary",
        "ctypes.windll.LoadLibrary",
        "ctypes.CDLL.LoadLibrary",
    }
)
PATH_LOADERS: dict[str, int] = {
    **dict.fromkeys(NATIVE_LOADERS, 0),
    "importlib.util.spec_from_file_location": 1,
    "importlib.machinery.SourceFileLoader": 1,
    "importlib.machinery.SourcelessFileLoader": 1,
    "importlib.machinery.ExtensionFileLoader": 1,
    "imp.load_source": 1,
    "imp.load_compiled": 1,
    "imp.load_dynamic": 1,
    "runpy.run_path": 0,
    "zipimport.zipimporter": 0,
}
"""Calls that load and run code from a path, and which argument names the path."""
_FILE_READS = frozenset({"read", "read_text", "read_bytes", "get_data", "read_binary", "readlines"})
_PACKAGE_DATA_READS = frozenset(
    {"pkgutil.get_data", "pkg_resources.resource_string", "pkg_resources.resource_stream"}
)
PROCESS_OUTPUT_CALLS = frozenset(
    {
        "os.popen",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "subprocess.run",
        "subprocess.Popen",
    }
)
"""Calls whose result can carry what a command printed."""
TEXT_RESULTS = frozenset(
    {
        "str",
        "bytes",
        "bytearray",
        "decode",
        "encode",
        "read",
        "readline",
        "getvalue",
        "join",
        "replace",
        "strip",
        "lstrip",
        "rstrip",
        "lower",
        "upper",
        "format",
        "hex",
        "tobytes",
        "recv",
        "input",
    }
)
"""Calls whose result is text: reversing it can undo a reversed payload."""
BUILTIN_NAMES = frozenset(dir(builtins))
# Programs whose arguments reach the network (a host name is a DNS query even for ping).
NETWORK_TOOL = re.compile(
    r"(?:^|[\s/\\\"'])(ping|nslookup|dig|host|curl|wget|nc|ncat|Invoke-WebRequest)(?:\.exe)?\b"
)
MAX_WRITTEN_CODE = 200_000
TEMP_FILES = ("NamedTemporaryFile", "mkstemp")
# Calls that turn the environment into text (a dump); `dict(os.environ)` is only a copy.
SERIALIZERS = frozenset({"json.dumps", "str", "repr", "json.dump", "pickle.dumps", "base64.b64encode"})
ENV_COPIERS = SERIALIZERS | {"dict", "list", "sorted"}
AUTOSTART_PATH = re.compile(
    r"\.(bashrc|bash_profile|zshrc|zprofile|profile|bash_login)\b|Start Menu\\+Programs\\+Startup"
    r"|Library/LaunchAgents|\.config/autostart|systemd/(user|system)|/etc/cron|/etc/rc\.local",
    re.IGNORECASE,
)
RC_PAYLOAD = re.compile(r"\b(curl|wget|nohup|python3? -c|bash -c|sh -c|base64 -d|nc|ncat)\b")
# Names nobody spells out character by character unless hiding what the code reaches for.
SPELLED_NAMES = frozenset(
    {"__builtins__", "__import__", "builtins", "exec", "eval", "compile", "getattr", "globals", "system"}
)
# Methods that take an address first, on whatever client object (`session.post(url)`).
ADDRESS_TAKERS = frozenset(
    {"get", "post", "put", "patch", "request", "urlopen", "Request", "ws_connect", "HTTPSConnection"}
)
_ADDRESS = re.compile(r"(https?|wss?|ftp)://\S+$|[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(/\S*)?$", re.IGNORECASE)
# A package fetched from an address that is not the index: nothing vouches for what it holds.
DIRECT_URL = re.compile(r"(?:git\+)?https?://(?!(?:files\.pythonhosted\.org|pypi\.org)/)[^\s'\"]+")
SHELL_SCRIPT = re.compile(r"^#!\s*/|\b(chmod|curl|wget|nohup|crontab|powershell|certutil)\b", re.MULTILINE)
# Methods that run once an instance exists or is used implicitly: construction, calls, context
# managers, threads, descriptors set on a class, and import-system finders placed on sys.meta_path.
INSTANCE_TIME_METHODS = frozenset(
    {
        "__init__",
        "__new__",
        "__call__",
        "__enter__",
        "__del__",
        "run",
        "__set_name__",
        "__prepare__",
        "find_spec",
        "find_module",
        "load_module",
        "exec_module",
        "create_module",
    }
)
EXEC_NAMES = frozenset({"exec", "eval", "execfile", "compile"})
DECODE_ATTRS = frozenset(
    {
        "b64decode",
        "b32decode",
        "b16decode",
        "b85decode",
        "a85decode",
        "urlsafe_b64decode",
        "standard_b64decode",
        "decodebytes",
        "decodestring",
        "unhexlify",
        "a2b_base64",
        "a2b_hex",
        "fromhex",
        "decompress",
        "decrypt",
        "decrypt_and_verify",
        "rot13",
    }
)
CODE_LOADERS = frozenset(
    {
        "marshal.loads",
        "pickle.loads",
        "dill.loads",
        "cloudpickle.loads",
        "types.FunctionType",
        "types.CodeType",
    }
)
INSTALL_COMMANDS = frozenset(
    {
        "install",
        "develop",
        "egg_info",
        "build_py",
        "build_ext",
        "build",
        "sdist",
        "bdist_egg",
        "bdist_wheel",
        "easy_install",
        "install_lib",
        "install_scripts",
        "build_clib",
        "install_egg_info",
        "_install",
        "_develop",
        "_egg_info",
        "orig_install",
    }
)
INSTALL_HOOKS = frozenset(
    {
        "install",
        "develop",
        "egg_info",
        "easy_install",
        "install_lib",
        "install_scripts",
        "_install",
        "_develop",
        "_egg_info",
        "orig_install",
    }
)
_POWERSHELL = re.compile(r"(^|[\s/\\])(powershell|pwsh)(\.exe)?(\s|$)", re.IGNORECASE)
# -EncodedCommand and any abbreviation PowerShell accepts (-e, -ec, -enc, ...), then the script
_PS_ENCODED = re.compile(r"\s-(e|ec|en[a-z]*|encodedcommand)\s+[A-Za-z0-9+/=]{20,}", re.IGNORECASE)
_PS_HIDDEN = re.compile(r"\s-(w|wi|win[a-z]*)\s+hidden\b", re.IGNORECASE)
DYNAMIC_IMPORTS = frozenset(
    {
        "__import__",
        "importlib.import_module",
        "runpy.run_path",
        "runpy.run_module",
        "imp.load_source",
        "importlib.machinery.SourceFileLoader",
    }
)


def _names_the_package(expr: ast.expr) -> bool:
    """A path expression built from the module's own location or the package's name."""
    return any(
        isinstance(sub, ast.Name) and sub.id in ("__file__", "__package__", "__name__", "__spec__")
        for sub in walk(expr)
    )


def _names_own_file(expr: ast.expr) -> bool:
    """`__file__` (or the running script, `sys.argv[0]`) within a path expression."""
    for sub in walk(expr):
        if isinstance(sub, ast.Name) and sub.id == "__file__":
            return True
        if (
            isinstance(sub, ast.Attribute)
            and sub.attr == "argv"
            and isinstance(sub.value, ast.Name)
            and sub.value.id == "sys"
        ):
            return True
    return False


def _is_address(node: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(CRYPTO_ADDRESS.match(node.value))
    )


def _constant_address_slot(node: ast.AST, recipients: set[str]) -> str | None:
    """Where `node` puts a constant address in a recipient's place, if it does."""
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=False):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and RECIPIENT_SLOT.match(key.value)
                and _is_address(value)
            ):
                return f"the {key.value!r} entry"
    elif isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg and RECIPIENT_SLOT.match(keyword.arg) and _is_address(keyword.value):
                return f"the {keyword.arg}= argument"
    elif isinstance(node, ast.Assign) and _is_address(node.value):
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id in recipients:
                return f"{target.id} rebound"
    return None


_FILE_NAME = re.compile(r"[\w.-]+\.[A-Za-z0-9]{1,8}")


def _file_name(text: str) -> str | None:
    """The file name at the end of a path literal, if it has one with an extension."""
    name = text.replace("\\", "/").rsplit("/", 1)[-1]
    return name if _FILE_NAME.fullmatch(name) else None


def _path_parts(expr: ast.expr) -> list[ast.AST]:
    """Nodes of a path expression, without lambdas (code handed along, not part of the path) and
    without the functions called to build it (`os.path.join`, `str`)."""
    out: list[ast.AST] = []
    pending: list[ast.AST] = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):
            continue
        out.append(node)
        if isinstance(node, ast.Call):
            pending.extend(node.args)
            pending.extend(k.value for k in node.keywords)
            continue
        pending.extend(child for child in ast.iter_child_nodes(node))
    return out


def _own_callee(func: ast.expr) -> str:
    """The module function or method a call names directly (`helper(...)`, `self.helper(...)`)."""
    if isinstance(func, ast.Name):
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in ("self", "cls")
    ):
        return func.attr
    return ""


def _bound_arguments(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call
) -> list[tuple[str, ast.expr]]:
    """(parameter, argument) pairs a call binds, positional and keyword; starred ones are skipped."""
    positional = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    if isinstance(call.func, ast.Attribute):
        positional = positional[1:]  # `self.helper(x)`: the first parameter is the instance
    pairs: list[tuple[str, ast.expr]] = []
    for name, arg in zip(positional, call.args, strict=False):
        if isinstance(arg, ast.Starred):
            break  # the positions after it are unknown
        pairs.append((name, arg))
    pairs.extend((k.arg, k.value) for k in call.keywords if k.arg is not None)
    return pairs


def _any_between(sorted_lines: list[int], start: int, end: int) -> bool:
    index = bisect.bisect_left(sorted_lines, start)
    return index < len(sorted_lines) and sorted_lines[index] <= end


def entropy(text: str) -> float:
    """Shannon entropy of `text` in bits per character: high for encoded or encrypted payloads."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


@dataclass(slots=True, kw_only=True)
class PythonAnalysis:
    """What the analysis of one Python source found: an accumulator the syntax-tree visitor adds
    facts, ranges, decoded payloads, imports and flows to as it walks."""

    facts: list[Fact] = field(default_factory=list)
    call_ranges: list[tuple[int, int, Context]] = field(default_factory=list)
    """(first line, last line, context) of code that runs in a context other than the file's base."""
    base: Context = Context.IMPORT
    decoded: list[tuple[int, Context, bytes | str]] = field(default_factory=list)
    """Payloads decoded statically from literals, with the line and context of their use."""
    nested_code: list[tuple[int, Context, str]] = field(default_factory=list)
    """Literal code strings handed to exec or `python -c`."""
    imports: set[str] = field(default_factory=set)
    run_modules: set[str] = field(default_factory=set)
    """Local modules this code runs as programs (`python -m X`, `python X.py`)."""
    hook_ranges: list[tuple[int, int]] = field(default_factory=list)
    """Lines of overridden install/develop/egg_info commands and what they call."""
    text_ranges: list[tuple[int, int]] = field(default_factory=list)
    """Lines of docstrings and bare string statements: prose, not behaviour."""
    imported_names: dict[str, set[str]] = field(default_factory=dict)
    """module -> names imported from it with `from module import name` (relative ones included)."""
    flows: list[FlowFact] = field(default_factory=list)
    """Values followed from a source (secret, identity, download) to a sink (network, exec, process)."""
    flow_skipped: bool = False
    """The module was too large to follow value by value (`flow.MAX_FLOW_NODES`)."""

    def in_text(self, line: int) -> bool:
        """True when `line` is in a docstring or bare string statement (prose, not behaviour)."""
        return any(start <= line <= end for start, end in self.text_ranges)

    def context_at(self, line: int | None) -> Context:
        """The context code at `line` runs in: the innermost call range holding it, else the
        file's base context."""
        if line is None:
            return self.base
        found = self.base
        best = -1
        for start, end, ctx in self.call_ranges:
            if start <= line <= end and start > best:
                best, found = start, ctx
        return found


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
            continue
        attr = constant_getattr(node)
        if attr is None:
            break
        # `getattr(os, "system")` is `os.system` spelled so that no `os.system(` appears
        parts.append(attr)
        node = node.args[0]  # type: ignore[attr-defined]
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        # __import__('os').system -> os.system
        inner = node.func
        if isinstance(inner, ast.Name) and inner.id == "__import__" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                parts.append(first.value)
            else:
                parts.append("__import__()")
        else:
            parts.append(_dotted(inner) + "()")
    else:
        return ""
    return ".".join(reversed(parts))


def sink_callable(resolved: str) -> bool:
    """Whether a resolved name is a callable the analysis treats as a sink when called: a process
    runner, a code runner or dynamic import, a DNS lookup, or a send of a network library."""
    if resolved in PROCESS_CALLS or resolved in EXEC_NAMES or resolved in DYNAMIC_IMPORTS:
        return True
    if resolved in DNS_LOOKUPS or resolved in ("urlopen", "urlretrieve"):
        return True
    return resolved.startswith(NETWORK_PREFIXES) and resolved.rsplit(".", 1)[-1] not in NOT_SENDS


INTERPRETERS = frozenset(
    {
        "python",
        "python3",
        "pythonw",
        "py",
        "java",
        "node",
        "wscript",
        "cscript",
        "powershell",
        "cmd",
        "sh",
        "bash",
        "start",
        "open",
    }
)


def _is_interpreter(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit("/", 1)[-1].lower().removesuffix(".exe") in INTERPRETERS
    return isinstance(node, ast.Attribute) and node.attr == "executable"


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    if isinstance(test, ast.Compare) and len(test.comparators) == 1:
        sides = [test.left, test.comparators[0]]
        names = [s.id for s in sides if isinstance(s, ast.Name)]
        consts = [s.value for s in sides if isinstance(s, ast.Constant)]
        return "__name__" in names and "__main__" in consts
    return False


class _Analyzer:
    def __init__(self, tree: ast.Module, file: str, base: Context) -> None:
        self.tree = tree
        self.file = file
        self.base = base
        self.result = PythonAnalysis(base=base)
        self.aliases: dict[str, str] = {}
        self.constants: dict[str, ast.expr] = {}
        self.decoded_names: set[str] = set()
        self.network_names: set[str] = set()
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self._scopes: ScopeMap | None = None
        self.platform_only: set[int] = set()
        """ids of uname calls whose result is only read for a platform field."""
        self.classes: dict[str, ast.ClassDef] = {}
        self.renamed: list[tuple[ast.Name, str]] = []
        self.env_names: set[str] = set()
        self.recon_names: set[str] = set()
        self.decoder_funcs: set[str] = set()
        self.decoder: StaticDecoder | None = None
        self.written_names: set[str] = set()
        self.handles: dict[str, ast.expr] = {}
        self.tables: dict[str, ast.Dict] = {}
        """Names bound once to a dispatch table that holds a sink (see `custody.scan.callables`)."""
        self.resolved: dict[int, str] | None = None  # memo of `resolve`, once aliases are known
        self.written_literals: set[str] = set()
        self.nodes: list[ast.AST] = []
        self.extra_roots: set[str] = set()
        self.runs_as_main = False
        self.imported_constants: dict[str, ast.expr] = {}
        """Constants other modules of the package define and this one imports (see `analyze_python`)."""

    # ---- pass 1: names, aliases, constants, reachability -------------------------------------
    def prepare(self, *, names_only: bool = False) -> None:
        """Index the module: imports and aliases, constants, functions, classes, then (unless
        `names_only`, all value-flow summaries need) written paths, handles, decoders and taint."""
        self.nodes = walk(self.tree)
        calls: list[ast.Call] = []
        handles: list[ast.withitem | ast.Assign] = []
        star_names: dict[str, str] = {}
        reversing = False
        for node in self.nodes:
            kind = type(node)
            if kind not in _PREPARE_KINDS:  # most nodes are names, constants and operators
                continue
            if kind is ast.Subscript:
                cut = node.slice  # type: ignore[attr-defined]
                reversing = reversing or (isinstance(cut, ast.Slice) and cut.step is not None)
                continue
            if kind is ast.BinOp:
                # byte-wise XOR of text (`ord(c) ^ key`) is a home-made cipher: follow its output
                reversing = reversing or isinstance(node.op, ast.BitXor)  # type: ignore[attr-defined]
                continue
            if kind is ast.withitem:
                handles.append(node)  # type: ignore[arg-type]
                continue
            if kind is ast.Call:
                calls.append(node)  # type: ignore[arg-type]
            elif kind is ast.Assign:
                handles.append(node)  # type: ignore[arg-type]
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
                    self.result.imports.add(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module:
                self.result.imported_names.setdefault(("." * node.level) + node.module, set()).update(
                    a.name for a in node.names
                )
                if node.level:
                    continue
                self.result.imports.add(node.module)
                for alias in node.names:
                    if alias.name == "*":
                        for name in STAR_EXPORTS.get(node.module, ()):
                            star_names.setdefault(name, f"{node.module}.{name}")
                        continue
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.Call):
                if not names_only:
                    self._note_written(node)
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                self.result.text_ranges.append((node.lineno, node.end_lineno or node.lineno))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                self._alias_builtins(target, node.value)
                if isinstance(target, ast.Name) and isinstance(
                    node.value,
                    (ast.Constant, ast.BinOp, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.JoinedStr),
                ):
                    self.constants.setdefault(target.id, node.value)
        for name, value in self.imported_constants.items():
            self.constants.setdefault(name, value)  # a definition in this module wins
        for name, star_target in star_names.items():
            if name not in self.aliases and name not in self.functions and name not in self.classes:
                self.aliases[name] = star_target
        self._alias_returners(handles)
        bind_callables(
            self.nodes,
            [h for h in handles if isinstance(h, ast.Assign)],
            calls,
            self.resolve,
            sink_callable,
            self.aliases,
            self.tables,
        )
        # Aliases are complete from here on: names resolve the same way every time, so remember
        # them (the later passes resolve the same call nodes over and over).
        self.resolved = {}
        if names_only:
            return
        unames = {id(c) for c in calls if self.resolve(c.func) in UNAME_CALLS}
        if unames:  # rare: find the field each is read for
            for node in self.nodes:
                if isinstance(node, (ast.Attribute, ast.Subscript)) and id(node.value) in unames:
                    self._note_platform_only(node)
        for handle in handles:
            if isinstance(handle, ast.withitem):
                if handle.optional_vars is not None:
                    self._note_handle(handle.optional_vars, handle.context_expr)
            elif len(handle.targets) == 1:
                self._note_handle(handle.targets[0], handle.value)
        decode_lines = sorted(n.lineno for n in calls if self._is_decode_call(n))
        seeded = (
            bool(decode_lines)
            or reversing
            or any(self._is_network_call(n) or self._is_recon_call(n) for n in calls)
        )
        if decode_lines:
            self._find_decoder_funcs(decode_lines)
        if seeded:  # nothing decoded or downloaded anywhere: no name can carry such data
            self._taint()

    def _alias_returners(self, handles: list[ast.withitem | ast.Assign]) -> None:
        """`def get_co(): from subprocess import check_output as c; return c` hands out an imported
        name through a call: `get_co()(cmd)` and `run = get_co()` resolve to what it imports."""
        for name, defs in self.functions.items():
            if len(defs) != 1:
                continue
            body = [
                n for n in defs[0].body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
            ]
            if (
                len(body) < 2
                or not isinstance(body[-1], ast.Return)
                or not isinstance(body[-1].value, ast.Name)
            ):
                continue
            local: dict[str, str] = {}
            for statement in body[:-1]:
                if isinstance(statement, ast.Import):
                    for alias in statement.names:
                        local[alias.asname or alias.name.split(".")[0]] = (
                            alias.name if alias.asname else alias.name.split(".")[0]
                        )
                elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                    for alias in statement.names:
                        local[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
                else:
                    local = {}
                    break
            target = local.get(body[-1].value.id)
            if target:
                self.aliases[f"{name}()"] = target
        for handle in handles:
            if (
                isinstance(handle, ast.Assign)
                and len(handle.targets) == 1
                and isinstance(handle.targets[0], ast.Name)
                and isinstance(handle.value, ast.Call)
                and not handle.value.args
                and isinstance(handle.value.func, ast.Name)
            ):
                target = self.aliases.get(f"{handle.value.func.id}()")
                if target:
                    self.aliases.setdefault(handle.targets[0].id, target)

    def _find_decoder_funcs(self, decode_lines: list[int]) -> None:
        """Local helpers that return decoded data (`def b64d(s): return base64.b64decode(s)...`)."""
        return_lines = sorted(
            n.lineno for n in self.nodes if isinstance(n, ast.Return) and n.value is not None
        )
        for name, defs in self.functions.items():
            for fdef in defs:
                end = fdef.end_lineno or fdef.lineno
                if _any_between(decode_lines, fdef.lineno, end) and _any_between(
                    return_lines, fdef.lineno, end
                ):
                    self.decoder_funcs.add(name)

    def _alias_builtins(self, target: ast.expr, value: ast.expr) -> None:
        """`run = exec` or `a, b = exec, str`: obfuscators rename the dangerous builtins."""
        pairs: list[tuple[ast.expr, ast.expr]] = [(target, value)]
        if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
            pairs = list(zip(target.elts, value.elts, strict=False))
        # Renaming several builtins in one tuple assignment is an obfuscator's habit; a lone
        # `_exec = exec` is common in instrumentation code, so it only feeds name resolution.
        builtin_values = sum(1 for _, v in pairs if isinstance(v, ast.Name) and v.id in BUILTIN_NAMES)
        flag = len(pairs) > 1 and builtin_values >= 2
        for name_node, value_node in pairs:
            if isinstance(name_node, ast.Name) and isinstance(value_node, ast.Call):
                self._alias_evaluated_name(name_node, value_node)
                continue
            if not isinstance(name_node, ast.Name) or not isinstance(value_node, ast.Name):
                continue
            original = self.aliases.get(value_node.id, value_node.id)
            if (original in EXEC_NAMES or original in ("__import__", "getattr")) and name_node.id != original:
                self.aliases[name_node.id] = original
                if flag:
                    self.renamed.append((name_node, original))

    def _alias_evaluated_name(self, name_node: ast.Name, call: ast.Call) -> None:
        """`run = eval("o" + "s.sys" + "tem")`: a dangerous function fetched by evaluating its name
        spelled in pieces. The name resolves to what the text spells, and the spelling is flagged."""
        func = call.func
        if (
            isinstance(func, ast.Name)
            and self.aliases.get(func.id, func.id) == "getattr"
            and len(call.args) in (2, 3)
            and self._names_builtins(call.args[0])
        ):
            # `run = getattr(builtins, "ex" + "ec")`: the builtin fetched by its spelled name
            fetched = _fold_text(call.args[1])
            if fetched in EXEC_NAMES or fetched in ("__import__", "getattr"):
                self.aliases[name_node.id] = fetched
                if isinstance(call.args[1], ast.BinOp):
                    self.renamed.append((name_node, fetched))
            return
        if not (isinstance(func, ast.Name) and func.id == "eval" and len(call.args) == 1):
            return
        spelled = _fold_text(call.args[0])
        if spelled is None or not _DOTTED_NAME.fullmatch(spelled):
            return
        head, _, rest = spelled.partition(".")
        head = self.aliases.get(head, head)
        self.aliases[name_node.id] = f"{head}.{rest}" if rest else head
        if isinstance(call.args[0], ast.BinOp) and (
            head in DANGEROUS_MODULES or spelled in EXEC_NAMES or spelled in ("__import__", "getattr")
        ):
            self.renamed.append((name_node, spelled))

    def resolve(self, node: ast.expr) -> str:
        if self.resolved is not None:
            known = self.resolved.get(id(node))
            if known is not None:
                return known
        if isinstance(node, ast.Subscript):
            # `{"x": os.system}[key]`: a dispatch table's entry, already resolved
            resolved = dispatched(node, self.tables, self.resolve, sink_callable)
        else:
            name = _dotted(node)
            head, _, rest = name.partition(".")
            if head in self.aliases:
                head = self.aliases[head]
            resolved = f"{head}.{rest}" if rest else head
        if self.resolved is not None:
            self.resolved[id(node)] = resolved
        return resolved

    def _is_decode_call(self, node: ast.Call) -> bool:
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        resolved = self.resolve(func)
        if attr in DECODE_ATTRS or resolved.rsplit(".", 1)[-1] in DECODE_ATTRS:
            return True
        if isinstance(func, ast.Name) and func.id in self.decoder_funcs:
            return True
        if resolved in CODE_LOADERS:
            return True
        if attr == "decode" and node.args:
            codec = node.args[-1] if len(node.args) > 1 or resolved == "codecs.decode" else node.args[0]
            if isinstance(codec, ast.Constant) and isinstance(codec.value, str):
                return codec.value.lower().replace("-", "_") in (
                    "rot13",
                    "rot_13",
                    "base64",
                    "hex",
                    "zlib",
                    "bz2",
                    "base_64",
                )
        if attr == "join" and node.args:
            arg = node.args[0]
            if isinstance(arg, (ast.GeneratorExp, ast.ListComp)):
                elt = arg.elt
                if isinstance(elt, ast.Call) and isinstance(elt.func, ast.Name) and elt.func.id == "chr":
                    return True
            if (
                isinstance(arg, ast.Call)
                and isinstance(arg.func, ast.Name)
                and arg.func.id == "map"
                and arg.args
                and (
                    (isinstance(arg.args[0], ast.Name) and arg.args[0].id == "chr")
                    or chr_lambda(arg.args[0]) is not None  # `map(lambda c: chr(c - 3), CODES)`
                )
            ):
                return True
            if (
                isinstance(arg, (ast.List, ast.Tuple))
                and len(arg.elts) > 8
                and all(
                    isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "chr"
                    for e in arg.elts
                )
            ):
                return True
        if resolved in ("bytes", "bytearray") and node.args:
            codes = node.args[0]
            if isinstance(codes, (ast.GeneratorExp, ast.ListComp)) and len(codes.generators) == 1:
                codes = codes.generators[0].iter  # `bytes(c ^ 90 for c in CODES)`: the numbers looped over
            if isinstance(codes, ast.Name) and codes.id in self.constants:
                codes = self.constants[codes.id]  # the numbers kept in a module constant
            return isinstance(codes, (ast.List, ast.Tuple)) and len(codes.elts) > 16
        return False

    def _reverses_text(self, node: ast.Subscript) -> bool:
        """`x[::-1]` that can undo a reversed string: of a literal, a name, or a call that gives
        text. `np.argsort(v)[::-1]` or `sorted(v)[::-1]` reverse an order, not hidden text."""
        cut = node.slice
        if not (
            isinstance(cut, ast.Slice)
            and isinstance(cut.step, ast.UnaryOp)
            and isinstance(cut.step.op, ast.USub)
        ):
            return False
        value = node.value
        if not isinstance(value, ast.Call):
            return True
        func = value.func
        short = (
            func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        )
        return short in TEXT_RESULTS or self._is_decode_call(value)

    @property
    def scopes(self) -> ScopeMap:
        """Which function each name belongs to: the name sets below hold qualified names, so a
        variable of one function never taints a same-spelt variable of another."""
        if self._scopes is None:
            self._scopes = ScopeMap(self.nodes)
        return self._scopes

    def _contains(self, node: ast.AST, names: set[str], predicate: str) -> bool:
        qualify = self.scopes.qualify_node if names else None
        for sub in walk(node):
            if qualify is not None and isinstance(sub, ast.Name) and qualify(sub) in names:
                return True
            if isinstance(sub, ast.Call):
                if predicate == "decode" and self._is_decode_call(sub):
                    return True
                if predicate == "network" and self._is_network_call(sub):
                    return True
            if (
                predicate == "decode"
                and isinstance(sub, ast.Subscript)
                and isinstance(sub.slice, ast.Slice)
                and self._reverses_text(sub)
            ):
                return True
        return False

    def _taint(self) -> None:
        """Names holding decoded or downloaded data (flow-insensitive, file-wide, to a fixed point)."""
        records: list[tuple[set[str], set[str], bool, bool, bool]] = []
        qualify = self.scopes.qualify_node
        for node in self.nodes:
            if type(node) not in _TAINT_KINDS:
                continue  # most nodes are names, constants and operators
            value: ast.expr | None
            targets: list[ast.expr]
            if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                # `for c in secret: out += c` carries the data through the loop variable
                targets, value = [node.target], node.iter
            elif isinstance(node, ast.withitem):
                # `with urlopen(url) as response`, `with NamedTemporaryFile() as handle`
                if node.optional_vars is None:
                    continue
                targets, value = [node.optional_vars], node.context_expr
                if (
                    isinstance(value, ast.Call)
                    and isinstance(node.optional_vars, ast.Name)
                    and self.resolve(value.func).endswith(TEMP_FILES)
                ):
                    self.written_names.add(self.scopes.qualify_node(node.optional_vars))
            elif isinstance(node, ast.Call):
                self._note_written(node)  # seeds: paths opened for writing, to follow like the rest
                continue
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if isinstance(value, ast.Call) and self.resolve(value.func).endswith(TEMP_FILES):
                    # `fd, path = mkstemp()`, `handle = NamedTemporaryFile(delete=False)`: a file
                    # made to be written, as the `with` form above
                    for target in targets:
                        elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
                        self.written_names.update(qualify(e) for e in elements if isinstance(e, ast.Name))
            else:
                continue
            if value is None:
                continue
            # Plain names only: unpacking (`scheme, realm = m.groups()`) spreads taint file-wide
            # through common names (`url`, `name`) in this flow-insensitive analysis.
            names = {qualify(t) for t in targets if isinstance(t, ast.Name)}
            if not names:
                continue
            used: set[str] = set()
            decoded = network = recon = False
            for sub in walk(value):
                if isinstance(sub, ast.Name):
                    used.add(qualify(sub))
                elif isinstance(sub, ast.Call):
                    decoded = decoded or self._is_decode_call(sub)
                    network = network or self._is_network_call(sub)
                    recon = recon or self._is_recon_call(sub)
                elif isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Slice):
                    decoded = decoded or self._reverses_text(sub)
                elif isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.BitXor):
                    decoded = decoded or _xor_of_text(sub, self.constants)
            if decoded or network or recon or used:
                records.append((names, used, decoded, network, recon))
            if self._is_env_copy(value):
                self.env_names |= names
        for _ in range(4):
            changed = False
            for names, used, decoded, network, recon in records:
                if (recon or used & self.recon_names) and not names <= self.recon_names:
                    self.recon_names |= names
                    changed = True
                if (decoded or used & self.decoded_names) and not names <= self.decoded_names:
                    self.decoded_names |= names
                    changed = True
                if (network or used & self.network_names) and not names <= self.network_names:
                    self.network_names |= names
                    changed = True
                if used & self.written_names and not names <= self.written_names:
                    # `exe_path = handle.name`: the path of a file this code wrote
                    self.written_names |= names
                    changed = True
            if not changed:
                break
        self._written_through_calls()

    def _written_through_calls(self) -> None:
        """A path links through the module's own calls: `fetch(url, "tool.exe")` where `fetch`
        writes its parameter writes "tool.exe"; `start("tool.exe")` hands a written file to
        `start`'s parameter. Names are per function, so this is how one helper's file reaches another."""
        if not (self.written_names or self.written_literals):
            return
        calls = [
            (node, defs)
            for node in self.nodes
            if isinstance(node, ast.Call) and (defs := self.functions.get(_own_callee(node.func), []))
        ]
        qualify = self.scopes.qualify
        for _ in range(3):
            changed = False
            for call, defs in calls:
                for fn in defs:
                    for param, arg in _bound_arguments(fn, call):
                        inner = qualify(param, fn.lineno)
                        if inner in self.written_names:
                            changed = self._mark_written(arg) or changed
                        elif self._is_written_path(arg):
                            self.written_names.add(inner)
                            changed = True
            if not changed:
                break

    def _mark_written(self, arg: ast.expr) -> bool:
        """Record the path variables and file names in a call's argument as written; True if any
        was new. Only a path's own parts count: names, and literals that name a file
        (`"tool.exe"`), not every word of an f-string or the body of a lambda handed along."""
        before = len(self.written_names) + len(self.written_literals)
        for sub in _path_parts(arg):
            if isinstance(sub, ast.Name) and sub.id not in BUILTIN_NAMES:
                self.written_names.add(self.scopes.qualify_node(sub))
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                name = _file_name(sub.value)
                if name is not None:
                    self.written_literals.add(name)
        return len(self.written_names) + len(self.written_literals) > before

    def _is_written_path(self, arg: ast.expr) -> bool:
        """The argument names a path this code wrote: a written variable, or the same file name."""
        qualify = self.scopes.qualify_node
        for sub in _path_parts(arg):
            if isinstance(sub, ast.Name) and qualify(sub) in self.written_names:
                return True
            if (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and _file_name(sub.value) in self.written_literals
            ):
                return True
        return False

    def _note_handle(self, target: ast.expr, value: ast.expr) -> None:
        """Remember `handle = open(path, ...)` so writes through `handle` know their file."""
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Call) and value.args):
            return
        func = value.func
        named = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        )
        if named == "open" and self.resolve(func) in ("open", "io.open", "builtins.open", "codecs.open"):
            path = value.args[0]
            if isinstance(path, ast.Name) and path.id in self.constants:
                path = self.constants[path.id]
            self.handles[target.id] = path

    def _own_files(self, node: ast.Call, resolved: str) -> None:
        """What code does with the package's own files: removing its own source covers its tracks
        (no library deletes itself); loading a native library it ships is a partner fact."""
        func = node.func
        removes = (resolved in SELF_REMOVERS and node.args and _names_own_file(node.args[0])) or (
            isinstance(func, ast.Attribute) and func.attr == "unlink" and _names_own_file(func.value)
        )
        if removes:
            self.emit(
                Cap.ANTI_ANALYSIS, node, "removes its own source file (covers its tracks)", Trait.SELF_DELETE
            )
        elif resolved in NATIVE_LOADERS and node.args and _names_own_file(node.args[0]):
            self.emit(Cap.NATIVE_LOAD, node, f"{resolved}() loads a native library shipped in the package")

    def _recipient_swaps(self) -> None:
        """A function that takes a transfer's destination from its caller but puts a constant
        address where the destination goes (`{"dest": "5D4k..."}`, `to="0x..."`, or the parameter
        rebound to one): the payment goes to whoever wrote the constant."""
        for defs in self.functions.values():
            for fn in defs:
                args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
                recipients = {a.arg for a in args if RECIPIENT_PARAMETER.search(a.arg)}
                if not recipients:
                    continue
                for sub in walk(fn):
                    slot = _constant_address_slot(sub, recipients)
                    if slot is not None:
                        self.emit(
                            Cap.RECIPIENT_SWAP,
                            sub,
                            f"{fn.name}() takes {sorted(recipients)[0]!r} from its caller but sends "
                            f"to the constant address in {slot}",
                        )
                        break

    def _is_recon_call(self, node: ast.Call) -> bool:
        if id(node) in self.platform_only:
            return False
        resolved = self.resolve(node.func)
        if resolved in PROCESS_OUTPUT_CALLS and node.args:
            # `os.popen("whoami").read()`: the shell's spelling of getpass.getuser()
            return IDENTITY_COMMANDS.search(self._command_words(node.args[:1])) is not None
        return resolved in RECON_STRONG or resolved.startswith(("os.uname", "platform.uname"))

    def _note_platform_only(self, node: ast.Attribute | ast.Subscript) -> None:
        """`platform.uname().machine` (or `[4]`) reads the architecture, not who the host is."""
        call = node.value
        if not (isinstance(call, ast.Call) and self.resolve(call.func) in UNAME_CALLS):
            return
        if isinstance(node, ast.Attribute):
            platform_field = node.attr in UNAME_PLATFORM_FIELDS
        else:
            index = node.slice
            platform_field = isinstance(index, ast.Constant) and index.value in (0, 2, 3, 4, 5)
        if platform_field:
            self.platform_only.add(id(call))

    def _carries_identity(self, node: ast.Call) -> bool:
        """A call whose arguments hold host/user identity (directly or via names)."""
        return any(self._holds_identity(arg) for arg in list(node.args) + [k.value for k in node.keywords])

    def _holds_identity(self, expr: ast.expr) -> bool:
        for sub in walk(expr):
            if isinstance(sub, ast.Name) and self.scopes.qualify_node(sub) in self.recon_names:
                return True
            if isinstance(sub, ast.Call) and self._is_recon_call(sub):
                return True
        return False

    def _command_words(self, command: list[ast.expr]) -> str:
        """The literal text of a command line, constants resolved, for telling which tool it runs."""
        words: list[str] = []
        for arg in command:
            for sub in walk(arg):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    words.append(sub.value)
                elif isinstance(sub, ast.Name) and sub.id in self.constants:
                    value = self.decoder.evaluate(self.constants[sub.id]) if self.decoder else None
                    if isinstance(value, str):
                        words.append(value)
                    else:  # `f"C:\\Users\\{user}\\...\\Startup"`: its literal parts still tell
                        words.extend(
                            part.value
                            for part in walk(self.constants[sub.id])
                            if isinstance(part, ast.Constant) and isinstance(part.value, str)
                        )
        return " ".join(words)

    def _note_written(self, node: ast.Call) -> None:
        """Remember paths the code writes (open for writing, urlretrieve, copies), to link later runs."""
        callee = self.resolve(node.func)
        target: ast.expr | None = None
        if callee in ("open", "io.open", "builtins.open") and node.args:
            mode = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "mode"), None)
            )
            if (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and ("w" in mode.value or "a" in mode.value)
            ):
                target = node.args[0]
        elif (
            callee.rsplit(".", 1)[-1]
            in ("urlretrieve", "download_url_to_file", "copyfile", "copy", "copy2", "move")
            and len(node.args) > 1
        ):
            target = node.args[1]
        if target is None:
            return
        callees = {id(sub.func) for sub in walk(target) if isinstance(sub, ast.Call)}
        for sub in walk(target):
            if isinstance(sub, ast.Name):
                # the path's variables, not `str` in `str(dest)` or `join` in `os.path.join(...)`
                if id(sub) not in callees and sub.id not in BUILTIN_NAMES:
                    self.written_names.add(self.scopes.qualify_node(sub))
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and len(sub.value) > 3:
                base = sub.value.replace("\\", "/").rsplit("/", 1)[-1]
                if base:  # "dir/": an empty name would match every string
                    self.written_literals.add(base)

    def _program_is_variable(self, arg: ast.expr) -> bool:
        if isinstance(arg, (ast.List, ast.Tuple)):
            return bool(arg.elts) and isinstance(arg.elts[0], ast.Name)
        if isinstance(arg, ast.JoinedStr):  # f"start {path}"
            return any(isinstance(v, ast.FormattedValue) for v in arg.values[:2])
        return isinstance(arg, ast.Name)

    def _reads_a_file(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        """`node` is made from what a file of the package gives (`.read()`, `read_text()`,
        `pkgutil.get_data` of a path built from `__file__`, `__package__`, `__name__`),
        directly or through module constants bound to such a read (each followed once). A file
        the user names (`open(sys.argv[2])`) is the user's to run."""
        for sub in walk(node):
            if isinstance(sub, ast.Call) and self._reads_package_data(sub):
                return True
            if (
                isinstance(sub, ast.Name)
                and sub.id in self.constants
                and sub.id not in seen
                and len(seen) < 4
                and self._reads_a_file(self.constants[sub.id], seen | {sub.id})
            ):
                return True
        return False

    def _reads_package_data(self, call: ast.Call) -> bool:
        """A read of the package's resources (importlib.resources, pkgutil, pkg_resources: by
        whatever name the package is given), or a file read of a path built from its location."""
        resolved = self.resolve(call.func)
        if resolved in _PACKAGE_DATA_READS or resolved.startswith(
            ("importlib.resources.", "importlib_resources.")
        ):
            return True
        return resolved.rsplit(".", 1)[-1] in _FILE_READS and _names_the_package(call)

    def _loads_written(self, node: ast.Call, resolved: str) -> None:
        """A native library or a module loaded from a path this code wrote (`CDLL(saved)`,
        `spec_from_file_location(name, saved)`): what was written runs, as a program would."""
        at = PATH_LOADERS.get(resolved)
        if at is None:
            return
        path = node.args[at] if len(node.args) > at else None
        if path is None:
            path = next((k.value for k in node.keywords if k.arg in ("location", "path", "name")), None)
        # by a name bound to a written path only: a release script rewrites `setup.py` and loads
        # it by that literal name, while a dropper keeps where it saved the download in a variable
        if path is not None and any(
            isinstance(sub, ast.Name) and self.scopes.qualify_node(sub) in self.written_names
            for sub in walk(path)
        ):
            self.emit(Cap.RUN_WRITTEN, node, f"{resolved}() loads a file this code wrote")

    def _names_written(self, target: ast.expr) -> bool:
        """`target` names a path this code wrote (a name bound to one, or its literal)."""
        for sub in walk(target):
            if isinstance(sub, ast.Name) and self.scopes.qualify_node(sub) in self.written_names:
                return True
            if (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and any(lit in sub.value for lit in self.written_literals)
            ):
                return True
        return False

    def _runs_written(self, node: ast.Call) -> bool:
        for arg in list(node.args[:1]) + [k.value for k in node.keywords if k.arg in ("args", "executable")]:
            if isinstance(arg, (ast.List, ast.Tuple)):
                # The program, or the script an interpreter runs, not an argument like `tar x FILE`.
                program = arg.elts[:1]
                # An interpreter, or a program held in a variable (`[find_pythonw(), path]`), runs
                # the file named next.
                if program and (_is_interpreter(program[0]) or not isinstance(program[0], ast.Constant)):
                    program = [
                        e
                        for e in arg.elts[1:3]
                        if not (isinstance(e, ast.Constant) and str(e.value).startswith("-"))
                    ][:1]
                target = program[0] if program else arg
            else:
                target = arg
            if self._names_written(target):
                return True
        return False

    def _is_env_copy(self, value: ast.expr) -> bool:
        """`os.environ`, `os.environ.copy()` or `dict(os.environ)`: a handle on the whole environment."""
        if isinstance(value, ast.Attribute):
            return self.resolve(value) == "os.environ"
        if isinstance(value, ast.Call):
            callee = self.resolve(value.func)
            if callee == "os.environ.copy":
                return True
            if callee == "dict" and bool(value.args) and self.resolve(value.args[0]) == "os.environ":
                return True
            # `str(os.environ.items())`, `json.dumps(dict(os.environ))`: the environment as text
            return callee in ENV_COPIERS and bool(value.args) and self._whole_env(value.args[0])
        return False

    def _is_network_call(self, node: ast.Call) -> bool:
        resolved = self.resolve(node.func)
        if resolved.startswith(NETWORK_PREFIXES):
            return resolved.rsplit(".", 1)[-1] not in NOT_SENDS
        if isinstance(node.func, ast.Attribute) and node.func.attr in (
            "connect",
            "connect_ex",
            "sendto",
            "sendall",
        ):
            return "socket" in self.result.imports
        return resolved in ("urlopen", "urlretrieve")

    def reachable_ranges(self) -> None:
        """Mark function bodies that do not run in the file's base context."""
        roots: set[str] = set()
        guard_roots: set[str] = set()
        install_methods: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        hook_methods: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                roots.update(self._decorator_names(stmt))
                roots.update(self._def_time_names(stmt))
                continue
            if isinstance(stmt, ast.ClassDef):
                roots.update(self._class_time_names(stmt))
                if self._is_install_command(stmt):
                    methods = [m for m in stmt.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
                    install_methods.extend(methods)
                    if self._is_install_hook(stmt):
                        hook_methods.extend(methods)
                for item in stmt.body:
                    if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        roots.update(self._names_in(item))
                continue
            if isinstance(stmt, ast.If) and _is_main_guard(stmt) and not self.runs_as_main:
                guard_roots.update(self._names_in(stmt))
                self.result.call_ranges.append((stmt.lineno, stmt.end_lineno or stmt.lineno, Context.CALL))
                continue
            roots.update(self._names_in(stmt))
        reached = self._closure(roots | self.extra_roots)
        install_reached: set[str] = set()
        if install_methods:
            install_names: set[str] = set()
            for method in install_methods:
                install_names.update(self._names_in(method))
            install_reached = self._closure(install_names)
        if hook_methods and self.base is Context.INSTALL:
            hook_names: set[str] = set()
            for method in hook_methods:
                hook_names.update(self._names_in(method))
                self.result.hook_ranges.append((method.lineno, method.end_lineno or method.lineno))
            for fname in self._closure(hook_names):
                for fdef in self.functions.get(fname, []):
                    self.result.hook_ranges.append((fdef.lineno, fdef.end_lineno or fdef.lineno))
        for fname, defs in self.functions.items():
            for fdef in defs:
                end = fdef.end_lineno or fdef.lineno
                if fdef in install_methods or fname in install_reached:
                    self.result.call_ranges.append((fdef.lineno, end, Context.INSTALL))
                elif fname in reached:
                    continue  # runs in the base context: no range needed
                else:
                    self.result.call_ranges.append((fdef.lineno, end, Context.CALL))
        if self.base is Context.DEV:
            self.result.call_ranges = [(s, e, Context.DEV) for s, e, _ in self.result.call_ranges]

    def _def_time_names(self, fdef: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        """What runs when a `def` statement runs: decorators (called with the function) and default
        argument values (evaluated once, at definition)."""
        names: set[str] = set()
        for deco in fdef.decorator_list:
            names.update(self._names_in(deco))
            if isinstance(deco, ast.Name):
                names.add(deco.id)
        for default in [*fdef.args.defaults, *(d for d in fdef.args.kw_defaults if d is not None)]:
            names.update(self._names_in(default))
        return names

    def _class_time_names(self, cls: ast.ClassDef) -> set[str]:
        """What runs when a `class` statement runs: class decorators, the metaclass, the bases'
        `__init_subclass__`, and the def-time parts of its methods."""
        names: set[str] = set()
        for deco in cls.decorator_list:
            names.update(self._names_in(deco))
            if isinstance(deco, ast.Name):
                names.add(deco.id)
        for keyword in cls.keywords:
            if keyword.arg == "metaclass" and isinstance(keyword.value, ast.Name):
                names.add(keyword.value.id)
            names.update(self._names_in(keyword.value))
        if any(isinstance(b, ast.Name) and b.id in self.classes for b in cls.bases):
            names.add("__init_subclass__")
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.update(self._def_time_names(item))
        return names

    def _decorator_names(self, fdef: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        names: set[str] = set()
        for deco in fdef.decorator_list:
            if self.resolve(deco if not isinstance(deco, ast.Call) else deco.func) in ("atexit.register",):
                names.add(fdef.name)
        return names

    def _is_install_hook(self, cls: ast.ClassDef) -> bool:
        """Overrides of the commands that run when a package is installed (not built)."""
        return any(self.resolve(b).rsplit(".", 1)[-1] in INSTALL_HOOKS for b in cls.bases)

    def _is_install_command(self, cls: ast.ClassDef) -> bool:
        for base in cls.bases:
            resolved = self.resolve(base)
            last = resolved.rsplit(".", 1)[-1]
            if last in INSTALL_COMMANDS or ".command." in resolved:
                return True
        return False

    def _names_in(self, node: ast.AST) -> set[str]:
        """Names of what `node` calls, or hands over to be called (thread targets, callbacks)."""
        names: set[str] = set()
        for sub in walk(node):
            if not isinstance(sub, ast.Call):
                continue
            func = sub.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                owner = func.value
                # obj.method(): follow only calls on self/cls or on a class of this module, so a
                # module-level `requests.get()` does not reach every local function named get.
                if isinstance(owner, ast.Name) and (owner.id in ("self", "cls") or owner.id in self.classes):
                    names.add(func.attr)
            for kw in sub.keywords:
                if kw.arg in ("target", "callback", "func", "function") and isinstance(kw.value, ast.Name):
                    names.add(kw.value.id)
            callee = self.resolve(func)
            if callee in (
                "atexit.register",
                "threading.Timer",
                "signal.signal",
                "sys.excepthook",
            ) or callee.endswith((".submit", ".run_in_executor", ".start_new_thread", "Thread")):
                names.update(a.id for a in sub.args if isinstance(a, ast.Name))
        return names

    def _closure(self, roots: set[str]) -> set[str]:
        reached: set[str] = set()
        todo = [n for n in roots if n in self.functions or n in self.classes]
        while todo:
            name = todo.pop()
            if name in reached:
                continue
            reached.add(name)
            bodies: list[ast.AST] = list(self.functions.get(name, []))
            cls = self.classes.get(name)
            if cls is not None:
                bodies.extend(
                    m
                    for m in cls.body
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and m.name in INSTANCE_TIME_METHODS
                )
                for m in cls.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in (
                        INSTANCE_TIME_METHODS
                    ):
                        todo.append(m.name)
            for body in bodies:
                for sub in self._names_in(body):
                    if sub not in reached and (sub in self.functions or sub in self.classes):
                        todo.append(sub)
        return reached

    # ---- pass 2: facts ------------------------------------------------------------------------
    def emit(self, cap: Cap, node: ast.AST, detail: str, trait: Trait | None = None) -> None:
        line = getattr(node, "lineno", None)
        context = self.result.context_at(line)
        self.result.facts.append(Fact(cap, self.file, line, context, detail, trait=trait))

    def scan(self) -> None:
        helpers: dict[str, tuple[str, ast.expr]] = {}
        for name in self.decoder_funcs:
            defined = self.functions.get(name, [])
            found = one_return(defined[0]) if len(defined) == 1 else None  # defined twice: not followed
            if found is not None:
                helpers[name] = found
        decoder = StaticDecoder(self.constants, self.decoder_funcs, helpers)
        self.decoder = decoder
        for name_node, original in self.renamed:
            self.emit(Cap.DYNAMIC_BUILTIN, name_node, f"{original} renamed to {name_node.id!r}")
        self._recipient_swaps()
        for node in self.nodes:
            # the commonest kinds first: most nodes are names and constants
            if isinstance(node, ast.Name):
                if not node.id.isascii():
                    self.emit(Cap.ODD_IDENTIFIER, node, f"non-ASCII identifier {node.id!r}")
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, str):
                    self._string(node)
            elif isinstance(node, ast.Call):
                self._call(node, decoder)
            elif isinstance(node, ast.ClassDef):
                if self._is_install_command(node):
                    self.emit(Cap.CMDCLASS, node, f"class {node.name} overrides a setup command")
            elif isinstance(node, ast.While) and self._opaque_loop(node):
                self.emit(Cap.OPAQUE_LOOP, node, "loop with a constant or self-cancelling condition")

    def _opaque_loop(self, node: ast.While) -> bool:
        test = node.test
        return (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Constant)
            and all(isinstance(c, ast.Constant) for c in test.comparators)
        )

    def _string(self, node: ast.Constant) -> None:
        value = node.value
        if (
            isinstance(value, str)
            and len(value) >= 512
            and " " not in value[:512]
            and entropy(value[:4096]) > 4.8
        ):
            self.emit(Cap.BLOB, node, f"{len(value)}-character high-entropy literal")

    def _call(self, node: ast.Call, decoder: StaticDecoder) -> None:
        func = node.func
        resolved = self.resolve(func)
        short = resolved.rsplit(".", 1)[-1]
        self._own_files(node, resolved)
        self._loads_written(node, resolved)
        self._file_run_by_path(node, resolved, decoder)
        if (
            resolved in EXEC_NAMES
            or resolved in ("builtins.exec", "builtins.eval", "__builtins__.exec", "__builtins__.eval")
            or self._getattr_exec(node)
        ):
            self._exec(node, resolved or "exec", decoder)
        elif resolved in DYNAMIC_IMPORTS:
            if node.args and not isinstance(node.args[0], ast.Constant):
                self.emit(Cap.EXEC, node, f"{resolved}() of a computed name", Trait.COMPUTED_NAME)
            elif node.args:
                name = node.args[0]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    self.result.imports.add(name.value)  # `__import__("pkg.payload")` imports it
        elif resolved in CODE_LOADERS and node.args:
            # Unpickling data is everyday library work; unpickling a literal blob or a download is
            # how payloads hide.
            if self._contains(node.args[0], self.network_names, "network"):
                self.emit(Cap.NETWORK_EXEC, node, f"{resolved}() of downloaded data")
            elif self._literal_payload(node.args[0], decoder):
                self.emit(Cap.DECODE_EXEC, node, f"{resolved}() of a payload decoded from a literal")
        if resolved in PROCESS_CALLS or (
            short in ("Popen", "check_output", "check_call") and "subprocess" in resolved
        ):
            self._process(node, resolved)
        elif self._is_network_call(node):
            self.emit(Cap.NETWORK, node, resolved)
            if self._carries_identity(node):
                self.emit(Cap.BEACON, node, f"{resolved}() sends host or user identity")
            if any(start <= node.lineno <= end for start, end in self.result.hook_ranges):
                self.emit(Cap.HOOK_NETWORK, node, f"{resolved} from an overridden install command")
        elif resolved in DNS_LOOKUPS and any(
            start <= node.lineno <= end for start, end in self.result.hook_ranges
        ):
            # A name lookup is a message: the DNS server of the zone learns that pip ran this.
            self.emit(Cap.HOOK_NETWORK, node, f"{resolved} (a DNS query) from an overridden install command")
        for arg in node.args[:2]:
            spelled = _spelled_from_codes(arg)
            if spelled in SPELLED_NAMES:
                # `_([chr(c) for c in [95, 95, 105, ...]])` is `__import__`, kept from plain sight
                self.emit(Cap.OBFUSCATOR, node, f"spells {spelled!r} from character codes")
                break
        if short in ADDRESS_TAKERS or self._is_network_call(node):
            self._hidden_address(node, resolved or short)
        if short in ("get_credentials", "get_frozen_credentials") and "boto" in " ".join(self.result.imports):
            self.emit(Cap.SECRET, node, f"{short}(): reads the AWS credentials the SDK can find")
        if resolved in RECON_STRONG and id(node) not in self.platform_only:
            self.emit(Cap.RECON, node, resolved)
        elif (
            resolved
            in ("socket.gethostbyname", "socket.getaddrinfo", "dns.resolver.resolve", "dns.resolver.query")
            and node.args
            and isinstance(node.args[0], ast.JoinedStr)
        ):
            self.emit(Cap.DNS_EXFIL, node, f"{resolved}() of a host name built from data")
        if self._env_dump(node, resolved):
            self.emit(Cap.ENV_DUMP, node, "takes the whole process environment")
        if short in DECODE_ATTRS or resolved in CODE_LOADERS:
            self.emit(Cap.DECODE, node, resolved or short)
            value = decoder.evaluate(node)
            if value is not None and len(value) >= 24:
                line = node.lineno
                self.result.decoded.append((line, self.result.context_at(line), value))
        if resolved in ("pip.main", "pip._internal.main", "pip._internal.cli.main.main"):
            self.emit(Cap.PIP_INSTALL, node, f"{resolved}() installs packages at run time")
        if resolved in ("os.chmod",) and len(node.args) > 1:
            mode = node.args[1]
            if isinstance(mode, ast.Constant) and isinstance(mode.value, int) and mode.value & 0o111:
                self.emit(Cap.WRITE_EXEC, node, "marks a file executable")
        # what is written: the first argument, or the second of `os.write(fd, data)`
        written = (
            node.args[1]
            if resolved == "os.write" and len(node.args) > 1
            else node.args[0]
            if node.args
            else None
        )
        if short in ("write", "write_text") and written is not None:
            self._note_written_code(node, written)
            self._startup_file_write(node)
        if (
            short == "write"
            and written is not None
            and self._contains(written, self.network_names, "network")
        ):
            self.emit(Cap.DROP, node, "writes downloaded bytes to a file")
        elif (
            short == "write" and written is not None and self._contains(written, self.decoded_names, "decode")
        ):
            self.emit(Cap.DROP_DECODED, node, "writes decoded bytes to a file")
            value = decoder.evaluate(written)
            if value is not None and len(value) >= 24:
                self.result.decoded.append((node.lineno, self.result.context_at(node.lineno), value))
        elif resolved in (
            "urllib.request.urlretrieve",
            "urllib.urlretrieve",
            "urlretrieve",
            "wget.download",
            "torch.hub.download_url_to_file",  # what a hubconf.py fetches
        ):
            self.emit(Cap.DROP, node, f"{resolved}() saves a download to disk")
        elif (
            resolved == "shutil.copyfileobj"
            and node.args
            and self._contains(node.args[0], self.network_names, "network")
        ):
            self.emit(Cap.DROP, node, "copies a download to a file")
        if self._dynamic_builtin(node, resolved):
            self.emit(Cap.DYNAMIC_BUILTIN, node, "looks up a builtin or module attribute by computed name")
        if resolved in ("os.memfd_create",) or (short == "syscall" and "319" in ast.dump(node)):
            self.emit(Cap.FILELESS, node, "creates an anonymous in-memory file (memfd) to run a program from")
        if resolved in ("os.dup2",):
            self.emit(
                Cap.REVERSE_SHELL,
                node,
                "os.dup2 redirects standard streams (reverse shell pattern)",
                Trait.STREAM_REDIRECT,
            )

    def _hidden_address(self, node: ast.Call, callee: str) -> None:
        """An address the package itself carries encoded (decodable here, from its literals) handed
        to anything that connects; configuration decoded at run time (cloud IDs, tokens) is ordinary."""
        address = node.args[:1] + [k.value for k in node.keywords if k.arg in ("url", "host")]
        for arg in address:
            if not self._contains(arg, self.decoded_names, "decode"):
                continue
            value = self._command_value(arg)
            if isinstance(value, str) and _ADDRESS.match(value.strip()):
                detail = f"{callee}() to {value.strip()[:60]!r}, hidden by encoding"
                self.emit(Cap.HIDDEN_ENDPOINT, node, detail)
                return

    def _literal_constant(self, name: str) -> bool:
        """`name` is bound once to a literal string (or one decoded statically): a stored payload."""
        value = self.constants.get(name)
        if isinstance(value, ast.Constant):
            return isinstance(value.value, (str, bytes)) and len(value.value) >= 16
        return value is not None and self.decoder is not None and self.decoder.evaluate(value) is not None

    def _startup_file_write(self, node: ast.Call) -> None:
        """`handle.write(...)` into a shell start-up file, where what is written fetches or starts
        something: the classic way to come back at every login."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        target = self.handles.get(func.value.id)
        if target is None:
            return
        path = self._command_words([target])
        place = AUTOSTART_PATH.search(path)
        if not place:
            return
        text = self._command_words(node.args[:1])
        tool = RC_PAYLOAD.search(text)
        if tool:
            self.emit(
                Cap.PERSISTENCE,
                node,
                f"appends a command that runs {tool.group(1)} to {place.group(0)}",
                Trait.AUTOSTART_COMMAND,
            )
        elif self._contains(node.args[0], self.network_names, "network"):
            self.emit(
                Cap.PERSISTENCE,
                node,
                f"saves a download into the auto-start location {place.group(0)}",
                Trait.AUTOSTART_DOWNLOAD,
            )
        elif node.args and self._contains(node.args[0], self.decoded_names, "decode"):
            # a login script holds plain commands: text that had to be decoded first is hidden
            self.emit(
                Cap.PERSISTENCE,
                node,
                f"writes text hidden by encoding into {place.group(0)}",
                Trait.AUTOSTART_HIDDEN_TEXT,
            )
        elif not place.group(0).startswith("."):
            # a program dropped where the OS starts it by itself (shell rc files hold PATH exports too)
            self.emit(
                Cap.PERSISTENCE,
                node,
                f"saves a program into the auto-start location {place.group(0)}",
                Trait.AUTOSTART_PROGRAM,
            )

    def _command_value(self, arg: ast.expr) -> bytes | str | None:
        """A command decoded statically: a string, or an argv list whose items decode (joined)."""
        if self.decoder is None:
            return None
        if isinstance(arg, ast.Name) and isinstance(self.constants.get(arg.id), (ast.List, ast.Tuple)):
            arg = self.constants[arg.id]
        if isinstance(arg, (ast.List, ast.Tuple)):
            parts = [self.decoder.evaluate(elt) for elt in arg.elts]
            if not parts or any(not isinstance(p, str) for p in parts):
                return None
            return " ".join(p for p in parts if isinstance(p, str))
        return self.decoder.evaluate(arg)

    def _note_written_code(self, node: ast.Call, arg: ast.expr) -> None:
        """Python source held in a literal and written to a file is a program this code drops: analyse
        it as running where the write happens (the usual next step is to start it)."""
        if isinstance(arg, ast.Name) and arg.id in self.constants:
            arg = self.constants[arg.id]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            code = arg.value
        else:
            # a template filled from constants (`f"...{HOST}..."`, `TEMPLATE % HOST`) is as literal
            value = self.decoder.evaluate(arg) if self.decoder is not None else None
            if not isinstance(value, str):
                return
            code = value
        if len(code) > MAX_WRITTEN_CODE:
            return
        python = "\n" in code and "import" in code and parse_python(code) is not None
        # A shell script written from a literal (`fw.write("curl ... ; chmod +x ...")`) is a
        # program too; the nested pass reads it with the text rules.
        shell = not python and len(code) >= 20 and SHELL_SCRIPT.search(code) is not None
        if python or shell:
            self.result.nested_code.append((node.lineno, self.result.context_at(node.lineno), code))

    def _dynamic_builtin(self, node: ast.Call, resolved: str) -> bool:
        if (
            resolved == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], (ast.BinOp, ast.Call, ast.Subscript, ast.JoinedStr))
        ):
            if self._names_builtins(node.args[0]):
                return True
            return self._contains(node.args[1], set(), "decode")
        return False

    def _names_builtins(self, node: ast.expr, depth: int = 0) -> bool:
        """The builtins module or namespace (`__builtins__`, `builtins`, `__import__("builtins")`),
        also as either branch of a choice (`__builtins__ if ... else __import__("builtins")`:
        `__builtins__` is the module in `__main__` and its dict elsewhere)."""
        if isinstance(node, ast.IfExp) and depth < 8:
            return self._names_builtins(node.body, depth + 1) or self._names_builtins(node.orelse, depth + 1)
        if isinstance(node, ast.BoolOp) and depth < 8:
            return any(self._names_builtins(value, depth + 1) for value in node.values)
        owner = self.resolve(node)
        return owner in ("builtins", "__import__('builtins')") or owner.startswith("__builtins__")

    def _literal_payload(self, arg: ast.expr, decoder: StaticDecoder) -> bool:
        value = decoder.evaluate(arg)
        if value is not None and len(value) >= 16:
            return True
        return any(
            isinstance(sub, ast.Constant) and isinstance(sub.value, (str, bytes)) and len(sub.value) >= 64
            for sub in walk(arg)
        )

    def _getattr_exec(self, node: ast.Call) -> bool:
        func = node.func
        if isinstance(func, ast.Call) and self.resolve(func.func) == "getattr" and len(func.args) >= 2:
            name = func.args[1]
            if isinstance(name, ast.Constant) and name.value in ("exec", "eval", "compile"):
                return True
            return self._contains(name, self.decoded_names, "decode")
        if isinstance(func, ast.Subscript):
            # `vars(builtins)["exec"]`, `builtins.__dict__["ex" + "ec"]`
            return _fold_text(func.slice) in ("exec", "eval")
        return False

    def _env_dump(self, node: ast.Call, resolved: str) -> bool:
        """The whole environment serialised, or handed to a network call (copies for subprocesses
        are everywhere and do not count)."""
        if resolved in SERIALIZERS and node.args:
            return self._whole_env(node.args[0])
        if self._is_network_call(node):
            for arg in list(node.args) + [k.value for k in node.keywords]:
                if self._whole_env(arg):
                    return True
                env_names = self.env_names
                qualify = self.scopes.qualify_node
                if any(isinstance(sub, ast.Name) and qualify(sub) in env_names for sub in walk(arg)):
                    return True
        return False

    def _whole_env(self, expr: ast.expr) -> bool:
        """`expr` reaches `os.environ` as a whole (`str(os.environ.items())`, `dict(os.environ)`),
        not just single variables (`os.environ["HOME"]`, `os.environ.get("TOKEN")`)."""
        nodes = walk(expr)
        wholes = sum(1 for n in nodes if isinstance(n, ast.Attribute) and self.resolve(n) == "os.environ")
        if not wholes:
            return False
        single = 0
        for n in nodes:
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute):
                single += self.resolve(n.value) == "os.environ"
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in ("get", "pop", "setdefault", "__getitem__", "__contains__")
                and isinstance(n.func.value, ast.Attribute)
            ):
                single += self.resolve(n.func.value) == "os.environ"
        return wholes > single

    def _detached(self, node: ast.Call) -> bool:
        """A child that survives its parent: `start_new_session=True`, `preexec_fn=os.setsid` or
        `os.setpgrp`, or Windows `creationflags` with DETACHED_PROCESS (0x8)."""
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "start_new_session":
                return isinstance(value, ast.Constant) and value.value is True
            if keyword.arg == "preexec_fn":
                return self.resolve(value) in ("os.setsid", "os.setpgrp")
            if keyword.arg == "creationflags":
                for sub in walk(value):
                    if isinstance(sub, (ast.Name, ast.Attribute)) and _dotted(sub).endswith(
                        "DETACHED_PROCESS"
                    ):
                        return True
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, int) and sub.value & 0x8:
                        return True
        return False

    def _file_run_by_path(self, node: ast.Call, resolved: str, decoder: StaticDecoder) -> None:
        """A Python file this code runs by its path: `exec(open(P).read())` (also through
        `compile(...)`), `runpy.run_path(P)`, `imp.load_source(name, P)`. Its module joins
        `run_modules`, so the file takes this code's context (setup.py reading its version by
        exec runs that whole file at install time)."""
        path: ast.expr | None = None
        if resolved in EXEC_NAMES and node.args:
            code = node.args[0]
            if isinstance(code, ast.Call) and self.resolve(code.func) == "compile" and code.args:
                code = code.args[0]
            if (
                isinstance(code, ast.Call)
                and isinstance(code.func, ast.Attribute)
                and code.func.attr in ("read", "read_text")
                and isinstance(code.func.value, ast.Call)
                and code.func.value.args
                and self.resolve(code.func.value.func).rsplit(".", 1)[-1] in ("open", "Path")
            ):
                path = code.func.value.args[0]
        elif resolved == "runpy.run_path" and node.args:
            path = node.args[0]
        elif resolved == "imp.load_source" and len(node.args) > 1:
            path = node.args[1]
        value = decoder.evaluate(path) if path is not None else None
        if isinstance(value, str) and value.endswith(".py"):
            module = value.replace("\\", "/").removeprefix("./").removesuffix(".py").strip("/")
            if module and ".." not in module:
                self.result.run_modules.add(module.replace("/", "."))

    def _exec(self, node: ast.Call, name: str, decoder: StaticDecoder) -> None:
        if not node.args:
            return
        arg = node.args[0]
        if isinstance(arg, ast.Call) and self.resolve(arg.func) == "compile" and arg.args:
            arg = arg.args[0]  # exec(compile(SOURCE, ...)) runs SOURCE
        if isinstance(arg, ast.Constant):
            if isinstance(arg.value, str) and arg.value.isidentifier() and arg.value in BUILTIN_NAMES:
                self.emit(
                    Cap.DYNAMIC_BUILTIN,
                    node,
                    f"{name}({arg.value!r}) fetches a builtin by evaluating its name",
                )
            if isinstance(arg.value, (str, bytes)) and name != "compile":
                # exec(b"\x65\x78...") runs the bytes as source: escapes hide it from a reader only
                text = arg.value if isinstance(arg.value, str) else arg.value.decode("utf-8", "replace")
                self.result.nested_code.append((node.lineno, self.result.context_at(node.lineno), text))
            return
        if self._contains(arg, self.network_names, "network"):
            self.emit(Cap.NETWORK_EXEC, node, f"{name}() of data fetched from the network")
        elif self._contains(arg, self.decoded_names, "decode"):
            context = self.result.context_at(node.lineno)
            literal = self._literal_payload(arg, decoder) or any(
                isinstance(sub, ast.Name) and self._literal_constant(sub.id) for sub in walk(arg)
            )
            # at import, decoding what a file holds and running it is a payload kept in a data file
            # of the package (`exec(b64decode(json.loads(files(p).read_text())["k"]))`)
            kept = context is Context.IMPORT and self._reads_a_file(arg)
            if literal or kept or context in (Context.STARTUP, Context.INSTALL):
                self.emit(Cap.DECODE_EXEC, node, f"{name}() of decoded data")
            else:
                self.emit(Cap.EXEC, node, f"{name}() of data decoded at run time")
            value = decoder.evaluate(arg)
            if value is not None:
                self.result.decoded.append((node.lineno, context, value))
        elif name != "compile":
            self.emit(Cap.EXEC, node, f"{name}() of computed code")

    def _hidden_powershell(self, node: ast.Call, command: list[ast.expr]) -> None:
        """PowerShell started with its script base64-encoded (`-e`, `-enc`, any abbreviation of
        `-EncodedCommand`) or with a hidden window, written as an argument list (the pattern rules
        read the same thing written as one command line)."""
        words = self._command_words(command)
        if not _POWERSHELL.search(words):
            return
        if _PS_ENCODED.search(words):
            detail = "starts PowerShell with a base64-encoded script"
            self.emit(Cap.HIDDEN_SHELL, node, detail, Trait.ENCODED_COMMAND)
        elif _PS_HIDDEN.search(words):
            self.emit(Cap.HIDDEN_SHELL, node, "starts PowerShell with a hidden window")

    def _process(self, node: ast.Call, resolved: str) -> None:
        self.emit(Cap.PROCESS, node, resolved)
        if self._detached(node):
            self.emit(Cap.DETACHED, node, f"{resolved}() starts a detached background process")
        if self._runs_written(node):
            self.emit(Cap.RUN_WRITTEN, node, f"{resolved}() runs a file this code wrote")
        elif node.args and self._program_is_variable(node.args[0]):
            self.emit(Cap.RUN_VARIABLE, node, f"{resolved}() runs a program named by a variable")
        command = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "args"]
        self._hidden_powershell(node, command)
        if any(self._holds_identity(arg) for arg in command):
            tool = NETWORK_TOOL.search(self._command_words(command))
            if tool:
                # `ping <hex(user;host)>.attacker.tld`: the name lookup itself carries the data out
                self.emit(Cap.BEACON, node, f"{resolved}() passes host or user identity to {tool.group(1)}")
        if any(self._contains(arg, self.decoded_names, "decode") for arg in command):
            self.emit(Cap.DECODE_EXEC, node, f"{resolved}() runs a decoded command", Trait.DECODED_COMMAND)
            for arg in command:
                value = self._command_value(arg)
                if value is not None:
                    self.result.decoded.append((node.lineno, self.result.context_at(node.lineno), value))
        args = list(node.args) + [k.value for k in node.keywords if k.arg in ("args",)]
        if not args:
            return
        first = args[0]
        elems = first.elts if isinstance(first, (ast.List, ast.Tuple)) else [first]
        strings = []
        for e in elems:
            value = self.decoder.evaluate(e) if self.decoder is not None else None
            if isinstance(value, str):
                strings.append(value)
        for i, text in enumerate(strings[:-1]):
            if text == "-c":
                self.result.nested_code.append(
                    (node.lineno, self.result.context_at(node.lineno), strings[i + 1])
                )
            elif text == "-m":
                self.result.run_modules.add(strings[i + 1])
        for text in strings:
            for token in text.split():
                if token.endswith(".py") and "/" not in token.strip("./"):
                    self.result.run_modules.add(token[:-3].strip("./").replace("/", "."))
        # f-strings (`f"{sys.executable} -m pip install X"`) only evaluate in part: add their literal words
        joined = (" ".join(strings) + " " + self._command_words(elems)).lower()
        if "pip" in joined and "install" in joined and not re.search(r"install\s+(-e\s+)?\.(\s|$)", joined):
            direct = DIRECT_URL.search(joined)
            if direct:
                detail = f"runs pip install of a direct URL ({direct.group(0)[:80]})"
                self.emit(Cap.PIP_INSTALL, node, detail, Trait.DIRECT_URL)
            else:
                self.emit(Cap.PIP_INSTALL, node, "runs pip install")
        for kw in node.keywords:
            if kw.arg == "creationflags" and "CREATE_NO_WINDOW" in ast.dump(kw.value):
                self.emit(Cap.HIDDEN_SHELL, node, "starts a process with no window")


_PREPARE_KINDS = frozenset(
    {
        ast.BinOp,
        ast.Import,
        ast.ImportFrom,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.Call,
        ast.ClassDef,
        ast.Expr,
        ast.Assign,
        ast.Subscript,
        ast.withitem,
    }
)
_TAINT_KINDS = frozenset(
    {
        ast.For,
        ast.AsyncFor,
        ast.comprehension,
        ast.withitem,
        ast.Call,
        ast.Assign,
        ast.AnnAssign,
        ast.AugAssign,
    }
)
"""The nodes `_Analyzer._taint` reads (loops, `with` items, calls, assignments)."""


def _xor_of_text(node: ast.BinOp, constants: dict[str, ast.expr]) -> bool:
    """`ord(c) ^ key`, or `b ^ key` for `b` drawn from a literal (`for b in b"\\xae..."`): XOR
    over characters or bytes, not over numbers."""
    for side in (node.left, node.right):
        if isinstance(side, ast.Call) and isinstance(side.func, ast.Name) and side.func.id == "ord":
            return True
        if isinstance(side, ast.Subscript) and isinstance(side.value, ast.Name):
            bound = constants.get(side.value.id)
            if isinstance(bound, ast.Constant) and isinstance(bound.value, bytes):
                return True
    return False


def _spelled_from_codes(node: ast.expr) -> str | None:
    """The text of `[chr(c) for c in [..ints..]]`, `(chr(c) for c in ...)` or `map(chr, [..])`."""
    codes: ast.expr | None = None
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and len(node.generators) == 1:
        elt = node.elt
        if isinstance(elt, ast.Call) and isinstance(elt.func, ast.Name) and elt.func.id == "chr":
            codes = node.generators[0].iter
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "map"
        and len(node.args) == 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "chr"
    ):
        codes = node.args[1]
    if not isinstance(codes, (ast.List, ast.Tuple)) or not 2 < len(codes.elts) < 64:
        return None
    chars: list[str] = []
    for elt in codes.elts:
        if not (isinstance(elt, ast.Constant) and isinstance(elt.value, int) and 0 < elt.value < 0x110000):
            return None
        chars.append(chr(elt.value))
    return "".join(chars)


DANGEROUS_MODULES = frozenset(
    {
        "os",
        "subprocess",
        "builtins",
        "sys",
        "socket",
        "base64",
        "marshal",
        "zlib",
        "ctypes",
        "importlib",
        "pty",
    }
)
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _fold_text(node: ast.expr, depth: int = 0) -> str | None:
    """The value of a string literal built only from literals joined with `+`."""
    if depth > 200:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _fold_text(node.left, depth + 1)
        right = _fold_text(node.right, depth + 1) if left is not None else None
        return left + right if left is not None and right is not None else None
    return None


def flow_summaries(
    source: bytes, file: str, base: Context, names: frozenset[str], *, tree: ast.Module | None = None
) -> dict[str, Summary]:
    """Summaries of the functions `names` of a module, for the modules that call them (those
    worth handing on: see `custody.scan.flow.interesting`), from the names and value flow alone.
    `tree`: the module already parsed, if it was."""
    tree = exported_tree(source, names) if tree is None else exported_slice(tree, names)
    if tree is None:
        return {}
    analyzer = _Analyzer(tree, file, base)
    try:
        analyzer.prepare(names_only=True)
        return module_flows(
            tree, analyzer.resolve, analyzer.constants, analyzer.result.imports, analyzer.nodes, export=names
        )[1]
    except RecursionError:
        return {}


def flows_with_imports(
    source: bytes,
    file: str,
    base: Context,
    roots: frozenset[str],
    imported: Mapping[str, Summary],
    *,
    tree: ast.Module | None = None,
) -> list[FlowFact]:
    """A module's value flows followed again with the summaries of the helpers it imports
    (`tree`: the module already parsed, if it was)."""
    tree = parse_python(source) if tree is None else tree
    if tree is None:
        return []
    analyzer = _Analyzer(tree, file, base)
    analyzer.extra_roots = set(roots)
    try:
        analyzer.prepare(names_only=True)
        analyzer.reachable_ranges()
        result = analyzer.result
        flows, _ = module_flows(
            tree, analyzer.resolve, analyzer.constants, result.imports, analyzer.nodes, imported=imported
        )
    except RecursionError:
        return []
    return [FlowFact(flow, file, result.context_at(flow.line)) for flow in flows]


def within_prose(source: bytes, tree: ast.Module, spans: list[tuple[int, int]]) -> bool:
    """Whether every (offset, length) byte span of `source` lies inside a bare string statement
    (a docstring or any string expression whose value is dropped), as `tree` parsed it.

    Such text is prose to the analysis too (`PythonAnalysis.text_ranges`). Exact byte positions,
    not lines: a statement after the string on its line is code. False when the positions cannot
    be trusted (a lone carriage return ends a line for the parser but not for this count) or when
    the source reads a docstring back (`__doc__`), which makes that prose data."""
    if b"__doc__" in source or b"\r" in source.replace(b"\r\n", b""):
        return False
    starts = [0]
    find = source.find
    at = find(b"\n")
    while at >= 0:
        starts.append(at + 1)
        at = find(b"\n", at + 1)
    prose: list[tuple[int, int]] = []
    for node in walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and node.end_lineno is not None
            and node.end_col_offset is not None
        ):
            # CPython's column offsets count UTF-8 bytes
            prose.append(
                (starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset)
            )
    return all(
        any(start <= offset and offset + length <= end for start, end in prose) for offset, length in spans
    )


@dataclass(frozen=True, slots=True)
class ImportedDefinitions:
    """Definitions of other modules of a package under the local names a module imports them as."""

    constants: Mapping[str, ast.expr] = field(default_factory=dict)
    """Top-level string or bytes constants (a literal, or literals joined with `+`)."""
    decoders: frozenset[str] = frozenset()
    """Top-level functions that return what a decoding call gives (`zlib.decompress(b64decode(s))`)."""


def module_definitions(tree: ast.Module, names: Mapping[str, str]) -> ImportedDefinitions:
    """What `tree` defines at top level under `names` (its name -> the importer's local name)."""
    constants: dict[str, ast.expr] = {}
    decoders: set[str] = set()
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id in names
            and _literal_text(statement.value)
        ):
            constants[names[statement.targets[0].id]] = statement.value
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in names:
            nodes = walk(statement)
            returns = any(isinstance(n, ast.Return) and n.value is not None for n in nodes)
            decodes = any(
                isinstance(n, ast.Call)
                and (
                    (isinstance(n.func, ast.Attribute) and n.func.attr in DECODE_ATTRS)
                    or (isinstance(n.func, ast.Name) and n.func.id in DECODE_ATTRS)
                )
                for n in nodes
            )
            if returns and decodes:
                decoders.add(names[statement.name])
    return ImportedDefinitions(constants, frozenset(decoders))


def _literal_text(node: ast.expr) -> bool:
    """A string or bytes literal, or literals joined with `+`."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, bytes))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_text(node.left) and _literal_text(node.right)
    return False


def analyze_python(
    source: bytes | str,
    file: str,
    base: Context,
    roots: frozenset[str] = frozenset(),
    *,
    runs_as_main: bool = False,
    tree: ast.Module | None = None,
    imported: ImportedDefinitions | None = None,
) -> PythonAnalysis | None:
    """Facts for one Python source; None when it does not parse (caller falls back to text rules).

    `roots` are function names another file calls in `base` context (setup.py importing its own
    package, a .pth start-up entry point), so their bodies run in that context too. `tree`: the
    source already parsed (by a pre-check), so it is not parsed twice. `imported`: what other
    modules of the package define under the names this one imports (a payload constant, a
    decoding helper), so `exec(decode(BLOB))` reads the same whichever module holds BLOB.
    """
    tree = parse_python(source) if tree is None else tree
    if tree is None:
        return None
    analyzer = _Analyzer(tree, file, base)
    analyzer.extra_roots = set(roots)
    if imported is not None:
        analyzer.imported_constants = dict(imported.constants)
        analyzer.decoder_funcs |= imported.decoders
    analyzer.runs_as_main = runs_as_main  # setup.py: its `if __name__ == "__main__"` block runs too
    try:
        analyzer.prepare()
        analyzer.reachable_ranges()
        analyzer.scan()
        result = analyzer.result
        result.flow_skipped = len(analyzer.nodes) > MAX_FLOW_NODES
        flows, _ = module_flows(tree, analyzer.resolve, analyzer.constants, result.imports, analyzer.nodes)
        for flow in flows:
            result.flows.append(FlowFact(flow, file, result.context_at(flow.line)))
    except RecursionError:
        return None
    return result
