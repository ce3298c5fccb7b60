"""Value flow inside a Python module: what a secret, an identity or a download reaches.

Malware hides in the API a victim calls as often as at import: a `perm(private_key)` helper that
posts the key to a mock-API host, a CLI that reads `~/.aws/credentials` and sends it to a bare IP,
a function that fetches a script and runs it. Co-occurrence in a file cannot tell these from an SDK
that both reads a config file and talks to its service; following the value can.

The analysis is flow-insensitive inside a scope (a function, or the module body) and follows values
through assignments, containers, f-strings, concatenation, `join`/`format`, attribute reads and
unknown calls (whatever a call is given, its result may carry). Functions of the module get a
summary (which parameters reach which sink, which sources or parameters the result carries) so a
value is followed across calls: `send(collect())`, `helper(key)` where `helper` posts its argument.
Each complete source-to-sink path becomes a `Flow`; rules decide what each kind of flow means.
"""

from __future__ import annotations

import ast
import base64
import binascii
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from custody.scan.hosts import HostClass, classify_host, host_of
from custody.scan.publish import (
    UNKNOWN,
    Publish,
    git_remotes,
    parse_publish,
    parse_shell_publishes,
    sending_program,
    url_host,
)
from custody.scan.syntax import children


class Source(str, enum.Enum):
    """Where a value comes from."""

    WALLET_SECRET = "wallet-secret"  # noqa: S105 - a label, not a password
    """A private key, mnemonic, seed phrase or key pair handed to a function."""
    CREDENTIAL = "credential"
    """A password, token or API key handed to a function or read from a secret-named variable."""
    SECRET_FILE = "secret-file"  # noqa: S105
    """Content or listing of a credential store (SSH, cloud, Kubernetes, browser, wallet)."""
    ENV_FILE = "env-file"
    """A project's `.env` file: the secrets of the application that reads it (an app may send them
    to its own service; a user's SSH key or wallet has no such owner)."""
    ENVIRONMENT = "environment"
    """The whole process environment."""
    IDENTITY = "identity"
    """Host name, user name, platform or network identity of the machine."""
    CALLER_SOURCE = "caller-source"
    """The source code of the program that imported or called the package (through stack frames)."""
    DOWNLOAD = "download"
    """Data fetched from the network."""
    LOCAL_FILE = "local-file"
    """Content of a file on the machine the code reads (not one of the package's own)."""
    REQUEST = "request"
    """The request itself: its arrival tells the receiver that this code ran, and where."""
    REMOTE_COMMAND = "remote-command"
    """A message a chat bot handler receives: whoever writes in the chat controls it."""

    @property
    def stolen(self) -> bool:
        """Values whose owner never meant them to leave the machine."""
        return self in (
            Source.WALLET_SECRET,
            Source.SECRET_FILE,
            Source.ENV_FILE,
            Source.ENVIRONMENT,
            Source.CALLER_SOURCE,
        )


class Sink(str, enum.Enum):
    """Where a followed value ends up; a flow from a source to one of these is reported."""

    NETWORK = "network"
    """Sent in a request, over a socket, by mail, or to a chat bot."""
    EXEC = "exec"
    """Executed as Python code."""
    PROCESS = "process"
    """Run as a command."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a network sink sends: a hard-coded address, or one the caller chooses."""

    host: str | None
    """Host of a hard-coded address; None when the address is computed or passed in."""
    host_class: HostClass | None
    hidden: bool = False
    """The address was decoded at run time from text the package keeps encoded (base64, shifted
    or reversed characters, hex): a destination kept out of a reader's sight."""

    @property
    def hard_coded(self) -> bool:
        """True when the sink's address is written in the package, not computed or passed in."""
        return self.host is not None


NO_DESTINATION = Destination(None, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """A value from `source` reaches `sink` at `line` (the sink's line; the call site's line when the
    sink sits in a helper the value was passed to)."""

    source: Source
    sink: Sink
    destination: Destination
    line: int
    detail: str


# ---- vocabulary -------------------------------------------------------------------------------
_WALLET_WORDS = re.compile(
    r"(^|_)(priv(ate)?_?key|privkey|pk_?hex|secret_?key|mnemonic|seed_?phrase|seed_?words|"
    r"key_?pair|wallet_?key|recovery_?phrase|passphrase|wif)($|_)",
    re.IGNORECASE,
)
_CREDENTIAL_WORDS = re.compile(
    r"(^|_)(password|passwd|pwd|token|api_?key|access_?key|secret|auth|cookie|session_?id|credentials?)"
    r"($|_)",
    re.IGNORECASE,
)
_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSW|PWD|CREDENTIAL|AUTH|COOKIE|SESSION)", re.IGNORECASE)
_SECRET_PATH = re.compile(
    # ~/.ssh is secret for its private keys; its client config, known hosts and public keys are
    # what dotfile managers sync. Folder names count on their own too: `Path.home() / ".kube"`.
    r"(\.ssh\b(?![/\\](config|known_hosts\w*|authorized_keys\w*|[\w.-]+\.pub)\b)"
    r"|id_(rsa|dsa|ecdsa|ed25519)\b(?!\.pub)|\.aws([/\\]|$)|aws[/\\]credentials|\.kube([/\\]|$)|kubeconfig|"
    r"\.docker[/\\]config|\.git-credentials|\.netrc|\.pypirc|\.npmrc|(^|[/\\])\.env(\.|$)|"
    r"gcloud[/\\]|application_default_credentials|\.azure([/\\]|$)|Login Data|Local State|Cookies|"
    r"wallet\.dat|keystore|\.electrum|Exodus|MetaMask|Phantom|\.config[/\\]solana|Local Storage[/\\]leveldb|"
    r"\.bash_history|\.zsh_history|/etc/shadow|serviceaccount[/\\]token|\.config[/\\]gh[/\\]hosts)",
    re.IGNORECASE,
)
_ENV_FILE = re.compile(r"(^|[/\\])\.env(\.|$)", re.IGNORECASE)


def _secret_path_source(text: str) -> Source | None:
    """The source a path's text names: a credential store, or only a project's `.env` file."""
    if not _SECRET_PATH.search(text):
        return None
    if all(_ENV_FILE.fullmatch(match.group(0)) for match in _SECRET_PATH.finditer(text)):
        return Source.ENV_FILE
    return Source.SECRET_FILE


UNAME_CALLS = frozenset({"os.uname", "platform.uname"})
UNAME_PLATFORM_FIELDS = frozenset({"machine", "system", "sysname", "release", "version", "processor"})
"""Fields of a uname result that name the platform, not the host: what wheel tags are made of."""
_IDENTITY_CALLS = frozenset(
    {
        "socket.gethostname",
        "socket.getfqdn",
        "platform.node",
        "platform.uname",
        "platform.platform",
        "os.uname",
        "os.getlogin",
        "getpass.getuser",
        "os.getcwd",
        "uuid.getnode",
        "gethostname",
        "getuser",
        "getlogin",
    }
)
_FRAME_CALLS = frozenset({"inspect.stack", "inspect.currentframe", "sys._getframe", "inspect.getouterframes"})
_SESSION_HISTORY = frozenset({"input_hist_raw", "input_hist_parsed", "_ih"})
"""An interactive session's input history (IPython/Jupyter): the code the user typed, the
notebook's own source, like the importing program's file read through a stack frame."""
_HISTORY_READERS = frozenset({"get_range", "get_tail", "get_range_by_str", "search"})
"""Methods of IPython's `history_manager` that return what was typed."""


def _reads_session_history(call: ast.Call) -> bool:
    """`get_ipython().history_manager.get_range(...)` and friends: the session's typed input."""
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in _HISTORY_READERS
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "history_manager"
    )


_ENV_WHOLE = frozenset({"os.environ", "os.environ.copy", "os.environ.items", "os.environ.values"})
_ENV_GETTERS = frozenset({"os.getenv", "os.environ.get", "os.environ.__getitem__", "environ.get", "getenv"})
_CREDENTIAL_COMMANDS = re.compile(
    r"\bgh\s+auth\s+token\b|\bgit\s+config\s+[^\n]*credential|\baws\s+configure\s+(get|export)|"
    r"\bgcloud\s+auth\s+print-access-token|\bsecurity\s+find-(generic|internet)-password|\bcmdkey\s+/list",
    re.IGNORECASE,
)
IDENTITY_COMMANDS = re.compile(
    r"^\s*(whoami|hostname|id|uname|ipconfig|ifconfig|systeminfo|ip\s+a(ddr)?|net\s+(user|config)|"
    r"wmic\s+(computersystem|csproduct|bios|useraccount|os)|"
    r"echo\s+(%(USERNAME|COMPUTERNAME|USERDOMAIN)%|\$\{?(USER|HOSTNAME|LOGNAME)\b))(\s|$|\})",
    re.IGNORECASE,
)
"""A command whose output names the machine or its user: the shell's spelling of gethostname()."""
_NET_MODULES = (
    "requests",
    "httpx",
    "urllib",
    "urllib2",
    "urllib3",
    "aiohttp",
    "http.client",
    "socket",
    "smtplib",
    "ftplib",
    "websocket",
    "websockets",
    "telebot",
    "telegram",
    "discord",
    "pycurl",
)
_SEND_METHODS = frozenset(
    {
        "post",
        "put",
        "patch",
        "get",
        "request",
        "urlopen",
        "send",
        "sendall",
        "sendto",
        "sendmail",
        "send_message",
        "send_document",
        "send_photo",
        "sendDocument",
        "sendMessage",
        "storbinary",
        "execute_webhook",
        "fetch",
        "stream",
        "upload",
        "upload_file",
        "upload_fileobj",
        "put_object",
    }
)
_HANDLER_DECORATORS = frozenset(
    {
        "message_handler",
        "channel_post_handler",
        "callback_query_handler",
        "edited_message_handler",
        "on_message",
        "on_callback_query",
        "command",
        "event",
        "message",
    }
)
SHELL = "shell"
CLIENT = "client"
"""An object that talks to the network: what its send methods are given leaves the machine."""
CHAT_CLIENT = "chat-client"
MAX_ADDRESS = 4096
"""Characters an address spelled by joined constants may have."""
DNS_CLIENT = "dns-client"
"""A DNS resolver object (`dns.resolver.Resolver()`): the names its lookups ask for leave the machine."""
_DNS_RESOLVERS = frozenset({"dns.resolver.Resolver", "dns.asyncresolver.Resolver"})
_DNS_RESOLVER_LOOKUPS = frozenset({"resolve", "query", "resolve_name", "resolve_address"})
KEYED_CLIENT = "keyed-client"
"""A cloud client built with an access key written in the package: what it stores or sends goes to
the account that key belongs to, which is not the user's."""
CLOUD_ACCOUNT = Destination("amazonaws.com", HostClass.OTHER)
"""Where a keyed client's uploads go: the key owner's account on the cloud provider."""
_CLOUD_CLIENTS = frozenset(
    {
        "boto3.client",
        "boto3.resource",
        "boto3.Session",
        "boto3.session.Session",
        "boto3.session.Session.client",
    }
)
_AWS_KEY_ID = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")
HIDDEN_TEXT = "hidden-text"
"""Internal label: text decoded at run time from a literal (base64, character shifts, reversal)."""
_SEND_MODULES = (
    "requests",
    "httpx",
    "urllib.request",
    "urllib2",
    "urllib3",
    "aiohttp",
    "http.client",
    "smtplib",
    "ftplib",
    "websocket",
    "websockets",
    "pycurl",
    "telebot",
    "telegram",
    "discord",
    "aiogram",
    "pyrogram",
    "dhooks",
    "discord_webhook",
)
_CLIENT_FACTORIES = frozenset(
    {
        "Session",
        "Client",
        "AsyncClient",
        "ClientSession",
        "PoolManager",
        "ProxyManager",
        "HTTPConnection",
        "HTTPSConnection",
        "SMTP",
        "SMTP_SSL",
        "FTP",
        "FTP_TLS",
        "socket",
        "TeleBot",
        "AsyncTeleBot",
        "Bot",
        "Application",
        "ApplicationBuilder",
        "Updater",
        "Dispatcher",
        "WebSocket",
        "WebSocketApp",
        "Curl",
        "Webhook",
        "DiscordWebhook",
        "build_opener",
    }
)
_NOT_SENDS = frozenset(
    {"Request", "HTTPError", "URLError", "quote", "urlencode", "Response", "codes", "exceptions", "Timeout"}
)
_SHELL = re.compile(r"(^|[\\/\s])(cmd(\.exe)?|powershell(\.exe)?|pwsh|(ba|z|da|k)?sh)(\s|$)", re.IGNORECASE)
_SPAWNERS = frozenset({"subprocess.Popen", "Popen", "pty.spawn", "os.popen"})
_CHAT_MODULES = frozenset(
    {"telebot", "telegram", "discord", "aiogram", "pyrogram", "slack_bolt", "interactions"}
)
_RECEIVERS = frozenset({"recv", "recvfrom", "recv_into", "makefile"})
_EXEC_CALLS = frozenset({"exec", "eval", "compile", "builtins.exec", "builtins.eval", "execfile"})
_PROCESS_CALLS = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.Popen",
        "subprocess.check_output",
        "subprocess.check_call",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.startfile",
        "asyncio.create_subprocess_shell",
        "asyncio.create_subprocess_exec",
    }
)
# Programs that run what they read on standard input: `[python, "-"]`, `sh`, `powershell -`.
_INTERPRETERS = re.compile(
    r"(^|[/\\])(python[\d.]*|pythonw|py|sh|bash|zsh|dash|ksh|powershell|pwsh|cmd|node|perl|ruby|php)(\.exe)?$",
    re.IGNORECASE,
)
_COPIES = frozenset(
    {
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "os.rename",
        "os.replace",
    }
)
"""Calls that put the content of their first path at their second."""
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_PATH_BUILDERS = frozenset(
    {"os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path", "Path", "pathlib.PurePath"}
)
_MUTATORS = frozenset({"append", "extend", "update", "add", "insert", "setdefault", "appendleft", "write"})
_ADDRESS_KEYWORDS = ("url", "host", "address", "endpoint", "webhook_url", "uri")

Label = str
"""A `Source` value, or `p:N` for "whatever the caller passed as parameter N"."""


def _param(index: int) -> Label:
    return f"p:{index}"


@dataclass(slots=True)
class _Summary:
    """What a function does with its parameters and returns: an accumulator the fixed-point
    analysis grows until no summary changes."""

    params: list[str] = field(default_factory=list)
    returns: set[Label] = field(default_factory=set)
    param_sinks: dict[int, set[tuple[Sink, Destination, int]]] = field(default_factory=dict)
    """parameter -> (sink, destination, index of the parameter naming the destination or -1)"""


@dataclass(slots=True)
class _Scope:
    """One function, class or module body to analyse. An accumulator only in `local_names`,
    which is filled in when the scope's nodes are first walked (that walk is cached)."""

    node: ast.AST
    body: list[ast.AST]
    summary: _Summary | None
    owner: str | None
    """Class name for methods: `self.x` is shared by the methods of that class."""
    local_names: frozenset[str] = frozenset()
    """A function's parameters and the names it binds (not declared global): they shadow the
    module's names of the same spelling, as in Python."""


MAX_FLOW_NODES = 200_000
"""Modules larger than this (about 40,000 lines) are not followed value by value; every other rule
still reads them and the scan reports the gap (`LimitKind.FLOW_SIZE`). The largest modules of the
AI stack (torch's test tables, 160,000 nodes) cost about 0.2 s each to follow."""
_MOVES = (
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.For,
    ast.AsyncFor,
    ast.comprehension,
    ast.withitem,
    ast.NamedExpr,
    ast.Return,
    ast.Yield,
    ast.YieldFrom,
    ast.Expr,
)


_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of a scope, not descending into nested functions, lambdas or classes (which are
    yielded themselves), nor into the context and operator leaves (`custody.scan.syntax.children`)."""
    out: list[ast.AST] = list(body)
    index = 0
    while index < len(out):
        node = out[index]
        index += 1
        if isinstance(node, _NESTED):
            # A scope of its own (a def in the body too); what runs here is its decorators,
            # defaults and bases, evaluated when the definition runs.
            out.extend(_definition_time(node))
            continue
        out.extend(children(node))
    return out


_STATEMENT_LISTS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_STATEMENT_FIELDS: dict[type, tuple[str, ...]] = {}


def _statement_children(node: ast.AST) -> list[ast.AST]:
    """The statements (and except handlers and match cases) directly under `node`, in field order:
    every child that can be or hold a function or class definition."""
    kind = type(node)
    fields = _STATEMENT_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in kind._fields if f in _STATEMENT_LISTS)
        _STATEMENT_FIELDS[kind] = fields
    out: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if value.__class__ is list:
            out.extend(value)
    return out


def _definition_time(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        defaults = [d for d in node.args.kw_defaults if d is not None]
        return [*node.decorator_list, *node.args.defaults, *defaults]
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *node.keywords]
    return []


class FlowAnalysis:
    """Follows values through one module. `resolve` maps a call's function to its dotted name
    through the module's imports and aliases (the caller's resolver, so both agree)."""

    def __init__(
        self,
        tree: ast.Module,
        resolve: Callable[[ast.expr], str],
        constants: dict[str, ast.expr],
        imports: set[str],
        nodes: list[ast.AST] | None = None,
        *,
        imported: Mapping[str, Summary] | None = None,
        export: frozenset[str] | None = None,
    ) -> None:
        self.tree = tree
        self.imported: Mapping[str, Summary] = imported or {}
        """Summaries of functions other modules of the package define, by the name this module
        calls them (`send` for `from ._report import send`, `_report.send` for `from . import
        _report`): what this module passes them reaches their sinks, what they return carries."""
        self.export = export
        """Functions other modules call: follow only them (and what they call) to summarise them,
        even when no chain is complete inside this module."""
        self.all_nodes = nodes
        self.resolve = resolve
        self.constants = constants
        self.networked = any(_from_module(i, (*_SEND_MODULES, "socket", "boto3")) for i in imports)
        self.chat_bot = any(i.split(".")[0] in _CHAT_MODULES for i in imports)
        self.functions: dict[str, _Summary] = {}
        self.scopes: list[_Scope] = []
        self.class_state: dict[str, dict[str, set[Label]]] = {}
        self.module_env: dict[str, set[Label]] = {}
        self.flows: dict[tuple[Source, Sink, int, str | None], Flow] = {}
        self.written_paths: dict[tuple[int, str], str] = {}
        self._memo: dict[int, set[Label]] = {}
        self.grown = 0
        """Labels added so far, anywhere: a pass that adds none has reached the fixed point."""
        self._texts: dict[int, str] = {}
        self._bindings: dict[str, ast.expr] | None = None
        self._secret_loops: frozenset[str] | None = None
        self._remotes: dict[str, str] | None = None
        self._scope_nodes: dict[int, tuple[list[ast.AST], list[ast.Call], bool]] = {}
        """(scope, handle name) -> name of the path the handle was opened on for writing."""

    # ---- scopes -----------------------------------------------------------------------------
    def _collect_scopes(self) -> None:
        module_body = [s for s in self.tree.body]
        self.scopes.append(_Scope(self.tree, module_body, None, None))  # type: ignore[arg-type]
        todo: list[tuple[ast.AST, str | None]] = [(self.tree, None)]
        while todo:
            parent, owner = todo.pop()
            # definitions are statements: only statement lists (and the handlers and match cases
            # holding them) can hold one, in the order `ast.iter_child_nodes` gives them
            for child in _statement_children(parent):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    params = [a.arg for a in child.args.posonlyargs + child.args.args]
                    if owner is not None and params and params[0] in ("self", "cls"):
                        params = params[1:]
                    params += [a.arg for a in child.args.kwonlyargs]
                    summary = self.functions.get(child.name)
                    if summary is None:
                        summary = _Summary(params=params)
                        self.functions[child.name] = summary
                    self.scopes.append(_Scope(child, list(child.body), summary, owner))
                    todo.append((child, owner))
                elif isinstance(child, ast.ClassDef):
                    self.scopes.append(_Scope(child, list(child.body), None, child.name))
                    todo.append((child, child.name))
                else:
                    todo.append((child, owner))

    def run(self) -> list[Flow]:
        """Every source-to-sink flow in the module (none for a module past `MAX_FLOW_NODES`)."""
        if self.all_nodes is not None and len(self.all_nodes) > MAX_FLOW_NODES:
            return []  # see MAX_FLOW_NODES
        if not self._worth_following():
            return []  # most modules hold no value any rule cares about: nothing to follow
        self._collect_scopes()
        # Summaries feed each other; three rounds reach a chain of three helpers. After the first
        # round only scopes that call a helper whose summary grew need another look.
        pending = self._relevant_scopes()
        for _ in range(3):
            grown: set[str] = set()
            for scope in pending:
                if self._analyse(scope) and isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    grown.add(scope.node.name)
            if not grown:
                break
            pending = [scope for scope in self.scopes if self._callees(scope) & grown]
        return list(self.flows.values())

    def _relevant_scopes(self) -> list[_Scope]:
        """Scopes that hold a source or a sink, and the scopes that call those (a value reaches a
        sink through its callers). The rest are left out: a call to one of them is followed as an
        unknown call (whatever it is given, its result may carry), which over-approximates it."""
        named: dict[str, list[_Scope]] = {}
        for scope in self.scopes:
            if isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                named.setdefault(scope.node.name, []).append(scope)
        if self.export is not None:
            return self._exported_scopes(named)
        relevant = {id(s) for s in self.scopes if self._direct(s)}
        names = {n for n, scopes in named.items() if any(id(s) in relevant for s in scopes)}
        callees = {id(s): self._callees(s) for s in self.scopes}
        changed = True
        while changed:
            changed = False
            for scope in self.scopes:
                if id(scope) not in relevant and callees[id(scope)] & names:
                    relevant.add(id(scope))
                    changed = True
                    if isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        names.add(scope.node.name)
        for name in list(self.functions):
            if name not in names:
                del self.functions[name]
        return [s for s in self.scopes if id(s) in relevant]

    def _exported_scopes(self, named: dict[str, list[_Scope]]) -> list[_Scope]:
        """The functions other modules call and the functions they call, transitively, plus the
        module's own statements (module-level names they read)."""
        wanted = set(self.export or ())
        todo = list(wanted)
        while todo:
            for scope in named.get(todo.pop(), ()):
                for callee in self._callees(scope) - wanted:
                    if callee in named:
                        wanted.add(callee)
                        todo.append(callee)
        for name in list(self.functions):
            if name not in wanted:
                del self.functions[name]
        keep = {id(scope) for scope in _scopes_of(named, wanted)}
        return [s for s in self.scopes if s.node is self.tree or id(s) in keep]

    def _direct(self, scope: _Scope) -> bool:
        """A scope that itself holds a source or a sink (cheap, by names: a guess that errs wide)."""
        if scope.summary is not None and (
            any(source is not None for source in _parameter_sources(scope.node, scope.summary.params))
            or self._chat_handler(scope.node)
        ):
            return True
        for call in self._nodes(scope)[1]:
            if self.imported and self._imported_callee(call) is not None:
                return True
            resolved = self.resolve(call.func)
            short = resolved.rsplit(".", 1)[-1] if resolved else ""
            if (
                resolved in _EXEC_CALLS
                or resolved in _PROCESS_CALLS
                or resolved in _SPAWNERS
                or resolved in _IDENTITY_CALLS
                or resolved in _FRAME_CALLS
                or _reads_session_history(call)
                or resolved in _ENV_WHOLE
                or resolved in _ENV_GETTERS
                or resolved in _PROMPTS
                or short in _RECEIVERS
                or short in ("connect", "connect_ex", "create_connection", "open", "read_text", "read_bytes")
                or self._is_send(call, resolved)
                or bool(self._client_labels(resolved))
            ):
                return True
        return self._nodes(scope)[2]

    def _runs_its_input(self, command: ast.expr) -> bool:
        """The program of this command is an interpreter or a shell, which runs what it reads on
        standard input (`[sys.executable, "-"]`, `["bash"]`, `"sh -s"`)."""
        program = command.elts[0] if isinstance(command, (ast.List, ast.Tuple)) and command.elts else command
        if self.resolve(program) == "sys.executable":
            return True
        text = program.value if isinstance(program, ast.Constant) and isinstance(program.value, str) else ""
        words = text.split()
        return bool(words) and _INTERPRETERS.search(words[0]) is not None

    def _names_secret_env(self, call: ast.Call) -> bool:
        """`os.getenv("GITHUB_TOKEN")`, or `os.getenv(n)` for `n` in a list naming one: a credential
        taken from the environment by name."""
        key = call.args[0] if call.args else None
        if isinstance(key, ast.Name):
            return key.id in self._secret_name_loops()
        return key is not None and _secret_env_name(key)

    def _secret_name_loops(self) -> frozenset[str]:
        """Loop variables that iterate a constant list naming a secret environment variable (`for
        n in ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"]`, directly or through a module constant):
        `os.getenv(n)` then reads credentials by name, as `os.getenv("GITHUB_TOKEN")` does."""
        if self._secret_loops is None:
            found: set[str] = set()
            for node in self.all_nodes if self.all_nodes is not None else ast.walk(self.tree):
                if not isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                    continue
                target, values = node.target, node.iter
                if isinstance(values, ast.Name) and values.id in self.constants:
                    values = self.constants[values.id]
                if (
                    isinstance(target, ast.Name)
                    and isinstance(values, (ast.List, ast.Tuple, ast.Set))
                    and any(_secret_env_name(e) for e in values.elts)
                ):
                    found.add(target.id)
            self._secret_loops = frozenset(found)
        return self._secret_loops

    def _callees(self, scope: _Scope) -> set[str]:
        names: set[str] = set()
        for call in self._nodes(scope)[1]:
            func = call.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in ("self", "cls")
            ):
                names.add(func.attr)
        return names

    def _text(self, node: ast.AST) -> str:
        """The string literals inside an expression (memoised: the same nodes are asked every pass)."""
        known = self._texts.get(id(node))
        if known is None:
            known = _strings(node)
            self._texts[id(node)] = known
        return known

    def _worth_following(self) -> bool:
        """Whether any chain rule could match, from one look at every node: a sink, and a source
        that some rule pairs with it. Most library modules fail this and cost nothing more."""
        sends = runs = receives = False
        sources = False
        for node in self.all_nodes if self.all_nodes is not None else ast.walk(self.tree):
            kind = type(node)
            if kind is ast.Call:
                call: ast.Call = node  # type: ignore[assignment]
                resolved = self.resolve(call.func)
                callee = self._imported_callee(call) if self.imported else None
                if callee is not None:
                    sinks = {sink for found in callee.param_sinks.values() for sink, _, _ in found}
                    sends = sends or Sink.NETWORK in sinks
                    runs = runs or bool(sinks - {Sink.NETWORK})
                    sources = sources or any(label in _SOURCE_VALUES for label in callee.returns)
                if resolved in _EXEC_CALLS or resolved in _PROCESS_CALLS:
                    runs = True
                    sends = sends or (resolved in _PROCESS_CALLS and self._runs_upload_tool(call))
                elif resolved in DNS_LOOKUPS or resolved in _DNS_RESOLVERS or self._is_send(call, resolved):
                    sends = True  # a resolver built here: its lookups are sends (see `_sink`)
                elif isinstance(call.func, ast.Attribute) and call.func.attr in _RECEIVERS:
                    receives = True
                if (
                    resolved in _FRAME_CALLS
                    or _reads_session_history(call)
                    or resolved in _ENV_WHOLE
                    or resolved in _PROMPTS
                    or resolved in _IDENTITY_CALLS
                    or _decoded_literal(call) is not None
                    or _builds_shifted_text(call)
                    or (resolved in _ENV_GETTERS and self._names_secret_env(call))
                    or (
                        resolved in _PROCESS_CALLS
                        and call.args
                        and IDENTITY_COMMANDS.search(self._text(call.args[0]))
                    )
                ):
                    sources = True
            elif kind is ast.Constant:
                value = node.value  # type: ignore[attr-defined]
                if isinstance(value, str) and len(value) < 300 and _interesting_text(value):
                    sources = True
            elif kind is ast.Attribute and (
                node.attr in _SESSION_HISTORY  # type: ignore[attr-defined]
                or self.resolve(node) in _ENV_WHOLE  # type: ignore[arg-type]
            ):
                sources = True
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                args = node.args  # type: ignore[attr-defined]
                if _NAMED_FOR_A_SECRET.search(node.name) or any(  # type: ignore[attr-defined]
                    _WALLET_WORDS.search(a.arg) for a in args.args + args.kwonlyargs
                ):
                    sources = True
        if self.chat_bot:
            sources = True
        if self.export is not None:
            # summaries for the modules that import this one: a sink or a source is enough here
            return sends or runs or sources
        # As the chain rules pair them: the network sinks take stolen values, identity, files and
        # requests; a process or exec sink takes only what arrived over the network (a download, a
        # received or chat command), so it needs a send or a receive in the same module.
        return (sends and sources) or (runs and (sends or receives or self.chat_bot))

    def _nodes(self, scope: _Scope) -> tuple[list[ast.AST], list[ast.Call], bool]:
        """The statements that move values, and the calls, of a scope (computed once), and whether
        it names a source in a literal or an environment read (one walk serves all three)."""
        cached = self._scope_nodes.get(id(scope))
        if cached is None:
            moving: list[ast.AST] = []
            calls: list[ast.Call] = []
            named = False
            bound: set[str] = set(scope.summary.params) if scope.summary is not None else set()
            declared: set[str] = set()
            for node in _own_nodes(scope.body):  # type: ignore[arg-type]
                kind = type(node)
                if kind is ast.Name:
                    if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                        bound.add(node.id)  # type: ignore[attr-defined]
                    continue
                if kind is ast.Global or kind is ast.Nonlocal:
                    declared.update(node.names)  # type: ignore[attr-defined]
                    continue
                if isinstance(node, _MOVES):
                    moving.append(node)
                elif kind is ast.Call:
                    calls.append(node)  # type: ignore[arg-type]
                    func = node.func  # type: ignore[attr-defined]
                    if isinstance(func, ast.Attribute) and (node.args or node.keywords):  # type: ignore[attr-defined]
                        moving.append(node)
                elif kind is ast.Constant:
                    value = node.value  # type: ignore[attr-defined]
                    named = named or (
                        isinstance(value, str) and len(value) < 300 and _interesting_text(value)
                    )
                elif kind is ast.Attribute and not named:
                    named = (
                        node.attr in _SESSION_HISTORY  # type: ignore[attr-defined]
                        or self.resolve(node) in _ENV_WHOLE  # type: ignore[arg-type]
                    )
                elif kind is ast.Lambda and not named:
                    # not a scope of its own: its literals belong to this one
                    named = any(
                        isinstance(sub, ast.Constant)
                        and isinstance(sub.value, str)
                        and _interesting_text(sub.value)
                        for sub in ast.walk(node)
                    )
            cached = (moving, calls, named)
            self._scope_nodes[id(scope)] = cached
            if scope.summary is not None:
                scope.local_names = frozenset(bound - declared)
        return cached

    # ---- one scope --------------------------------------------------------------------------
    def _analyse(self, scope: _Scope) -> bool:
        summary = scope.summary
        env: dict[str, set[Label]] = {} if summary is not None else self.module_env
        if summary is not None:
            remote = self._chat_handler(scope.node)
            sources = _parameter_sources(scope.node, summary.params)
            for index, name in enumerate(summary.params):
                env[name] = {_param(index)}
                source = Source.REMOTE_COMMAND if remote else sources[index]
                if source is not None:
                    env[name].add(source.value)
        moving, calls, _ = self._nodes(scope)
        before = self._fingerprint(summary)
        # To a fixed point: flow-insensitive, so statement order must not matter (bounded: each round
        # that changes something adds a label to a name, and labels are few). Values are memoised
        # within a pass; a pass that changes nothing had no stale memo, so the result is exact.
        for _ in range(12):
            size = self.grown
            self._memo.clear()
            for node in moving:
                self._statement(node, env, scope)
            if self.grown == size:
                break
        self._memo.clear()
        for call in calls:
            self._sink(call, env, scope)
        return self._fingerprint(summary) != before

    def _add(self, where: dict[str, set[Label]], name: str, labels: set[Label]) -> None:
        """Add labels to a name, counting growth (the fixed-point loops stop when nothing grows)."""
        held = where.get(name)
        if held is None:
            where[name] = set(labels)
            self.grown += len(labels)
        elif not labels <= held:
            before = len(held)
            held.update(labels)
            self.grown += len(held) - before

    @staticmethod
    def _fingerprint(summary: _Summary | None) -> tuple[int, int]:
        if summary is None:
            return (0, 0)
        return (len(summary.returns), sum(len(v) for v in summary.param_sinks.values()))

    def _assign(
        self, target: ast.expr, labels: set[Label], env: dict[str, set[Label]], scope: _Scope
    ) -> None:
        if not labels:
            return
        if isinstance(target, ast.Name):
            self._add(env, target.id, labels)
            path = self.written_paths.get((id(scope), target.id))
            if path is not None:
                # What is written through a handle ends up in its file: running that path runs it.
                self._fill(path, labels, env, scope)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._assign(element, labels, env, scope)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, labels, env, scope)
        elif isinstance(target, ast.Attribute):
            base = target.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls") and scope.owner is not None:
                self._add(self.class_state.setdefault(scope.owner, {}), target.attr, labels)
            elif isinstance(base, ast.Name):
                self._add(env, base.id, labels)
        elif isinstance(target, ast.Subscript):
            self._assign(target.value, labels, env, scope)

    def _note_written_path(self, target: ast.expr, value: ast.expr, scope: _Scope) -> None:
        """`f = open(PATH, "wb")` with PATH a plain name: remember that `f` writes into PATH."""
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Call) and value.args):
            return
        if self.resolve(value.func) not in ("open", "io.open", "builtins.open"):
            return
        path, mode = value.args[0], value.args[1] if len(value.args) > 1 else None
        for keyword in value.keywords:
            if keyword.arg == "mode":
                mode = keyword.value
        root = self._path_root(path, 0)
        if (
            root is not None
            and isinstance(mode, ast.Constant)
            and isinstance(mode.value, str)
            and any(c in mode.value for c in "wax")
        ):
            # `open(os.path.join(folder, "x"), "w")` writes into `folder`: what is written there
            # goes wherever the folder goes (a push, an archive sent off)
            self.written_paths[(id(scope), target.id)] = root

    def _path_root(self, path: ast.expr, depth: int) -> str | None:
        """The name a path expression is built on: `p`, `folder` of `os.path.join(folder, "x")`,
        `Path(folder) / "x"`, `folder + "/x"` or `f"{folder}/x"`."""
        if depth > 4:
            return None
        if isinstance(path, ast.Name):
            return path.id
        if isinstance(path, ast.BinOp) and isinstance(path.op, (ast.Div, ast.Add)):
            return self._path_root(path.left, depth + 1)
        if isinstance(path, ast.JoinedStr) and path.values and isinstance(path.values[0], ast.FormattedValue):
            return self._path_root(path.values[0].value, depth + 1)
        if isinstance(path, ast.Call) and path.args and self.resolve(path.func) in _PATH_BUILDERS:
            return self._path_root(path.args[0], depth + 1)
        return None

    def _fill(self, root: str, labels: set[Label], env: dict[str, set[Label]], scope: _Scope) -> None:
        """What is copied or written into the path `root` names: it now holds those values."""
        if not labels:
            return
        local = env is self.module_env or root in env or root in scope.local_names
        self._add(env if local else self.module_env, root, labels)

    def _arguments(self, call: ast.Call, env: dict[str, set[Label]], scope: _Scope) -> set[Label]:
        found: set[Label] = set()
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            found |= self.labels(arg, env, scope)
        return found

    def _statement(self, node: ast.AST, env: dict[str, set[Label]], scope: _Scope) -> None:
        if isinstance(node, ast.Assign):
            assigned = self.labels(node.value, env, scope)
            if len(node.targets) == 1:
                self._note_written_path(node.targets[0], node.value, scope)
            for target in node.targets:
                self._assign(target, assigned, env, scope)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            self._assign(node.target, self.labels(node.value, env, scope), env, scope)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            self._assign(node.target, self.labels(node.iter, env, scope), env, scope)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self._note_written_path(node.optional_vars, node.context_expr, scope)
            self._assign(node.optional_vars, self.labels(node.context_expr, env, scope), env, scope)
        elif isinstance(node, ast.NamedExpr):
            self._assign(node.target, self.labels(node.value, env, scope), env, scope)
        elif (
            isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom))
            and node.value is not None
            and scope.summary is not None
        ):
            # what a generator yields is what iterating over its call gives (`for p in paths()`)
            scope.summary.returns.update(self.labels(node.value, env, scope))
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in ("connect", "connect_ex")
            and node.value.args
        ):
            # `sock.connect((host, port))`: what is later read from `sock` comes from that host.
            self._assign(node.value.func.value, self._peer_labels(node.value.args[0], env, scope), env, scope)
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and (node.value.args or node.value.keywords)
            and not self._is_send(node.value, self.resolve(node.value.func), env, scope)
        ):
            # `parser.read(path)`, `hasher.update(data)`, `items.append(v)`: a method called for its
            # effect takes what it is given into its object.
            call = node.value
            assert isinstance(call.func, ast.Attribute)
            self._assign(call.func.value, self._arguments(call, env, scope), env, scope)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and self._fills_path(node):
            # `shutil.copy(src, folder)`, `(Path(folder) / "x").write_text(data)`
            copy = len(node.args) >= 2 and node.func.attr not in _PATH_WRITERS
            target = node.args[1] if copy else node.func.value
            root = self._path_root(target, 0)
            if root is not None:
                source = node.args[0] if node.args else node.keywords[0].value
                self._fill(root, self.labels(source, env, scope), env, scope)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
            and (node.args or node.keywords)
        ):
            self._assign(node.func.value, self._arguments(node, env, scope), env, scope)

    def _fills_path(self, call: ast.Call) -> bool:
        """A copy into a path, or a write of a path object."""
        assert isinstance(call.func, ast.Attribute)
        if call.func.attr in _PATH_WRITERS:
            return bool(call.args or call.keywords)
        return len(call.args) >= 2 and self.resolve(call.func) in _COPIES

    # ---- expressions ------------------------------------------------------------------------
    def labels(self, node: ast.expr, env: dict[str, set[Label]], scope: _Scope, depth: int = 0) -> set[Label]:
        """Sources (and caller parameters) a value may carry."""
        if depth > 40:
            return set()
        known = self._memo.get(id(node))
        if known is not None:
            return known
        found = self._labels(node, env, scope, depth)
        self._memo[id(node)] = found
        return found

    def _labels(self, node: ast.expr, env: dict[str, set[Label]], scope: _Scope, depth: int) -> set[Label]:
        if isinstance(node, ast.Name):
            named = set(env.get(node.id, ()))
            if env is not self.module_env and node.id not in scope.local_names:
                named |= {label for label in self.module_env.get(node.id, ()) if not label.startswith("p:")}
            return named
        if isinstance(node, ast.Constant):
            # A path that names a credential store stands for what is read through it.
            source = (
                _secret_path_source(node.value)
                if isinstance(node.value, str) and len(node.value) < 300
                else None
            )
            return {source.value} if source is not None else set()
        if isinstance(node, ast.Call):
            return self._call_labels(node, env, scope, depth)
        if isinstance(node, ast.Attribute):
            resolved = self.resolve(node)
            if resolved in _ENV_WHOLE:
                return {Source.ENVIRONMENT.value}
            base = node.value
            if node.attr in _SESSION_HISTORY:
                return {Source.CALLER_SOURCE.value}
            if isinstance(base, ast.Name) and base.id in ("self", "cls") and scope.owner is not None:
                return set(self.class_state.get(scope.owner, {}).get(node.attr, ()))
            if (
                node.attr in UNAME_PLATFORM_FIELDS
                and isinstance(base, ast.Call)
                and self.resolve(base.func) in UNAME_CALLS
            ):
                return set()  # `platform.uname().machine`: the architecture, not who the host is
            return self.labels(base, env, scope, depth + 1)
        if isinstance(node, ast.Subscript):
            if self.resolve(node.value) == "os.environ":
                key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return {Source.CREDENTIAL.value} if _SECRET_ENV.search(key.value) else set()
                # one variable by a computed name: whole only if the name came from iterating it
                return self.labels(key, env, scope, depth + 1)
            return self.labels(node.value, env, scope, depth + 1)
        if isinstance(node, (ast.Lambda, ast.FunctionDef)):
            return set()
        found: set[Label] = set()
        for child in children(node):
            if isinstance(child, ast.expr):
                found |= self.labels(child, env, scope, depth + 1)
            elif isinstance(child, ast.comprehension):
                found |= self.labels(child.iter, env, scope, depth + 1)
            elif isinstance(child, ast.keyword):
                found |= self.labels(child.value, env, scope, depth + 1)
        return found

    def _call_labels(
        self, node: ast.Call, env: dict[str, set[Label]], scope: _Scope, depth: int
    ) -> set[Label]:
        resolved = self.resolve(node.func)
        args = [*node.args, *(k.value for k in node.keywords)]
        if resolved in _IDENTITY_CALLS:
            return {Source.IDENTITY.value}
        if resolved in _FRAME_CALLS:
            return {"frame"}
        if _reads_session_history(node):
            return {Source.CALLER_SOURCE.value}
        if resolved in _ENV_WHOLE:
            return {Source.ENVIRONMENT.value}
        if resolved in _ENV_GETTERS or (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and self.resolve(node.func.value) == "os.environ"
        ):
            key = node.args[0] if node.args else None
            # `os.environ.get("URL", <default>)`: the value may be the default the code carries
            default = self.labels(node.args[1], env, scope, depth + 1) if len(node.args) > 1 else set()
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return ({Source.CREDENTIAL.value} if _SECRET_ENV.search(key.value) else set()) | default
            if isinstance(key, ast.Name) and key.id in self._secret_name_loops():
                return {Source.CREDENTIAL.value} | default  # `for n in ["AWS_SECRET_ACCESS_KEY", ...]`
            return (self.labels(key, env, scope, depth + 1) if key is not None else set()) | default
        if resolved in _PROCESS_CALLS and node.args:
            command = self._text(node.args[0])
            if _CREDENTIAL_COMMANDS.search(command):
                return {Source.CREDENTIAL.value}
            if IDENTITY_COMMANDS.search(command):
                return {Source.IDENTITY.value}
        if resolved in _PROMPTS and node.args:
            # A prompt that asks for a seed phrase or key is how a phishing helper collects it.
            prompt = self._text(node.args[0])
            if _WALLET_PROMPT.search(prompt):
                return {Source.WALLET_SECRET.value}
            if resolved in ("getpass.getpass", "getpass") or _CREDENTIAL_PROMPT.search(prompt):
                return {Source.CREDENTIAL.value}
            return set()
        found: set[Label] = set()
        if _decoded_literal(node) is not None or _builds_shifted_text(node):
            found.add(HIDDEN_TEXT)
        if (
            resolved in ("socket.create_connection", "create_connection", "websocket.create_connection")
            and node.args
        ):
            # a socket or a websocket (websocket-client): what is sent on it goes to that peer
            return self._peer_labels(node.args[0], env, scope) | {CLIENT}
        if resolved in _DNS_RESOLVERS:
            return {DNS_CLIENT}
        if resolved in _CLOUD_CLIENTS and _keyed(node, self.constants):
            return {CLIENT, KEYED_CLIENT}
        client = self._client_labels(resolved)
        if client:
            return client
        if resolved in _SPAWNERS and node.args and _SHELL.search(self._text(node.args[0])):
            return {SHELL}  # an interactive shell: what is written to its stdin, it runs
        if isinstance(node.func, ast.Attribute) and node.func.attr in _RECEIVERS:
            receiver = self.labels(node.func.value, env, scope, depth + 1)
            if CLIENT in receiver:
                # bytes read from a socket: whoever is at the other end (known from its connect) wrote them
                return {Source.DOWNLOAD.value} | (receiver - {CLIENT, CHAT_CLIENT})
        if self._is_send(node, resolved, env, scope):
            found.add(Source.DOWNLOAD.value)
            where, via = self._destination(node, env, scope)
            if where.host is not None:
                found.add(f"{DOWNLOAD_FROM}{where.host}")
            elif via >= 0:
                found.add(f"{DOWNLOAD_FROM}{_param(via)}")  # from the address the caller passes
        if _is_sanitizer(resolved):
            return found
        if _opens(resolved, node):
            path_text = " ".join(self._text(a) for a in args[:1]) + " " + self._text(node.func)
            path_labels = self.labels(args[0], env, scope, depth + 1) if args else set()
            secret = _secret_path_source(path_text)
            if secret is not None:
                found.add(secret.value)
            elif "frame" in path_labels:
                found.add(Source.CALLER_SOURCE.value)
            elif resolved.rsplit(".", 1)[-1] in ("open", "read_text", "read_bytes"):
                found.add(Source.LOCAL_FILE.value)
            return found | {label for label in path_labels if label != "frame"}
        callee = self._local_callee(node)
        if callee is not None:
            for label in callee.returns:
                if label.startswith("p:"):
                    index = int(label[2:])
                    if index < len(node.args):
                        found |= self.labels(node.args[index], env, scope, depth + 1)
                elif label.startswith(DOWNLOAD_FROM + "p:"):
                    index = int(label[len(DOWNLOAD_FROM) + 2 :])
                    if index < len(node.args):
                        where, via = self._destination_of(node.args[index], env, scope)
                        if where.host is not None:
                            found.add(f"{DOWNLOAD_FROM}{where.host}")
                        elif via >= 0:
                            found.add(f"{DOWNLOAD_FROM}{_param(via)}")
                else:
                    found.add(label)
            return found
        # An unknown call may hand back anything it was given (str(), json.dumps(), b64encode(),
        # "".join(), fmt.format(), obj.read()).
        if isinstance(node.func, ast.Attribute):
            found |= self.labels(node.func.value, env, scope, depth + 1)
        for arg in args:
            found |= self.labels(arg, env, scope, depth + 1)
        return found

    def _peer_labels(self, address: ast.expr, env: dict[str, set[Label]], scope: _Scope) -> set[Label]:
        labels = {Source.DOWNLOAD.value}
        text = self._address_text(address, env, 0)
        host = host_of(text) if text is not None else None
        if host is not None:
            labels.add(f"{DOWNLOAD_FROM}{host}")
        return labels

    def _local_callee(self, node: ast.Call) -> _Summary | None:
        func = node.func
        if isinstance(func, ast.Name):
            return self.functions.get(func.id) or self.imported.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in ("self", "cls"):
                return self.functions.get(func.attr)
            return self.imported.get(f"{func.value.id}.{func.attr}")
        return None

    def _imported_callee(self, node: ast.Call) -> _Summary | None:
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.functions:
            return self.imported.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return self.imported.get(f"{func.value.id}.{func.attr}")
        return None

    def _client_labels(self, resolved: str) -> set[Label]:
        """A network client being built (`requests.Session()`, `socket.socket()`, `TeleBot(token)`)."""
        if not resolved or resolved.rsplit(".", 1)[-1] not in _CLIENT_FACTORIES:
            return set()
        head = resolved.split(".", 1)[0]
        if head in _CHAT_MODULES:
            return {CLIENT, CHAT_CLIENT}
        if _from_module(resolved, _SEND_MODULES) or head == "socket":
            return {CLIENT}
        return set()

    def _is_send(
        self,
        node: ast.Call,
        resolved: str,
        env: dict[str, set[Label]] | None = None,
        scope: _Scope | None = None,
    ) -> bool:
        """A request or message leaves the machine: a module-level send function (`requests.post`,
        `urlopen`) or a send method of a client this code built. Without `env` (the quick check for
        any sink at all), any send-named method in a module that imports a network library counts."""
        short = resolved.rsplit(".", 1)[-1] if resolved else ""
        if _from_module(resolved, _SEND_MODULES):
            return short not in _CLIENT_FACTORIES and short not in _NOT_SENDS
        if short in ("urlopen", "urlretrieve"):
            return True
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in _SEND_METHODS):
            return False
        if env is None or scope is None:
            return self.networked
        return CLIENT in self.labels(func.value, env, scope)

    # ---- sinks ------------------------------------------------------------------------------
    def _sink(self, node: ast.Call, env: dict[str, set[Label]], scope: _Scope) -> None:
        resolved = self.resolve(node.func)
        args = [*node.args, *(k.value for k in node.keywords)]
        if not args:
            return
        if node.args and (
            resolved in DNS_LOOKUPS
            or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in _DNS_RESOLVER_LOOKUPS
                and DNS_CLIENT in self.labels(node.func.value, env, scope)
            )
        ):
            self._dns_send(node, env, scope, resolved or _callee_name(node))
        if self._is_send(node, resolved, env, scope):
            destination, via = self._destination(node, env, scope)
            carried: set[Label] = set()
            for arg in args:
                carried |= self.labels(arg, env, scope)
            if destination.hard_coded:
                carried.add(Source.REQUEST.value)
            self._record(carried, Sink.NETWORK, destination, via, node, scope, resolved)
        elif (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("write", "writelines", "communicate", "send")
            and SHELL in self.labels(node.func.value, env, scope)
        ):
            carried = set()
            for arg in args:
                carried |= self.labels(arg, env, scope)
            self._record(carried, Sink.PROCESS, _downloaded_from(carried), -1, node, scope, "a shell's input")
        elif resolved in _EXEC_CALLS and node.args:
            carried = self.labels(node.args[0], env, scope)
            self._record(carried, Sink.EXEC, _downloaded_from(carried), -1, node, scope, resolved)
        elif resolved in _PROCESS_CALLS and node.args:
            carried = self.labels(_program_of(node.args[0]), env, scope)
            fed = next((k.value for k in node.keywords if k.arg == "input"), None)
            if fed is not None and self._runs_its_input(node.args[0]):
                carried |= self.labels(fed, env, scope)  # `python -` runs the text it is fed
            self._record(carried, Sink.PROCESS, _downloaded_from(carried), -1, node, scope, resolved)
            self._upload_tool(node, node.args[0], env, scope)
            self._publish(node, env, scope)
        callee = self._local_callee(node)
        if callee is None:
            handed = _handed_call(node, resolved)
            if handed is None:
                return
            node, callee = handed, self._local_callee(handed)
            if callee is None:
                return
        # A helper that sends or runs its parameter: what this call passes reaches that sink, and
        # when the helper takes the address as a parameter too, this call names the destination.
        for index, sinks in list(callee.param_sinks.items()):
            if index >= len(node.args):
                continue
            carried = self.labels(node.args[index], env, scope)
            # a copy (a recursive helper adds to its own summary), in a fixed order: the first flow
            # recorded at a call is the one a finding names (sets iterate in a per-process order)
            for sink, destination, via in sorted(sinks, key=_param_sink_order):
                where, where_via = destination, -1
                if sink is not Sink.NETWORK and not destination.hard_coded:
                    where = _downloaded_from(carried)  # a download handed to a helper that runs it
                elif not destination.hard_coded and 0 <= via < len(node.args):
                    where, where_via = self._destination_of(node.args[via], env, scope)
                self._record(carried, sink, where, where_via, node, scope, f"{_callee_name(node)}()")

    def _dns_send(self, node: ast.Call, env: dict[str, set[Label]], scope: _Scope, resolved: str) -> None:
        """A name looked up in DNS leaves the machine: its labels go to the server of the domain the
        name ends in (`f"{hex_chunk}.{i}.t.example.xyz"`). Only what the name carries counts: an
        ordinary lookup of a host name sends nothing of the machine."""
        carried = self.labels(node.args[0], env, scope)
        if not carried:
            return
        domain = self._name_suffix(node.args[0], 0)
        host = domain.strip(".").lower() if domain else ""
        if "." not in host:
            return
        self._record(carried, Sink.NETWORK, Destination(host, classify_host(host)), -1, node, scope, resolved)

    def _name_suffix(self, node: ast.expr, depth: int) -> str | None:
        """The constant end of a name built from parts (an f-string, `+`): where a DNS query goes."""
        if depth > 6:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self._name_suffix(self.constants[node.id], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._name_suffix(node.right, depth + 1)
        if isinstance(node, ast.JoinedStr):
            suffix = ""
            for part in reversed(node.values):
                text = self._name_suffix(
                    part.value if isinstance(part, ast.FormattedValue) else part, depth + 1
                )
                if text is None:
                    break
                suffix = text + suffix
            return suffix or None
        template, values = _template(node)
        if template is not None:
            # `"%s.%s.%s" % (i, chunk, ZONE)`, `"{}.{}".format(chunk, ZONE)`: the text after the
            # last placeholder, after the last value when the template ends in a placeholder
            pieces = _PLACEHOLDER.split(template)
            if pieces[-1] or not values:
                return pieces[-1] or None
            return self._name_suffix(values[-1], depth + 1)
        return None

    def _runs_upload_tool(self, call: ast.Call) -> bool:
        """The process is a program that sends what it is given (see `_upload_tool`, `_publish`)."""
        command = call.args[0] if call.args else None
        if command is not None:
            listed = _listed(command, self.constants)
            if isinstance(listed, (ast.List, ast.Tuple)):
                text = " ".join(self._spelled(e) or UNKNOWN for e in listed.elts[:8])
            else:
                text = self._spelled(listed) or ""
            if sending_program(text):
                return True
        if not (isinstance(command, (ast.List, ast.Tuple)) and len(command.elts) > 1):
            return False
        return _UPLOAD_TOOLS.search(self._address_text(command.elts[0], {}, 0) or "") is not None

    def _upload_tool(
        self, node: ast.Call, command: ast.expr, env: dict[str, set[Label]], scope: _Scope
    ) -> None:
        """`[curl, -d, DATA, URL]`, `[wget, --post-file=F, URL]`, `[scp, F, user@host:]`: a program
        that sends what it is given is a send, to the address among its arguments."""
        if not (isinstance(command, (ast.List, ast.Tuple)) and len(command.elts) > 1):
            return
        program = self._address_text(command.elts[0], env, 0) or ""
        if _UPLOAD_TOOLS.search(program) is None:
            return
        destination = NO_DESTINATION
        for element in command.elts[1:]:
            text = self._address_text(element, env, 0)
            if text is not None and _URL_ARGUMENT.match(text):
                destination = self._destination_of(element, env, scope)[0]
                break
        if destination.host is None and not destination.hidden:
            return  # no address among the arguments: a local use of the tool
        carried: set[Label] = set()
        for element in command.elts[1:]:
            carried |= self.labels(element, env, scope)
        self._record(carried, Sink.NETWORK, destination, -1, node, scope, program.rsplit("/", 1)[-1])

    def _publish(self, node: ast.Call, env: dict[str, set[Label]], scope: _Scope) -> None:
        """`git push URL`, `gh repo create --source DIR --push`, `gh api -f body=...`: a tool whose
        job is to send is a send to the host the command names (a git remote the module adds, the
        GitHub CLI's host), carrying what its arguments carry and what was written into the
        folder it publishes (`cwd=`, `-C DIR`, `--source DIR`). A push to the repository's own
        remote names no host in the code and is not followed."""
        command = _listed(node.args[0], self.constants)
        found: list[tuple[Publish, list[ast.expr]]] = []
        if isinstance(command, (ast.List, ast.Tuple)):
            publish = parse_publish([self._spelled(element) for element in command.elts])
            if publish is not None:
                found.append((publish, list(command.elts)))
        else:
            text = self._spelled(command)
            if text:
                found.extend((publish, [command]) for publish in parse_shell_publishes(text))
        cwd = next((k.value for k in node.keywords if k.arg == "cwd"), None)
        for publish, elements in found:
            destination = self._published_to(publish)
            if destination is None:
                continue
            carried: set[Label] = set()
            for element in elements[1:] if len(elements) > 1 else elements:
                carried |= self.labels(element, env, scope)
            if publish.folder is None and cwd is not None:
                carried |= self.labels(cwd, env, scope)
            self._record(carried, Sink.NETWORK, destination, -1, node, scope, publish.tool)

    def _published_to(self, publish: Publish) -> Destination | None:
        """Where a sending command goes; None when the code names no address for it."""
        if publish.host is not None:
            return Destination(publish.host, classify_host(publish.host))
        address = publish.url
        if publish.remote is not None:
            address = self._git_remotes().get(publish.remote)
        if address is None:
            return None
        host = url_host(address)
        return Destination(host, classify_host(host)) if host is not None else NO_DESTINATION

    def _git_remotes(self) -> dict[str, str]:
        """Remote name -> address, from every `git remote add NAME URL` the module runs."""
        if self._remotes is None:
            self._remotes = {}
            for node in self.all_nodes if self.all_nodes is not None else ast.walk(self.tree):
                if not (
                    isinstance(node, ast.Call) and node.args and self.resolve(node.func) in _PROCESS_CALLS
                ):
                    continue
                command = _listed(node.args[0], self.constants)
                if isinstance(command, (ast.List, ast.Tuple)):
                    commands = [[self._spelled(element) for element in command.elts]]
                else:
                    text = self._spelled(command) or ""
                    commands = [list(part.split()) for part in re.split(r"&&|;|\n", text)]
                for words in commands:
                    remote = git_remotes(words)
                    if remote is not None:
                        self._remotes.setdefault(*remote)
        return self._remotes

    def _spelled(self, node: ast.expr, depth: int = 0) -> str | None:
        """A word as far as the code spells it, `UNKNOWN` for each computed part
        (`f"https://{token}@host/r.git"`); None when nothing of it is spelled."""
        if depth > 6:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self._spelled(self.constants[node.id], depth + 1)
        if isinstance(node, ast.JoinedStr):
            parts = [
                part.value
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
                else (self._spelled(part.value, depth + 1) if isinstance(part, ast.FormattedValue) else None)
                for part in node.values
            ]
            return "".join(UNKNOWN if part is None else part for part in parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._spelled(node.left, depth + 1), self._spelled(node.right, depth + 1)
            if left is None and right is None:
                return None
            return (left if left is not None else UNKNOWN) + (right if right is not None else UNKNOWN)
        return None

    def _record(
        self,
        carried: set[Label],
        sink: Sink,
        destination: Destination,
        via: int,
        node: ast.Call,
        scope: _Scope,
        callee: str,
    ) -> None:
        # in a fixed order: the first flow recorded at a call is the one a finding names, and a
        # set of strings iterates in a different order in every process (hash randomisation)
        for label in sorted(carried):
            if label.startswith("p:"):
                if scope.summary is not None:
                    index = int(label[2:])
                    scope.summary.param_sinks.setdefault(index, set()).add((sink, destination, via))
                continue
            try:
                source = Source(label)
            except ValueError:
                continue  # internal labels (stack frames, download hosts) are not sources themselves
            if sink is Sink.NETWORK and source is Source.DOWNLOAD:
                continue
            key = (source, sink, node.lineno, destination.host)
            if key in self.flows:
                continue
            where = ""
            if destination.host:
                where = f" to {destination.host}" if sink is Sink.NETWORK else f" (from {destination.host})"
            elif destination.hidden and sink is Sink.NETWORK:
                where = " to an address decoded at run time"
            self.flows[key] = Flow(
                source=source,
                sink=sink,
                destination=destination,
                line=node.lineno,
                detail=f"{source.value} reaches {callee or 'a call'}{where}",
            )

    def _destination(
        self, node: ast.Call, env: dict[str, set[Label]], scope: _Scope
    ) -> tuple[Destination, int]:
        """Where a send goes, or (no destination, N) when the address is the scope's parameter N."""
        candidates = [k.value for k in node.keywords if k.arg in _ADDRESS_KEYWORDS]
        if node.args:
            candidates.insert(0, node.args[0])
        func = node.func
        # `session.post(...)` on a client built with a base URL, `bot.send_message(...)`: the
        # object's construction names the host.
        if isinstance(func, ast.Attribute):
            candidates.append(func.value)
            if isinstance(func.value, ast.Name):
                self._bound_value(func.value)  # builds the bindings
                connected = (self._bindings or {}).get(f"connected:{func.value.id}")
                if connected is not None:
                    candidates.append(connected)  # a socket's sends go where it connected
        via = -1
        hidden = False
        for candidate in candidates:
            found, param = self._destination_of(candidate, env, scope)
            if found.hard_coded:
                return found, -1
            hidden = hidden or found.hidden
            via = param if via < 0 else via
        if isinstance(func, ast.Attribute) and KEYED_CLIENT in self.labels(func.value, env, scope):
            return CLOUD_ACCOUNT, -1
        if isinstance(func, ast.Attribute) and CHAT_CLIENT in self.labels(func.value, env, scope):
            return Destination("chat bot API", HostClass.CHAT), -1
        if hidden:
            return Destination(None, None, hidden=True), -1
        return NO_DESTINATION, via

    def _destination_of(
        self, node: ast.expr, env: dict[str, set[Label]], scope: _Scope
    ) -> tuple[Destination, int]:
        hidden = HIDDEN_TEXT in self.labels(node, env, scope)
        text = self._address_text(node, env, 0)
        if text is not None:
            host = host_of(text)
            if host is not None:
                return Destination(host, classify_host(host), hidden), -1
        if hidden:
            return Destination(None, None, hidden=True), -1
        return NO_DESTINATION, self._address_param(node, scope, 0)

    def _bound_value(self, node: ast.expr) -> ast.expr | None:
        """What `with X as name` bound to `name`, or what a class body assigned to `self.NAME` /
        `cls.NAME`: where clients and hosts are kept (`with SMTP_SSL(host) as s`, `TUNNEL = "..."`)."""
        if self._bindings is None:
            self._bindings = {}
            for item in self.all_nodes if self.all_nodes is not None else ast.walk(self.tree):
                if isinstance(item, ast.withitem) and isinstance(item.optional_vars, ast.Name):
                    self._bindings.setdefault(item.optional_vars.id, item.context_expr)
                elif (
                    isinstance(item, ast.Call)
                    and isinstance(item.func, ast.Attribute)
                    and item.func.attr in ("connect", "connect_ex")
                    and isinstance(item.func.value, ast.Name)
                    and item.args
                ):
                    # `sock.connect((host, port))`: where later sends on `sock` go
                    self._bindings.setdefault(f"connected:{item.func.value.id}", item.args[0])
                elif isinstance(item, ast.ClassDef):
                    for statement in item.body:
                        if (
                            isinstance(statement, ast.Assign)
                            and len(statement.targets) == 1
                            and isinstance(statement.targets[0], ast.Name)
                        ):
                            self._bindings.setdefault(f"self.{statement.targets[0].id}", statement.value)
        if isinstance(node, ast.Name):
            return self._bindings.get(node.id)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            return self._bindings.get(f"self.{node.attr}")
        return None

    def _address_param(self, node: ast.expr, scope: _Scope, depth: int) -> int:
        """Index of the scope parameter an address expression is built from, or -1."""
        if depth > 4 or scope.summary is None:
            return -1
        if isinstance(node, ast.Name):
            if node.id in scope.summary.params:
                return scope.summary.params.index(node.id)
            if node.id in self.constants:
                return self._address_param(self.constants[node.id], scope, depth + 1)
            return -1
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.FormattedValue):
            return self._address_param(node.values[0].value, scope, depth + 1)
        if isinstance(node, ast.BinOp):
            return self._address_param(node.left, scope, depth + 1)
        if isinstance(node, ast.Call):
            for arg in [*node.args[:1], *(k.value for k in node.keywords if k.arg in _ADDRESS_KEYWORDS)]:
                found = self._address_param(arg, scope, depth + 1)
                if found >= 0:
                    return found
        return -1

    def _chat_handler(self, node: ast.AST) -> bool:
        """A function registered to answer chat messages or commands (Telegram, Discord bots)."""
        if not self.chat_bot or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            name = target.attr if isinstance(target, ast.Attribute) else ""
            if name in _HANDLER_DECORATORS:
                return True
        return False

    def _constant_text(self, node: ast.expr, depth: int) -> str | None:
        """The whole text of literals and module constants joined with `+`, or None (also past
        MAX_ADDRESS characters: an address is short, and doubling constants must not build a
        gigabyte)."""
        if depth > 12:
            return None
        text: str | None = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.Name) and node.id in self.constants:
            text = self._constant_text(self.constants[node.id], depth + 1)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self._constant_text(node.left, depth + 1)
            right = self._constant_text(node.right, depth + 1) if left is not None else None
            text = left + right if left is not None and right is not None else None
        return text if text is not None and len(text) <= MAX_ADDRESS else None

    def _address_text(self, node: ast.expr, env: dict[str, set[Label]], depth: int) -> str | None:
        """The constant prefix of an address expression: literal, constant name, f-string or `+`."""
        if depth > 6:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self._address_text(self.constants[node.id], env, depth + 1)
        bound = self._bound_value(node)
        if bound is not None:
            return self._address_text(bound, env, depth + 1)
        if isinstance(node, ast.JoinedStr) and node.values:
            # f"http://{HOST}:{PORT}/x": as much of the text as constants spell, from the start
            text = ""
            for part in node.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    text += part.value
                    continue
                value = part.value if isinstance(part, ast.FormattedValue) else None
                folded = self._address_text(value, env, depth + 1) if value is not None else None
                if folded is None:
                    break
                text += folded
            return text or None
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            if isinstance(node.op, ast.Add):
                # `"https://disc" + "ord.com/api/web" + "hooks/..."`: all of it when constants spell
                # all of it (a host split in pieces is still that host), else what they begin with
                whole = self._constant_text(node, 0)
                if whole is not None:
                    return whole
            return self._address_text(node.left, env, depth + 1)
        decoded = _decoded_literal(node)
        if decoded is not None:
            return decoded
        if isinstance(node, ast.Tuple) and node.elts:
            return self._address_text(node.elts[0], env, depth + 1)  # (host, port)
        if isinstance(node, ast.Call):
            func = node.func
            if self.resolve(func) in _ENV_GETTERS and len(node.args) > 1:
                return self._address_text(node.args[1], env, depth + 1)  # the hard-coded default
            if isinstance(func, ast.Attribute) and func.attr == "format":
                return self._address_text(func.value, env, depth + 1)
            for arg in [*node.args[:1], *(k.value for k in node.keywords if k.arg in ("base_url", "url"))]:
                found = self._address_text(arg, env, depth + 1)
                if found is not None:
                    return found
        return None


def _param_sink_order(item: tuple[Sink, Destination, int]) -> tuple[str, str, bool, int]:
    sink, destination, via = item
    return sink.value, destination.host or "", destination.hidden, via


DOWNLOAD_FROM = "download@"
_SANITIZERS = re.compile(
    r"(^|_)(sign\w*|hash\w*|\w*digest|hmac|encrypt\w*|derive\w*|public_?key|pub_?key|to_public\w*|"
    r"\w*address|verify\w*|len|bool|int|isinstance|type|id|compare_digest|exists|isfile|isdir)$",
    re.IGNORECASE,
)


def _is_sanitizer(resolved: str) -> bool:
    """Calls whose result no longer holds the secret: signatures, digests, public keys, sizes."""
    return bool(resolved) and _SANITIZERS.search(resolved.rsplit(".", 1)[-1]) is not None


def _downloaded_from(carried: set[Label]) -> Destination:
    for label in sorted(carried):
        if label.startswith(DOWNLOAD_FROM) and not label.startswith(DOWNLOAD_FROM + "p:"):
            host = label[len(DOWNLOAD_FROM) :]
            return Destination(host, classify_host(host))
    return NO_DESTINATION


_PROMPTS = frozenset({"input", "raw_input", "getpass.getpass", "getpass", "click.prompt", "Prompt.ask"})
_WALLET_PROMPT = re.compile(
    r"seed\s*phrase|mnemonic|private\s*key|recovery\s*(phrase|words)|secret\s*(phrase|words)|\b12\s*words|"
    r"\b24\s*words|wallet\s*(key|password)",
    re.IGNORECASE,
)
_CREDENTIAL_PROMPT = re.compile(r"password|passcode|token|api\s*key|2fa|otp|verification code", re.IGNORECASE)


def _from_hex(value: str | bytes) -> bytes:
    return bytes.fromhex(value if isinstance(value, str) else value.decode("ascii"))


_LITERAL_DECODERS: dict[str, Callable[[str | bytes], bytes]] = {
    "b64decode": base64.b64decode,
    "urlsafe_b64decode": base64.urlsafe_b64decode,
    "b32decode": base64.b32decode,
    "unhexlify": binascii.unhexlify,
    "fromhex": _from_hex,
}


def _builds_shifted_text(node: ast.expr) -> bool:
    """`"".join(chr(ord(c) - 3) for c in s[::-1])`: text deciphered character by character, the
    home-made way to keep an address out of plain sight."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and node.args
        and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))
    ):
        return False
    element = node.args[0].elt
    return (
        isinstance(element, ast.Call)
        and isinstance(element.func, ast.Name)
        and element.func.id == "chr"
        and len(element.args) == 1
        and isinstance(element.args[0], ast.BinOp)
        and any(
            isinstance(side, ast.Call) and isinstance(side.func, ast.Name) and side.func.id == "ord"
            for side in (element.args[0].left, element.args[0].right)
        )
    )


def _decoded_literal(node: ast.expr) -> str | None:
    """`base64.b64decode(b"...").decode()` of a literal: the text it hides (addresses only)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "decode":
        node = node.func.value
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    decoder = _LITERAL_DECODERS.get(name)
    value = node.args[0].value
    if decoder is None or not isinstance(value, (str, bytes)) or len(value) > 4096:
        return None
    try:
        raw = decoder(value)
    except (ValueError, TypeError, binascii.Error):
        return None
    text = raw.decode("utf-8", "replace")
    return text if "://" in text[:12] else None


def _interesting_text(value: str) -> bool:
    """A literal that names a credential store, or an address of a throwaway host."""
    if _SECRET_PATH.search(value):
        return True
    if "://" not in value and not value[:1].isdigit():
        return False
    host = host_of(value)
    return host is not None and classify_host(host).throwaway


DNS_LOOKUPS = frozenset(
    {
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.getaddrinfo",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "gethostbyname",
        "getaddrinfo",
    }
)
"""Calls that look a name up in DNS: the query itself leaves the machine (shared with python_ast)."""
_UPLOAD_TOOLS = re.compile(
    r"(^|[/\\])(curl|wget|scp|sftp|rsync|ftp|tftp|nc|ncat|netcat)(\.exe)?$", re.IGNORECASE
)
_URL_ARGUMENT = re.compile(r"([a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)


def _secret_env_name(node: ast.expr) -> bool:
    """A string literal that names a secret environment variable (`"AWS_SECRET_ACCESS_KEY"`)."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(_SECRET_ENV.search(node.value))
    )


def _program_of(command: ast.expr) -> ast.expr:
    """What a process call runs: the whole string of a shell command, the program of an argument
    list (`[prog, arg...]`), or the script of `[shell, "-c", script]`. Arguments such as data paths
    are not what runs."""
    if isinstance(command, (ast.List, ast.Tuple)) and command.elts:
        elements = command.elts
        for index, element in enumerate(elements[:-1]):
            if isinstance(element, ast.Constant) and element.value in ("-c", "/c", "-Command", "-e"):
                return elements[index + 1]
        return elements[0]
    return command


def _keyed(call: ast.Call, constants: dict[str, ast.expr]) -> bool:
    """`boto3.client("s3", aws_access_key_id="AKIA...")`: an access key id written in the code (a
    literal or a module constant), and no endpoint of the code's choosing."""
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    if "endpoint_url" in keywords:
        return False
    key = keywords.get("aws_access_key_id")
    if isinstance(key, ast.Name):
        key = constants.get(key.id)
    return (
        isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and _AWS_KEY_ID.fullmatch(key.value) is not None
    )


def _listed(command: ast.expr, constants: dict[str, ast.expr], depth: int = 0) -> ast.expr:
    """A command held in a module constant (`CMD = ["git", "push", URL]`) as the list it is, and a
    list joined with more (`["gh", "gist", "create"] + files`) as one list whose last element
    stands for the rest (unknown words: what they carry still counts)."""
    if isinstance(command, ast.Name):
        bound = constants.get(command.id)
        if isinstance(bound, (ast.List, ast.Tuple)):
            return bound
    if isinstance(command, ast.BinOp) and isinstance(command.op, ast.Add) and depth < 8:
        left = _listed(command.left, constants, depth + 1)
        right = _listed(command.right, constants, depth + 1)
        if isinstance(left, (ast.List, ast.Tuple)):
            rest = list(right.elts) if isinstance(right, (ast.List, ast.Tuple)) else [right]
            return ast.copy_location(ast.List(elts=[*left.elts, *rest], ctx=ast.Load()), command)
    return command


def _from_module(resolved: str, modules: tuple[str, ...]) -> bool:
    heads = _HEADS.get(modules)
    if heads is None:
        heads = _HEADS[modules] = frozenset(m.split(".", 1)[0] for m in modules)
    if resolved.split(".", 1)[0] not in heads:
        return False  # the common case, decided without looking at every module
    return any(resolved == m or resolved.startswith(m + ".") for m in modules)


_HEADS: dict[tuple[str, ...], frozenset[str]] = {}


_THREAD_STARTERS = frozenset(
    {"threading.Thread", "threading.Timer", "multiprocessing.Process", "Thread", "Timer", "Process"}
)
"""Classes that run `target` (a Timer: its second argument) with `args` on another thread or process."""
_ARGUMENT_RUNNERS = {"submit": 0, "to_thread": 0, "register": 0, "run_in_executor": 1, "apply_async": 0}
"""Methods that call the function at that position with the arguments after it (`pool.submit(f, x)`,
`asyncio.to_thread(f, x)`, `atexit.register(f, x)`, `loop.run_in_executor(None, f, x)`);
`apply_async(f, (x,))` takes them as one tuple."""


def _handed_call(node: ast.Call, resolved: str) -> ast.Call | None:
    """The call a function handed to a thread, a process, an executor or atexit will be, as if
    written here (`Thread(target=f, args=(key,))` is `f(key)`), to follow what it is given."""
    function: ast.expr | None = None
    arguments: list[ast.expr] = []
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    if resolved in _THREAD_STARTERS:
        timer = resolved.endswith("Timer")
        function = keywords.get("function" if timer else "target")
        if function is None and len(node.args) > 1:
            function = node.args[1]  # `Timer(5, f)`, `Thread(None, f)`
        given = keywords.get("args")
        at = 2 if timer else 3  # `Timer(5, f, args)`, `Thread(group, f, name, args)`
        if given is None and len(node.args) > at:
            given = node.args[at]
        if isinstance(given, (ast.Tuple, ast.List)):
            arguments = list(given.elts)
    elif isinstance(node.func, ast.Attribute) and node.func.attr in _ARGUMENT_RUNNERS:
        at = _ARGUMENT_RUNNERS[node.func.attr]
        if len(node.args) > at:
            function = node.args[at]
            rest = node.args[at + 1 :]
            if node.func.attr == "apply_async":
                arguments = list(rest[0].elts) if rest and isinstance(rest[0], (ast.Tuple, ast.List)) else []
            else:
                arguments = list(rest)
    if function is None or any(isinstance(a, ast.Starred) for a in arguments):
        return None
    return ast.copy_location(ast.Call(func=function, args=arguments, keywords=[]), node)


_PLACEHOLDER = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrifxXo]|\{[^{}]*\}")
"""A `%` conversion or a `str.format` field."""


def _template(node: ast.expr) -> tuple[str | None, list[ast.expr]]:
    """(format string, values in order) of `"..." % (a, b)` or `"...".format(a, b)`."""
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        right = node.right
        return node.left.value, list(right.elts) if isinstance(right, ast.Tuple) else [right]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
        and not node.keywords
    ):
        return node.func.value.value, list(node.args)
    return None, []


_NAMED_FOR_A_SECRET = re.compile(
    r"(^|_)(priv(ate)?_?key|privkey|mnemonic|seed_?phrase|seed_?words|wallet_?key|recovery_?phrase|wif)$",
    re.IGNORECASE,
)
"""A function name that ends with the secret it takes (`validate_mnemonic`, `import_private_key`):
`mnemonic_wordlist(language)` or `keypair_balance(pubkey)` take something else."""
_NOT_A_SECRET = re.compile(
    r"pub|public|lang|path|file|dir|url|uri|address|addr|host|name|index|network|chain|id$|salt|"
    r"length|strength|size|count",
    re.IGNORECASE,
)
"""Parameter names that say what the value is, and that it is not a secret."""


def _parameter_sources(function: ast.AST, params: list[str]) -> list[Source | None]:
    """The source each parameter of `function` holds, by its name; and the one value a function
    named for a wallet secret takes is that secret, whatever it is called (`validate_mnemonic(
    phrase)`, `import_private_key(text)`). With more parameters the name says nothing of which."""
    sources = [_parameter_source(name) for name in params]
    if (
        len(params) == 1
        and sources[0] is None
        and _NAMED_FOR_A_SECRET.search(getattr(function, "name", ""))
        and not _NOT_A_SECRET.search(params[0])
    ):
        sources[0] = Source.WALLET_SECRET
    return sources


def _parameter_source(name: str) -> Source | None:
    if _WALLET_WORDS.search(name):
        return Source.WALLET_SECRET
    if _CREDENTIAL_WORDS.search(name):
        return Source.CREDENTIAL
    return None


def _opens(resolved: str, node: ast.Call) -> bool:
    short = resolved.rsplit(".", 1)[-1]
    if resolved in ("open", "io.open", "builtins.open", "codecs.open"):
        return True
    return short in ("read_text", "read_bytes", "listdir", "glob", "iglob", "walk", "scandir") and bool(
        node.args or isinstance(node.func, ast.Attribute)
    )


def _strings(node: ast.AST) -> str:
    return " ".join(
        sub.value for sub in ast.walk(node) if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
    )


def _callee_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return "call"


def _scopes_of(named: dict[str, list[_Scope]], names: set[str]) -> list[_Scope]:
    return [scope for name in names for scope in named.get(name, ())]


Summary = _Summary
"""What a function does with its parameters (which reach which sink, sent where) and what its
result carries: computed per module, handed to the modules that import the function."""
_SOURCE_VALUES = frozenset(s.value for s in Source if s is not Source.REQUEST)


def returns_source(summary: Summary) -> bool:
    """The function's result carries a source (a secret, the environment, identity, a download)."""
    return any(label in _SOURCE_VALUES for label in summary.returns)


def interesting(summary: Summary) -> bool:
    """A summary worth handing to importers: a parameter reaches a hard-coded host, code or a
    process, or the result carries a source (API clients that send to the caller's URL are not)."""
    if returns_source(summary):
        return True
    return any(
        destination.hard_coded or destination.hidden or sink is not Sink.NETWORK
        for found in summary.param_sinks.values()
        for sink, destination, _ in found
    )


def module_flows(
    tree: ast.Module,
    resolve: Callable[[ast.expr], str],
    constants: dict[str, ast.expr],
    imports: set[str],
    nodes: list[ast.AST] | None = None,
    *,
    imported: Mapping[str, Summary] | None = None,
    export: frozenset[str] | None = None,
) -> tuple[list[Flow], dict[str, Summary]]:
    """Every source-to-sink flow of one module, and (with `export`, the names other modules call)
    the summaries of those module-level functions that are worth handing on (see `interesting`)."""
    analysis = FlowAnalysis(tree, resolve, constants, imports, nodes, imported=imported, export=export)
    flows = analysis.run()
    if export is None:
        return flows, {}
    top = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    exported = {name: summary for name, summary in analysis.functions.items() if name in top}
    return flows, {name: summary for name, summary in exported.items() if interesting(summary)}


def analyse_flows(
    tree: ast.Module,
    resolve: Callable[[ast.expr], str],
    constants: dict[str, ast.expr],
    imports: set[str],
    nodes: list[ast.AST] | None = None,
) -> list[Flow]:
    """Every source-to-sink flow of one module. `nodes`, when given, is every node of `tree` (the
    caller's walk, reused: walking a large module costs as much as the rest of this analysis)."""
    return FlowAnalysis(tree, resolve, constants, imports, nodes).run()
