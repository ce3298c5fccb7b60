"""The fast core-metadata header reader agrees with `email.parser` on what it reads."""

from __future__ import annotations

from email.parser import HeaderParser

from hypothesis import given, settings
from hypothesis import strategies as st

from custody.artifacts.metadata import NAME_VERSION, metadata_headers

_LINES = st.one_of(
    st.sampled_from(["Name: demo", "Version: 1.0", "name: other", "VERSION:2.0", "Summary: x", ""]),
    st.sampled_from(["  continued", "\tmore", "not a header", "Name : spaced", "Version:", "Name:  pad  "]),
    st.text(alphabet="NameVrsio: \t-.x1\r\x0c\x1c", max_size=20),
)


def _email_values(text: str) -> dict[str, str]:
    headers = HeaderParser().parsestr(text, headersonly=True)
    found = {}
    for key in NAME_VERSION:
        value = headers.get(key)
        if value is not None:
            found[key] = " ".join(str(value).split())
    return found


@settings(max_examples=400)
@given(st.lists(_LINES, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_agrees_with_email_parser(lines: list[str], newline: str) -> None:
    text = newline.join(lines) + newline + newline + "Name: in-the-body\n"
    ours = {k: " ".join(v.split()) for k, v in metadata_headers(text, NAME_VERSION).items()}
    assert ours == _email_values(text)


def test_real_metadata_and_folded_value() -> None:
    text = (
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nSummary: HTTP\n  for humans\n\nName: body\n"
    )
    assert metadata_headers(text, frozenset({"name", "version", "summary"})) == {
        "name": "requests",
        "version": "2.32.3",
        "summary": "HTTP for humans",
    }
    assert metadata_headers("", NAME_VERSION) == {}
