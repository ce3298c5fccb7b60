"""`custody db update`: fill the store from local paths or OSV's exports, rebuilding a broken store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from custody.advisories.sources import (
    ECOSYSTEMS,
    RawRecord,
    download_export,
    export_url,
    iter_path,
    iter_zip,
)
from custody.advisories.store import LoadStats, open_for_update
from custody.progress import Progress, report

if TYPE_CHECKING:
    import httpx


@dataclass(slots=True, kw_only=True)
class UpdateResult:
    """What `update_store` did: the store's path, per-source load statistics, why the old store was
    rebuilt (if it was) and how many advisories it holds now.

    An accumulator: `update_store` appends each source's statistics as it loads it and sets the
    total at the end, so a failure part way still shows what was loaded."""

    path: str
    loaded: list[LoadStats] = field(default_factory=list)
    rebuilt: str | None = None
    """Why the existing store was thrown away and rebuilt, when it was."""
    total: int = 0
    """Advisories in the store afterwards."""


def update_store(
    *,
    path: str | None = None,
    sources: Sequence[str] = (),
    ecosystems: Sequence[str] = ECOSYSTEMS,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> UpdateResult:
    """Load every `sources` path (zip, directory, file); with none, download each ecosystem's export.

    Raises AdvisoryError when a source cannot be read or downloaded (the store keeps what it had).
    """
    store, rebuilt = open_for_update(path)
    result = UpdateResult(path=store.path, rebuilt=rebuilt)
    with store:
        if sources:
            for source in sources:
                result.loaded.append(store.load(_counted(iter_path(source), progress), source))
        else:
            for ecosystem in ecosystems:
                url = export_url(ecosystem)
                data = download_export(ecosystem, client=client, progress=progress)
                result.loaded.append(store.load(_counted(iter_zip(data, url), progress), url))
        result.total = store.count()
    return result


def _counted(records: Iterator[RawRecord], progress: Progress | None) -> Iterator[RawRecord]:
    """`records`, telling `progress` how many were read (every 500)."""
    done = 0
    for record in records:
        yield record
        done += 1
        if done % 500 == 0:
            report(progress, "records", done, None)
    report(progress, "records", done, done)
