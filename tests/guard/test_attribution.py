"""Attribution through the bootstrap's caches, and the events it checks besides opens and connects.

The owner cache is keyed by a code's file name and the walk stops at the nearest owned frame, so
these tests make the same function run once from the main program and once from a package, and
check that neither answer sticks to the other; dynamic code is logged once per code location, so
a second location must still be logged and an enforced refusal must never be deduplicated.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.guard import GuardMode, environment, uninstall
from tests.guard.builders import helper_wheel, sink
from tests.guard.conftest import pip_install
from tests.guard.test_guard_venv import arm, events, run

NO_NETWORK = """
[guard.default]
network = []
"""


@pytest.fixture(scope="module")
def helper_venv(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pip_install(venv, helper_wheel(tmp_path_factory.mktemp("helper")))
    return venv


@pytest.fixture
def armed(helper_venv: Path) -> Iterator[None]:
    yield
    uninstall(environment(venv=str(helper_venv)))


def test_the_same_function_from_main_and_from_a_package(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE, NO_NETWORK)
    with sink() as server:
        code = (
            "import socket, helperpkg\n"
            "def connect():\n"
            f"    socket.create_connection(('127.0.0.1', {server.port}), timeout=5).close()\n"
            "results = []\n"
            "for who in ('main', 'package', 'main', 'package'):\n"
            "    try:\n"
            "        connect() if who == 'main' else helperpkg.call(connect)\n"
            "        results.append(who + ':ok')\n"
            "    except PermissionError:\n"
            "        results.append(who + ':refused')\n"
            "print(' '.join(results))\n"
        )
        done = run(helper_venv, code, home)
    assert done.stdout.split() == ["main:ok", "package:refused", "main:ok", "package:refused"], done.stderr
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert [e["package"] for e in denied] == ["helperpkg 1.0", "helperpkg 1.0"]  # each refusal logged
    assert all(e["where"].split(":")[0].endswith(os.path.join("helperpkg", "__init__.py")) for e in denied)
    assert not [e for e in events(log) if e["package"] == "main program"]


def test_dynamic_code_is_logged_once_per_code_location(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(helper_venv, tmp_path, GuardMode.MONITOR)
    code = "import helperpkg; helperpkg.compile_many(50); helperpkg.compile_once(); helperpkg.compile_many(5)"
    done = run(helper_venv, code, home)
    assert done.returncode == 0, done.stderr
    mine = [e for e in events(log) if e["package"] == "helperpkg 1.0" and e["capability"] == "dynamic_code"]
    compiles = [e for e in mine if e["event"] == "compile"]
    assert len(compiles) == 2, compiles  # 55 generated names at one line, 1 at another
    assert len({e["where"] for e in compiles}) == 2
    assert {e["resource"] for e in compiles} == {"<generated 0>", "<other>"}
    assert len([e for e in mine if e["event"] == "exec"]) == 2


def test_refusals_of_dynamic_code_are_each_logged(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    policy = "[guard.packages.helperpkg]\ndynamic_code = false\n"
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE, policy)
    code = (
        "import helperpkg\n"
        "for _ in range(3):\n"
        "    try:\n"
        "        helperpkg.compile_once(); print('ran')\n"
        "    except PermissionError:\n"
        "        print('refused')\n"
    )
    done = run(helper_venv, code, home)
    assert done.stdout.split() == ["refused"] * 3, done.stderr
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert len(denied) == 3 and {e["rule"] for e in denied} == {"dynamic_code-not-allowed"}


def test_sendmsg_to_an_address_is_a_connection(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE, NO_NETWORK)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(0.5)
        port = receiver.getsockname()[1]
        code = (
            "import helperpkg\n"
            "try:\n"
            f"    helperpkg.send_datagram({port}, b'leak'); print('sent')\n"
            "except PermissionError:\n"
            "    print('refused')\n"
        )
        done = run(helper_venv, code, home)
        with pytest.raises(TimeoutError):
            receiver.recv(100)
    assert done.stdout.strip() == "refused", done.stderr
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert [(e["event"], e["resource"]) for e in denied] == [("socket.sendmsg", f"127.0.0.1:{port}")]


def test_truncating_a_protected_file_is_a_write(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE)
    key = home / ".ssh" / "id_rsa"
    before = key.read_text()
    code = (
        "import helperpkg\n"
        "try:\n"
        f"    helperpkg.truncate({str(key)!r}); print('truncated')\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    done = run(helper_venv, code, home)
    assert done.stdout.strip() == "refused", done.stderr
    assert key.read_text() == before
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert [(e["event"], e["rule"]) for e in denied] == [("os.truncate", "protected:ssh-keys")]


def test_a_symlink_into_a_protected_path_is_that_path(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    # Writes are checked for every package; reads once a policy restricts reads (`read = [...]`,
    # here "/*": a list, not the "*" that means unrestricted): unrestricted reads are decided from
    # the path as given, before any stack walk (README, Limits).
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE, '[guard.default]\nread = ["/*"]\n')
    links = tmp_path / "links"
    links.mkdir()
    (links / "profile").symlink_to(home / ".bashrc")  # does not exist yet: written through the link
    (links / "keys").symlink_to(home / ".ssh")  # a directory link: the key is under it
    profile, key = str(links / "profile"), str(links / "keys" / "id_rsa")
    code = (
        "import helperpkg\n"
        f"for what, call in (('append', lambda: helperpkg.append({profile!r}, 'pwned')),\n"
        f"                   ('read', lambda: helperpkg.read({key!r}))):\n"
        "    try:\n"
        "        call(); print(what + ':done')\n"
        "    except PermissionError:\n"
        "        print(what + ':refused')\n"
    )
    done = run(helper_venv, code, home)
    assert done.stdout.split() == ["append:refused", "read:refused"], done.stderr
    assert not (home / ".bashrc").exists()
    rules = sorted(e["rule"] for e in events(log) if e["decision"] == "deny")
    assert rules == ["protected:shell-startup", "protected:ssh-keys"]


def test_a_package_imported_through_a_symlinked_directory_is_still_that_package(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE)
    site = Path(environment(venv=str(helper_venv)).site_dir)
    alias = tmp_path / "alias"
    alias.symlink_to(site, target_is_directory=True)  # as lib64 -> lib: file names the index lacks
    key = home / ".ssh" / "id_rsa"
    code = (
        f"import sys; sys.path.insert(0, {str(alias)!r})\n"
        "import helperpkg\n"
        f"assert helperpkg.__file__.startswith({str(alias)!r}), helperpkg.__file__\n"
        "try:\n"
        f"    helperpkg.truncate({str(key)!r}); print('truncated')\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    done = run(helper_venv, code, home)
    assert done.stdout.strip() == "refused", done.stderr
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert [e["package"] for e in denied] == ["helperpkg 1.0"]
    assert denied[0]["where"].startswith(str(alias))


def test_a_read_the_main_program_made_quietly_does_not_let_a_package_read_a_key(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    # Quiet reads are remembered by their open() arguments, but only absolute ones: "id_rsa" is an
    # ordinary file in one directory and the SSH key in another, and a protected file is never quiet.
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "id_rsa").write_text("not a key either\n")
    key = home / ".ssh" / "id_rsa"
    code = (
        "import os, helperpkg\n"
        f"os.chdir({str(elsewhere)!r})\n"
        "results = []\n"
        "def attempt(label, call):\n"
        "    try:\n"
        "        call(); results.append(label + ':ok')\n"
        "    except PermissionError:\n"
        "        results.append(label + ':refused')\n"
        "for _ in range(3):\n"
        "    attempt('main-relative', lambda: open('id_rsa', 'rb').close())\n"
        "attempt('package-relative-elsewhere', lambda: helperpkg.read('id_rsa'))\n"
        f"os.chdir({str(key.parent)!r})\n"
        "attempt('package-relative-key', lambda: helperpkg.read('id_rsa'))\n"
        f"attempt('main-key', lambda: open({str(key)!r}, 'rb').close())\n"
        f"attempt('package-key', lambda: helperpkg.read({str(key)!r}))\n"
        "print(' '.join(results))\n"
    )
    done = run(helper_venv, code, home)
    assert done.stdout.split() == [
        *["main-relative:ok"] * 3,
        "package-relative-elsewhere:ok",
        "package-relative-key:refused",
        "main-key:ok",
        "package-key:refused",
    ], done.stderr
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert [(e["package"], e["resource"], e["rule"]) for e in denied] == [
        ("helperpkg 1.0", str(key), "protected:ssh-keys"),
        ("helperpkg 1.0", str(key), "protected:ssh-keys"),
    ]


def test_a_path_that_compares_equal_to_a_quiet_read_is_still_checked(
    helper_venv: Path, home: Path, tmp_path: Path, armed: None
) -> None:
    # A str subclass hashing and comparing like the decoy the main program read quietly, but
    # naming the SSH key: a lookup by open() arguments alone would let the package read it.
    log = arm(helper_venv, tmp_path, GuardMode.ENFORCE)
    decoy = tmp_path / "decoy"
    decoy.write_bytes(b"decoy\n")
    key = home / ".ssh" / "id_rsa"
    code = (
        "import helperpkg\n"
        "class LookAlike(str):\n"
        f"    def __hash__(self): return hash({str(decoy)!r})\n"
        "    def __eq__(self, other): return True\n"
        f"for _ in range(2): open({str(decoy)!r}, 'rb').close()\n"
        "try:\n"
        f"    print(helperpkg.read(LookAlike({str(key)!r}))[:11])\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    done = run(helper_venv, code, home)
    assert done.stdout.strip() == "refused", done.stderr
    denied = [e for e in events(log) if e["decision"] == "deny"]
    assert [(e["package"], e["rule"]) for e in denied] == [("helperpkg 1.0", "protected:ssh-keys")]
