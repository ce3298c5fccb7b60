"""The bootstrap's protected-path pre-filter against the plain answer (every pattern tried).

In-process and without arming: `_expand` only sets the bootstrap's module state, which the
fixture puts back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from custody.guard import _boot
from custody.policy.guard import guard_policy_from_mapping

EXTRA = {"paths": ["*.pem", "/ro*/secret-*", "/srv/vault/?ey", "*/credentials.json"], "hosts": []}
PATHS = [
    "~/.ssh/id_rsa",
    "~/.ssh",
    "~/.sshx/id_rsa",
    "~/.aws/credentials",
    "~/.bashrc",
    "~/.bashrc.bak",
    "~/project/.env",
    "~/project/.env.local",
    "~/project/.envrc",
    "/etc/cron.d/job",
    "/etc/crontab",
    "/etc/hosts",
    "/etc",
    "/run/secrets/kubernetes.io/serviceaccount/token",
    "/var/run/secrets/x",
    "/var/log/syslog",
    "/tmp/cert.pem",
    "/tmp/x",
    "/root/secret-a",
    "/rob/secret-b",
    "/srv/vault/key",
    "/srv/vault/keys",
    "/opt/app/credentials.json",
    "/",
    "relative/.env",
]


@pytest.fixture
def expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("_config", "_heads_by_top", "_loose_prefixes", "_base_prefixes", "_regex_cache"):
        monkeypatch.setattr(_boot, name, type(getattr(_boot, name))())
    config = guard_policy_from_mapping({"guard": {}}).compiled()
    config["protected"]["extra"] = dict(EXTRA)
    _boot._expand(config)
    _boot._config.update(config)
    yield config


def test_the_pre_filter_never_hides_a_protected_path(expanded: dict[str, Any]) -> None:
    home = os.environ["HOME"]
    for raw in PATHS:
        path = raw.replace("~", home, 1)
        plain = next(
            (
                group
                for group, spec in expanded["protected"].items()
                if any(_boot._matches(p, path) for p in spec["paths"])
            ),
            None,
        )
        assert _boot._protected_path(path) == plain, path
    assert _boot._protected_path(f"{home}/.ssh/id_rsa") == "ssh-keys"
    assert _boot._protected_path("/tmp/cert.pem") == "extra"  # a pattern with no literal head
    assert _boot._protected_path("/tmp/x") is None


ODD_PATHS = [
    "/a/.b/c",
    "/a/./b",
    "/a/../b",
    "/a/b/.",
    "/a/b/..",
    "/a//b",
    "/a/b/",
    "/a/..b/c",
    "/a/b.",
    "/..",
]


@pytest.mark.parametrize("path", [*ODD_PATHS, "a/b"])
def test_a_path_taken_as_normal_is_what_normpath_makes_of_it(path: str) -> None:
    # the fast path skips os.path.abspath for these: a `..` let through would dodge the patterns
    assert _boot._path(path) == os.path.abspath(path) or _boot._path(path) == path.rstrip("/") + "/"
    if _boot._is_normal(path):
        assert os.path.normpath(path) == path.rstrip("/")


def test_an_extension_in_site_packages_under_the_stdlib_directory_is_not_the_stdlibs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An interpreter outside a venv (`guard install --python`) keeps site-packages under the
    # stdlib directory: its extension modules are a package loading native code, not lib-dynload.
    monkeypatch.setattr(_boot, "_config", {"stdlib": "/py/lib/python3.11"})
    assert _boot._import_is_quiet(("_ssl", "/py/lib/python3.11/lib-dynload/_ssl.cpython-311.so"))
    assert _boot._import_is_quiet(("json", "/py/lib/python3.11/json/__init__.py"))
    for packages in ("site-packages", "dist-packages"):
        native = f"/py/lib/python3.11/{packages}/evil/_c.cpython-311.so"
        assert not _boot._import_is_quiet(("evil._c", native))
        assert not _boot._stdlib_file(native)


@pytest.fixture
def quiet_reads(expanded: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> set[tuple[Any, ...]]:
    """The state `arm` leaves when no policy restricts reads, with an empty quiet-open cache."""
    monkeypatch.setattr(_boot, "_reads_unrestricted", True)
    monkeypatch.setattr(_boot, "_quiet_read", ())
    cache: set[tuple[Any, ...]] = set()
    monkeypatch.setattr(_boot, "_quiet_opens", cache)
    return cache


def test_only_absolute_normal_quiet_reads_are_remembered(quiet_reads: set[tuple[Any, ...]]) -> None:
    home = os.environ["HOME"]
    flags = os.O_RDONLY | os.O_CLOEXEC
    assert _boot._open_is_quiet(("/tmp/data.txt", "r", flags))
    assert _boot._open_is_quiet(("notes/data.txt", "r", flags))  # relative: the cwd decides what it is
    assert _boot._open_is_quiet(("/tmp/../tmp/data.txt", "r", flags))  # not normal
    assert _boot._open_is_quiet((b"/tmp/data.bin", "rb", flags))  # bytes: through fsdecode
    assert not _boot._open_is_quiet((f"{home}/.ssh/id_rsa", "r", flags))  # protected
    assert not _boot._open_is_quiet(("/tmp/data.txt", "w", flags | os.O_WRONLY))  # a write
    assert quiet_reads == {("/tmp/data.txt", "r", flags)}


def test_the_quiet_open_cache_is_bounded_and_reset_with_the_configuration(
    quiet_reads: set[tuple[Any, ...]], expanded: dict[str, Any]
) -> None:
    for i in range(_boot._QUIET_OPENS_MAX + 5):
        assert _boot._open_is_quiet((f"/tmp/f{i}", "r", 0))
    assert 0 < len(quiet_reads) <= _boot._QUIET_OPENS_MAX
    _boot._expand(expanded)  # a new configuration: answers given under the old one are dropped
    assert not quiet_reads


class LookAlike(str):
    """A path that hashes and compares equal to another while naming its own file."""

    decoy = ""

    def __hash__(self) -> int:
        return hash(self.decoy)

    def __eq__(self, other: object) -> bool:
        return True


def test_a_str_subclass_that_looks_like_a_remembered_path_is_decided_afresh(
    quiet_reads: set[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = os.O_RDONLY | os.O_CLOEXEC
    assert _boot._open_is_quiet(("/tmp/decoy.txt", "r", flags))
    LookAlike.decoy = "/tmp/decoy.txt"
    key = LookAlike(os.path.join(os.environ["HOME"], ".ssh", "id_rsa"))
    assert (key, "r", flags) in quiet_reads  # what a lookup by arguments alone would answer
    decided: list[Any] = []
    monkeypatch.setattr(_boot, "_HANDLERS", {"open": lambda event, args, frame: decided.append(args[0])})
    _boot._hook("open", ("/tmp/decoy.txt", "r", flags))
    assert decided == []  # remembered: no handler
    _boot._hook("open", (key, "r", flags))
    assert decided == [key]  # the key went to the handler (which refuses it for a package)
    assert not _boot._open_is_quiet((key, "r", flags))


def test_an_unhashable_path_like_is_still_decided(quiet_reads: set[tuple[Any, ...]]) -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __fspath__(self) -> str:
            return "/tmp/data.txt"

    _boot._hook("open", (Unhashable(), "r", 0))  # must neither raise nor be taken as cached
    assert _boot._open_is_quiet((Unhashable(), "r", 0))
    assert not quiet_reads  # not a str path: never remembered
