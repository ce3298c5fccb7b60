"""A real headless Chromium (Debian's `chromium` package) to render reports as a reader sees them.

`CUSTODY_TEST_CHROMIUM` names the binary; .ci/chromium.sh installs the package and sets it, so in
CI a missing browser fails the tests instead of skipping them. Without the variable, `chromium`
on PATH is used, and the browser tests skip only when there is none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def chromium() -> str:
    """The Chromium binary to use; fails when CUSTODY_TEST_CHROMIUM names one that is not there."""
    wanted = os.environ.get("CUSTODY_TEST_CHROMIUM")
    if wanted:
        found = shutil.which(wanted)
        assert found, f"CUSTODY_TEST_CHROMIUM={wanted} but no such browser: run .ci/chromium.sh"
        return found
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium on PATH (CI installs it: .ci/chromium.sh sets CUSTODY_TEST_CHROMIUM)")
    return found


def render_dom(page: Path) -> str:
    """The DOM after Chromium loaded `page` from disk (scripts, were there any, have run)."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=2000",  # let any (injected) timer fire before the dump
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


class Page(HTMLParser):
    """What a reader of the rendered DOM sees: text outside head/style/script and outside the
    bodies of closed <details>, plus a count of every element by tag."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, int] = {}
        self.title = ""
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, hidden, open)
        self._chunks: list[str] = []
        self.feed(dom)
        self.close()
        self.text = " ".join(" ".join(self._chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in VOID:
            return
        names = {name for name, _ in attrs}
        parent, parent_hidden, parent_open = self._stack[-1] if self._stack else ("", False, True)
        hidden = (
            parent_hidden
            or tag in ("head", "style", "script", "title")
            or "hidden" in names
            or (parent == "details" and tag != "summary" and not parent_open)
        )
        self._stack.append((tag, hidden, "open" in names))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1][0] == "title":
            self.title += data
        if not (self._stack and self._stack[-1][1]):
            self._chunks.append(data)
