"""custody.advisories: known vulnerabilities and malware, from OSV records kept in a local store.

`custody db update` fills the store from OSV's per-ecosystem exports (or `--from PATH` offline);
`AdvisoryStore.lookup()` answers per package through an index; `osv.affects()` and
`osv.lowest_fix()` apply OSV's version semantics (PEP 440 for PyPI, SemVer for npm). PyPI's JSON
API (`pypi.release_statuses`) is the live source for what the store lacks, and for yanked releases.
"""

from custody.advisories.model import Advisory, AdvisoryError, Affected, Event, Range
from custody.advisories.osv import affects, lowest_fix, parse_record, range_contains
from custody.advisories.pypi import ReleaseStatus, release_statuses
from custody.advisories.sources import ECOSYSTEMS, OSV_EXPORT_URL, download_export, iter_path, iter_zip
from custody.advisories.store import AdvisoryStore, LoadStats, default_store_path, open_for_update
from custody.advisories.update import update_store

__all__ = [
    "ECOSYSTEMS",
    "OSV_EXPORT_URL",
    "Advisory",
    "AdvisoryError",
    "AdvisoryStore",
    "Affected",
    "Event",
    "LoadStats",
    "Range",
    "ReleaseStatus",
    "affects",
    "default_store_path",
    "download_export",
    "iter_path",
    "iter_zip",
    "lowest_fix",
    "open_for_update",
    "parse_record",
    "range_contains",
    "release_statuses",
    "update_store",
]
