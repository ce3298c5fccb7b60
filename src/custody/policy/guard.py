"""The runtime guard's part of a policy: what each installed distribution may do while it runs.

A `[guard]` table in the same TOML file the gate reads (see `examples/guard-policy.toml`):

    [guard.default]                 # every distribution not listed below
    network = ["*"]                 # host, host:port, globs ("*.example.com:443"); [] = none
    read = ["*"]                    # path globs (`~` is the running user's home); `*` crosses `/`
    write = ["*"]
    subprocess = true
    native = true                   # extension modules and ctypes.dlopen
    dynamic_code = true             # compile/exec/eval of code built from strings
    [guard.packages.requests]
    network = ["pypi.org:443"]
    protected = ["cloud-credentials"]   # protected groups this distribution may touch
    [guard.protected]
    my-secrets = ["~/work/secrets/*"]   # more protected paths (or hosts: {paths=[...], hosts=[...]})

Protected resources (SSH keys, cloud and Kubernetes credentials, `.env` files, browser profiles,
the cloud metadata address, service-account tokens, shell start-up files, auto-start locations)
apply to every distribution, whatever its read/write/network globs say, unless it names the group
in `protected`. An active `[[deny]]` entry of the shared policy denies the distribution everything.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from custody.policy.load import policy_from_mapping, read_policy_document
from custody.policy.model import EntryKind, Policy, PolicyError, parse_spec


class GuardMode(str, enum.Enum):
    """Monitor logs what packages do; enforce also refuses what the policy does not allow."""

    MONITOR = "monitor"
    ENFORCE = "enforce"


PROTECTED_PATHS: Mapping[str, tuple[str, ...]] = {
    "ssh-keys": ("~/.ssh/*",),
    "cloud-credentials": (
        "~/.aws/*",
        "~/.config/gcloud/*",
        "~/.azure/*",
        "~/.oci/*",
        "~/.docker/config.json",
        "~/.netrc",
        "~/.pypirc",
        "~/.git-credentials",
        "~/.config/gh/hosts.yml",
    ),
    "kubernetes": ("~/.kube/*", "/var/run/secrets/kubernetes.io/*", "/run/secrets/kubernetes.io/*"),
    "service-account-tokens": (
        "/var/run/secrets/*",
        "/run/secrets/*",
        "/var/run/secrets/eks.amazonaws.com/*",
    ),
    "dotenv": ("*/.env", "*/.env.*"),
    "browser-profiles": (
        "~/.mozilla/*",
        "~/.config/google-chrome/*",
        "~/.config/chromium/*",
        "~/.config/BraveSoftware/*",
        "~/Library/Application Support/Google/Chrome/*",
        "~/Library/Application Support/Firefox/*",
    ),
    "shell-startup": (
        "~/.bashrc",
        "~/.bash_profile",
        "~/.bash_login",
        "~/.profile",
        "~/.zshrc",
        "~/.zprofile",
        "~/.zshenv",
        "~/.config/fish/*",
        "/etc/profile",
        "/etc/profile.d/*",
        "/etc/bash.bashrc",
    ),
    "autostart": (
        "~/.config/autostart/*",
        "~/.config/systemd/user/*",
        "/etc/systemd/*",
        "/etc/cron*",
        "/var/spool/cron/*",
        "~/Library/LaunchAgents/*",
        "/Library/LaunchAgents/*",
        "/Library/LaunchDaemons/*",
    ),
    "crypto-wallets": ("~/.bitcoin/*", "~/.ethereum/*", "~/.electrum/*"),
}
PROTECTED_HOSTS: Mapping[str, tuple[str, ...]] = {
    "cloud-metadata": (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "metadata.google.internal",
        "metadata",
    ),
}
_CAP_KEYS = {"network", "read", "write", "subprocess", "native", "dynamic_code", "protected"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What one distribution may do; None for a glob list means "anywhere"."""

    network: tuple[str, ...] | None = None
    read: tuple[str, ...] | None = None
    write: tuple[str, ...] | None = None
    subprocess: bool = True
    native: bool = True
    dynamic_code: bool = True
    protected: tuple[str, ...] = ()
    """Protected groups granted to this distribution."""
    denied: bool = False
    """An active deny entry of the shared policy: nothing is allowed."""

    def compiled(self) -> dict[str, Any]:
        """The plain dict the bootstrap reads (lists, bools, strings only: marshal-able)."""
        return {
            "network": None if self.network is None else list(self.network),
            "read": None if self.read is None else list(self.read),
            "write": None if self.write is None else list(self.write),
            "subprocess": self.subprocess and not self.denied,
            "native": self.native and not self.denied,
            "dynamic_code": self.dynamic_code and not self.denied,
            "protected": list(self.protected),
            "denied": self.denied,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardPolicy:
    """The guard's policy: a default, per-distribution capabilities, protected resources."""

    mode: GuardMode | None = None
    """Mode named in the file (`custody guard install --mode` wins)."""
    default: Capabilities = field(default_factory=Capabilities)
    packages: Mapping[str, Capabilities] = field(default_factory=dict)
    """Keyed by canonical distribution name."""
    protected_paths: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(PROTECTED_PATHS))
    protected_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(PROTECTED_HOSTS))

    def for_package(self, name: str) -> Capabilities:
        """Capabilities of distribution `name` (the default when it is not listed)."""
        canonical, _ = parse_spec(name)
        return self.packages.get(canonical, self.default)

    def compiled(self) -> dict[str, Any]:
        """The policy as the bootstrap's plain dict."""
        groups = sorted(set(self.protected_paths) | set(self.protected_hosts))
        return {
            "default": self.default.compiled(),
            "packages": {name: caps.compiled() for name, caps in self.packages.items()},
            "protected": {
                g: {
                    "paths": list(self.protected_paths.get(g, ())),
                    "hosts": list(self.protected_hosts.get(g, ())),
                }
                for g in groups
            },
        }


def _globs(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: give a list of strings")
    return tuple(value)


def _caps(raw: object, where: str, base: Capabilities) -> Capabilities:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: must be a table")
    unknown = set(raw) - _CAP_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {
        "network": base.network,
        "read": base.read,
        "write": base.write,
        "subprocess": base.subprocess,
        "native": base.native,
        "dynamic_code": base.dynamic_code,
        "protected": (),
    }
    for key in ("network", "read", "write", "protected"):
        if key in raw:
            globs = _globs(raw[key], f"{where}.{key}")
            # "*" alone is "anywhere": kept as None so the bootstrap skips matching
            values[key] = None if key != "protected" and globs == ("*",) else globs
    for key in ("subprocess", "native", "dynamic_code"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise PolicyError(f"{where}.{key}: give true or false")
            values[key] = raw[key]
    return Capabilities(**values)


def guard_policy_from_mapping(
    doc: Mapping[str, Any], source: str = "policy", shared: Policy | None = None
) -> GuardPolicy:
    """A `GuardPolicy` from the `[guard]` table of a parsed policy; `shared` adds its deny entries."""
    raw = doc.get("guard", {})
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{source}: [guard] must be a table")
    unknown = set(raw) - {"mode", "default", "packages", "protected"}
    if unknown:
        raise PolicyError(f"{source}: guard: unknown key(s) {', '.join(sorted(unknown))}")
    mode = None
    if "mode" in raw:
        try:
            mode = GuardMode(raw["mode"])
        except ValueError:
            raise PolicyError(f"{source}: guard.mode: give 'monitor' or 'enforce'") from None
    default = _caps(raw.get("default", {}), f"{source}: guard.default", Capabilities())
    raw_packages = raw.get("packages", {})
    if not isinstance(raw_packages, Mapping):
        raise PolicyError(f"{source}: guard.packages must be a table of tables")
    packages: dict[str, Capabilities] = {}
    for name, caps in raw_packages.items():
        canonical, _ = parse_spec(name)
        packages[canonical] = _caps(caps, f"{source}: guard.packages.{name}", default)
    paths, hosts = dict(PROTECTED_PATHS), dict(PROTECTED_HOSTS)
    raw_protected = raw.get("protected", {})
    if not isinstance(raw_protected, Mapping):
        raise PolicyError(f"{source}: guard.protected must be a table")
    for group, value in raw_protected.items():
        where = f"{source}: guard.protected.{group}"
        if isinstance(value, Mapping):
            paths[group] = _globs(value.get("paths", []), f"{where}.paths")
            hosts[group] = _globs(value.get("hosts", []), f"{where}.hosts")
        else:
            paths[group] = _globs(value, where)
    if shared is not None:
        now = datetime.now(timezone.utc)
        for entry in shared.entries:
            if entry.kind is EntryKind.DENY and entry.version is None and entry.active(now):
                packages[entry.name] = Capabilities(network=(), read=(), write=(), denied=True)
    return GuardPolicy(
        mode=mode, default=default, packages=packages, protected_paths=paths, protected_hosts=hosts
    )


def load_guard_policy(path: str) -> GuardPolicy:
    """The guard policy of the TOML file at `path` (the whole file is validated, gate keys too)."""
    doc = read_policy_document(path)
    return guard_policy_from_mapping(doc, path, policy_from_mapping(doc, path))


def drafted_policy(usage: Mapping[str, Mapping[str, Sequence[str]]]) -> str:
    """TOML text of a `[guard]` policy granting each distribution what `usage` says it used:
    {name: {"network": [...], "write": [...], "protected": [...], "flags": ["subprocess", ...]}}."""
    lines = [
        "# Drafted by `custody guard learn` from a monitor log: review before enforcing.",
        "[guard.default]",
        "network = []",
        'read = ["*"]',
        'write = ["/tmp/*"]',
        "subprocess = false",
        "native = true",
        "dynamic_code = false",
        "",
    ]
    for name in sorted(usage):
        seen = usage[name]
        lines.append(f'[guard.packages."{name}"]')
        for key in ("network", "write", "protected"):
            if seen.get(key):
                items = ", ".join(_toml_string(v) for v in sorted(set(seen[key])))
                lines.append(f"{key} = [{items}]")
        for flag in ("subprocess", "dynamic_code"):
            if flag in seen.get("flags", ()):
                lines.append(f"{flag} = true")
        lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
