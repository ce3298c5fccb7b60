"""custody.guard: a runtime guard on PEP 578 audit hooks, armed by a start-up file.

    from custody.guard import environment, install, status
    env = environment(venv=".venv")
    install(env, mode=GuardMode.ENFORCE, policy_path="guard-policy.toml")

The code that runs in every guarded interpreter is `custody/guard/_boot.py` (stdlib only);
everything else here runs in the `custody` command.
"""

from custody.guard.install import (
    PTH_NAME,
    Environment,
    GuardError,
    GuardStatus,
    environment,
    install,
    refresh_index,
    status,
    uninstall,
)
from custody.guard.logs import GuardEvent, PackageSummary, learn, read_log, seal, summarise
from custody.policy.guard import GuardMode

__all__ = [
    "PTH_NAME",
    "Environment",
    "GuardError",
    "GuardEvent",
    "GuardMode",
    "GuardStatus",
    "PackageSummary",
    "environment",
    "install",
    "learn",
    "read_log",
    "refresh_index",
    "seal",
    "status",
    "summarise",
    "uninstall",
]
