"""The error of a configuration, suppression or baseline the user must correct."""

from __future__ import annotations

from custody.errors import CustodyError


class ConfigError(CustodyError):
    """A config file, suppression or baseline that cannot be used: a one-line message naming the
    file, the key and the fix; exit code 2 (usage) like every other bad input."""
