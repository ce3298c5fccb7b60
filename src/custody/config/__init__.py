"""custody.config: the one configuration scan, audit, gate and guard share, suppressions and
baselines, as typed data.

    from custody.config import load_config
    config = load_config()                 # --config, else custody.toml, else [tool.custody]
    config.defaults_for("scan")            # {"fail_on": "suspicious", ...}
    config.scan_ignores                    # ScanIgnore(rule, package, file, reason, until, source)

Applying suppressions and baselines lives in `custody.config.scan_apply` and
`custody.config.audit_apply` (they import the scan and audit models, which import `Suppression`
from here; kept apart so an audit never imports the scan engine).
"""

from custody.config.fail_on import FAIL_LEVELS, LEVEL_SEVERITY, VERDICT_SEVERITY, threshold
from custody.config.load import Config, config_from_mapping, find_config, load_config, load_suppressions
from custody.config.schema import ENV_VARS, OPTIONS, EnvVar, Kind, Option, markdown_tables
from custody.config.suppression import (
    AuditIgnore,
    ScanIgnore,
    Suppression,
    SuppressionKind,
    audit_ignore,
    expired,
    parse_until,
    scan_ignore,
)
from custody.errors import ConfigError

__all__ = [
    "ENV_VARS",
    "FAIL_LEVELS",
    "LEVEL_SEVERITY",
    "OPTIONS",
    "VERDICT_SEVERITY",
    "AuditIgnore",
    "Config",
    "ConfigError",
    "EnvVar",
    "Kind",
    "Option",
    "ScanIgnore",
    "Suppression",
    "SuppressionKind",
    "audit_ignore",
    "config_from_mapping",
    "expired",
    "find_config",
    "load_config",
    "load_suppressions",
    "markdown_tables",
    "parse_until",
    "scan_ignore",
    "threshold",
]
