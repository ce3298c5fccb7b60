"""Progress of long work, reported to whoever asked: libraries call, the CLI draws.

A callback gets `(stage, done, total)`: `stage` names the work ("PyPI JSON API", "scan"...),
`done` counts finished items out of `total` (None when the total is not known, e.g. bytes of a
download without Content-Length). Callbacks must be cheap and must not raise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

Progress = Callable[[str, int, int | None], None]


def report(progress: Progress | None, stage: str, done: int, total: int | None) -> None:
    """Call `progress` if there is one; a callback that fails never stops the work."""
    if progress is None:
        return
    with contextlib.suppress(Exception):  # drawing progress is never worth failing the work
        progress(stage, done, total)
