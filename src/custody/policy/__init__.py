"""custody.policy: the decisions scan, audit, gate and guard share, in one typed place.

    from custody.policy import load_policy
    policy = load_policy("gate-policy.toml")
    policy.cooldown_for("torch"), policy.entry_for("litellm", "1.82.8")

Durations (`3d`, `12h`, `90m`, `0`) are parsed by `parse_duration` everywhere a command takes one.
"""

from custody.policy.duration import DurationError, format_duration, parse_duration
from custody.policy.load import load_policy, parse_time, policy_from_mapping
from custody.policy.model import (
    DEFAULT_COOLDOWN,
    Action,
    Entry,
    EntryKind,
    FailOn,
    OnError,
    Policy,
    PolicyError,
    ProjectPolicy,
    Rule,
    UnknownUploadTime,
    parse_spec,
    same_version,
)

__all__ = [
    "DEFAULT_COOLDOWN",
    "Action",
    "DurationError",
    "Entry",
    "EntryKind",
    "FailOn",
    "OnError",
    "Policy",
    "PolicyError",
    "ProjectPolicy",
    "Rule",
    "UnknownUploadTime",
    "format_duration",
    "load_policy",
    "parse_duration",
    "parse_spec",
    "parse_time",
    "policy_from_mapping",
    "same_version",
]
