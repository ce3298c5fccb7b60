"""Modules of an sdist that the build tool runs besides setup.py, and the names it calls in them.

An in-tree PEP 517 backend (`backend-path`), a Hatch or PDM build hook, a `setup.cfg` cmdclass:
their code runs while pip installs the package, so the collector gives them (and the package
modules they import) the `install` context, weighed like setup.py.
"""

from __future__ import annotations

from custody.artifacts import Artifact, ArtifactKind
from custody.scan.declared import hook_roots, read_declarations
from custody.scan.roles import relative_path


def install_hooks(artifact: Artifact) -> dict[str, frozenset[str]]:
    """Relative path -> functions and classes the build tool calls, for each hook module present."""
    if artifact.kind is not ArtifactKind.SDIST:
        return {}
    declared = read_declarations(artifact, with_setup_py=False)
    if not declared.hooks:
        return {}
    sources = {
        relative_path(m.path, artifact.strip_prefix): m.data for m in artifact.members if "!/" not in m.path
    }
    found: dict[str, frozenset[str]] = {}
    for hook in declared.hooks:
        source = sources.get(hook.rel)
        if source is not None and hook.rel != "setup.py":
            found[hook.rel] = found.get(hook.rel, frozenset()) | hook_roots(source, hook)
    return found


__all__ = ["install_hooks"]
