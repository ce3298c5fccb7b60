"""The gzip decoder of the tar reader: ISA-L's where installed, zlib's otherwise, same output."""

from __future__ import annotations

import gzip
import importlib.util
import os
import zlib

import pytest

from custody.artifacts._inflate import GZIP_WBITS, accelerated, gzip_decoder


def _inflate(data: bytes, step: int) -> tuple[bytes, bytes]:
    decoder = gzip_decoder()
    out = []
    for start in range(0, len(data), step):
        chunk = data[start : start + step]
        while chunk:
            out.append(decoder.decompress(chunk, 4096))
            chunk = decoder.unconsumed_tail
            if decoder.eof:
                break
        if decoder.eof:
            break
    return b"".join(out), decoder.unused_data


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_inflates_as_zlib_does_with_bounded_output(step: int) -> None:
    payload = os.urandom(5_000) + b"a" * 300_000
    packed = gzip.compress(payload)
    inflated, _ = _inflate(packed + b"NEXT", step)
    assert inflated == zlib.decompressobj(GZIP_WBITS).decompress(packed) == payload


def test_what_follows_a_member_is_left_over() -> None:
    packed = gzip.compress(b"first member")
    _, rest = _inflate(packed + b"\x1f\x8bNEXT", 1 << 20)
    assert rest == b"\x1f\x8bNEXT"  # the tar reader starts the next member from it


def test_a_truncated_member_never_reaches_its_end() -> None:
    packed = gzip.compress(b"x" * 100_000)
    decoder = gzip_decoder()
    decoder.decompress(packed[: len(packed) // 2])
    assert not decoder.eof


def test_isal_is_used_where_it_is_installed() -> None:
    assert accelerated() is (importlib.util.find_spec("isal") is not None)
