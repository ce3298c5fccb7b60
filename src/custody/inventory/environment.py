"""Installed environments: a venv, a site-packages dir, or the site dirs of another interpreter."""

from __future__ import annotations

import json
import os
import subprocess

from custody.artifacts import ArtifactError, InstalledDistribution, find_site_dirs, list_distributions
from custody.inventory.model import Ecosystem, InventoryError, Package

# -I: isolated (no PYTHON* variables); -S: `site` is not run at start, so no .pth line of the
# audited environment runs. Importing `site` afterwards only defines its functions (it runs main()
# only without -S): getsitepackages() then names every site dir the interpreter puts on sys.path
# (Debian's dist-packages too), and the user site it would add when run normally.
_PROBE = (
    "import json, site, sys, sysconfig;"
    "p = sysconfig.get_paths();"
    "dirs = [p['purelib'], p['platlib']] + list(site.getsitepackages()) + [site.getusersitepackages()];"
    "print(json.dumps({'prefix': sys.prefix, 'dirs': dirs}))"
)


def python_site_dirs(python: str, *, timeout: float = 20.0) -> list[str]:
    """Site-packages directories of the interpreter at `python`, without running its start-up hooks.

    A venv interpreter is resolved from its `pyvenv.cfg` without running anything; any other
    interpreter is asked with `-I -S` (no `site`, hence no `.pth` execution).
    """
    if not os.path.exists(python):
        raise InventoryError(f"{python}: no such interpreter")
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        dirs = find_site_dirs(prefix)
        if dirs:
            return dirs
    try:
        done = subprocess.run(  # noqa: S603 - the user named this interpreter; no shell, no site
            [python, "-I", "-S", "-c", _PROBE], capture_output=True, text=True, timeout=timeout, check=True
        )
        answer = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise InventoryError(f"{python}: cannot ask it for its site-packages: {exc}") from exc
    dirs = [d for d in dict.fromkeys(answer.get("dirs", [])) if isinstance(d, str) and os.path.isdir(d)]
    if not dirs:
        raise InventoryError(f"{python}: reports no existing site-packages directory")
    return dirs


def distributions(site_dir: str, *, parse_records: bool = True) -> list[InstalledDistribution]:
    """The distributions installed in `site_dir`. Raises InventoryError when it cannot be listed.
    With `parse_records` False each RECORD is left as text, for the integrity check to parse in its
    workers (`InstalledDistribution.rows()`)."""
    try:
        return list_distributions(site_dir, parse_records=parse_records)
    except ArtifactError as exc:
        raise InventoryError(str(exc)) from exc


def installed_packages(site_dir: str, dists: list[InstalledDistribution] | None = None) -> list[Package]:
    """One `Package` per distribution with a name and version in `site_dir`."""
    found = distributions(site_dir) if dists is None else dists
    return [
        Package(
            name=d.name,
            version=d.version,
            ecosystem=Ecosystem.PYPI,
            source=f"{site_dir}::{d.entry}",
            installed=True,
        )
        for d in found
        if d.name
    ]
