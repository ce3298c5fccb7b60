"""Inflation for the readers: ISA-L's (the `isal` package) when it is installed, which inflates
two to three times faster than zlib, else the standard library's zlib. Both read the same format
and stop at the same bytes; sdists are gzip and wheels deflate, and inflating them was the larger
part of reading one."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol, cast

GZIP_WBITS = 16 + zlib.MAX_WBITS
"""A gzip header and trailer around a deflate stream of up to 32 KiB window."""


class GzipDecoder(Protocol):
    """What the tar reader uses of a decompression object (zlib's `Decompress` interface)."""

    @property
    def unconsumed_tail(self) -> bytes:
        """Input not yet inflated because the output limit was reached."""
        ...

    @property
    def unused_data(self) -> bytes:
        """Input past the end of the compressed stream."""
        ...

    @property
    def eof(self) -> bool:
        """The end of the compressed stream was reached."""
        ...

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes:
        """Inflate `data`, at most `max_length` bytes of output (0: no limit)."""
        ...


RAW_WBITS = -zlib.MAX_WBITS
"""A bare deflate stream (zip members), no header or trailer."""


def _decoder_factory() -> tuple[Callable[[int], GzipDecoder], bool, tuple[type[Exception], ...]]:
    try:
        from isal import isal_zlib  # noqa: PLC0415 - optional: present where a wheel exists
    except ImportError:  # pragma: no cover - exercised where isal has no wheel
        return zlib.decompressobj, False, (zlib.error,)
    errors: tuple[type[Exception], ...] = (zlib.error, cast("type[Exception]", isal_zlib.error))
    return isal_zlib.decompressobj, True, errors


_NEW_DECODER, _ACCELERATED, INFLATE_ERRORS = _decoder_factory()
"""`INFLATE_ERRORS`: what a decoder raises on a corrupt stream (ISA-L's error is not zlib's)."""


def gzip_decoder() -> GzipDecoder:
    """A new decoder for one gzip member."""
    return _NEW_DECODER(GZIP_WBITS)


def raw_decoder() -> GzipDecoder:
    """A new decoder for one bare deflate stream (a zip member's data)."""
    return _NEW_DECODER(RAW_WBITS)


def accelerated() -> bool:
    """Whether ISA-L does the inflating."""
    return _ACCELERATED


__all__ = [
    "GZIP_WBITS",
    "INFLATE_ERRORS",
    "RAW_WBITS",
    "GzipDecoder",
    "accelerated",
    "gzip_decoder",
    "raw_decoder",
]
