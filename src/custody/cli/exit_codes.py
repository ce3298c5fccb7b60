"""Documented exit codes (README.md, "Exit codes")."""

OK = 0
"""Nothing at or above the --fail-on level."""
FOUND = 1
"""At least one target at or above the --fail-on level (takes precedence over SCAN_ERROR)."""
USAGE = 2
"""Bad command line, unknown target, unreadable rules directory."""
SCAN_ERROR = 3
"""Some target could not be scanned (corrupt archive, download failure) and nothing reached --fail-on."""
