"""custody.inventory: what is installed (environments) and what is pinned (requirements and lockfiles).

Everything is read as data: no package code runs, no resolver is invoked. Each source yields
`Package` records with the place they were declared, so findings can point back to that line.
"""

from custody.inventory._parallel import paused_collection
from custody.inventory.discover import LOCKFILE_NAMES, find_lockfiles, read_lockfile
from custody.inventory.environment import installed_packages, python_site_dirs
from custody.inventory.integrity import (
    IntegrityIssue,
    IssueType,
    StartupHook,
    check_site_dir,
    find_startup_hooks,
    verify_records,
)
from custody.inventory.model import Ecosystem, InventoryError, Package, PartialInventory, canonical_name

__all__ = [
    "LOCKFILE_NAMES",
    "Ecosystem",
    "IntegrityIssue",
    "InventoryError",
    "IssueType",
    "Package",
    "PartialInventory",
    "StartupHook",
    "canonical_name",
    "check_site_dir",
    "find_lockfiles",
    "find_startup_hooks",
    "installed_packages",
    "paused_collection",
    "python_site_dirs",
    "read_lockfile",
    "verify_records",
]
