"""Typosquat lookups (`custody.scan.metadata.typosquat_target`) against the brute-force answer."""

from __future__ import annotations

import random
import string

from packaging.utils import canonicalize_name

from custody.scan.metadata import (
    MIN_SQUAT_LENGTH,
    _one_edit,
    _ranked_popular_names,
    popular_names,
    typosquat_target,
)


def _brute_force(name: str) -> str | None:
    """The most downloaded popular name one edit from `name`, by comparing with every one."""
    name = canonicalize_name(name)
    if name in popular_names() or len(name) < MIN_SQUAT_LENGTH:
        return None
    for candidate in _ranked_popular_names():
        if len(candidate) >= MIN_SQUAT_LENGTH and _one_edit(name, candidate):
            return candidate
    return None


def _edited(rnd: random.Random, name: str) -> str:
    """`name` with one random insertion, deletion, substitution or adjacent swap."""
    at = rnd.randrange(len(name))
    letter = rnd.choice(string.ascii_lowercase + "-0123456789")
    edits = (
        name[:at] + letter + name[at:],
        name[:at] + name[at + 1 :],
        name[:at] + letter + name[at + 1 :],
        name[:at] + name[at + 1 : at + 2] + name[at] + name[at + 2 :],
    )
    return rnd.choice(edits)


def test_the_index_finds_what_comparing_with_every_popular_name_finds() -> None:
    rnd = random.Random(20261207)
    ranked = _ranked_popular_names()
    names = [_edited(rnd, rnd.choice(ranked)) for _ in range(700)]
    names += [
        "".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randrange(3, 12))) for _ in range(150)
    ]
    found = 0
    for name in names:
        expected = _brute_force(name)
        assert typosquat_target(name) == expected, name
        found += expected is not None
    assert found > 250  # the edits mostly land one step from a popular name


def test_the_most_downloaded_of_several_imitated_names_is_named() -> None:
    ranked = _ranked_popular_names()
    # a name one edit from two popular projects names the more downloaded one, in every process
    pairs = [(a, b) for a in ranked[:300] for b in ranked[:300] if a < b and _one_edit(a, b)]
    assert pairs
    several = 0
    for a, b in pairs[:20]:
        for name in {a[:i] + a[i + 1 :] for i in range(len(a))} | {b[:i] + b[i + 1 :] for i in range(len(b))}:
            if name in popular_names() or len(name) < MIN_SQUAT_LENGTH:
                continue
            matches = [c for c in ranked if len(c) >= MIN_SQUAT_LENGTH and _one_edit(name, c)]
            if len(matches) >= 2:
                several += 1
                assert typosquat_target(name) == matches[0]
    assert several  # names that imitate more than one popular project were checked
